//! Policies that do not learn: random, greedy and kale.

use env::SlateEnv;
use rand::Rng;
use recsim_core::{stream, SimRng, StreamId};
use serde::{Deserialize, Serialize};

use agents::{top_k_ties, Agent, AgentError, Policy};

/// The fixed policies of the reference tutorial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BaselineKind {
    /// Each slate position uniform over the candidates, repeats allowed
    /// (`MultiDiscrete.sample()`).
    Random,
    /// The highest myopic score first (for LTS: the most clickbait), then the next.
    Greedy,
    /// The lowest myopic score first (for LTS: the least clickbait).
    Kale,
    /// The world's short-term oracle first: the highest score under the true user state
    /// ([`env::Simulator::oracle_scores`]; SARDINE's `-1` slate).
    Oracle,
}

impl BaselineKind {
    /// The policy's command-line name.
    pub fn name(self) -> &'static str {
        match self {
            BaselineKind::Random => "random",
            BaselineKind::Greedy => "greedy",
            BaselineKind::Kale => "kale",
            BaselineKind::Oracle => "oracle",
        }
    }
}

/// A fixed policy with its own random stream.
#[derive(Debug, Clone)]
pub struct Baseline {
    kind: BaselineKind,
    rng: SimRng,
    scores: Vec<f64>,
    order: Vec<usize>,
}

impl Baseline {
    /// The policy, with its own random stream from `seed`.
    pub fn new(kind: BaselineKind, seed: u64) -> Self {
        Self {
            kind,
            // Stream 3: disjoint from the environment's three streams of the same seed.
            rng: stream(seed, StreamId::Baseline),
            scores: Vec::new(),
            order: Vec::new(),
        }
    }
}

impl Baseline {
    /// Whether the policy can act in `env`: the oracle needs a world with one.
    pub fn supports(kind: BaselineKind, env: &dyn SlateEnv) -> bool {
        let mut scores = vec![0.0; env.layout().num_candidates];
        kind != BaselineKind::Oracle || env.oracle_scores(&mut scores)
    }
}

impl Policy for Baseline {
    fn algorithm(&self) -> &'static str {
        self.kind.name()
    }

    fn act(&mut self, env: &dyn SlateEnv, _explore: bool, slate: &mut [usize]) {
        let n = env.layout().num_candidates;
        match self.kind {
            BaselineKind::Random => {
                for slot in slate.iter_mut() {
                    *slot = self.rng.random_range(0..n);
                }
            }
            BaselineKind::Greedy | BaselineKind::Kale | BaselineKind::Oracle => {
                let mut scores = std::mem::take(&mut self.scores);
                scores.resize(n, 0.0);
                // Only the oracle can fail, on a world without one, which making the
                // policy refuses ([`Baseline::supports`]); the first positions then.
                if self.scores(env, &mut scores).is_err() {
                    scores.fill(0.0);
                }
                // SARDINE's oracle leaves ties (a bored user's) highest position first.
                let oracle = self.kind == BaselineKind::Oracle;
                top_k_ties(&scores, &mut self.order, slate, oracle);
                self.scores = scores;
            }
        }
    }

    /// Greedy's myopic scores; kale's, negated.
    fn scores(&mut self, env: &dyn SlateEnv, out: &mut [f64]) -> Result<(), AgentError> {
        match self.kind {
            BaselineKind::Random => Err(AgentError::Unsupported(
                "the random policy ranks no candidates".into(),
            )),
            BaselineKind::Greedy => {
                env.myopic_scores(out);
                Ok(())
            }
            BaselineKind::Kale => {
                env.myopic_scores(out);
                out.iter_mut().for_each(|s| *s = -*s);
                Ok(())
            }
            BaselineKind::Oracle => {
                if env.oracle_scores(out) {
                    Ok(())
                } else {
                    Err(AgentError::Unsupported(
                        "this world has no short-term oracle (SARDINE's worlds have one)".into(),
                    ))
                }
            }
        }
    }

    fn describe(&self) -> String {
        format!("{} policy (no learned parameters)", self.kind.name())
    }
}

impl Agent for Baseline {
    fn policy(&self) -> Box<dyn Policy> {
        Box::new(self.clone())
    }

    fn save(&self) -> Vec<u8> {
        bincode::serde::encode_to_vec((self.kind, &self.rng), bincode::config::standard())
            .expect("baseline state serialises")
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), AgentError> {
        let ((kind, rng), _): ((BaselineKind, SimRng), usize) =
            bincode::serde::decode_from_slice(bytes, bincode::config::standard()).map_err(|e| {
                AgentError::Decode {
                    what: "the baseline's state",
                    source: Box::new(e),
                }
            })?;
        if kind != self.kind {
            return Err(AgentError::State(format!(
                "saved policy is {}, not {}",
                kind.name(),
                self.kind.name()
            )));
        }
        self.rng = rng;
        Ok(())
    }
}
