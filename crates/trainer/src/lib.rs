//! Running agents in environments: episodes, baselines, the training loop (RLlib's
//! `Algorithm`), evaluation, checkpoints, RecSim's video-cluster metrics and the
//! long-term-satisfaction planner.
//!
//! ```
//! use trainer::{Algo, Algorithm, TrainConfig};
//!
//! // The tutorial's bandit lab, shortened: LinUCB on StrongLTS 20/2.
//! let mut config = TrainConfig::new(Algo::Linucb);
//! config.iterations = 3;
//! let mut algorithm = Algorithm::new(config).unwrap();
//! while !algorithm.is_done() {
//!     let result = algorithm.train().unwrap();
//!     assert_eq!(result.timesteps_total, 120 * result.training_iteration);
//! }
//! let evaluation = algorithm.evaluate(20, |_| ()).unwrap();
//! assert!(evaluation.summary.mean > 1100.0);
//! ```

#![warn(missing_docs)]

mod algorithm;
mod baseline;
pub mod checkpoint;
mod clock;
mod config;
mod episode;
pub mod logs;
mod metrics;
mod offline;
pub mod ope;
mod planner;
mod run;
pub mod stats;
pub mod sweep;
pub mod tensorboard;

pub use algorithm::{
    build_agent, evaluate_policy, evaluate_policy_on, Algorithm, IterationResult, LoopState,
    TrainError, SMOOTHING_WINDOW,
};
pub use baseline::{baseline, fixed_policy, BaselineReport, FixedPolicy, MakeAgent};
pub use checkpoint::{Checkpoint, CheckpointError, CONFIG_FILE};
pub use clock::UtcTime;
pub use config::{
    Algo, AlgoConfig, InvalidConfig, OfflineSource, TrainConfig, EVAL_SEED_OFFSET,
    FALLBACK_STEPS_PER_ITERATION, MAX_RUN_STEPS, OFFLINE_SLATEQ_BATCH_SIZE,
    OFFLINE_SLATEQ_ITERATIONS, RESUMABLE_KEYS, SLATEQ_ITERATIONS,
};
pub use episode::{
    evaluate, evaluate_on, evaluate_vectorized, evaluate_with, play_episode, record_episode,
    AgentPolicy, Episode, Evaluation, StepRecord, FRAGMENT_STEPS,
};
pub use metrics::{VideoMetrics, VideoReport};
pub use planner::{LtsPlanner, OptimalPolicy, PlannerError, PolicyKind, Resolution, MAX_HORIZON};
pub use run::{lock_folder, write_atomic, RunDir, RunError};
pub use stats::{Interval, RunStats, Summary};

use agents::config::SlateQConfig;
use agents::Agent;
use env::{Scenario, SlateEnv};

/// SlateQ lives in `agents-slateq`, which needs libtorch.
#[cfg(feature = "slateq")]
fn slateq_agent(
    config: &SlateQConfig,
    scenario: &Scenario,
    env: &dyn SlateEnv,
) -> Result<Box<dyn Agent>, TrainError> {
    Ok(Box::new(agents_slateq::SlateQ::new(
        config.clone(),
        env.layout(),
        env.known_choice(),
        agents_slateq::Episodes {
            fixed_length: scenario.episode_length()?.is_some(),
            time_aware_steps: scenario.time_aware_steps()?,
        },
        scenario.seed,
    )?))
}

#[cfg(not(feature = "slateq"))]
fn slateq_agent(
    _config: &SlateQConfig,
    _scenario: &Scenario,
    _env: &dyn SlateEnv,
) -> Result<Box<dyn Agent>, TrainError> {
    Err(TrainError::Unavailable {
        algo: "slateq",
        why: "rlrec was built without the `slateq` feature (libtorch); build it with `cargo xtask`",
    })
}
