//! Agents in environments, without learning: whole episodes (one to show, many to
//! evaluate, on one environment or a vector of them), the fixed policies and their
//! baselines (the planner's oracles among them), RecSim's video-cluster metrics, and the
//! statistics of returns and of runs.
//!
//! ```
//! use rollout::{baseline, FixedPolicy};
//!
//! let report = baseline(FixedPolicy::Random, &env::Scenario::default(), 20, 4, 1, |_| ()).unwrap();
//! assert_eq!(report.evaluation.summary.episodes, 20);
//! ```

#![warn(missing_docs)]

mod baseline;
mod episode;
mod metrics;
pub mod stats;

use agents::AgentError;
use env::{EnvError, Transition};
use thiserror::Error;

pub use baseline::{baseline, fixed_policy, BaselineReport, FixedPolicy, MakePolicy};
pub use episode::{
    evaluate, evaluate_on, evaluate_vectorized, evaluate_with, evaluation, play_episode,
    record_episode, Episode, Evaluation, StepRecord, FRAGMENT_STEPS,
};
pub use metrics::{VideoMetrics, VideoReport};
pub use stats::{Interval, RunStats, Summary};

/// The evaluation environment's seed is offset from the training seed, so evaluation
/// never replays the users and documents training saw.
pub const EVAL_SEED_OFFSET: u64 = 1_000_003;

/// The seed of the evaluation stream of a run seeded `seed` (kept within `i64`, as
/// Python's seeds are).
pub fn eval_seed(seed: u64) -> u64 {
    seed.wrapping_add(EVAL_SEED_OFFSET) & i64::MAX as u64
}

/// Why episodes cannot be played. The cause is kept.
#[derive(Debug, Error)]
pub enum RolloutError {
    /// The scenario's options.
    #[error("invalid configuration")]
    Config(#[from] env::ConfigError),
    /// An environment call.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A vector environment call.
    #[error(transparent)]
    Vector(#[from] env::VectorError),
    /// The agent.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// The planner behind an oracle.
    #[error(transparent)]
    Planner(#[from] planner::PlannerError),
    /// `--policy oracle` on a world without a short-term oracle.
    #[error("the world `{0}` has no short-term oracle: SARDINE's worlds have one; for long-term satisfaction use --policy optimal")]
    NoOracle(String),
    /// A count out of its range.
    #[error("invalid configuration: {name} = {value} is invalid: {why}")]
    Setting {
        /// The setting.
        name: &'static str,
        /// The value given.
        value: u64,
        /// Its range.
        why: &'static str,
    },
    /// A reward that is not a finite number.
    #[error(
        "a step's reward is {0}: the model's parameters make it overflow; choose smaller \
         values with --set"
    )]
    NonFiniteReward(f64),
}

/// The transition, if its reward is a finite number.
pub fn finite(t: Transition) -> Result<Transition, RolloutError> {
    if t.reward.is_finite() {
        Ok(t)
    } else {
        Err(RolloutError::NonFiniteReward(t.reward))
    }
}
