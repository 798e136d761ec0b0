//! Agents that choose slates: the [`Agent`] interface every algorithm implements, the
//! baseline policies (random, greedy, kale) and the linear contextual bandits.

mod baseline;
mod linear;

pub use baseline::{top_k, Baseline, BaselineKind};
pub use linear::{Exploration, LinTsConfig, LinUcbConfig, LinearBandit};

use env::{Layout, SlateEnv, Transition};
use thiserror::Error;

/// A checkpointed agent state that cannot be used.
#[derive(Debug, Error)]
pub enum AgentError {
    #[error("agent state is corrupt or of another layout: {0}")]
    State(String),
    #[error("invalid {name}: {why}")]
    Config { name: &'static str, why: String },
}

/// Something that recommends slates and may learn from what follows.
///
/// An agent owns its random stream (seeded when it is built), so that saving and loading
/// it continues a run exactly.
pub trait Agent: Send {
    /// The algorithm's command-line name.
    fn algorithm(&self) -> &'static str;
    /// Fills `slate` (one candidate position per slot) for the environment's current
    /// observation; `explore` is false for evaluation.
    fn act(&mut self, env: &dyn SlateEnv, explore: bool, slate: &mut [usize]);
    /// Called when an episode has just started, before its first [`Agent::act`], for
    /// agents that keep per-episode state.
    fn begin_episode(&mut self) {}
    /// Learns from one step: the slate shown, its transition, and the environment after it.
    fn observe(&mut self, _slate: &[usize], _transition: &Transition, _next: &dyn SlateEnv) {}
    /// Learner statistics for the iteration results; per-iteration figures restart.
    fn stats(&mut self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
    /// A human-readable summary of the learned parameters.
    fn describe(&self) -> String;
    /// The complete state, random stream included.
    fn save(&self) -> Vec<u8>;
    fn load(&mut self, bytes: &[u8]) -> Result<(), AgentError>;
}

/// Checks that a layout suits an agent built for `expected`.
pub fn check_layout(expected: &Layout, actual: &Layout) -> Result<(), AgentError> {
    if expected == actual {
        Ok(())
    } else {
        Err(AgentError::State(format!(
            "the agent was built for {expected:?}, the environment is {actual:?}"
        )))
    }
}
