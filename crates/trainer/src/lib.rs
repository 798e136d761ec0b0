//! Running agents in environments: scenarios, episodes, baselines, summaries and the
//! long-term-satisfaction planner.

mod episode;
mod planner;
mod scenario;
mod stats;

pub use episode::{evaluate, play_episode, record_episode, Episode, StepRecord};
pub use planner::{LtsPlanner, OptimalPolicy, PlannerError, PolicyKind, Resolution, MAX_HORIZON};
pub use scenario::{EnvKind, Scenario, Wrappers};
pub use stats::Summary;
