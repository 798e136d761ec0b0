use thiserror::Error;

/// A configuration or model parameter that cannot be used.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    #[error("num_candidates must be at least 1")]
    NoCandidates,
    #[error("slate_size must be at least 1")]
    EmptySlate,
    #[error("slate_size ({slate_size}) must not exceed num_candidates ({num_candidates})")]
    SlateTooLarge {
        slate_size: usize,
        num_candidates: usize,
    },
    #[error("unknown parameter `{name}` for {model}; known: {known}")]
    UnknownParam {
        model: &'static str,
        name: String,
        known: String,
    },
    #[error("parameter `{name}` = {value} is invalid: {why}")]
    InvalidParam {
        name: &'static str,
        value: f64,
        why: &'static str,
    },
    #[error("the horizon (max_episode_steps) must be at least 1")]
    ZeroHorizon,
}

/// A step that was refused; the environment's state is left exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StepError {
    #[error("slate position {position} is out of range: there are {num_candidates} candidates (positions 0..{num_candidates})")]
    PositionOutOfRange {
        position: usize,
        num_candidates: usize,
    },
    #[error("slate of length {len} is longer than slate_size {slate_size}")]
    SlateTooLong { len: usize, slate_size: usize },
    #[error("the slate is empty: recommend at least one document")]
    EmptySlate,
    #[error("discrete action {action} is out of range: the action space is Discrete({n})")]
    ActionOutOfRange { action: u64, n: u64 },
    #[error("the episode is over: call reset() before stepping again")]
    EpisodeOver,
}

/// Scores a choice model cannot turn into click probabilities.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ChoiceError {
    #[error("score {score} at slate position {position} is not finite")]
    NonFiniteScore { position: usize, score: f64 },
    #[error("score {score} at slate position {position} is below min_normalizer {min_normalizer}: proportional weights must be non-negative")]
    NegativeWeight {
        position: usize,
        score: f64,
        min_normalizer: f64,
    },
    #[error("every weight, the no-click weight included, is zero: no outcome can be drawn")]
    ZeroWeights,
    #[error("score_scaling × score = {value} at slate position {position} is not a probability in [0, 1]")]
    NotAProbability { position: usize, value: f64 },
    #[error("the probability buffer has {len} entries for a slate of {slate}")]
    BufferLength { len: usize, slate: usize },
}
