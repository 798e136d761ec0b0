//! Run folders: `config.toml`, `metrics.jsonl`, `checkpoint-NNNNNN/` folders and the
//! pointer to the latest (`checkpoint_path.txt`), marked as rlrec's and locked while a
//! process writes them.
//!
//! A run folder is never mistaken for a user's: rlrec writes only into a folder that does
//! not exist, an empty one, or one its marker names as an rlrec run. Every file is written
//! to a temporary name and renamed into place (metrics lines are appended, and cut back if
//! the append fails), so an interrupted write leaves the previous state readable. The
//! TensorBoard event file follows `metrics.jsonl` record for record: appended with it, and
//! rewritten from it whenever it is cut back (a resume, a rewind, a branch).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use storage::{lock_folder, write_atomic, LockError, LOCK_FILE};
use thiserror::Error;

use crate::algorithm::Selected;
use crate::checkpoint::{
    checkpoint_iteration, io_err, latest_checkpoint, CheckpointError, CHECKPOINT_FILE, CONFIG_FILE,
    EVALUATION_FILE, METRICS_FILE, POINTER_FILE, REPLAY_FILE,
};
use crate::history::{self, HistoryError};
use crate::tables::edit_toml;
use crate::tensorboard::{self, EVENTS_FILE};
use crate::{Algorithm, Checkpoint, HeldOutScore, IterationResult, TrainConfig, RESUMABLE_KEYS};

/// The marker that makes a folder an rlrec run.
pub const MARKER_FILE: &str = ".rlrec-run";

/// A run folder that cannot be used as asked. Nothing was written.
#[derive(Debug, Error)]
pub enum RunError {
    /// A file operation.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A folder that holds something else.
    #[error(
        "{} exists and is not an rlrec run folder: rlrec writes a run only into a new or empty \
         folder, so that it never overwrites your files; choose another --out",
        .0.display()
    )]
    NotARun(PathBuf),
    /// A file where a folder is needed.
    #[error("{} is a file, not a folder", .0.display())]
    NotAFolder(PathBuf),
    /// A run folder with checkpoints, for a new run.
    #[error("run folder {} already holds a run; pass --resume to continue it or choose another --out", .0.display())]
    RunExists(PathBuf),
    /// The folder's lock: another process writes the run.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A run folder without a checkpoint, to continue.
    #[error(
        "{} has no checkpoint yet (the run stopped before its first): start it again with \
         the same command without --resume",
        .0.display()
    )]
    NoCheckpointYet(PathBuf),
    /// A checkpoint of another run.
    #[error(
        "the checkpoint belongs to another run than {}: continue it in its own folder, or \
         branch it into a new --out",
        .0.display()
    )]
    ForeignCheckpoint(PathBuf),
    /// Continuing from an older checkpoint would drop later iterations.
    #[error(
        "{} has iterations up to {latest}; continuing from iteration {from} would drop \
         {dropped}: pass --rewind to drop them, or --out NEW to branch into a new run folder",
        path.display(),
        dropped = if from + 1 == *latest { format!("iteration {latest}") } else { format!("iterations {}..{latest}", from + 1) }
    )]
    WouldRewind {
        /// The run folder.
        path: PathBuf,
        /// The checkpoint's iteration.
        from: u64,
        /// The run's latest checkpoint.
        latest: u64,
    },
    /// A continuation that changes settings a resume may not change.
    #[error(
        "a continued run keeps its configuration, but these options change it:\n{changes}\n\
         (only {} may change; start a new run for the rest)",
        RESUMABLE_KEYS.join(", ")
    )]
    Unresumable {
        /// The settings changed, one per line.
        changes: String,
    },
    /// A continuation that would train no further.
    #[error(
        "the checkpoint is at iteration {iteration}, so --iterations must be above it (it is \
         {iterations}): training stops at that iteration count"
    )]
    NothingToTrain {
        /// The checkpoint's iteration.
        iteration: u64,
        /// The iteration count asked for.
        iterations: u64,
    },
    /// A `config.toml` that no longer matches the run.
    #[error(
        "{} was edited since the run wrote it ({changes}); a run continues with the \
         configuration its checkpoint holds: give changes as options instead (only {} may \
         change), and restore the file or delete it",
        path.display(),
        RESUMABLE_KEYS.join(", ")
    )]
    EditedConfig {
        /// The file.
        path: PathBuf,
        /// The keys that differ.
        changes: String,
    },
    /// A marker that cannot be read.
    #[error("{} is damaged", .path.display())]
    BadMarker {
        /// The marker file.
        path: PathBuf,
        /// What is wrong.
        source: serde_json::Error,
    },
    /// `metrics.jsonl`, damaged.
    #[error(transparent)]
    History(#[from] HistoryError),
}

impl From<storage::IoError> for RunError {
    fn from(e: storage::IoError) -> Self {
        CheckpointError::from(e).into()
    }
}

fn io(path: &Path) -> impl FnOnce(io::Error) -> RunError + '_ {
    move |e| io_err(path)(e).into()
}

#[derive(Serialize, Deserialize)]
struct Marker {
    rlrec_run: u32,
    run_id: String,
}

/// An rlrec run folder, locked by this process while the value lives.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    run_id: String,
    _lock: File,
}

/// A run id: the time and the process, unique for every run on a machine.
fn new_run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{:x}", std::process::id())
}

/// Whether a folder holds nothing but a lock file (another process may be starting in it).
fn is_empty(path: &Path) -> Result<bool, RunError> {
    for entry in fs::read_dir(path).map_err(io(path))? {
        let entry = entry.map_err(io(path))?;
        if entry.file_name() != LOCK_FILE {
            return Ok(false);
        }
    }
    Ok(true)
}

impl RunDir {
    /// A new run in `path`, which must not exist, be empty, or be an rlrec run that never
    /// reached its first checkpoint (a failed start, which this restarts).
    pub fn create(path: &Path, config: &TrainConfig) -> Result<Self, RunError> {
        if path.is_file() {
            return Err(RunError::NotAFolder(path.to_path_buf()));
        }
        if !path.exists() {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(io(parent))?;
            }
            match fs::create_dir(path) {
                Ok(()) => {}
                // Another process claimed it first: it is checked below like any folder.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(path)(e)),
            }
        }
        let marker = path.join(MARKER_FILE);
        if marker.exists() {
            let run = Self::open(path)?;
            if latest_checkpoint(path)?.is_some() {
                return Err(RunError::RunExists(path.to_path_buf()));
            }
            // A run that failed before its first checkpoint: nothing to lose.
            return run.start(config);
        }
        if !is_empty(path)? {
            return Err(RunError::NotARun(path.to_path_buf()));
        }
        let lock = lock_folder(path)?;
        if !is_empty(path)? {
            return Err(RunError::NotARun(path.to_path_buf()));
        }
        let run = Self {
            path: path.to_path_buf(),
            run_id: String::new(),
            _lock: lock,
        };
        run.start(config)
    }

    /// A new run in a new folder under `parent`, named `stem`, or `stem-2`, `stem-3`… if
    /// that is taken (runs started in the same second get different folders).
    pub fn create_new(parent: &Path, stem: &str, config: &TrainConfig) -> Result<Self, RunError> {
        fs::create_dir_all(parent).map_err(io(parent))?;
        for n in 1u32.. {
            let name = if n == 1 {
                stem.to_string()
            } else {
                format!("{stem}-{n}")
            };
            let path = parent.join(name);
            match fs::create_dir(&path) {
                Ok(()) => return Self::create(&path, config),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(&path)(e)),
            }
        }
        unreachable!("some suffix is free")
    }

    /// Records this process in the lock file, for the message another writer gets.
    fn claim(&mut self) -> Result<(), RunError> {
        Ok(storage::record_pid(&mut self._lock, &self.path)?)
    }

    /// Writes a fresh run's marker (with a new run id), configuration and empty metrics.
    fn start(mut self, config: &TrainConfig) -> Result<Self, RunError> {
        self.claim()?;
        self.run_id = new_run_id();
        let marker = Marker {
            rlrec_run: 1,
            run_id: self.run_id.clone(),
        };
        let text = serde_json::to_string(&marker).expect("a marker serialises");
        write_atomic(&self.path.join(MARKER_FILE), text.as_bytes())?;
        self.write_config(config)?;
        self.write_history(Vec::new())?;
        Ok(self)
    }

    /// An existing run folder, locked for writing.
    pub fn open(path: &Path) -> Result<Self, RunError> {
        if path.is_file() {
            return Err(RunError::NotAFolder(path.to_path_buf()));
        }
        let marker = path.join(MARKER_FILE);
        if !marker.is_file() {
            return Err(RunError::NotARun(path.to_path_buf()));
        }
        let lock = lock_folder(path)?;
        let run_id = Self::run_id_in(path)?.ok_or_else(|| RunError::NotARun(path.to_path_buf()))?;
        Ok(Self {
            path: path.to_path_buf(),
            run_id,
            _lock: lock,
        })
    }

    /// The run folder a checkpoint or run folder belongs to: a checkpoint folder's
    /// parent, or the folder itself.
    pub fn folder_of(source: &Path) -> PathBuf {
        if source.join(CHECKPOINT_FILE).is_file() {
            source
                .parent()
                .map_or_else(|| source.to_path_buf(), Path::to_path_buf)
        } else {
            source.to_path_buf()
        }
    }

    /// The run id of the rlrec run in `path`, without locking it; `None` where `path` is
    /// no rlrec run.
    pub fn run_id_in(path: &Path) -> Result<Option<String>, RunError> {
        let marker = path.join(MARKER_FILE);
        if !marker.is_file() {
            return Ok(None);
        }
        let text = fs::read_to_string(&marker).map_err(io(&marker))?;
        let parsed: Marker = serde_json::from_str(&text).map_err(|source| RunError::BadMarker {
            path: marker.clone(),
            source,
        })?;
        Ok(Some(parsed.run_id))
    }

    /// The iteration of the latest checkpoint of the run in `path`, without locking it.
    pub fn latest_in(path: &Path) -> Result<Option<u64>, RunError> {
        Ok(latest_checkpoint(path)?.and_then(|p| checkpoint_iteration(&p)))
    }

    /// The run's id, which its checkpoints carry.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The iteration of the latest checkpoint, if there is one.
    pub fn latest_iteration(&self) -> Result<Option<u64>, RunError> {
        Self::latest_in(&self.path)
    }

    /// Every `checkpoint-NNNNNN` folder, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<(u64, PathBuf)>, RunError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.path).map_err(io(&self.path))? {
            let path = entry.map_err(io(&self.path))?.path();
            if let Some(iteration) = checkpoint_iteration(&path) {
                if path.join(CHECKPOINT_FILE).is_file() {
                    out.push((iteration, path));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Checks that `checkpoint` may continue in this run under its configuration (`saved`
    /// as it was saved, the options a resume may change applied to it): it is this run's,
    /// and the latest unless `rewind`; and `config.toml` was not edited meanwhile, except
    /// in keys a resume may change. Edits of those that the run does not take are returned
    /// (`key = file's value, used value`), for the caller to report.
    pub fn check_continue(
        &self,
        checkpoint: &Checkpoint,
        saved: &TrainConfig,
        rewind: bool,
    ) -> Result<Vec<String>, RunError> {
        if checkpoint.run_id != self.run_id {
            return Err(RunError::ForeignCheckpoint(self.path.clone()));
        }
        let from = checkpoint.iteration();
        if let Some(latest) = self.latest_iteration()? {
            if from < latest && !rewind {
                return Err(RunError::WouldRewind {
                    path: self.path.clone(),
                    from,
                    latest,
                });
            }
        }
        self.check_config_file(saved, &checkpoint.config)
    }

    /// Refuses a `config.toml` whose settings differ from `saved` beyond the keys a resume
    /// may change, and returns the edits of those that `used` does not take.
    fn check_config_file(
        &self,
        saved: &TrainConfig,
        used: &TrainConfig,
    ) -> Result<Vec<String>, RunError> {
        let path = self.path.join(CONFIG_FILE);
        let Ok(text) = fs::read_to_string(&path) else {
            // A deleted file is written again.
            return Ok(Vec::new());
        };
        let edited = |changes: String| RunError::EditedConfig {
            path: path.clone(),
            changes,
        };
        let on_disk = TrainConfig::from_toml(&text).map_err(|e| edited(e.to_string()))?;
        let (resumable, changes): (Vec<_>, Vec<_>) = saved
            .differences(&on_disk)
            .into_iter()
            .partition(|(key, _, _)| RESUMABLE_KEYS.contains(&key.as_str()));
        if changes.is_empty() {
            let edited: Vec<String> = resumable.into_iter().map(|(key, _, _)| key).collect();
            Ok(used
                .differences(&on_disk)
                .into_iter()
                .filter(|(key, _, _)| edited.contains(key))
                .map(|(key, used, file)| format!("{key} = {file} in the file, {used} used"))
                .collect())
        } else {
            let changes: Vec<String> = changes
                .into_iter()
                .map(|(key, was, now)| format!("{key}: {was} → {now}"))
                .collect();
            Err(edited(changes.join(", ")))
        }
    }

    /// Continues the run from the checkpoint of `iteration` (checked by
    /// [`RunDir::check_continue`]): later metric lines are dropped, and with `rewind`
    /// later checkpoints too; the configuration is written again.
    pub fn continue_at(
        &mut self,
        iteration: u64,
        config: &TrainConfig,
        rewind: bool,
    ) -> Result<(), RunError> {
        self.claim()?;
        self.keep_metrics_through(iteration)?;
        if rewind {
            for (i, folder) in self.checkpoints()? {
                if i > iteration {
                    remove_checkpoint(&folder)?;
                }
            }
        }
        self.write_config(config)
    }

    /// Starts this (new) run's history with `source`'s iterations up to `iteration`: a
    /// branch keeps the curve that led to its checkpoint.
    pub fn adopt_history(&self, source: &Path, iteration: u64) -> Result<(), RunError> {
        self.write_history(history::through(&source.join(METRICS_FILE), iteration)?)
    }

    fn keep_metrics_through(&self, iteration: u64) -> Result<(), RunError> {
        self.write_history(history::through(&self.metrics_path(), iteration)?)
    }

    /// Writes `metrics.jsonl` and the event file anew, holding `lines`.
    fn write_history(&self, lines: Vec<String>) -> Result<(), RunError> {
        let values: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).expect("kept lines parse"))
            .collect();
        let created = values
            .first()
            .and_then(|v| v["timestamp"].as_f64())
            .unwrap_or_else(unix_now);
        write_atomic(&self.metrics_path(), &joined(lines))?;
        write_atomic(
            &self.path.join(EVENTS_FILE),
            &tensorboard::file(&values, created),
        )?;
        Ok(())
    }

    fn metrics_path(&self) -> PathBuf {
        self.path.join(METRICS_FILE)
    }

    /// Writes `config.toml` to say `config`: where the file already reads as a
    /// configuration, only the keys that differ are edited, so a user's comments stay.
    fn write_config(&self, config: &TrainConfig) -> Result<(), RunError> {
        let path = self.path.join(CONFIG_FILE);
        let text = fs::read_to_string(&path).ok();
        let current = text
            .as_deref()
            .and_then(|text| Some((text, TrainConfig::from_toml(text).ok()?)));
        let new = match current {
            Some((_, current)) if current == *config => return Ok(()),
            Some((text, current)) => edit_toml(text, &current, config),
            None => None,
        };
        write_atomic(&path, new.unwrap_or_else(|| config.to_toml()).as_bytes())?;
        Ok(())
    }

    /// Every iteration's results so far.
    pub fn metrics(&self) -> Result<Vec<IterationResult>, RunError> {
        Self::metrics_in(&self.path)
    }

    /// Every iteration's results so far of the run in `path`, without locking it.
    pub fn metrics_in(path: &Path) -> Result<Vec<IterationResult>, RunError> {
        Ok(history::results(&path.join(METRICS_FILE))?)
    }

    /// Adds one iteration's line to `metrics.jsonl`; a failed append is cut back off, so
    /// the file never ends in half a line.
    pub fn append_metrics(&self, result: &IterationResult) -> Result<(), RunError> {
        let line = serde_json::to_string(result).expect("results serialise") + "\n";
        let value = serde_json::to_value(result).expect("results serialise");
        append(&self.metrics_path(), line.as_bytes())?;
        append(
            &self.path.join(EVENTS_FILE),
            &tensorboard::iteration_record(&value),
        )
    }

    /// Writes the final evaluation (`evaluation.json`), with an offline run's choice
    /// without the simulator where it made one, and adds it to the TensorBoard events as
    /// `final_evaluation/…` at its iteration. A continued run rewrites the events from
    /// `metrics.jsonl`, and its own final evaluation comes later.
    pub fn write_final_evaluation(
        &self,
        iteration: u64,
        evaluation: &rollout::Evaluation,
        selected: Option<&Selected>,
    ) -> Result<(), RunError> {
        let mut file =
            serde_json::json!({"training_iteration": iteration, "evaluation": evaluation});
        if let Some(selected) = selected {
            file["selected"] = serde_json::json!(selected);
        }
        let text = serde_json::to_string_pretty(&file).expect("an evaluation serialises");
        write_atomic(&self.path.join(EVALUATION_FILE), text.as_bytes())?;
        let record = serde_json::json!({
            "training_iteration": iteration,
            "timestamp": unix_now(),
            "final_evaluation": evaluation,
        });
        append(
            &self.path.join(EVENTS_FILE),
            &tensorboard::iteration_record(&record),
        )
    }

    /// Saves `checkpoint-NNNNNN/` atomically, points `checkpoint_path.txt` at it, and
    /// keeps the replay buffer in it alone. With `keep_last` above 0, only that many of the
    /// most recent checkpoints stay, and the best evaluated one (as RLlib's
    /// `num_to_keep`).
    pub fn save(&self, algorithm: &Algorithm, keep_last: u64) -> Result<PathBuf, RunError> {
        let ckpt = Checkpoint::of(algorithm, &self.run_id);
        let name = format!("checkpoint-{:06}", ckpt.iteration());
        let final_dir = self.path.join(&name);
        let tmp_dir = self.path.join(format!(".{name}.tmp"));
        if tmp_dir.exists() {
            fs::remove_dir_all(&tmp_dir).map_err(io(&tmp_dir))?;
        }
        let written = (|| -> Result<(), RunError> {
            fs::create_dir_all(&tmp_dir).map_err(io(&tmp_dir))?;
            write_atomic(&tmp_dir.join(CHECKPOINT_FILE), &ckpt.encode())?;
            if let Some(replay) = ckpt.encode_replay() {
                write_atomic(&tmp_dir.join(REPLAY_FILE), &replay)?;
            }
            write_atomic(&tmp_dir.join(CONFIG_FILE), ckpt.config.to_toml().as_bytes())?;
            Ok(())
        })();
        if let Err(e) = written {
            // A full disk, say: the half-made folder would only take room.
            let _ = fs::remove_dir_all(&tmp_dir);
            return Err(e);
        }
        if final_dir.exists() {
            // A resumed run reaching an iteration an earlier run had saved: swap in the
            // new one only once it is complete.
            let old = self.path.join(format!(".{name}.old"));
            fs::rename(&final_dir, &old).map_err(io(&final_dir))?;
            fs::rename(&tmp_dir, &final_dir).map_err(io(&final_dir))?;
            fs::remove_dir_all(&old).map_err(io(&old))?;
        } else {
            fs::rename(&tmp_dir, &final_dir).map_err(io(&final_dir))?;
        }
        let absolute = fs::canonicalize(&final_dir).map_err(io(&final_dir))?;
        write_atomic(
            &self.path.join(POINTER_FILE),
            format!("{}\n", absolute.display()).as_bytes(),
        )?;
        self.prune(ckpt.iteration(), keep_last)?;
        Ok(final_dir)
    }

    /// The checkpoint of `checkpoints` a run keeps as its best, if any was scored: where
    /// episodes were held out of training (offline), the best held-out estimate, the run's
    /// choice without the simulator; otherwise the best evaluation.
    pub(crate) fn best_checkpoint(
        &self,
        checkpoints: &[(u64, PathBuf)],
    ) -> Result<Option<(u64, PathBuf, Option<HeldOutScore>)>, RunError> {
        let metrics = self.metrics()?;
        let scored = |score: &dyn Fn(&IterationResult) -> Option<f64>| {
            metrics
                .iter()
                .filter_map(|m| Some((m, score(m)?)))
                .filter_map(|(m, value)| {
                    let (_, folder) = checkpoints
                        .iter()
                        .find(|(i, _)| *i == m.training_iteration)?;
                    Some((m, folder, value))
                })
                .max_by(|a, b| a.2.total_cmp(&b.2))
        };
        let best = scored(&|m| Some(m.held_out.as_ref()?.value))
            .or_else(|| scored(&|m| Some(m.evaluation.as_ref()?.summary.mean)));
        Ok(best.map(|(m, folder, _)| (m.training_iteration, folder.clone(), m.held_out.clone())))
    }

    /// After the checkpoint of `newest` is in place: older checkpoints lose their replay
    /// buffer, and those beyond the `keep_last` newest go, but for the best evaluated.
    fn prune(&self, newest: u64, keep_last: u64) -> Result<(), RunError> {
        // What a process killed while removing a checkpoint left.
        for entry in fs::read_dir(&self.path).map_err(io(&self.path))? {
            let path = entry.map_err(io(&self.path))?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with(".checkpoint-") && name.ends_with(REMOVING) {
                fs::remove_dir_all(&path).map_err(io(&path))?;
            }
        }
        let all = self.checkpoints()?;
        let cut = if keep_last == 0 {
            0
        } else {
            all.len().saturating_sub(keep_last as usize)
        };
        let best = if cut > 0 {
            self.best_checkpoint(&all)?
                .map(|(iteration, _, _)| iteration)
        } else {
            None
        };
        for (position, (iteration, folder)) in all.iter().enumerate() {
            if *iteration == newest {
                continue;
            }
            if position < cut && Some(*iteration) != best {
                remove_checkpoint(folder)?;
            } else {
                let replay = folder.join(REPLAY_FILE);
                if replay.exists() {
                    fs::remove_file(&replay).map_err(io(&replay))?;
                }
            }
        }
        Ok(())
    }
}

/// The suffix of a checkpoint folder being removed.
const REMOVING: &str = ".removing";

/// Removes a checkpoint folder, renamed out of the run's view first: a process killed
/// while deleting leaves no half checkpoint, only a hidden folder the next prune removes.
fn remove_checkpoint(folder: &Path) -> Result<(), RunError> {
    let name = folder.file_name().unwrap_or_default().to_string_lossy();
    let hidden = folder.with_file_name(format!(".{name}{REMOVING}"));
    fs::rename(folder, &hidden).map_err(io(folder))?;
    fs::remove_dir_all(&hidden).map_err(io(&hidden))
}

/// Appends `bytes` to the file at `path` and syncs it; a failed append is cut back off, so
/// the file never ends in half a record.
fn append(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(io(path))?;
    let before = f.metadata().map_err(io(path))?.len();
    if let Err(e) = f.write_all(bytes).and_then(|()| f.sync_data()) {
        let _ = f.set_len(before);
        return Err(io(path)(e));
    }
    Ok(())
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn joined(lines: Vec<String>) -> Vec<u8> {
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text.into_bytes()
}
