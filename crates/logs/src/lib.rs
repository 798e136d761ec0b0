//! Logs of interactions: a logging policy with known probabilities run in an environment,
//! every step written as one row of a Parquet file (the format pandas, polars, pyarrow and
//! Ray Data read), beside a metadata file that records the environment, the seed and the
//! policy. Off-policy evaluation (the `ope` crate) and offline training read them back;
//! logs from outside rlrec come in through [`import`].
//!
//! A log is a folder:
//!
//! * `steps.parquet`: one row per step ([`Row`]; the columns are in `docs/logs.md`),
//!   written in row groups as the steps come, so writing takes constant memory;
//! * `_rlrec.json`: the [`LogMeta`] (its leading `_` keeps pyarrow's and Ray's dataset
//!   readers from taking it for data), also stored in the Parquet file's key-value
//!   metadata, with a checksum of the rows that pairs the two files.
//!
//! Both are written to temporary names and renamed into place, so an interrupted write
//! leaves the folder as it was, and rlrec writes a log only into a new or empty folder, or
//! over a log of its own.

#![warn(missing_docs)]

mod columns;
pub mod import;
pub mod imported;
pub mod obd;
mod offline;
mod policy;
mod reader;
mod slate_dist;
mod view;
mod writer;

pub use imported::{is_imported, ImportMeta, ImportedLog};
pub use offline::OfflineFeed;
pub use policy::{
    logged_distribution, BasePolicy, LoadPolicy, NoCheckpoints, Policy, PolicySpec, PL_MAX_PREFIXES,
};
pub use reader::{LogReader, Rows};
pub use slate_dist::{prefix_count, softmax_weights, Level, SlateDist};
pub use view::LoggedEnv;
pub use writer::LogWriter;

use std::fs;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use env::{Layout, Scenario, SlotResponse};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use rollout::{finite, RolloutError};
use storage::{lock_folder, write_atomic, LockError, LOCK_FILE};

/// The metadata file, the log's marker.
pub const META_FILE: &str = "_rlrec.json";
/// The steps.
pub const STEPS_FILE: &str = "steps.parquet";
/// The key of the Parquet file's key-value metadata that holds the [`LogMeta`].
pub const PARQUET_META_KEY: &str = "rlrec";
/// The log format this build writes and reads.
pub const LOG_FORMAT: u32 = 1;

/// What a log holds beyond its rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogMeta {
    /// The log format version.
    pub rlrec_log: u32,
    /// The rlrec that wrote it.
    pub rlrec_version: String,
    /// The environment, its seed and wrappers included.
    pub scenario: Scenario,
    /// The logging policy.
    pub policy: PolicySpec,
    /// The seed of the logging policy's own random stream.
    pub policy_seed: u64,
    /// The shape of every row.
    pub layout: Layout,
    /// Whole episodes logged.
    pub episodes: u64,
    /// Rows.
    pub steps: u64,
    /// Whether every step's per-position rewards add up to its reward (the estimators that
    /// split the reward by position need it).
    pub additive_reward: bool,
    /// CRC-32 of the rows as written (hexadecimal): it pairs this file with the steps.
    pub checksum: String,
}

/// A log that cannot be written or read as asked. When writing, nothing was changed.
#[derive(Debug, Error)]
pub enum LogError {
    /// A file operation.
    #[error(transparent)]
    Io(#[from] storage::IoError),
    /// The caller stopped the log (Ctrl-C): nothing was written.
    #[error(
        "stopped after {episodes} of {of} episodes: nothing was written (a log it would \
         have replaced is as it was)"
    )]
    Stopped {
        /// The episodes done.
        episodes: u64,
        /// The episodes asked for.
        of: u64,
    },
    /// A folder that holds something else, to write into.
    #[error(
        "{} exists and is not an rlrec log: rlrec writes a log only into a new or empty \
         folder, or over a log of its own, so that it never overwrites your files; choose \
         another --out",
        .0.display()
    )]
    NotEmpty(PathBuf),
    /// A folder without a log, to read.
    #[error("{} is not an rlrec log (it has no {META_FILE}); write one with `rlrec log`", .0.display())]
    NotALog(PathBuf),
    /// A file where a folder is needed.
    #[error("{} is a file, not a log folder", .0.display())]
    NotAFolder(PathBuf),
    /// A log that cannot be used.
    #[error("{}: {why}", path.display())]
    Invalid {
        /// The log folder or file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A file that the JSON or Parquet reader or writer refused: what was being done, and
    /// their error as the source.
    #[error("{}: {what}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What was being read or written.
        what: &'static str,
        /// The library's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The folder's lock: another process writes it.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Playing the policy in its environment.
    #[error(transparent)]
    Rollout(#[from] RolloutError),
    /// Loading a checkpoint's agent, as [`LoadPolicy`] reports it.
    #[error(transparent)]
    Checkpoint(Box<dyn std::error::Error + Send + Sync>),
}

impl From<env::EnvError> for LogError {
    fn from(e: env::EnvError) -> Self {
        RolloutError::from(e).into()
    }
}

impl From<env::ConfigError> for LogError {
    fn from(e: env::ConfigError) -> Self {
        RolloutError::from(e).into()
    }
}

impl From<agents::AgentError> for LogError {
    fn from(e: agents::AgentError) -> Self {
        RolloutError::from(e).into()
    }
}

impl LogError {
    /// A log or file at `path` that cannot be used, and why.
    pub fn invalid(path: &Path, why: impl Into<String>) -> Self {
        LogError::Invalid {
            path: path.to_path_buf(),
            why: why.into(),
        }
    }

    /// A library's error on `path` while doing `what` (for `map_err`).
    pub(crate) fn format<'a, E: std::error::Error + Send + Sync + 'static>(
        path: &'a Path,
        what: &'static str,
    ) -> impl FnOnce(E) -> Self + 'a {
        move |e| LogError::Format {
            path: path.to_path_buf(),
            what,
            source: Box::new(e),
        }
    }

    /// A system error on `path` (for `map_err`).
    pub fn io(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |e| storage::IoError::on(path)(e).into()
    }
}

/// One logged step: what the policy saw, what it showed with what probability, and what
/// followed. The writer's input and the reader's output.
///
/// The optional columns are empty here where the file holds a null: `quality` for worlds
/// without quality, `policy_slate` and `policy_scores` for policies that have none, and
/// `next_user` and `next_candidates` except on an episode's last step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// The episode's index in the log, from 0.
    pub episode: u64,
    /// The step's index in its episode, from 0.
    pub step: u32,
    /// The user observation.
    pub user: Vec<f32>,
    /// The `N × d` candidate features, row-major.
    pub candidates: Vec<f32>,
    /// The candidate positions shown.
    pub slate: Vec<usize>,
    /// Per position: clicked.
    pub click: Vec<bool>,
    /// Per position: the reward its response earned ([`SlotResponse::reward`]).
    pub position_reward: Vec<f64>,
    /// Per position: the shown document's quality, where the world reveals one.
    pub quality: Vec<f64>,
    /// The step's reward.
    pub reward: f64,
    /// The model ended the episode.
    pub terminated: bool,
    /// A time limit cut the episode.
    pub truncated: bool,
    /// The logging policy's probability of the slate.
    pub slate_prob: f64,
    /// Per position `k`: its probability of `slate[k]` at position `k`.
    pub position_probs: Vec<f64>,
    /// Per position `k`: its probability of the slate's first `k + 1` positions.
    pub prefix_probs: Vec<f64>,
    /// ε-greedy's deterministic slate.
    pub policy_slate: Vec<usize>,
    /// The scores a softmax policy drew from.
    pub policy_scores: Vec<f64>,
    /// On an episode's last step: the user observation after it.
    pub next_user: Vec<f32>,
    /// On an episode's last step: the candidate features after it.
    pub next_candidates: Vec<f32>,
}

impl Row {
    /// The episode ended at this step.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// What [`write_log`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct LogSummary {
    /// The folder.
    pub path: PathBuf,
    /// Its metadata.
    pub meta: LogMeta,
    /// The logging policy's mean return over the logged episodes.
    pub mean_return: f64,
    /// Bytes of `steps.parquet`.
    pub bytes: u64,
}

/// The largest reward a log may hold, in magnitude: far past any world's, and small
/// enough that sums over a log stay exact to the digits shown.
pub(crate) const MAX_REWARD: f64 = 1e12;

/// Whether the positions' rewards add up to the step's, to rounding.
pub(crate) fn adds_up(position_reward: &[f64], reward: f64) -> bool {
    let sum: f64 = position_reward.iter().sum();
    (sum - reward).abs() <= 1e-9 * (1.0 + reward.abs())
}

/// Whether `path` holds an rlrec log (its metadata file).
pub fn is_log(path: &Path) -> bool {
    path.join(META_FILE).is_file()
}

/// Runs `spec` on `scenario` for `episodes` episodes and writes every step into the log
/// folder `out`, which must not exist, be empty, or hold a log (which is replaced, once the
/// new one is complete). The logging policy's random stream is seeded with the scenario's
/// seed; a checkpoint it names is loaded by `checkpoints`. `progress` hears the episodes
/// written, and may stop the log (nothing is written then).
pub fn write_log(
    scenario: &Scenario,
    spec: &PolicySpec,
    checkpoints: &dyn LoadPolicy,
    episodes: u64,
    out: &Path,
    mut progress: impl FnMut(u64) -> ControlFlow<()>,
) -> Result<LogSummary, LogError> {
    let mut scenario = scenario.clone();
    let seed = scenario.seed;
    let mut policy = Policy::new(spec, &mut scenario, seed, checkpoints)?;
    let mut env = scenario.build()?;
    let layout = env.layout();
    let _lock = claim(out)?;
    let tmp = out.join(format!(".{STEPS_FILE}.{}.tmp", std::process::id()));
    let result = (|| -> Result<LogSummary, LogError> {
        let mut writer = LogWriter::create(&tmp, &layout)?;
        let k = layout.slate_size;
        let mut row = Row::default();
        let mut responses = vec![SlotResponse::default(); k];
        let (mut additive, mut total) = (true, 0.0);
        for episode in 0..episodes {
            env.reset(None);
            policy.begin_episode();
            row.episode = episode;
            for step in 0u32.. {
                row.step = step;
                row.user.clear();
                row.user.extend_from_slice(env.user());
                row.candidates.clear();
                row.candidates.extend_from_slice(env.items());
                policy.distribution(env.as_ref())?;
                row.slate.resize(k, 0);
                policy.sample(&mut row.slate);
                let dist = policy.current();
                row.prefix_probs.resize(k, 0.0);
                dist.prefix_probs(&row.slate, &mut row.prefix_probs);
                row.slate_prob = row.prefix_probs[k - 1];
                row.position_probs.resize(k, 0.0);
                dist.position_probs(&row.slate, &mut row.position_probs);
                let (base_slate, scores) = policy.parameters();
                row.policy_slate.clear();
                row.policy_slate.extend(base_slate.unwrap_or_default());
                row.policy_scores.clear();
                row.policy_scores.extend(scores.unwrap_or_default());
                let t = finite(env.step(&row.slate)?)?;
                env.write_responses(&mut responses);
                row.click.clear();
                row.click.extend(responses.iter().map(|r| r.click));
                row.position_reward.clear();
                row.position_reward
                    .extend(responses.iter().map(|r| r.reward));
                row.quality.clear();
                if responses.iter().all(|r| r.quality.is_some()) {
                    row.quality
                        .extend(responses.iter().filter_map(|r| r.quality));
                }
                additive &= adds_up(&row.position_reward, t.reward);
                row.reward = t.reward;
                row.terminated = t.terminated;
                row.truncated = t.truncated;
                total += t.reward;
                row.next_user.clear();
                row.next_candidates.clear();
                if t.done() {
                    row.next_user.extend_from_slice(env.user());
                    row.next_candidates.extend_from_slice(env.items());
                }
                writer.push(&row)?;
                if t.done() {
                    break;
                }
            }
            if progress(episode + 1).is_break() {
                return Err(LogError::Stopped {
                    episodes: episode + 1,
                    of: episodes,
                });
            }
        }
        let meta = LogMeta {
            rlrec_log: LOG_FORMAT,
            rlrec_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: scenario.clone(),
            policy: spec.clone(),
            policy_seed: seed,
            layout,
            episodes,
            steps: writer.rows(),
            additive_reward: additive,
            checksum: writer.flush()?,
        };
        let text = serde_json::to_string_pretty(&meta).expect("log metadata serialises");
        let bytes = writer.finish(&text)?;
        replace(out, &tmp, &text)?;
        Ok(LogSummary {
            path: out.to_path_buf(),
            mean_return: total / episodes.max(1) as f64,
            meta,
            bytes,
        })
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Puts a complete log in place: the steps first, then the metadata. A log it replaces
/// stays readable until then, and between the two renames the checksum pairs no files,
/// so no reader takes new steps for old ones.
fn replace(out: &Path, tmp: &Path, meta: &str) -> Result<(), LogError> {
    let steps = out.join(STEPS_FILE);
    fs::rename(tmp, &steps).map_err(LogError::io(&steps))?;
    let file = out.join(META_FILE);
    Ok(write_atomic(&file, format!("{meta}\n").as_bytes())?)
}

/// Whether `out` holds nothing but a lock and what an interrupted `rlrec log` left: a
/// second try must not find its own leftovers in its way.
fn is_free(out: &Path) -> Result<bool, LogError> {
    for entry in fs::read_dir(out).map_err(LogError::io(out))? {
        let name = entry.map_err(LogError::io(out))?.file_name();
        let name = name.to_string_lossy();
        if name != LOCK_FILE && !is_leftover(&name) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a file name is a log's steps being written (`.steps.parquet.<pid>.tmp`).
fn is_leftover(name: &str) -> bool {
    name.starts_with(&format!(".{STEPS_FILE}.")) && name.ends_with(".tmp")
}

/// Makes `out` ready for a log: created if missing, else empty or a log of rlrec's;
/// locked while this process writes it.
fn claim(out: &Path) -> Result<fs::File, LogError> {
    if out.is_file() {
        return Err(LogError::NotAFolder(out.to_path_buf()));
    }
    fs::create_dir_all(out).map_err(LogError::io(out))?;
    let check = || -> Result<(), LogError> {
        if !is_log(out) && !is_free(out)? {
            return Err(LogError::NotEmpty(out.to_path_buf()));
        }
        Ok(())
    };
    check()?;
    let mut lock = lock_folder(out)?;
    // Checked again under the lock: another process may have written meanwhile.
    check()?;
    // Under the lock no other writer is alive: what an interrupted one left goes.
    for entry in fs::read_dir(out).map_err(LogError::io(out))? {
        let path = entry.map_err(LogError::io(out))?.path();
        if is_leftover(&path.file_name().unwrap_or_default().to_string_lossy()) {
            fs::remove_file(&path).map_err(LogError::io(&path))?;
        }
    }
    storage::record_pid(&mut lock, out)?;
    Ok(lock)
}
