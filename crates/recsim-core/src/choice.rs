//! What an agent may know of a model's choice model.

use serde::{Deserialize, Serialize};

/// A model's choice model, where an agent can compute it from observations alone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum KnownChoice {
    /// The user always clicks slate position 0 (long-term satisfaction).
    FirstPosition,
    /// Not computable from the observations (hidden user state).
    Unknown,
}
