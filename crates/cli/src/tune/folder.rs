//! The sweep folder: its marker, lock, sweep file and trials.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use storage::write_atomic;
use trainer::checkpoint::CONFIG_FILE;
use trainer::sweep::{Sweep, Trial};
use trainer::{evaluated_at, RunDir, TrainConfig};

/// Marks a folder as an rlrec sweep.
pub(super) const MARKER: &str = ".rlrec-sweep";
/// The sweep file, as the sweep was started with it.
pub(super) const SWEEP_FILE: &str = "sweep.toml";
/// Where the trials live.
pub(super) const TRIALS: &str = "trials";
/// Where a trial stands in its run folder.
pub(super) enum State {
    /// Not started, or stopped before its first checkpoint.
    Fresh,
    /// Stopped after a checkpoint: it continues from there.
    Resumable,
    /// Trained and evaluated.
    Finished,
}

/// The sweep folder: its marker, lock and files.
pub(super) struct SweepDir {
    pub(super) path: PathBuf,
    _lock: File,
}

impl SweepDir {
    pub(super) fn trial_dir(&self, trial: &Trial) -> PathBuf {
        self.path.join(TRIALS).join(&trial.name)
    }

    pub(super) fn trial_file(&self, trial: &Trial, extension: &str) -> PathBuf {
        self.path
            .join(TRIALS)
            .join(format!("{}.{extension}", trial.name))
    }

    /// A new sweep folder (which must not exist or be empty), or with `resume` an
    /// existing one whose sweep is this one.
    pub(super) fn open(path: &Path, sweep: &Sweep, text: &str, resume: bool) -> Result<Self> {
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
        let mut lock = storage::lock_folder(path)?;
        storage::record_pid(&mut lock, path)?;
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
    pub(super) fn state(&self, trial: &Trial) -> Result<State> {
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
pub(super) fn check_same(started: &Sweep, given: &Sweep, path: &Path) -> Result<()> {
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
