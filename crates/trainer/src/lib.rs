//! Training runs: the configuration, the training loop (RLlib's `Algorithm`), run folders
//! and checkpoints, the run driver, sweeps, and TensorBoard's event files.
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

mod algo;
mod algorithm;
pub mod checkpoint;
mod clock;
mod config;
mod fit;
mod history;
mod policy;
mod run;
pub mod sweep;
mod tables;
pub mod tensorboard;

pub use algo::{build_agent, Algo, AlgoConfig};
pub use algorithm::{
    evaluate_policy_on, Algorithm, HeldOutScore, IterationResult, LoopState, TrainError,
    SMOOTHING_WINDOW,
};
pub use checkpoint::{Checkpoint, CheckpointError, Header, CONFIG_FILE};
pub use clock::UtcTime;
pub use config::{
    InvalidConfig, OfflineSource, TrainConfig, FALLBACK_STEPS_PER_ITERATION, MAX_RUN_STEPS,
    OFFLINE_SLATEQ_BATCH_SIZE, OFFLINE_SLATEQ_EVALUATION_INTERVAL, OFFLINE_SLATEQ_HOLDOUT,
    OFFLINE_SLATEQ_ITERATIONS, RESUMABLE_KEYS, SLATEQ_ITERATIONS,
};
pub use fit::{
    evaluated_at, reference_lines, Continue, FitEvents, FitReport, Point, Quiet, Reference, Trainer,
};
pub use history::HistoryError;
pub use policy::{checkpoint_policy, Checkpoints};
pub use run::{RunDir, RunError};
