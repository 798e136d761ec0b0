//! Checkpoints and run directories.
//!
//! A checkpoint file is a small header followed by a `bincode` payload:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `RLRECCKP` |
//! | 4 | format version, little-endian |
//! | 1 + n | algorithm name, length-prefixed |
//! | 8 | payload length, little-endian |
//! | 4 | CRC-32 of the payload |
//! | … | payload: config (TOML), loop state, environment state, agent state |
//!
//! Everything is written to a temporary name and renamed into place, so an interrupted
//! write leaves the previous checkpoint and the pointer to it intact.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use env::EnvState;

use crate::{Algo, Algorithm, InvalidConfig, IterationResult, LoopState, TrainConfig, TrainError};

const MAGIC: &[u8; 8] = b"RLRECCKP";
/// The newest format this build reads and the one it writes.
/// Version 2: the environment state is typed ([`EnvState`]), the configuration strict.
pub const FORMAT_VERSION: u32 = 2;
/// The checkpoint file inside a checkpoint folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";
/// The tutorial's pointer to the latest checkpoint.
pub const POINTER_FILE: &str = "checkpoint_path.txt";
/// One JSON line per iteration.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The run's configuration.
pub const CONFIG_FILE: &str = "config.toml";

/// A checkpoint or run folder that cannot be read or written.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// Neither a checkpoint folder nor a run folder.
    #[error("no checkpoint at {}: expected a checkpoint folder (with {CHECKPOINT_FILE}) or a run folder (with {POINTER_FILE})", .0.display())]
    Missing(PathBuf),
    /// Another kind of file.
    #[error("{} is not an rlrec checkpoint (bad magic bytes)", .0.display())]
    NotACheckpoint(PathBuf),
    /// Written by a newer rlrec.
    #[error("checkpoint format version {found} is newer than this rlrec reads ({FORMAT_VERSION}); upgrade rlrec")]
    NewerVersion {
        /// The file's version.
        found: u32,
    },
    /// Written by an older rlrec whose format this one no longer reads.
    #[error("checkpoint format version {found} is older than this rlrec reads ({FORMAT_VERSION}); train again with this version")]
    OlderVersion {
        /// The file's version.
        found: u32,
    },
    /// Ends early.
    #[error("checkpoint is truncated ({0})")]
    Truncated(&'static str),
    /// The checksum does not match.
    #[error("checkpoint is corrupt: checksum mismatch")]
    Corrupt,
    /// Another algorithm's checkpoint.
    #[error("checkpoint holds a {found} agent, not {expected}")]
    WrongAlgorithm {
        /// The algorithm asked for.
        expected: String,
        /// The checkpoint's.
        found: String,
    },
    /// The payload cannot be decoded.
    #[error("checkpoint cannot be decoded: {0}")]
    Decode(String),
    /// The embedded configuration cannot be read.
    #[error("checkpoint's configuration: {0}")]
    Config(#[from] InvalidConfig),
    /// A folder that already holds a run.
    #[error("run folder {} already holds a run; pass --resume to continue it or choose another --out", .0.display())]
    RunExists(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    config_toml: String,
    state: LoopState,
    env_state: EnvState,
    agent_state: Vec<u8>,
}

/// Everything needed to continue a run exactly.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The run's configuration.
    pub config: TrainConfig,
    /// The loop's counters.
    pub state: LoopState,
    /// The training environment, streams included.
    pub env_state: EnvState,
    /// The agent, as [`agents::Agent::save`] wrote it.
    pub agent_state: Vec<u8>,
}

impl Checkpoint {
    /// The state of a run.
    pub fn of(algorithm: &Algorithm) -> Self {
        Self {
            config: algorithm.config().clone(),
            state: algorithm.state().clone(),
            env_state: algorithm.env().save_state(),
            agent_state: algorithm.agent().save(),
        }
    }

    /// The algorithm that trained it.
    pub fn algo(&self) -> Algo {
        self.config.algo()
    }

    /// The file's bytes: header, checksum and payload.
    pub fn encode(&self) -> Vec<u8> {
        let payload = Payload {
            config_toml: self.config.to_toml(),
            state: self.state.clone(),
            env_state: self.env_state.clone(),
            agent_state: self.agent_state.clone(),
        };
        let body = bincode::serde::encode_to_vec(&payload, bincode::config::standard())
            .expect("checkpoint payload serialises");
        let name = self.algo().name().as_bytes();
        let mut out = Vec::with_capacity(body.len() + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes and verifies a checkpoint file's bytes (`path` is for messages).
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self, CheckpointError> {
        let mut r = Reader(bytes);
        if r.take(8, "magic").ok() != Some(&MAGIC[..]) {
            return Err(CheckpointError::NotACheckpoint(path.to_path_buf()));
        }
        let version = u32::from_le_bytes(r.array("version")?);
        if version > FORMAT_VERSION {
            return Err(CheckpointError::NewerVersion { found: version });
        }
        if version < FORMAT_VERSION {
            return Err(CheckpointError::OlderVersion { found: version });
        }
        let name_len = r.take(1, "algorithm name")?[0] as usize;
        let name = String::from_utf8_lossy(r.take(name_len, "algorithm name")?).to_string();
        let len = u64::from_le_bytes(r.array("payload length")?);
        let crc = u32::from_le_bytes(r.array("checksum")?);
        let body = r.take(
            usize::try_from(len).map_err(|_| CheckpointError::Truncated("payload"))?,
            "payload",
        )?;
        if crc32fast::hash(body) != crc {
            return Err(CheckpointError::Corrupt);
        }
        let (payload, _): (Payload, usize) =
            bincode::serde::decode_from_slice(body, bincode::config::standard())
                .map_err(|e| CheckpointError::Decode(e.to_string()))?;
        let config = TrainConfig::from_toml(&payload.config_toml)?;
        if config.algo().name() != name {
            return Err(CheckpointError::Decode(format!(
                "header names {name} but the config names {}",
                config.algo()
            )));
        }
        Ok(Self {
            config,
            state: payload.state,
            env_state: payload.env_state,
            agent_state: payload.agent_state,
        })
    }

    /// Reads a checkpoint folder, or the latest checkpoint of a run folder.
    pub fn read(path: &Path) -> Result<Self, CheckpointError> {
        let file = resolve(path)?;
        let bytes = fs::read(&file).map_err(io_err(&file))?;
        Self::decode(&bytes, &file)
    }

    /// Refuses a checkpoint of another algorithm than `expected`.
    pub fn expect_algo(&self, expected: Algo) -> Result<(), CheckpointError> {
        if self.algo() == expected {
            Ok(())
        } else {
            Err(CheckpointError::WrongAlgorithm {
                expected: expected.name().into(),
                found: self.algo().name().into(),
            })
        }
    }

    /// Rebuilds the run this checkpoint holds.
    pub fn into_algorithm(self) -> Result<Algorithm, TrainError> {
        Algorithm::restore(self.config, self.state, &self.env_state, &self.agent_state)
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CheckpointError> {
        if self.0.len() < n {
            return Err(CheckpointError::Truncated(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CheckpointError> {
        Ok(self
            .take(N, what)?
            .try_into()
            .expect("took exactly N bytes"))
    }
}

/// The checkpoint file a path names: a checkpoint folder, the file itself, or a run
/// folder whose pointer names the latest checkpoint.
fn resolve(path: &Path) -> Result<PathBuf, CheckpointError> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let direct = path.join(CHECKPOINT_FILE);
    if direct.is_file() {
        return Ok(direct);
    }
    let pointer = path.join(POINTER_FILE);
    if pointer.is_file() {
        let target = fs::read_to_string(&pointer).map_err(io_err(&pointer))?;
        let target = PathBuf::from(target.trim());
        // The pointer holds an absolute path; a moved run folder still has the folder.
        let local = target.file_name().map(|name| path.join(name));
        for candidate in [Some(target), local].into_iter().flatten() {
            if candidate.join(CHECKPOINT_FILE).is_file() {
                return Ok(candidate.join(CHECKPOINT_FILE));
            }
        }
    }
    Err(CheckpointError::Missing(path.to_path_buf()))
}

/// Writes `bytes` to `path` through a temporary file, synced, then renamed.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// A run folder: `config.toml`, `metrics.jsonl`, `checkpoint-NNNNNN/` and the pointer.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// A new run; refuses a folder that already holds one.
    pub fn create(path: &Path, config: &TrainConfig) -> Result<Self, CheckpointError> {
        if path.join(METRICS_FILE).exists() || path.join(POINTER_FILE).exists() {
            return Err(CheckpointError::RunExists(path.to_path_buf()));
        }
        fs::create_dir_all(path).map_err(io_err(path))?;
        let run = Self {
            path: path.to_path_buf(),
        };
        run.write_config(config)?;
        File::create(run.metrics_path()).map_err(io_err(&run.metrics_path()))?;
        Ok(run)
    }

    /// Continues a run from iteration `iteration`: later metric lines (from a run that went
    /// further before) are dropped, so the file again reads as one straight run.
    pub fn resume(
        path: &Path,
        config: &TrainConfig,
        iteration: u64,
    ) -> Result<Self, CheckpointError> {
        fs::create_dir_all(path).map_err(io_err(path))?;
        let run = Self {
            path: path.to_path_buf(),
        };
        let kept: Vec<String> = run
            .metric_lines()?
            .into_iter()
            .filter(|line| {
                serde_json::from_str::<IterationResult>(line)
                    .map(|r| r.training_iteration <= iteration)
                    .unwrap_or(false)
            })
            .collect();
        let mut text = kept.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        write_atomic(&run.metrics_path(), text.as_bytes())?;
        run.write_config(config)?;
        Ok(run)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn metrics_path(&self) -> PathBuf {
        self.path.join(METRICS_FILE)
    }

    fn write_config(&self, config: &TrainConfig) -> Result<(), CheckpointError> {
        write_atomic(&self.path.join(CONFIG_FILE), config.to_toml().as_bytes())
    }

    fn metric_lines(&self) -> Result<Vec<String>, CheckpointError> {
        let path = self.metrics_path();
        match File::open(&path) {
            Ok(f) => BufReader::new(f)
                .lines()
                .collect::<Result<_, _>>()
                .map_err(io_err(&path)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Every iteration's results so far.
    pub fn metrics(&self) -> Result<Vec<IterationResult>, CheckpointError> {
        self.metric_lines()?
            .iter()
            .map(|l| serde_json::from_str(l).map_err(|e| CheckpointError::Decode(e.to_string())))
            .collect()
    }

    /// Adds one iteration's line to `metrics.jsonl`.
    pub fn append_metrics(&self, result: &IterationResult) -> Result<(), CheckpointError> {
        let path = self.metrics_path();
        let mut f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let line = serde_json::to_string(result).expect("results serialise");
        writeln!(f, "{line}").map_err(io_err(&path))
    }

    /// Saves `checkpoint-NNNNNN/` atomically and points `checkpoint_path.txt` at it.
    pub fn save(&self, algorithm: &Algorithm) -> Result<PathBuf, CheckpointError> {
        let ckpt = Checkpoint::of(algorithm);
        let name = format!("checkpoint-{:06}", ckpt.state.iteration);
        let final_dir = self.path.join(&name);
        let tmp_dir = self.path.join(format!(".{name}.tmp"));
        if tmp_dir.exists() {
            fs::remove_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
        }
        fs::create_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
        write_atomic(&tmp_dir.join(CHECKPOINT_FILE), &ckpt.encode())?;
        write_atomic(&tmp_dir.join(CONFIG_FILE), ckpt.config.to_toml().as_bytes())?;
        if final_dir.exists() {
            // A resumed run reaching an iteration an earlier run had saved: swap in the
            // new one only once it is complete.
            let old = self.path.join(format!(".{name}.old"));
            fs::rename(&final_dir, &old).map_err(io_err(&final_dir))?;
            fs::rename(&tmp_dir, &final_dir).map_err(io_err(&final_dir))?;
            fs::remove_dir_all(&old).map_err(io_err(&old))?;
        } else {
            fs::rename(&tmp_dir, &final_dir).map_err(io_err(&final_dir))?;
        }
        let absolute = fs::canonicalize(&final_dir).map_err(io_err(&final_dir))?;
        write_atomic(
            &self.path.join(POINTER_FILE),
            format!("{}\n", absolute.display()).as_bytes(),
        )?;
        Ok(final_dir)
    }
}
