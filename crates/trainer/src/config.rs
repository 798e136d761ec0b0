//! The full, resolved configuration of a training run (`config.toml`).

use std::fmt;
use std::str::FromStr;

use agents_bandit::{LinTsConfig, LinUcbConfig};
use serde::{Deserialize, Serialize};

use crate::Scenario;

/// The algorithms `rlrec train` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    Random,
    Greedy,
    Linucb,
    Lints,
    Slateq,
}

impl Algo {
    pub const ALL: [Algo; 5] = [
        Algo::Random,
        Algo::Greedy,
        Algo::Linucb,
        Algo::Lints,
        Algo::Slateq,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algo::Random => "random",
            Algo::Greedy => "greedy",
            Algo::Linucb => "linucb",
            Algo::Lints => "lints",
            Algo::Slateq => "slateq",
        }
    }

    /// Turns on the wrappers the algorithm needs, as RLlib's examples configure them: the
    /// bandits read the item matrix through discrete actions; SlateQ sees the user's
    /// satisfaction.
    pub fn required_wrappers(self, scenario: &mut Scenario) {
        let w = &mut scenario.wrappers;
        match self {
            Algo::Linucb | Algo::Lints => {
                w.bandit_observation = true;
                w.discrete_action = true;
            }
            Algo::Slateq => {
                if scenario.env.has_hidden_user() {
                    w.user_observation = true;
                }
            }
            Algo::Random | Algo::Greedy => {}
        }
    }
}

impl fmt::Display for Algo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|a| a.name()).collect();
                format!(
                    "unknown algorithm `{s}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Everything a run needs; written as `config.toml` and stored in each checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub algo: Algo,
    /// The iteration count the run stops at (RLlib's `training_iteration` stop).
    pub iterations: u64,
    /// Environment steps per iteration; 0 means one full episode where episodes have a
    /// known length.
    #[serde(default)]
    pub steps_per_iteration: usize,
    /// Checkpoint every this many iterations (and always at the end); 0 = only at the end.
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u64,
    /// Episodes of the final evaluation (no exploration, a separate environment stream).
    #[serde(default = "default_eval_episodes")]
    pub eval_episodes: usize,
    /// Evaluate every this many iterations during training (0 = never), as RLlib's
    /// `evaluation_interval`; the results join the iteration's.
    #[serde(default)]
    pub evaluation_interval: u64,
    /// Episodes of each evaluation during training.
    #[serde(default = "default_evaluation_duration")]
    pub evaluation_duration: usize,
    pub env: Scenario,
    #[serde(default)]
    pub linucb: LinUcbConfig,
    #[serde(default)]
    pub lints: LinTsConfig,
    #[cfg(feature = "slateq")]
    #[serde(default)]
    pub slateq: agents_slateq::SlateQConfig,
}

fn default_checkpoint_every() -> u64 {
    10
}

fn default_evaluation_duration() -> usize {
    100
}

fn default_eval_episodes() -> usize {
    1000
}

/// The default SlateQ run: long enough to pass 1180 on the tutorial's scenario.
pub const SLATEQ_ITERATIONS: u64 = 60;

/// Steps per iteration when episodes have no known length.
const FALLBACK_STEPS_PER_ITERATION: usize = 1000;

/// The evaluation environment's seed is offset from the training seed, so evaluation
/// never replays the users and documents training saw.
pub const EVAL_SEED_OFFSET: u64 = 1_000_003;

impl TrainConfig {
    /// The defaults for `algo` on the tutorial's scenario.
    pub fn new(algo: Algo) -> Self {
        let mut env = Scenario::default();
        algo.required_wrappers(&mut env);
        // SlateQ's iteration is RLlib's DQN default of 1000 environment steps.
        let (iterations, steps_per_iteration) = match algo {
            Algo::Slateq => (SLATEQ_ITERATIONS, 1000),
            _ => (100, 0),
        };
        Self {
            algo,
            iterations,
            steps_per_iteration,
            checkpoint_every: default_checkpoint_every(),
            eval_episodes: default_eval_episodes(),
            evaluation_interval: 0,
            evaluation_duration: default_evaluation_duration(),
            env,
            linucb: LinUcbConfig::default(),
            lints: LinTsConfig::default(),
            #[cfg(feature = "slateq")]
            slateq: Default::default(),
        }
    }

    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a training config always serialises")
    }

    /// The steps of one iteration, resolving 0 to one episode's length.
    pub fn iteration_steps(&self) -> usize {
        match self.steps_per_iteration {
            0 => self
                .env
                .episode_length()
                .unwrap_or(FALLBACK_STEPS_PER_ITERATION),
            n => n,
        }
    }

    /// The scenario evaluation runs on.
    pub fn eval_scenario(&self) -> Scenario {
        let mut s = self.env.clone();
        s.seed = s.seed.wrapping_add(EVAL_SEED_OFFSET);
        s
    }

    /// Checks every part, naming the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        self.env.validate().map_err(|e| e.to_string())?;
        if self.iterations == 0 {
            return Err("iterations must be at least 1".into());
        }
        if self.eval_episodes == 0 || self.evaluation_duration == 0 {
            return Err("eval_episodes and evaluation_duration must be at least 1".into());
        }
        self.linucb.validate().map_err(|e| e.to_string())?;
        self.lints.validate().map_err(|e| e.to_string())?;
        #[cfg(feature = "slateq")]
        self.slateq.validate().map_err(|e| e.to_string())?;
        Ok(())
    }
}
