//! `rlrec tune`: a sweep (`trainer::sweep`) on one machine. Each trial is an ordinary run
//! folder, trained by a child process of this binary (`rlrec train --json`), J at a time;
//! an interrupted sweep continues with `--resume`, finished trials skipped and the others
//! resumed from their checkpoints, so its results equal an uninterrupted sweep's. At the
//! end: a table of every configuration (mean with Student's t interval, interquartile mean
//! with a bootstrap interval), the best one, and two figures.
//!
//! The sweep folder holds `.rlrec-sweep` (the marker), `.rlrec-lock` (held by the tune
//! process), `sweep.toml` (the file it was started with), `trials/NAME.toml` (each
//! trial's whole configuration), `trials/NAME/` (its run folder), `trials/NAME.log` (its
//! process's messages), and at the end `results.json`, `curves.png` and `scores.png`.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::MultiProgress;
use serde_json::{json, Value};
use trainer::checkpoint::{CONFIG_FILE, EVALUATION_FILE};
use trainer::sweep::{Metric, Mode, Sweep, Trial};
use trainer::{write_atomic, Algorithm, RunDir, RunStats, TrainConfig};

use crate::args::{count_usize, folder_path};
use crate::output::{note, outln};
use crate::train::evaluated_at;
use crate::{plot, progress};

/// Options of `rlrec tune`.
#[derive(Debug, clap::Args)]
pub struct TuneArgs {
    /// The sweep file (TOML): [sweep] settings, a [base] configuration and [axes]
    /// (docs/sweeps.md).
    #[arg(value_name = "SWEEP.toml")]
    pub sweep: PathBuf,
    /// The sweep folder: new or empty, or with --resume the folder to continue.
    #[arg(long, value_name = "DIR", value_parser = folder_path)]
    pub out: PathBuf,
    /// Trials trained at once [default: the number of cores].
    #[arg(long, value_name = "J", value_parser = count_usize(1, 256, "trials at once"))]
    pub jobs: Option<usize>,
    /// Continue the sweep in --out: finished trials are kept, the others resumed from
    /// their latest checkpoints (or started).
    #[arg(long)]
    pub resume: bool,
    /// Check the sweep, write the sweep folder with every trial's configuration, print
    /// the trials, and train nothing (--resume trains them).
    #[arg(long)]
    pub plan: bool,
    /// JSON lines: each trial's iterations and end (with its name), then one object with
    /// the results.
    #[arg(long)]
    pub json: bool,
}

/// Marks a folder as an rlrec sweep.
const MARKER: &str = ".rlrec-sweep";
/// The sweep file, as the sweep was started with it.
const SWEEP_FILE: &str = "sweep.toml";
/// Where the trials live.
const TRIALS: &str = "trials";
/// How long stopped trials get to end before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Set by SIGINT and SIGTERM: the sweep stops its trials and ends.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// The column titles of [`stats_columns`].
pub const STATS_HEADER: &str =
    "seeds       mean  95% interval (t)           IQM  95% interval (bootstrap)";

/// A row's statistics under [`STATS_HEADER`].
pub fn stats_columns(s: &RunStats) -> String {
    let interval = |ci: Option<[f64; 2]>| {
        ci.map_or("(one seed)".to_string(), |[lo, hi]| {
            format!("[{lo:.2}, {hi:.2}]")
        })
    };
    format!(
        "{:>5} {:>10.2}  {:<22} {:>8.2}  {}",
        s.scores.len(),
        s.mean.value,
        interval(s.mean.ci95),
        s.iqm.value,
        interval(s.iqm.ci95)
    )
}

/// Where a trial stands in its run folder.
enum State {
    /// Not started, or stopped before its first checkpoint.
    Fresh,
    /// Stopped after a checkpoint: it continues from there.
    Resumable,
    /// Trained and evaluated.
    Finished,
}

/// The sweep folder: its marker, lock and files.
struct SweepDir {
    path: PathBuf,
    _lock: File,
}

impl SweepDir {
    fn trial_dir(&self, trial: &Trial) -> PathBuf {
        self.path.join(TRIALS).join(&trial.name)
    }

    fn trial_file(&self, trial: &Trial, extension: &str) -> PathBuf {
        self.path
            .join(TRIALS)
            .join(format!("{}.{extension}", trial.name))
    }

    /// A new sweep folder (which must not exist or be empty), or with `resume` an
    /// existing one whose sweep is this one.
    fn open(path: &Path, sweep: &Sweep, text: &str, resume: bool) -> Result<Self> {
        let marked = path.join(MARKER).is_file();
        if resume && !marked {
            bail!(
                "{} is not a sweep folder (no {MARKER}): start the sweep without --resume",
                path.display()
            );
        }
        if !resume && marked {
            bail!(
                "{} already holds a sweep: pass --resume to continue it, or choose another --out",
                path.display()
            );
        }
        if !resume && path.exists() && fs::read_dir(path)?.next().is_some() {
            bail!(
                "{} exists and is not empty: rlrec writes a sweep only into a new or empty \
                 folder, so that it never overwrites your files; choose another --out",
                path.display()
            );
        }
        fs::create_dir_all(path.join(TRIALS))
            .with_context(|| format!("creating {}", path.display()))?;
        let lock = trainer::lock_folder(path)?;
        let dir = Self {
            path: path.to_path_buf(),
            _lock: lock,
        };
        if resume {
            let stored = fs::read_to_string(path.join(SWEEP_FILE))
                .with_context(|| format!("reading {}", path.join(SWEEP_FILE).display()))?;
            let started = Sweep::parse(&stored)
                .with_context(|| format!("in {}", path.join(SWEEP_FILE).display()))?;
            check_same(&started, sweep, path)?;
        } else {
            write_atomic(&path.join(SWEEP_FILE), text.as_bytes())?;
            write_atomic(&path.join(MARKER), b"{\"rlrec_sweep\": 1}\n")?;
        }
        for trial in &sweep.trials {
            write_atomic(
                &dir.trial_file(trial, "toml"),
                trial.config.to_toml().as_bytes(),
            )?;
        }
        Ok(dir)
    }

    /// Where `trial` stands; refuses a run folder whose configuration is not the trial's.
    fn state(&self, trial: &Trial) -> Result<State> {
        let run = self.trial_dir(trial);
        if RunDir::run_id_in(&run)?.is_none() {
            if run.exists() && fs::read_dir(&run)?.any(|e| e.is_ok()) {
                bail!(
                    "{} is not a run folder: move it away and resume again",
                    run.display()
                );
            }
            return Ok(State::Fresh);
        }
        if let Ok(text) = fs::read_to_string(run.join(CONFIG_FILE)) {
            let config = TrainConfig::from_toml(&text)
                .with_context(|| format!("in {}", run.join(CONFIG_FILE).display()))?;
            if config != trial.config {
                bail!(
                    "{} holds a run of another configuration than trial {}'s: move it away \
                     and resume again",
                    run.display(),
                    trial.name
                );
            }
        }
        let latest = RunDir::latest_in(&run)?;
        Ok(match latest {
            None => State::Fresh,
            Some(i) if i == trial.config.iterations && evaluated_at(&run) == Some(i) => {
                State::Finished
            }
            Some(_) => State::Resumable,
        })
    }
}

/// Refuses to continue a sweep with a file that expands to other trials.
fn check_same(started: &Sweep, given: &Sweep, path: &Path) -> Result<()> {
    let names = |s: &Sweep| s.trials.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    let differs = if names(started) != names(given) {
        Some(format!(
            "it has {} trials, the file gives {}",
            started.trials.len(),
            given.trials.len()
        ))
    } else if (started.metric, started.mode) != (given.metric, given.mode) {
        Some("the metric or mode differs".into())
    } else {
        started
            .trials
            .iter()
            .zip(&given.trials)
            .find(|(a, b)| a.config != b.config)
            .map(|(a, b)| {
                let keys: Vec<String> = a
                    .config
                    .differences(&b.config)
                    .into_iter()
                    .map(|(k, was, now)| format!("{k}: {was} → {now}"))
                    .collect();
                format!("trial {}: {}", a.name, keys.join(", "))
            })
    };
    match differs {
        None => Ok(()),
        Some(why) => bail!(
            "the sweep in {} was started with another sweep file ({why}); resume it with \
             its own file ({}), or start the new one in another --out",
            path.display(),
            path.join(SWEEP_FILE).display()
        ),
    }
}

pub fn tune(args: &TuneArgs) -> Result<()> {
    let text = fs::read_to_string(&args.sweep)
        .with_context(|| format!("reading {}", args.sweep.display()))?;
    let sweep = Sweep::parse(&text).with_context(|| format!("in {}", args.sweep.display()))?;
    // What `rlrec train` would build, checked before anything is written (a device that
    // is not there, say).
    for trial in &sweep.trials {
        Algorithm::new(trial.config.clone())
            .with_context(|| format!("in {}: trial {}", args.sweep.display(), trial.name))?;
    }
    let dir = SweepDir::open(&args.out, &sweep, &text, args.resume)?;
    if args.plan {
        return print_plan(&sweep, &dir, args.json);
    }
    let mut pending = VecDeque::new();
    let mut finished = 0;
    for (index, trial) in sweep.trials.iter().enumerate() {
        match dir.state(trial)? {
            State::Finished => finished += 1,
            State::Fresh => pending.push_back((index, false)),
            State::Resumable => pending.push_back((index, true)),
        }
    }
    if args.resume && !args.json && !pending.is_empty() {
        note!(
            "{finished} of {} trials finished; running the other {}",
            sweep.trials.len(),
            pending.len()
        );
    }
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let outcome = run_trials(&sweep, &dir, pending, finished, jobs, args.json)?;
    if outcome.interrupted {
        bail!(
            "interrupted: {} of {} trials finished; `rlrec tune {} --out {} --resume` continues \
             the others from their checkpoints",
            outcome.finished,
            sweep.trials.len(),
            args.sweep.display(),
            args.out.display()
        );
    }
    if !outcome.failed.is_empty() {
        bail!(
            "{} of {} trials failed:\n{}\nfix the cause and continue with --resume",
            outcome.failed.len(),
            sweep.trials.len(),
            outcome.failed.join("\n")
        );
    }
    report(&sweep, &dir, args.json)
}

/// The trials, one a line (a JSON object each with `--json`).
fn print_plan(sweep: &Sweep, dir: &SweepDir, json: bool) -> Result<()> {
    for trial in &sweep.trials {
        let configuration = &sweep.configurations[trial.configuration];
        if json {
            outln!(
                "{}",
                json!({
                    "trial": trial.name,
                    "configuration": trial.configuration,
                    "label": configuration.label(),
                    "seed": trial.seed,
                    "config_file": dir.trial_file(trial, "toml"),
                    "config": trial.config.to_toml(),
                })
            );
        } else {
            outln!(
                "{}  {}  (seed {})",
                trial.name,
                configuration.label(),
                trial.seed
            );
        }
    }
    if !json {
        outln!(
            "{} trials written to {}; `rlrec tune … --out {} --resume` trains them",
            sweep.trials.len(),
            dir.path.join(TRIALS).display(),
            dir.path.display()
        );
    }
    Ok(())
}

/// What became of the trials that ran.
struct Outcome {
    finished: usize,
    failed: Vec<String>,
    interrupted: bool,
}

/// A line of a trial's process, or its end.
enum Event {
    Line(Value),
    Closed,
}

/// A trial being trained.
struct Running {
    index: usize,
    child: Child,
    bar: indicatif::ProgressBar,
}

/// Trains the pending trials, `jobs` at a time, until all have ended or the sweep is
/// interrupted (SIGINT, SIGTERM): then the running trials get SIGINT and, after
/// [`STOP_GRACE`], SIGKILL; their checkpoints are whole either way.
fn run_trials(
    sweep: &Sweep,
    dir: &SweepDir,
    mut pending: VecDeque<(usize, bool)>,
    mut finished: usize,
    jobs: usize,
    json: bool,
) -> Result<Outcome> {
    INTERRUPTED.store(false, Ordering::SeqCst);
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_interrupt as *const () as libc::sighandler_t,
        );
    }
    let total = sweep.trials.len();
    let bars = MultiProgress::new();
    let overall = bars.add(progress::bar(total as u64, "trials", json));
    overall.set_position(finished as u64);
    let (tx, rx) = mpsc::channel::<(usize, Event)>();
    let mut running: Vec<Running> = Vec::new();
    let mut failed = Vec::new();
    let mut stopping: Option<Instant> = None;
    loop {
        let interrupted = INTERRUPTED.load(Ordering::SeqCst);
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
    // SAFETY: restores the default dispositions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
    }
    Ok(Outcome {
        finished,
        failed,
        interrupted: stopping.is_some(),
    })
}

/// Starts `rlrec train` for a trial, its stdout read line by line into `tx` by a thread
/// of its own, its stderr appended to the trial's log.
fn spawn(
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
fn die_with_parent(command: &mut Command) {
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
fn die_with_parent(_: &mut Command) {}

/// The last `error:` line of a trial's log.
fn last_error(log: &Path) -> Option<String> {
    let text = fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .map(str::to_string)
}

/// The final evaluation's mean return of a finished run.
fn evaluated_mean(run: &Path) -> Option<f64> {
    let text = fs::read_to_string(run.join(EVALUATION_FILE)).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["evaluation"]["mean"].as_f64()
}

/// A trial's score under the sweep's metric.
fn score(metric: Metric, run: &Path, metrics: &[trainer::IterationResult]) -> Result<f64> {
    match metric {
        Metric::Evaluation => evaluated_mean(run)
            .with_context(|| format!("{} has no final evaluation", run.display())),
        Metric::EpisodeRewardMean => metrics
            .last()
            .and_then(|m| m.episode_reward_mean)
            .with_context(|| {
                format!(
                    "{}: no training episode finished, so it has no episode_reward_mean",
                    run.display()
                )
            }),
    }
}

/// The results: the table, the best configuration, `results.json` and the figures.
fn report(sweep: &Sweep, dir: &SweepDir, json: bool) -> Result<()> {
    let mut scores = vec![Vec::new(); sweep.configurations.len()];
    let mut histories = vec![Vec::new(); sweep.configurations.len()];
    for trial in &sweep.trials {
        let run = dir.trial_dir(trial);
        let metrics = RunDir::metrics_in(&run)?;
        scores[trial.configuration].push(score(sweep.metric, &run, &metrics)?);
        histories[trial.configuration].push(metrics);
    }
    let stats: Vec<RunStats> = scores.iter().map(|s| RunStats::new(s)).collect();
    // Ranked by the interquartile mean (the mean where it ties), best first.
    let mut order: Vec<usize> = (0..stats.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |s: &RunStats| (s.iqm.value, s.mean.value);
        let (ka, kb) = (key(&stats[a]), key(&stats[b]));
        let ord = ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1));
        match sweep.mode {
            Mode::Max => ord.reverse(),
            Mode::Min => ord,
        }
        .then(a.cmp(&b))
    });
    let best = order[0];
    let width = sweep
        .configurations
        .len()
        .saturating_sub(1)
        .to_string()
        .len();
    let name = |i: usize| format!("c{i:0width$}");
    let rows: Vec<Value> = order
        .iter()
        .enumerate()
        .map(|(rank, &i)| {
            let c = &sweep.configurations[i];
            let overrides: serde_json::Map<String, Value> = c
                .overrides
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null)))
                .collect();
            let trials: Vec<&str> = sweep
                .trials
                .iter()
                .filter(|t| t.configuration == i)
                .map(|t| t.name.as_str())
                .collect();
            json!({
                "rank": rank + 1,
                "configuration": name(i),
                "label": c.label(),
                "overrides": overrides,
                "trials": trials,
                "stats": stats[i],
            })
        })
        .collect();
    let (curves, scores_png) = (dir.path.join("curves.png"), dir.path.join("scores.png"));
    let results = json!({
        "metric": sweep.metric.name(),
        "mode": sweep.mode.name(),
        "seeds": sweep.seeds,
        "best": rows[0],
        "configurations": rows,
        "figures": [curves, scores_png],
    });
    write_atomic(
        &dir.path.join("results.json"),
        serde_json::to_string_pretty(&results)?.as_bytes(),
    )?;
    figures(sweep, &stats, &histories, &name, &curves, &scores_png)?;
    if json {
        outln!("{results}");
        return Ok(());
    }
    let config = &sweep.trials[0].config;
    outln!(
        "{} on {} {}/{}: {} configurations × {} seeds, {} iterations; {} ({}), ranked by IQM",
        config.algo(),
        config.env.env,
        config.env.num_candidates,
        config.env.slate_size,
        sweep.configurations.len(),
        sweep.seeds,
        config.iterations,
        sweep.metric.name(),
        sweep.mode.name()
    );
    let label_width = sweep
        .configurations
        .iter()
        .map(|c| c.label().len())
        .max()
        .unwrap_or(0)
        .max("configuration".len());
    outln!(
        "rank  {:<w$}  {:<label_width$}  {STATS_HEADER}",
        "",
        "configuration",
        w = width + 1
    );
    for (rank, &i) in order.iter().enumerate() {
        outln!(
            "{:>4}  {:<w$}  {:<label_width$}  {}",
            rank + 1,
            name(i),
            sweep.configurations[i].label(),
            stats_columns(&stats[i]),
            w = width + 1
        );
    }
    outln!(
        "best configuration: {} ({})",
        name(best),
        sweep.configurations[best].label()
    );
    outln!(
        "results: {}; figures: {}, {}",
        dir.path.join("results.json").display(),
        curves.display(),
        scores_png.display()
    );
    Ok(())
}

/// The learning curves (each configuration's mean `episode_reward_mean` over its seeds,
/// with their range) and the final scores with their intervals.
fn figures(
    sweep: &Sweep,
    stats: &[RunStats],
    histories: &[Vec<Vec<trainer::IterationResult>>],
    name: &dyn Fn(usize) -> String,
    curves_png: &Path,
    scores_png: &Path,
) -> Result<()> {
    let config = &sweep.trials[0].config;
    let curves: Vec<plot::Curve> = histories
        .iter()
        .enumerate()
        .map(|(i, runs)| {
            let length = runs.iter().map(Vec::len).min().unwrap_or(0);
            let points = (0..length)
                .filter_map(|k| {
                    let values: Vec<f64> = runs
                        .iter()
                        .map(|r| r[k].episode_reward_mean)
                        .collect::<Option<_>>()?;
                    let (lo, hi) = values
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                            (l.min(*v), h.max(*v))
                        });
                    let x = runs[0][k].training_iteration as f64;
                    Some((x, trainer::stats::mean(&values), lo, hi))
                })
                .collect();
            plot::Curve {
                label: format!("{}: {}", name(i), sweep.configurations[i].label()),
                points,
            }
        })
        .collect();
    plot::learning_curves(
        curves_png,
        &format!(
            "{} on {}: episode_reward_mean, mean of {} seeds (band: their range)",
            config.algo(),
            config.env.env,
            sweep.seeds
        ),
        &format!(
            "training iteration ({} environment steps each)",
            config.iteration_steps()
        ),
        &curves,
    )
    .with_context(|| format!("writing {}", curves_png.display()))?;
    let rows: Vec<plot::Row> = stats
        .iter()
        .enumerate()
        .map(|(i, s)| plot::Row::of_seeds(name(i), plot::series_color(i), i, s))
        .collect();
    plot::comparison_chart(
        scores_png,
        &format!(
            "{}: mean over seeds with Student's t 95% interval (rings: the seeds)",
            sweep.metric.name()
        ),
        &rows,
    )
    .with_context(|| format!("writing {}", scores_png.display()))
}
