//! Running agents in environments: scenarios, episodes, baselines and summaries.

mod episode;
mod scenario;
mod stats;

pub use episode::{evaluate, play_episode, record_episode, Episode, StepRecord};
pub use scenario::{EnvKind, Scenario, Wrappers};
pub use stats::Summary;
