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
            documents: stream(seed, StreamId::Documents),
            users: stream(seed, StreamId::Users),
            noise: stream(seed, StreamId::Noise),
        }
    }
}

/// Every random stream rlrec draws from a seed, one ChaCha stream id each, so that no two
/// consumers of one seed ever share numbers: the environment's three, then each agent
/// family's and the logging policy's. The ids are part of every seeded result: changing
/// one changes the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamId {
    /// The environment's candidate documents.
    Documents = 0,
    /// The environment's users.
    Users = 1,
    /// The environment's choices, responses and transitions.
    Noise = 2,
    /// The random and greedy baselines' draws (`agents-bandit`).
    Baseline = 3,
    /// LinUCB's and LinTS's (`agents-bandit`).
    Bandit = 4,
    /// SlateQ's initialisation, exploration and replay sampling (`agents-slateq`).
    SlateQ = 5,
    /// A logging policy's slates (`logs`).
    LoggingPolicy = 6,
    /// Evolution strategies' initialisation and search directions (`agents-bandit`).
    Search = 7,
}

/// Stream `id` of `seed`: ChaCha's stream id keeps the sequences disjoint.
pub fn stream(seed: u64, id: StreamId) -> SimRng {
    let mut rng = SimRng::seed_from_u64(seed);
    rng.set_stream(id as u64);
    rng
}
