//! Training a sweep's trials, each a child `rlrec train --json` process, J at a time.

use std::collections::VecDeque;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::MultiProgress;
use serde_json::{json, Value};
use trainer::sweep::{Sweep, Trial};

use crate::interrupt;
use crate::output::{note, outln};
use crate::progress;

use super::folder::{State, SweepDir};
use super::report::evaluated_mean;

/// How long stopped trials get to end before they are killed.
pub(super) const STOP_GRACE: Duration = Duration::from_secs(10);

/// What became of the trials that ran.
pub(super) struct Outcome {
    pub(super) finished: usize,
    pub(super) failed: Vec<String>,
    pub(super) interrupted: bool,
}

/// A line of a trial's process, or its end.
pub(super) enum Event {
    Line(Value),
    Closed,
}

/// A trial being trained.
pub(super) struct Running {
    index: usize,
    child: Child,
    bar: indicatif::ProgressBar,
}

/// Trains the pending trials, `jobs` at a time, until all have ended or the sweep is
/// interrupted (SIGINT, SIGTERM): then the running trials get SIGINT and, after
/// [`STOP_GRACE`], SIGKILL; their checkpoints are whole either way.
pub(super) fn run_trials(
    sweep: &Sweep,
    dir: &SweepDir,
    mut pending: VecDeque<(usize, bool)>,
    mut finished: usize,
    jobs: usize,
    json: bool,
) -> Result<Outcome> {
    let catching = interrupt::catch();
    let total = sweep.trials.len();
    let bars = MultiProgress::new();
    let overall = bars.add(progress::bar(total as u64, "trials", json));
    overall.set_position(finished as u64);
    let (tx, rx) = mpsc::channel::<(usize, Event)>();
    let mut running: Vec<Running> = Vec::new();
    let mut failed = Vec::new();
    let mut stopping: Option<Instant> = None;
    loop {
        let interrupted = interrupt::requested();
        while running.len() < jobs && !interrupted {
            let Some((index, resume)) = pending.pop_front() else {
                break;
            };
            let trial = &sweep.trials[index];
            let child = spawn(dir, trial, resume, index, tx.clone())?;
            let bar = bars.add(progress::bar(
                trial.config.iterations,
                &format!("{:<14}", trial.name),
                json,
            ));
            if json {
                outln!(
                    "{}",
                    json!({"trial": trial.name, "started": true, "resumed": resume})
                );
            } else if bar.is_hidden() {
                note!(
                    "trial {} ({}) {}",
                    trial.name,
                    sweep.configurations[trial.configuration].label(),
                    if resume { "resumed" } else { "started" }
                );
            }
            running.push(Running { index, child, bar });
        }
        if running.is_empty() && (pending.is_empty() || interrupted) {
            break;
        }
        if interrupted && stopping.is_none() {
            stopping = Some(Instant::now());
            for r in &running {
                // SAFETY: a plain kill(2) of our own child's process id.
                unsafe { libc::kill(r.child.id() as libc::pid_t, libc::SIGINT) };
            }
        }
        if stopping.is_some_and(|t| t.elapsed() > STOP_GRACE) {
            for r in &mut running {
                let _ = r.child.kill();
            }
        }
        let (index, event) = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(received) => received,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("this loop holds a sender"),
        };
        let trial = &sweep.trials[index];
        let Some(at) = running.iter().position(|r| r.index == index) else {
            continue;
        };
        match event {
            Event::Line(line) => {
                if let Some(iteration) = line["training_iteration"].as_u64() {
                    let bar = &running[at].bar;
                    bar.set_position(iteration);
                    if let Some(mean) = line["episode_reward_mean"].as_f64() {
                        bar.set_message(format!("episode_reward_mean {mean:.2}"));
                    }
                }
                if json {
                    let mut line = line;
                    if let Some(fields) = line.as_object_mut() {
                        fields.insert("trial".into(), trial.name.clone().into());
                    }
                    outln!("{line}");
                }
            }
            Event::Closed => {
                let mut r = running.swap_remove(at);
                let status = r.child.wait()?;
                r.bar.finish_and_clear();
                let done = matches!(dir.state(trial), Ok(State::Finished));
                if status.success() && done {
                    finished += 1;
                    overall.set_position(finished as u64);
                    let score = evaluated_mean(&dir.trial_dir(trial));
                    if json {
                        outln!("{}", json!({"trial": trial.name, "finished": true}));
                    } else if overall.is_hidden() {
                        note!(
                            "trial {} finished ({finished}/{total}): evaluated {}",
                            trial.name,
                            score.map_or("?".into(), |m| format!("{m:.2}"))
                        );
                    }
                } else if stopping.is_none() {
                    let log = dir.trial_file(trial, "log");
                    let why = last_error(&log).unwrap_or_else(|| status.to_string());
                    failed.push(format!("  {}: {why} (see {})", trial.name, log.display()));
                    if json {
                        outln!("{}", json!({"trial": trial.name, "failed": why}));
                    } else {
                        note!("trial {} failed: {why}", trial.name);
                    }
                }
            }
        }
    }
    overall.finish_and_clear();
    drop(catching);
    Ok(Outcome {
        finished,
        failed,
        interrupted: stopping.is_some(),
    })
}

/// Starts `rlrec train` for a trial, its stdout read line by line into `tx` by a thread
/// of its own, its stderr appended to the trial's log.
pub(super) fn spawn(
    dir: &SweepDir,
    trial: &Trial,
    resume: bool,
    index: usize,
    tx: mpsc::Sender<(usize, Event)>,
) -> Result<Child> {
    let log_path = dir.trial_file(trial, "log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let mut command = Command::new(std::env::current_exe().context("finding this rlrec")?);
    command.args(["train", "--json", "--out"]);
    command.arg(dir.trial_dir(trial));
    if resume {
        command.arg("--resume");
    } else {
        command.arg("--config").arg(dir.trial_file(trial, "toml"));
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    die_with_parent(&mut command);
    // A group of its own: the terminal's Ctrl-C reaches the sweep alone, which passes one
    // SIGINT on (a second would end the trial before its checkpoint).
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting trial {}", trial.name))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(value) = serde_json::from_str(&line) {
                if tx.send((index, Event::Line(value))).is_err() {
                    return;
                }
            }
        }
        let _ = tx.send((index, Event::Closed));
    });
    Ok(child)
}

/// On Linux, a trial's process is killed when the sweep's process dies, however it dies
/// (SIGKILL included): its run folder's lock is free at once for `--resume`.
#[cfg(target_os = "linux")]
pub(super) fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl and getppid are async-signal-safe, as code between fork and exec must be.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the request took effect.
            if libc::getppid() != parent {
                return Err(std::io::Error::other("the sweep's process has ended"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn die_with_parent(_: &mut Command) {}

/// The last `error:` line of a trial's log.
pub(super) fn last_error(log: &Path) -> Option<String> {
    let text = fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .map(str::to_string)
}
