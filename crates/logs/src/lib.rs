//! Logs of interactions: a logging policy with known probabilities run in an environment,
//! every step written as one row of a Parquet file (the format pandas, polars, pyarrow and
//! Ray Data read), beside a metadata file that records the environment, the seed and the
//! policy. Off-policy evaluation ([`crate::ope`]) and offline training read them back.
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

mod offline;
pub mod ope;
mod policy;
mod reader;
mod slate_dist;
mod view;
mod writer;

pub use offline::OfflineFeed;
pub use policy::{
    logged_distribution, BasePolicy, LoadAgent, NoCheckpoints, Policy, PolicySpec, PL_MAX_PREFIXES,
};
pub use reader::{LogReader, Rows};
pub use slate_dist::{prefix_count, softmax_weights, Level, SlateDist};
pub use view::LoggedEnv;
pub use writer::LogWriter;

use std::fs;
use std::io::{self, Write};
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
    /// A file that the JSON, Parquet or Arrow reader or writer refused: what was being
    /// done, and their error as the source.
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
    /// Loading a checkpoint's agent, as [`LoadAgent`] reports it.
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
    pub(crate) fn invalid(path: &Path, why: impl Into<String>) -> Self {
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

    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
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

/// Whether `path` holds an rlrec log (its metadata file).
pub fn is_log(path: &Path) -> bool {
    path.join(META_FILE).is_file()
}

/// Runs `spec` on `scenario` for `episodes` episodes and writes every step into the log
/// folder `out`, which must not exist, be empty, or hold a log (which is replaced, once the
/// new one is complete). The logging policy's random stream is seeded with the scenario's
/// seed; a checkpoint it names is loaded by `checkpoints`. `progress` hears the episodes
/// written.
pub fn write_log(
    scenario: &Scenario,
    spec: &PolicySpec,
    checkpoints: &dyn LoadAgent,
    episodes: u64,
    out: &Path,
    mut progress: impl FnMut(u64),
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
                let sum: f64 = row.position_reward.iter().sum();
                additive &= (sum - t.reward).abs() <= 1e-9 * (1.0 + t.reward.abs());
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
            progress(episode + 1);
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
        let leftover = name.starts_with(&format!(".{STEPS_FILE}.")) && name.ends_with(".tmp");
        if name != LOCK_FILE && !leftover {
            return Ok(false);
        }
    }
    Ok(true)
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
    // The process id names this writer to a second one.
    let file = out.join(LOCK_FILE);
    lock.set_len(0)
        .and_then(|()| write!(lock, "{}", std::process::id()))
        .map_err(LogError::io(&file))?;
    Ok(lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iev() -> Scenario {
        Scenario {
            num_candidates: 10,
            seed: 5,
            ..Scenario::new("interest-evolution")
        }
    }

    fn greedy(epsilon: f64) -> PolicySpec {
        PolicySpec::EpsilonGreedy {
            base: BasePolicy::Fixed(rollout::FixedPolicy::Greedy),
            epsilon,
        }
    }

    /// Replays the logging policy on the logged environment and checks that every row
    /// holds what the environment showed, the slate the policy drew, and the policy's
    /// own probabilities.
    fn replay_matches(dir: &Path) -> u64 {
        let reader = LogReader::open(dir).unwrap();
        let meta = reader.meta().clone();
        let mut scenario = meta.scenario.clone();
        let mut policy = Policy::new(
            &meta.policy,
            &mut scenario,
            meta.policy_seed,
            &NoCheckpoints,
        )
        .unwrap();
        assert_eq!(scenario, meta.scenario);
        let mut env = scenario.build().unwrap();
        let mut rows = reader.rows().unwrap();
        let (k, mut count) = (meta.layout.slate_size, 0);
        let mut slate = vec![0; k];
        let mut probs = vec![0.0; k];
        while let Some(row) = rows.next_row().unwrap() {
            if row.step == 0 {
                env.reset(None);
                policy.begin_episode();
            }
            assert_eq!(
                (row.user.as_slice(), row.candidates.as_slice()),
                (env.user(), env.items())
            );
            let dist = policy.distribution(env.as_ref()).unwrap().clone();
            policy.sample(&mut slate);
            assert_eq!(row.slate, slate);
            dist.prefix_probs(&slate, &mut probs);
            assert_eq!(row.prefix_probs, probs);
            assert_eq!(row.slate_prob, probs[k - 1]);
            dist.position_probs(&slate, &mut probs);
            assert_eq!(row.position_probs, probs);
            let t = env.step(&slate).unwrap();
            assert_eq!(
                (row.reward, row.terminated, row.truncated),
                (t.reward, t.terminated, t.truncated)
            );
            assert_eq!(row.position_reward.iter().sum::<f64>(), t.reward);
            assert_eq!(
                row.click.iter().position(|&c| c),
                t.click.map(|c| c.position)
            );
            count += 1;
        }
        assert_eq!(count, meta.steps);
        count
    }

    #[test]
    fn logs_hold_the_policys_own_probabilities() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (Scenario::default(), PolicySpec::Random),
            (iev(), greedy(0.3)),
            (
                iev(),
                PolicySpec::Softmax {
                    base: BasePolicy::Fixed(rollout::FixedPolicy::Kale),
                    temperature: 0.2,
                },
            ),
            (
                Scenario {
                    slate_size: 3,
                    num_candidates: 6,
                    ..Scenario::new("interest-exploration")
                },
                greedy(0.0),
            ),
        ];
        for (i, (scenario, spec)) in cases.into_iter().enumerate() {
            let out = dir.path().join(format!("log{i}"));
            let summary = write_log(&scenario, &spec, &NoCheckpoints, 3, &out, |_| ()).unwrap();
            assert_eq!(summary.meta.episodes, 3);
            assert!(summary.meta.additive_reward);
            assert_eq!(replay_matches(&out), summary.meta.steps, "{spec}");
        }
    }

    #[test]
    fn the_same_seed_writes_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for out in [&a, &b] {
            write_log(&iev(), &greedy(0.5), &NoCheckpoints, 4, out, |_| ()).unwrap();
        }
        for file in [STEPS_FILE, META_FILE] {
            assert_eq!(
                fs::read(a.join(file)).unwrap(),
                fs::read(b.join(file)).unwrap()
            );
        }
        // A log is replaced only by a complete one; a user's folder never.
        write_log(
            &Scenario::default(),
            &PolicySpec::Random,
            &NoCheckpoints,
            1,
            &a,
            |_| (),
        )
        .unwrap();
        assert_eq!(LogReader::open(&a).unwrap().meta().steps, 120);
        let mine = dir.path().join("mine");
        fs::create_dir(&mine).unwrap();
        fs::write(mine.join("notes.txt"), "mine").unwrap();
        let err = write_log(
            &iev(),
            &PolicySpec::Random,
            &NoCheckpoints,
            1,
            &mine,
            |_| (),
        )
        .unwrap_err();
        assert!(err.to_string().contains("is not an rlrec log"), "{err}");
        assert_eq!(fs::read_dir(&mine).unwrap().count(), 1);
    }

    #[test]
    fn damaged_logs_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        write_log(&iev(), &greedy(0.5), &NoCheckpoints, 2, &log, |_| ()).unwrap();
        let reader = LogReader::open(&log).unwrap();
        let open = |path: &Path| recsim_core::error_chain(&LogReader::open(path).unwrap_err());
        assert!(open(dir.path()).contains("is not an rlrec log"));
        // Another log's steps beside this metadata.
        let other = dir.path().join("other");
        write_log(&iev(), &greedy(0.5), &NoCheckpoints, 3, &other, |_| ()).unwrap();
        let mixed = dir.path().join("mixed");
        fs::create_dir(&mixed).unwrap();
        fs::copy(log.join(META_FILE), mixed.join(META_FILE)).unwrap();
        fs::copy(other.join(STEPS_FILE), mixed.join(STEPS_FILE)).unwrap();
        assert!(open(&mixed).contains("not from the same log"));
        // Metadata edited to claim no steps, or another world.
        let text = fs::read_to_string(log.join(META_FILE)).unwrap();
        fs::write(
            mixed.join(META_FILE),
            text.replace(
                &format!("\"steps\": {}", reader.meta().steps),
                "\"steps\": 0",
            ),
        )
        .unwrap();
        assert!(open(&mixed).contains("holds no steps"));
        fs::write(
            mixed.join(META_FILE),
            text.replace("interest-evolution", "mars"),
        )
        .unwrap();
        assert!(open(&mixed).contains("unknown environment `mars`"));
        fs::write(mixed.join(META_FILE), "{").unwrap();
        assert!(open(&mixed).contains("not rlrec log metadata"));
        // A Parquet file without the probabilities.
        let meta = reader.meta().clone();
        let text = serde_json::to_string(&meta).unwrap();
        let file = fs::File::create(mixed.join(STEPS_FILE)).unwrap();
        let schema =
            std::sync::Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
                "episode",
                arrow_schema::DataType::UInt64,
                false,
            )]));
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
        w.append_key_value_metadata(parquet::file::metadata::KeyValue::new(
            PARQUET_META_KEY.into(),
            text.clone(),
        ));
        w.close().unwrap();
        fs::write(mixed.join(META_FILE), &text).unwrap();
        let err = open(&mixed);
        assert!(
            err.contains("missing columns: step, user, candidates"),
            "{err}"
        );
        // A flipped value is found by the checksum once the rows are read.
        let mut bytes = fs::read(log.join(STEPS_FILE)).unwrap();
        fs::copy(log.join(META_FILE), mixed.join(META_FILE)).unwrap();
        // A third of the way in: inside the column data, far from the footer.
        let at = bytes.len() / 3;
        bytes[at] ^= 1;
        fs::write(mixed.join(STEPS_FILE), &bytes).unwrap();
        let read_all = || -> Result<(), LogError> {
            let reader = LogReader::open(&mixed)?;
            let mut rows = reader.rows()?;
            while rows.next_row()?.is_some() {}
            Ok(())
        };
        assert!(read_all().is_err());
    }
}
