//! Running agents in environments: scenarios, episodes, baselines, summaries and RecSim's
//! video-cluster metrics.

mod episode;
mod metrics;
mod scenario;
mod stats;

pub use episode::{evaluate, evaluate_with, play_episode, record_episode, Episode, StepRecord};
pub use metrics::{VideoMetrics, VideoReport};
pub use scenario::{EnvKind, ModelVisitor, Scenario, Wrappers};
pub use stats::Summary;
