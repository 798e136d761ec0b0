//! Running agents in environments: scenarios, episodes, baselines, the training loop,
//! evaluation and checkpoints.

mod algorithm;
pub mod checkpoint;
mod config;
mod episode;
mod scenario;
mod stats;

pub use algorithm::{
    build_agent, evaluate_policy, Algorithm, IterationResult, LoopState, TrainError,
    SMOOTHING_WINDOW,
};
pub use checkpoint::{Checkpoint, CheckpointError, RunDir};
pub use config::{Algo, TrainConfig, EVAL_SEED_OFFSET};
pub use episode::{evaluate, play_episode, record_episode, Episode, StepRecord};
pub use scenario::{EnvKind, Scenario, Wrappers};
pub use stats::Summary;

use agents_bandit::Agent;
use env::Layout;

/// SlateQ lives in `agents-slateq`, which needs libtorch; this build has no SlateQ.
fn slateq_agent(_config: &TrainConfig, _layout: Layout) -> Result<Box<dyn Agent>, TrainError> {
    Err(TrainError::Unavailable {
        algo: "slateq",
        why: "rlrec was built without the `slateq` feature (libtorch)",
    })
}
