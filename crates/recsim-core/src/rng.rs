use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The random generator every simulator stream uses.
pub type SimRng = ChaCha8Rng;

/// The three independent streams of one environment, all derived from a single seed.
///
/// Documents and users come from their own streams, so the candidate sets and users an
/// agent meets do not depend on its actions (common random numbers across policies); the
/// response and transition noise has a third stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Streams {
    /// Every candidate document.
    pub documents: SimRng,
    /// Every new user.
    pub users: SimRng,
    /// Choices, responses and transitions.
    pub noise: SimRng,
}

impl Streams {
    /// The three streams of `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            documents: stream(seed, 0),
            users: stream(seed, 1),
            noise: stream(seed, 2),
        }
    }
}

/// Stream `index` of `seed`: ChaCha's stream id keeps the sequences disjoint.
pub fn stream(seed: u64, index: u64) -> SimRng {
    let mut rng = SimRng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}
