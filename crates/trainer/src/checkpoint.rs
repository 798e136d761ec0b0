//! Checkpoints: everything a run needs to continue exactly, in one checked file.
//!
//! A checkpoint folder holds `checkpoint.bin`, a copy of the run's `config.toml` and, in
//! the latest checkpoint of a run only, `replay.bin` (a SlateQ replay buffer: large, and
//! needed only to continue). Both binary files are a small header and a payload:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `RLRECCKP` (`RLRECRPL` for the replay) |
//! | 4 | format version, little-endian |
//! | 1 + n | algorithm name, length-prefixed |
//! | 8 | payload length, little-endian |
//! | 4 | CRC-32 of the payload |
//! | … | payload (bincode): run id, config (TOML), loop state, environment states, agent state |

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use env::EnvState;

use crate::{Algo, Algorithm, InvalidConfig, LoopState, TrainConfig, TrainError};

const MAGIC: &[u8; 8] = b"RLRECCKP";
const REPLAY_MAGIC: &[u8; 8] = b"RLRECRPL";
/// The newest format this build reads and the one it writes. Version 2: the environment
/// state is typed ([`EnvState`]), the configuration strict, the replay apart. Version 3:
/// one state per training environment (SlateQ's `num_envs`). Version 4: SlateQ's state
/// value network and averaged parameters. Version 5: the layout names the time feature
/// ([`env::Layout::time`]). Version 6: SlateQ's replay holds each distinct candidate block
/// once.
pub const FORMAT_VERSION: u32 = 6;
/// The checkpoint file inside a checkpoint folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";
/// The replay buffer, in a run's latest checkpoint only.
pub const REPLAY_FILE: &str = "replay.bin";
/// The tutorial's pointer to the latest checkpoint.
pub const POINTER_FILE: &str = "checkpoint_path.txt";
/// One JSON line per iteration.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The run's configuration.
pub const CONFIG_FILE: &str = "config.toml";
/// The final evaluation of a finished run: `{"training_iteration", "evaluation"}`.
pub const EVALUATION_FILE: &str = "evaluation.json";

/// A checkpoint or run folder that cannot be read or written.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// A file operation failed.
    #[error(transparent)]
    Io(#[from] storage::IoError),
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
    #[error("{} is corrupt: checksum mismatch", .0.display())]
    Corrupt(PathBuf),
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
    /// The payload is not the encoding of a checkpoint (bincode's error is the source).
    #[error("checkpoint cannot be decoded")]
    Payload(#[source] bincode::error::DecodeError),
    /// The embedded configuration builds no environment.
    #[error("checkpoint cannot be decoded: its configuration builds no environment")]
    NoEnvironment(#[source] env::ConfigError),
    /// The embedded configuration cannot be read.
    #[error("checkpoint's configuration")]
    Config(#[from] InvalidConfig),
    /// An older checkpoint, whose replay buffer was dropped to save disk.
    #[error(
        "{} holds no replay buffer: only a run's latest checkpoint keeps it, so only the \
         latest continues training; this one serves inference and evaluation",
        .0.display()
    )]
    NoReplay(PathBuf),
    /// The embedded configuration does not describe the saved environments (a file edited
    /// with its checksum recomputed).
    #[error("{}: its configuration does not fit its saved environments", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// Why the configuration's environment refuses a saved state.
        source: env::EnvError,
    },
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CheckpointError + '_ {
    move |e| storage::IoError::on(path)(e).into()
}

#[derive(Serialize, Deserialize)]
struct Payload {
    run_id: String,
    config_toml: String,
    state: LoopState,
    env_states: Vec<EnvState>,
    agent_state: Vec<u8>,
    /// Whether a replay buffer was saved beside it, which continuing needs.
    has_replay: bool,
}

/// Everything needed to continue a run exactly.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The run it belongs to ([`crate::RunDir::run_id`]).
    pub run_id: String,
    /// The run's configuration.
    pub config: TrainConfig,
    /// The loop's counters.
    pub state: LoopState,
    /// The training environments, streams included.
    pub env_states: Vec<EnvState>,
    /// The agent, as [`agents::Agent::save`] wrote it.
    pub agent_state: Vec<u8>,
    /// The agent's replay buffer ([`agents::Agent::save_replay`]), where it has one and
    /// the file was kept.
    pub replay: Option<Vec<u8>>,
    /// Whether the agent had a replay buffer when saved.
    pub has_replay: bool,
    /// Where it was read from (empty for one not read from disk).
    pub path: PathBuf,
}

impl Checkpoint {
    /// The state of a run.
    pub fn of(algorithm: &Algorithm, run_id: &str) -> Self {
        let replay = algorithm.agent().save_replay();
        Self {
            run_id: run_id.to_string(),
            config: algorithm.config().clone(),
            state: algorithm.state().clone(),
            env_states: algorithm.envs().iter().map(|e| e.save_state()).collect(),
            agent_state: algorithm.agent().save(),
            has_replay: replay.is_some(),
            replay,
            path: PathBuf::new(),
        }
    }

    /// The algorithm that trained it.
    pub fn algo(&self) -> Algo {
        self.config.algo()
    }

    /// The iteration it was saved at.
    pub fn iteration(&self) -> u64 {
        self.state.iteration
    }

    /// `checkpoint.bin`'s bytes.
    pub fn encode(&self) -> Vec<u8> {
        let payload = Payload {
            run_id: self.run_id.clone(),
            config_toml: self.config.to_toml(),
            state: self.state.clone(),
            env_states: self.env_states.clone(),
            agent_state: self.agent_state.clone(),
            has_replay: self.has_replay,
        };
        let body = bincode::serde::encode_to_vec(&payload, bincode::config::standard())
            .expect("checkpoint payload serialises");
        container(MAGIC, self.algo().name(), &body)
    }

    /// `replay.bin`'s bytes, where the agent has a replay buffer.
    pub fn encode_replay(&self) -> Option<Vec<u8>> {
        self.replay
            .as_ref()
            .map(|r| container(REPLAY_MAGIC, self.algo().name(), r))
    }

    /// Decodes and verifies a checkpoint file's bytes (`path` is for messages): its
    /// container, its configuration, and that every saved environment loads into the
    /// environment the configuration builds.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self, CheckpointError> {
        let ckpt = Self::decode_unchecked(bytes, path)?;
        ckpt.check_environments()?;
        Ok(ckpt)
    }

    /// [`Checkpoint::decode`] without loading the saved environments: for a restore,
    /// which loads each once and reports a mismatch there.
    fn decode_unchecked(bytes: &[u8], path: &Path) -> Result<Self, CheckpointError> {
        let (name, body) = open_container(bytes, MAGIC, path)?;
        let (payload, _): (Payload, usize) =
            bincode::serde::decode_from_slice(body, bincode::config::standard())
                .map_err(CheckpointError::Payload)?;
        let config = configuration(&name, &payload.config_toml)?;
        Ok(Self {
            run_id: payload.run_id,
            config,
            state: payload.state,
            env_states: payload.env_states,
            agent_state: payload.agent_state,
            replay: None,
            has_replay: payload.has_replay,
            path: path.to_path_buf(),
        })
    }

    /// Refuses a checkpoint whose configuration does not describe its saved environments
    /// (a file edited with its checksum recomputed).
    fn check_environments(&self) -> Result<(), CheckpointError> {
        let mut check = self
            .config
            .env
            .build()
            .map_err(CheckpointError::NoEnvironment)?;
        for state in &self.env_states {
            check
                .load_state(state)
                .map_err(|source| CheckpointError::Mismatch {
                    path: self.path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Reads a checkpoint folder, or the latest checkpoint of a run folder, with its
    /// replay buffer where the folder has one; verified as [`Checkpoint::decode`] does.
    pub fn read(path: &Path) -> Result<Self, CheckpointError> {
        let ckpt = Self::read_to_restore(path)?;
        ckpt.check_environments()?;
        Ok(ckpt)
    }

    /// [`Checkpoint::read`] for a restore ([`Checkpoint::into_algorithm`]), which loads
    /// the saved environments itself: each is loaded once.
    pub(crate) fn read_to_restore(path: &Path) -> Result<Self, CheckpointError> {
        let file = resolve(path)?;
        let bytes = fs::read(&file).map_err(io_err(&file))?;
        let mut ckpt = Self::decode_unchecked(&bytes, &file)?;
        let replay = file.with_file_name(REPLAY_FILE);
        if ckpt.has_replay && replay.is_file() {
            let bytes = fs::read(&replay).map_err(io_err(&replay))?;
            let (name, body) = open_container(&bytes, REPLAY_MAGIC, &replay)?;
            if name != ckpt.algo().name() {
                return Err(CheckpointError::Decode(format!(
                    "{} is a {name} replay beside a {} checkpoint",
                    replay.display(),
                    ckpt.algo()
                )));
            }
            ckpt.replay = Some(body.to_vec());
        }
        Ok(ckpt)
    }

    /// What a checkpoint is, without its states: for callers that want only its
    /// algorithm, iteration or configuration. The container is verified (magic, version,
    /// checksum) and the configuration read; nothing else is decoded.
    pub fn header(path: &Path) -> Result<Header, CheckpointError> {
        let file = resolve(path)?;
        let bytes = fs::read(&file).map_err(io_err(&file))?;
        let (name, body) = open_container(&bytes, MAGIC, &file)?;
        // The payload's leading fields, in its order: bincode reads them and stops.
        let ((run_id, config_toml, state), _): ((String, String, LoopState), usize) =
            bincode::serde::decode_from_slice(body, bincode::config::standard())
                .map_err(CheckpointError::Payload)?;
        Ok(Header {
            run_id,
            config: configuration(&name, &config_toml)?,
            iteration: state.iteration,
            path: file,
        })
    }

    /// The checkpoint folder it was read from.
    pub fn folder(&self) -> Option<&Path> {
        self.path.parent()
    }

    /// The name of the run it belongs to (its run folder's), the algorithm's where the
    /// path has none: how `compare` and `episode` label a checkpoint's policy.
    pub fn run_name(&self) -> String {
        let folder = self.folder().unwrap_or(&self.path);
        let run = folder.parent().filter(|_| {
            folder
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("checkpoint-"))
        });
        run.unwrap_or(folder).file_name().map_or_else(
            || self.algo().to_string(),
            |n| n.to_string_lossy().to_string(),
        )
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

    /// The saved agent, built for the environments of `spec` (the configuration's own
    /// scenario, or one of the same layout) and loaded: what acting, inspecting and
    /// exporting start from.
    pub fn agent(&self, spec: &env::EnvSpec) -> Result<Box<dyn agents::Agent>, TrainError> {
        let mut agent = crate::build_agent(&self.config, spec)?;
        agent.load(&self.agent_state)?;
        Ok(agent)
    }

    /// Rebuilds the run this checkpoint holds, to continue training, loading each saved
    /// environment once; refuses one whose replay buffer was dropped, or whose
    /// environments do not fit its configuration.
    pub fn into_algorithm(self) -> Result<Algorithm, TrainError> {
        if self.has_replay && self.replay.is_none() {
            return Err(CheckpointError::NoReplay(self.path.clone()).into());
        }
        let mismatch = |source| CheckpointError::Mismatch {
            path: self.path.clone(),
            source,
        };
        Algorithm::restore(
            self.config.clone(),
            self.state.clone(),
            &self.env_states,
            &self.agent_state,
            self.replay.as_deref(),
            mismatch,
        )
    }
}

/// A checkpoint's identity: what [`Checkpoint::header`] reads.
#[derive(Debug, Clone)]
pub struct Header {
    /// The run it belongs to.
    pub run_id: String,
    /// The run's configuration.
    pub config: TrainConfig,
    /// The iteration it was saved at.
    pub iteration: u64,
    /// The `checkpoint.bin` it was read from.
    pub path: PathBuf,
}

impl Header {
    /// The algorithm that trained it.
    pub fn algo(&self) -> Algo {
        self.config.algo()
    }
}

/// The configuration a payload holds, which must be of the algorithm the header names.
fn configuration(name: &str, toml: &str) -> Result<TrainConfig, CheckpointError> {
    let config = TrainConfig::from_toml(toml)?;
    if config.algo().name() != name {
        return Err(CheckpointError::Decode(format!(
            "header names {name} but the config names {}",
            config.algo()
        )));
    }
    Ok(config)
}

/// Header, checksum and body.
fn container(magic: &[u8; 8], name: &str, body: &[u8]) -> Vec<u8> {
    let name = name.as_bytes();
    let mut out = Vec::with_capacity(body.len() + 32);
    out.extend_from_slice(magic);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// The algorithm name and the verified body of a container.
fn open_container<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    path: &Path,
) -> Result<(String, &'a [u8]), CheckpointError> {
    let mut r = Reader(bytes);
    if r.take(8, "magic").ok() != Some(&magic[..]) {
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
        return Err(CheckpointError::Corrupt(path.to_path_buf()));
    }
    Ok((name, body))
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
    if let Some(latest) = latest_checkpoint(path)? {
        return Ok(latest.join(CHECKPOINT_FILE));
    }
    Err(CheckpointError::Missing(path.to_path_buf()))
}

/// The folder of a run's latest checkpoint, by its pointer; `None` before the first.
pub(crate) fn latest_checkpoint(run: &Path) -> Result<Option<PathBuf>, CheckpointError> {
    let pointer = run.join(POINTER_FILE);
    if !pointer.is_file() {
        return Ok(None);
    }
    let target = fs::read_to_string(&pointer).map_err(io_err(&pointer))?;
    let target = PathBuf::from(target.trim());
    // The pointer holds an absolute path (as the tutorial's does); the folder of that name
    // inside the run wins, so that a moved run folder still finds its checkpoint.
    let local = target.file_name().map(|name| run.join(name));
    Ok([local, Some(target)]
        .into_iter()
        .flatten()
        .find(|candidate| candidate.join(CHECKPOINT_FILE).is_file()))
}

/// The iteration of a `checkpoint-NNNNNN` folder.
pub(crate) fn checkpoint_iteration(folder: &Path) -> Option<u64> {
    folder
        .file_name()?
        .to_str()?
        .strip_prefix("checkpoint-")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A LinUCB run after two iterations, as saved, and its file's bytes.
    fn saved() -> (Checkpoint, Vec<u8>) {
        let mut config = TrainConfig::new(Algo::Linucb);
        config.iterations = 5;
        let mut algorithm = Algorithm::new(config).unwrap();
        algorithm.train().unwrap();
        algorithm.train().unwrap();
        let ckpt = Checkpoint::of(&algorithm, "run-1");
        let bytes = ckpt.encode();
        (ckpt, bytes)
    }

    /// A checkpoint file of `payload` under the algorithm `name`, its checksum valid.
    fn repacked(payload: &Payload, name: &str) -> Vec<u8> {
        let body = bincode::serde::encode_to_vec(payload, bincode::config::standard()).unwrap();
        container(MAGIC, name, &body)
    }

    fn payload(ckpt: &Checkpoint) -> Payload {
        Payload {
            run_id: ckpt.run_id.clone(),
            config_toml: ckpt.config.to_toml(),
            state: ckpt.state.clone(),
            env_states: ckpt.env_states.clone(),
            agent_state: ckpt.agent_state.clone(),
            has_replay: ckpt.has_replay,
        }
    }

    #[test]
    fn a_checkpoint_decodes_to_what_was_saved_and_its_header_alone_reads() {
        let (ckpt, bytes) = saved();
        let path = Path::new("ckpt/checkpoint.bin");
        let back = Checkpoint::decode(&bytes, path).unwrap();
        assert_eq!(
            (
                back.iteration(),
                &back.config,
                &back.agent_state,
                &back.run_id
            ),
            (2, &ckpt.config, &ckpt.agent_state, &ckpt.run_id)
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CHECKPOINT_FILE), &bytes).unwrap();
        let header = Checkpoint::header(dir.path()).unwrap();
        assert_eq!((header.iteration, header.algo()), (2, Algo::Linucb));
        assert_eq!(
            (header.run_id.as_str(), &header.config),
            ("run-1", &ckpt.config)
        );
        assert_eq!(header.path, dir.path().join(CHECKPOINT_FILE));
    }

    #[test]
    fn damaged_and_foreign_bytes_are_refused_by_name() {
        let (ckpt, bytes) = saved();
        let path = Path::new("checkpoint.bin");
        let decode = |b: &[u8]| Checkpoint::decode(b, path).unwrap_err();
        assert!(matches!(
            decode(b"RLRECRPL"),
            CheckpointError::NotACheckpoint(_)
        ));
        assert!(matches!(
            decode(&bytes[..bytes.len() - 1]),
            CheckpointError::Truncated(_)
        ));
        assert!(matches!(
            decode(&bytes[..10]),
            CheckpointError::Truncated(_)
        ));
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(decode(&flipped), CheckpointError::Corrupt(_)));
        for (version, newer) in [(FORMAT_VERSION + 1, true), (FORMAT_VERSION - 1, false)] {
            let mut other = bytes.clone();
            other[8..12].copy_from_slice(&version.to_le_bytes());
            match decode(&other) {
                CheckpointError::NewerVersion { found } if newer => assert_eq!(found, version),
                CheckpointError::OlderVersion { found } if !newer => assert_eq!(found, version),
                e => panic!("version {version}: {e}"),
            }
        }
        // A payload that is no checkpoint's, with a valid checksum: bincode's error is
        // kept as the cause.
        let garbage = container(MAGIC, "linucb", &[0xff; 3]);
        let e = decode(&garbage);
        assert!(matches!(e, CheckpointError::Payload(_)));
        assert!(std::error::Error::source(&e).is_some());
        // The header's algorithm against the configuration's.
        let lints = repacked(&payload(&ckpt), "lints");
        assert!(matches!(decode(&lints), CheckpointError::Decode(_)));
        // A configuration that does not describe the saved environments: refused when
        // read, and by a restore, which loads each environment once.
        let mut foreign = payload(&ckpt);
        foreign.config_toml = foreign
            .config_toml
            .replace("num_candidates = 20", "num_candidates = 7");
        let foreign = repacked(&foreign, "linucb");
        assert!(matches!(decode(&foreign), CheckpointError::Mismatch { .. }));
        let unchecked = Checkpoint::decode_unchecked(&foreign, path).unwrap();
        assert!(matches!(
            unchecked.into_algorithm(),
            Err(TrainError::Checkpoint(CheckpointError::Mismatch { .. }))
        ));
    }
}
