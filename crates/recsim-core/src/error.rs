use std::fmt;

use thiserror::Error;

/// A number in a message: as written where that is short, in scientific notation where
/// it is not (1e300 would print as 301 digits, 1e-300 as 300 zeros).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number(pub f64);

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x == 0.0 || !x.is_finite() || (1e-4..1e9).contains(&x.abs()) {
            write!(f, "{x}")
        } else {
            write!(f, "{x:e}")
        }
    }
}

/// A configuration or model parameter that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// `num_candidates = 0`.
    #[error("num_candidates must be at least 1")]
    NoCandidates,
    /// `slate_size = 0`.
    #[error("slate_size must be at least 1")]
    EmptySlate,
    /// A slate longer than the candidate set.
    #[error("slate_size ({slate_size}) must not exceed num_candidates ({num_candidates})")]
    SlateTooLarge {
        /// The slate size asked for.
        slate_size: usize,
        /// The candidates there are.
        num_candidates: usize,
    },
    /// A parameter name the model does not have.
    #[error("unknown parameter `{name}` for {model}; known: {known}")]
    UnknownParam {
        /// The model's name.
        model: &'static str,
        /// The name given.
        name: String,
        /// Every parameter name the model has.
        known: String,
    },
    /// A parameter value out of its range.
    #[error("parameter `{name}` = {} is invalid: {why}", Number(*.value))]
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The range it must lie in.
        why: &'static str,
    },
    /// `max_episode_steps = 0`.
    #[error("the horizon (max_episode_steps) must be at least 1")]
    ZeroHorizon,
    /// A time-aware observation of episodes with neither a fixed length nor a horizon.
    #[error("time_aware needs episodes of a known length: set a horizon (max_episode_steps)")]
    UnboundedEpisodes,
    /// A wrapper whose feature the bandit observation would drop without a word.
    #[error(
        "{option} has no effect with the bandit observation, which replaces the whole \
         observation by the item features: leave one of them off"
    )]
    DroppedByBanditObservation {
        /// The wrapper's option.
        option: &'static str,
    },
    /// An environment name nobody registered.
    #[error("unknown environment `{name}`; registered: {known}")]
    UnknownEnvironment {
        /// The name given.
        name: String,
        /// Every registered name.
        known: String,
    },
    /// A world's own refusal of an option or a file it cannot use.
    #[error("{world}: {why}")]
    World {
        /// The world's model.
        world: &'static str,
        /// What is wrong and what would do.
        why: String,
    },
    /// A size beyond what rlrec can run or represent.
    #[error("{name} = {value} is too large: at most {max} ({why})")]
    TooLarge {
        /// The option.
        name: &'static str,
        /// The value given.
        value: u128,
        /// The largest accepted.
        max: u128,
        /// Why the limit is there.
        why: &'static str,
    },
}

/// A step that was refused; the environment's state is left exactly as it was.
#[derive(Debug, Error)]
pub enum StepError {
    /// A slate position past the candidate set.
    #[error("slate position {position} is out of range: there are {num_candidates} candidates (positions 0 to {})", .num_candidates.saturating_sub(1))]
    PositionOutOfRange {
        /// The position given.
        position: usize,
        /// The candidates there are.
        num_candidates: usize,
    },
    /// More positions than the slate holds.
    #[error("slate of length {len} is longer than slate_size {slate_size}")]
    SlateTooLong {
        /// The slate's length.
        len: usize,
        /// The most a slate holds.
        slate_size: usize,
    },
    /// Fewer positions than a world that fills every slot needs.
    #[error("slate of length {len} is shorter than slate_size {slate_size}: this world shows exactly slate_size items")]
    SlateTooShort {
        /// The slate's length.
        len: usize,
        /// The positions every slate fills.
        slate_size: usize,
    },
    /// No position at all.
    #[error("the slate is empty: recommend at least one document")]
    EmptySlate,
    /// A discrete action past `N^K`.
    #[error("discrete action {action} is out of range: the action space is Discrete({n})")]
    ActionOutOfRange {
        /// The action given.
        action: u64,
        /// The number of actions.
        n: u64,
    },
    /// A step after the end of the episode.
    #[error("the episode is over: call reset() before stepping again")]
    EpisodeOver,
}

/// Scores a choice model cannot turn into click probabilities.
#[derive(Debug, Error)]
pub enum ChoiceError {
    /// A score that is not a number.
    #[error("score {score} at slate position {position} is not finite")]
    NonFiniteScore {
        /// The slate position.
        position: usize,
        /// Its score.
        score: f64,
    },
    /// A proportional weight below zero.
    #[error("score {score} at slate position {position} is below min_normalizer {min_normalizer}: proportional weights must be non-negative")]
    NegativeWeight {
        /// The slate position.
        position: usize,
        /// Its score.
        score: f64,
        /// The normaliser subtracted from every score.
        min_normalizer: f64,
    },
    /// No outcome has weight.
    #[error("every weight, the no-click weight included, is zero: no outcome can be drawn")]
    ZeroWeights,
    /// A cascade click probability outside `[0, 1]`.
    #[error("score_scaling × score = {} at slate position {position} is not a probability in [0, 1]", Number(*.value))]
    NotAProbability {
        /// The slate position.
        position: usize,
        /// The product that should be a probability.
        value: f64,
    },
    /// A buffer of the wrong length.
    #[error("the probability buffer has {len} entries for a slate of {slate}")]
    BufferLength {
        /// The buffer's length.
        len: usize,
        /// The slate's.
        slate: usize,
    },
}

/// An error and its causes, each once, joined by `: `: how rlrec shows an error (the CLI
/// through anyhow's `{:#}`, Python in its exceptions). No error repeats its cause in its
/// own text, so this is the whole story once.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    std::iter::successors(Some(e), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_messages_stay_short() {
        let shown = |x: f64| Number(x).to_string();
        assert_eq!(shown(0.3), "0.3");
        assert_eq!(shown(-12.5), "-12.5");
        assert_eq!(shown(0.0), "0");
        assert_eq!(shown(1e300), "1e300");
        assert_eq!(shown(1e-300), "1e-300");
        assert_eq!(shown(f64::NAN), "NaN");
        let message = ConfigError::InvalidParam {
            name: "sensitivity",
            value: -1e300,
            why: "must be positive",
        }
        .to_string();
        assert_eq!(
            message,
            "parameter `sensitivity` = -1e300 is invalid: must be positive"
        );
    }
}
