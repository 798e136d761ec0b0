//! A checkpoint as a policy: its agent rebuilt to act without exploration, for the logs'
//! and off-policy evaluation's base policies ([`logs::LoadPolicy`]).

use std::path::{Path, PathBuf};

use agents::{AgentError, Policy};
use env::Scenario;
use logs::{BasePolicy, LoadPolicy, LogError};

use crate::{Checkpoint, TrainError};

/// Loads checkpoints' agents for policies that name one ([`logs::BasePolicy::Checkpoint`]).
pub struct Checkpoints;

impl LoadPolicy for Checkpoints {
    fn load_policy(&self, path: &Path, scenario: &Scenario) -> Result<Box<dyn Policy>, LogError> {
        policy_at(path, scenario).map_err(|e| match e {
            TrainError::Log(e) => e,
            other => LogError::Checkpoint(Box::new(other)),
        })
    }
}

/// The policy of the checkpoint at `path`, trained on `scenario`'s world, candidates,
/// slate size and wrappers.
fn policy_at(path: &Path, scenario: &Scenario) -> Result<Box<dyn Policy>, TrainError> {
    let ckpt = Checkpoint::read(path)?;
    let trained = &ckpt.config.env;
    if (
        &trained.env,
        trained.num_candidates,
        trained.slate_size,
        trained.wrappers,
    ) != (
        &scenario.env,
        scenario.num_candidates,
        scenario.slate_size,
        scenario.wrappers,
    ) {
        return Err(AgentError::Unsupported(format!(
            "{} was trained on {} {}/{} with {:?}, not {} {}/{} with {:?}",
            path.display(),
            trained.env,
            trained.num_candidates,
            trained.slate_size,
            trained.wrappers,
            scenario.env,
            scenario.num_candidates,
            scenario.slate_size,
            scenario.wrappers
        ))
        .into());
    }
    Ok(ckpt.agent(&scenario.resolve()?)?)
}

/// The base policy a checkpoint path names, recorded with its algorithm and iteration.
pub fn checkpoint_policy(path: PathBuf) -> Result<BasePolicy, TrainError> {
    let header = Checkpoint::header(&path)?;
    let folder = header.path.parent().map_or(path, Path::to_path_buf);
    Ok(BasePolicy::Checkpoint {
        path: std::fs::canonicalize(&folder).unwrap_or(folder),
        algo: header.algo().name().to_string(),
        iteration: header.iteration,
    })
}
