//! Running agents in environments: scenarios, episodes, baselines, the training loop,
//! evaluation, checkpoints, RecSim's video-cluster metrics and the long-term-satisfaction
//! planner.

mod algorithm;
pub mod checkpoint;
mod config;
mod episode;
mod metrics;
mod planner;
mod scenario;
mod stats;

pub use algorithm::{
    build_agent, evaluate_policy, evaluate_policy_on, Algorithm, IterationResult, LoopState,
    TrainError, SMOOTHING_WINDOW,
};
pub use checkpoint::{Checkpoint, CheckpointError, RunDir};
pub use config::{Algo, TrainConfig, EVAL_SEED_OFFSET};
pub use episode::{
    evaluate, evaluate_on, evaluate_vectorized, evaluate_with, play_episode, record_episode,
    AgentPolicy, Episode, Evaluation, StepRecord, FRAGMENT_STEPS,
};
pub use metrics::{VideoMetrics, VideoReport};
pub use planner::{LtsPlanner, OptimalPolicy, PlannerError, PolicyKind, Resolution, MAX_HORIZON};
pub use scenario::{EnvKind, ModelVisitor, Scenario, Wrappers};
pub use stats::Summary;

use agents_bandit::Agent;
use env::SlateEnv;

/// SlateQ lives in `agents-slateq`, which needs libtorch.
#[cfg(feature = "slateq")]
fn slateq_agent(config: &TrainConfig, env: &dyn SlateEnv) -> Result<Box<dyn Agent>, TrainError> {
    Ok(Box::new(agents_slateq::SlateQ::new(
        config.slateq.clone(),
        env.layout(),
        env.known_choice(),
        config.env.episode_length().is_some(),
        config.env.seed,
    )?))
}

#[cfg(not(feature = "slateq"))]
fn slateq_agent(_config: &TrainConfig, _env: &dyn SlateEnv) -> Result<Box<dyn Agent>, TrainError> {
    Err(TrainError::Unavailable {
        algo: "slateq",
        why: "rlrec was built without the `slateq` feature (libtorch)",
    })
}
