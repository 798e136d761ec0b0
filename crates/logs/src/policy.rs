//! Policies whose probabilities are known: what logs are written with, and what
//! off-policy evaluation evaluates. A [`PolicySpec`] names one (random, ε-greedy around a
//! deterministic policy or a checkpoint, or a softmax over a policy's scores); a [`Policy`]
//! runs it, giving at every context its [`SlateDist`], the exact distribution over slates
//! that the estimators read probabilities from.

use std::fmt;
use std::path::{Path, PathBuf};

use agents::AgentError;
use env::{Scenario, SlateEnv};
use recsim_core::{stream, Number, SimRng, StreamId};
use serde::{Deserialize, Serialize};

use rollout::{fixed_policy, FixedPolicy};

use crate::{prefix_count, softmax_weights, LogError, SlateDist};

/// The most ordered prefixes a Plackett–Luce distribution may have (slates of `K` from
/// `N` candidates: `1 + N + N(N−1) + …`, up to length `K − 1`): its position and pair
/// probabilities are exact sums over them, computed at every step.
pub const PL_MAX_PREFIXES: usize = 10_000;

/// The deterministic policy a randomised one is built around.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BasePolicy {
    /// A fixed policy (greedy, kale, the planner's oracles).
    Fixed(FixedPolicy),
    /// A trained checkpoint, acting without exploration.
    Checkpoint {
        /// The checkpoint folder.
        path: PathBuf,
        /// Its algorithm.
        algo: String,
        /// Its training iteration.
        iteration: u64,
    },
}

/// Loads the policy of a checkpoint named as a base policy. Checkpoints are read above
/// this crate (`trainer::Checkpoints` implements it), so whoever builds a policy that may
/// name one passes the loader; [`NoCheckpoints`] refuses every one.
pub trait LoadPolicy {
    /// The policy saved at `path`, to act without exploration in environments of
    /// `scenario` (refused if it was trained on another world, candidate count, slate size
    /// or wrappers).
    fn load_policy(
        &self,
        path: &Path,
        scenario: &Scenario,
    ) -> Result<Box<dyn agents::Policy>, LogError>;
}

/// A [`LoadPolicy`] for callers without checkpoints: every one is refused.
pub struct NoCheckpoints;

impl LoadPolicy for NoCheckpoints {
    fn load_policy(&self, path: &Path, _: &Scenario) -> Result<Box<dyn agents::Policy>, LogError> {
        Err(LogError::invalid(
            path,
            "checkpoints cannot be read here (this program has no trainer)",
        ))
    }
}

impl fmt::Display for BasePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BasePolicy::Fixed(p) => f.write_str(p.name()),
            BasePolicy::Checkpoint {
                path,
                algo,
                iteration,
            } => write!(
                f,
                "{algo} checkpoint {} (iteration {iteration})",
                path.display()
            ),
        }
    }
}

/// A policy with known probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum PolicySpec {
    /// Each slate position uniform over the candidates, independently (repeats allowed),
    /// as the random baseline.
    Random,
    /// With probability ε a random slate (as [`PolicySpec::Random`]), else the base
    /// policy's; ε = 0 is the base policy itself.
    EpsilonGreedy {
        /// The deterministic policy.
        base: BasePolicy,
        /// The probability of a random slate, in `[0, 1]`.
        epsilon: f64,
    },
    /// Plackett–Luce over the base policy's scores: positions filled in turn, each from
    /// the candidates left with probability ∝ `exp(score / temperature)`.
    Softmax {
        /// The policy whose scores are drawn from.
        base: BasePolicy,
        /// Above 0; towards 0 the base policy's top-K, large is uniform.
        temperature: f64,
    },
}

impl PolicySpec {
    /// Whether it always shows the same slate for an observation: its log shows what no
    /// other slate does.
    pub fn is_deterministic(&self) -> bool {
        matches!(self, PolicySpec::EpsilonGreedy { epsilon, .. } if *epsilon == 0.0)
    }

    /// Checks the parameters' ranges.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            PolicySpec::Random => Ok(()),
            PolicySpec::EpsilonGreedy { base, epsilon } => {
                if !(0.0..=1.0).contains(epsilon) {
                    return Err(format!("epsilon {} must be in [0, 1]", Number(*epsilon)));
                }
                check_base(base)
            }
            PolicySpec::Softmax { base, temperature } => {
                if !(temperature.is_finite() && (1e-6..=1e6).contains(temperature)) {
                    return Err(format!(
                        "temperature {} must be finite and in [1e-6, 1e6]",
                        Number(*temperature)
                    ));
                }
                check_base(base)
            }
        }
    }
}

fn check_base(base: &BasePolicy) -> Result<(), String> {
    match base {
        BasePolicy::Fixed(FixedPolicy::Random) => Err(
            "the random policy is no deterministic base: use it alone (it is already uniform)"
                .into(),
        ),
        _ => Ok(()),
    }
}

impl fmt::Display for PolicySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySpec::Random => f.write_str("random"),
            PolicySpec::EpsilonGreedy { base, .. } if self.is_deterministic() => {
                write!(f, "{base} (deterministic)")
            }
            PolicySpec::EpsilonGreedy { base, epsilon } => {
                write!(f, "ε-greedy around {base} (ε = {})", Number(*epsilon))
            }
            PolicySpec::Softmax { base, temperature } => {
                write!(
                    f,
                    "softmax over {base}'s scores (temperature {})",
                    Number(*temperature)
                )
            }
        }
    }
}

/// A [`PolicySpec`] at work: the base policy, the distribution at the current context,
/// and a random stream for drawing slates.
pub struct Policy {
    spec: PolicySpec,
    base: Option<Box<dyn agents::Policy>>,
    dist: SlateDist,
    scores: Vec<f64>,
    rng: SimRng,
}

impl Policy {
    /// The policy for environments of `scenario`, its random stream from `seed`
    /// ([`StreamId::LoggingPolicy`]). A fixed base policy
    /// that reads the user's true state turns on `scenario`'s user observation; a
    /// checkpoint must have been trained on the same world, candidates, slate size and
    /// wrappers.
    pub fn new(
        spec: &PolicySpec,
        scenario: &mut Scenario,
        seed: u64,
        checkpoints: &dyn LoadPolicy,
    ) -> Result<Self, LogError> {
        spec.validate().map_err(|why| AgentError::Config {
            name: "policy",
            why,
        })?;
        let base = match spec {
            PolicySpec::Random => None,
            PolicySpec::EpsilonGreedy { base, .. } | PolicySpec::Softmax { base, .. } => {
                Some(match base {
                    BasePolicy::Fixed(policy) => fixed_policy(*policy, scenario)?.0(seed),
                    BasePolicy::Checkpoint { path, .. } => {
                        checkpoints.load_policy(path, scenario)?
                    }
                })
            }
        };
        let layout = scenario.build()?.layout();
        let (n, k) = (layout.num_candidates, layout.slate_size);
        let dist = match spec {
            PolicySpec::Random => SlateDist::Uniform { n, k },
            PolicySpec::EpsilonGreedy { epsilon, .. } => SlateDist::Epsilon {
                n,
                epsilon: *epsilon,
                slate: vec![0; k],
            },
            PolicySpec::Softmax { .. } => {
                let prefixes = prefix_count(n, k);
                if prefixes > PL_MAX_PREFIXES {
                    return Err(AgentError::Unsupported(format!(
                        "a softmax over {n} candidates in slates of {k} has {prefixes} ordered \
                         prefixes to sum over for its exact probabilities (at most \
                         {PL_MAX_PREFIXES}): use smaller slates, or ε-greedy"
                    ))
                    .into());
                }
                SlateDist::PlackettLuce {
                    weights: vec![1.0; n],
                    k,
                }
            }
        };
        Ok(Self {
            spec: spec.clone(),
            base,
            dist,
            scores: vec![0.0; n],
            rng: stream(seed, StreamId::LoggingPolicy),
        })
    }

    /// What it is.
    pub fn spec(&self) -> &PolicySpec {
        &self.spec
    }

    /// Tells the base policy that an episode starts.
    pub fn begin_episode(&mut self) {
        if let Some(base) = self.base.as_mut() {
            base.begin_episode();
        }
    }

    /// The distribution over slates for the environment's current observation.
    pub fn distribution(&mut self, env: &dyn SlateEnv) -> Result<&SlateDist, AgentError> {
        match (&mut self.dist, self.base.as_mut(), &self.spec) {
            (SlateDist::Epsilon { slate, .. }, Some(base), _) => base.act(env, false, slate),
            (
                SlateDist::PlackettLuce { weights, .. },
                Some(base),
                PolicySpec::Softmax { temperature, .. },
            ) => {
                base.scores(env, &mut self.scores)?;
                if let Some(bad) = self.scores.iter().find(|s| !s.is_finite()) {
                    return Err(AgentError::Diverged(format!(
                        "the base policy scored a candidate {bad}"
                    )));
                }
                softmax_weights(&self.scores, *temperature, weights);
            }
            _ => {}
        }
        Ok(&self.dist)
    }

    /// The distribution last computed.
    pub fn current(&self) -> &SlateDist {
        &self.dist
    }

    /// What defines the current distribution beyond the specification, as a log records
    /// it: the deterministic slate of ε-greedy, the scores of a softmax.
    pub fn parameters(&self) -> (Option<&[usize]>, Option<&[f64]>) {
        match &self.dist {
            SlateDist::Epsilon { slate, .. } => (Some(slate), None),
            SlateDist::PlackettLuce { .. } => (None, Some(&self.scores)),
            SlateDist::Uniform { .. } => (None, None),
        }
    }

    /// Draws a slate from the current distribution.
    pub fn sample(&mut self, out: &mut [usize]) {
        self.dist.sample(&mut self.rng, out);
    }
}

/// The logging distribution at one logged step, rebuilt from the specification and what
/// the log recorded ([`Policy::parameters`]).
pub fn logged_distribution(
    spec: &PolicySpec,
    n: usize,
    k: usize,
    slate: Option<&[usize]>,
    scores: Option<&[f64]>,
    out: &mut SlateDist,
) -> Result<(), String> {
    match (spec, slate, scores) {
        (PolicySpec::Random, _, _) => *out = SlateDist::Uniform { n, k },
        (PolicySpec::EpsilonGreedy { epsilon, .. }, Some(slate), _) => match out {
            SlateDist::Epsilon {
                slate: d,
                epsilon: e,
                n: m,
            } => {
                d.clear();
                d.extend_from_slice(slate);
                (*e, *m) = (*epsilon, n);
            }
            _ => {
                *out = SlateDist::Epsilon {
                    n,
                    epsilon: *epsilon,
                    slate: slate.to_vec(),
                }
            }
        },
        (PolicySpec::Softmax { temperature, .. }, _, Some(scores)) => match out {
            SlateDist::PlackettLuce { weights, k: kk } => {
                softmax_weights(scores, *temperature, weights);
                *kk = k;
            }
            _ => {
                let mut weights = Vec::new();
                softmax_weights(scores, *temperature, &mut weights);
                *out = SlateDist::PlackettLuce { weights, k };
            }
        },
        (spec, _, _) => {
            return Err(format!(
                "the log's policy is {spec}, but the step does not record its {}",
                if matches!(spec, PolicySpec::Softmax { .. }) {
                    "scores (policy_scores)"
                } else {
                    "deterministic slate (policy_slate)"
                }
            ))
        }
    }
    Ok(())
}
