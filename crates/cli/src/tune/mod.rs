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

mod folder;
mod report;
mod trials;

use std::collections::VecDeque;
use std::fs::{self};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::json;
use trainer::sweep::Sweep;
use trainer::Algorithm;

use crate::args::{any_path, count_usize, folder_path};
use crate::output::{note, outln};

use folder::{State, SweepDir, TRIALS};
use report::report;
use trials::run_trials;

/// Options of `rlrec tune`.
#[derive(Debug, clap::Args)]
pub struct TuneArgs {
    /// The sweep file (TOML): [sweep] settings, a [base] configuration and [axes]
    /// (docs/sweeps.md).
    #[arg(value_name = "SWEEP.toml", value_parser = any_path)]
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
    let cores = crate::args::cores();
    let jobs = args.jobs.unwrap_or(cores);
    if jobs > cores && !args.json {
        note!(
            "--jobs {jobs} on {cores} cores: the trials share the cores, and each is a process \
             of its own with its network and replay buffer in memory (a SlateQ trial's replay \
             alone grows to tens of MB): mind the machine's memory"
        );
    }
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
