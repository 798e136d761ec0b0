//! A checkpoint as a policy: its agent rebuilt to act without exploration, for the logs'
//! and off-policy evaluation's base policies ([`logs::LoadAgent`]).

use std::path::{Path, PathBuf};

use agents::{Agent, AgentError};
use env::Scenario;
use logs::{BasePolicy, LoadAgent, LogError};

use crate::{build_agent, Checkpoint, TrainError};

/// Loads checkpoints' agents for policies that name one ([`logs::BasePolicy::Checkpoint`]).
pub struct Checkpoints;

impl LoadAgent for Checkpoints {
    fn load_agent(&self, path: &Path, scenario: &Scenario) -> Result<Box<dyn Agent>, LogError> {
        checkpoint_agent(path, scenario).map_err(|e| match e {
            TrainError::Log(e) => e,
            other => LogError::Checkpoint(Box::new(other)),
        })
    }
}

/// The agent of the checkpoint at `path`, trained on `scenario`'s world, candidates,
/// slate size and wrappers.
fn checkpoint_agent(path: &Path, scenario: &Scenario) -> Result<Box<dyn Agent>, TrainError> {
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
    let env = scenario.build()?;
    let mut agent = build_agent(&ckpt.config, env.as_ref())?;
    agent.load(&ckpt.agent_state)?;
    Ok(agent)
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
