//! The algorithms a run trains, registered in one place: each has a name ([`Algo`]), its
//! hyperparameters with their validation ([`AlgoConfig`]), and how its agent is built
//! ([`build_agent`]). Adding one touches its own crate, this file and the docs.

use std::fmt;
use std::str::FromStr;

use agents::config::{EsConfig, LinTsConfig, LinUcbConfig, SlateQConfig};
use agents::{Agent, AgentError};
use agents_bandit::{Baseline, BaselineKind, Es, Exploration, LinearBandit};
use env::{EnvSpec, Scenario, SlateEnv};
use serde::{Deserialize, Serialize};

use crate::{TrainConfig, TrainError};

/// The algorithms `rlrec train` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    /// Uniformly random slates (learns nothing).
    Random,
    /// The highest myopic score first (learns nothing).
    Greedy,
    /// LinUCB on the bandit observation.
    Linucb,
    /// Linear Thompson sampling on the bandit observation.
    Lints,
    /// SlateQ (needs libtorch).
    Slateq,
    /// Evolution strategies over a slate-filling network.
    Es,
}

impl Algo {
    /// Every algorithm, in the order help texts list them.
    pub const ALL: [Algo; 6] = [
        Algo::Random,
        Algo::Greedy,
        Algo::Linucb,
        Algo::Lints,
        Algo::Slateq,
        Algo::Es,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Algo::Random => "random",
            Algo::Greedy => "greedy",
            Algo::Linucb => "linucb",
            Algo::Lints => "lints",
            Algo::Slateq => "slateq",
            Algo::Es => "es",
        }
    }

    /// Turns on the wrappers the algorithm needs, as RLlib's examples configure them: the
    /// bandits read the item matrix through discrete actions (where a slate's number fits
    /// one: not SARDINE's slates of 10 of 1,000 items); SlateQ sees the user's true state
    /// where the world hides it, unless its observation remembers the user's clicks.
    pub fn required_wrappers(self, scenario: &mut Scenario) -> Result<(), env::ConfigError> {
        let fits = (scenario.num_candidates as u64)
            .checked_pow(scenario.slate_size as u32)
            .is_some();
        let w = &mut scenario.wrappers;
        match self {
            Algo::Linucb | Algo::Lints => {
                w.bandit_observation = true;
                w.discrete_action = fits;
            }
            Algo::Slateq => {
                // The switch may be on from another world's defaults: with a remembering
                // observation it is the observation SlateQ learns from.
                let world = scenario.world()?;
                if world.hidden_user() {
                    scenario.wrappers.user_observation = !world.remembers_user(&scenario.params);
                }
            }
            Algo::Random | Algo::Greedy | Algo::Es => {}
        }
        Ok(())
    }

    /// Whether it learns from a replay buffer: offline, it takes in the whole log at once
    /// and learns from it for as long as asked; the others take in each logged step once,
    /// in order, as they would online.
    pub fn learns_from_replay(self) -> bool {
        self == Algo::Slateq
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

/// The algorithm and its own hyperparameters: a run's configuration holds only these.
#[derive(Debug, Clone, PartialEq)]
pub enum AlgoConfig {
    /// Random slates.
    Random,
    /// Greedy slates.
    Greedy,
    /// LinUCB's hyperparameters.
    Linucb(LinUcbConfig),
    /// Linear Thompson sampling's.
    Lints(LinTsConfig),
    /// SlateQ's.
    Slateq(SlateQConfig),
    /// Evolution strategies'.
    Es(EsConfig),
}

impl AlgoConfig {
    /// The defaults of `algo`.
    pub fn new(algo: Algo) -> Self {
        match algo {
            Algo::Random => AlgoConfig::Random,
            Algo::Greedy => AlgoConfig::Greedy,
            Algo::Linucb => AlgoConfig::Linucb(LinUcbConfig::default()),
            Algo::Lints => AlgoConfig::Lints(LinTsConfig::default()),
            Algo::Slateq => AlgoConfig::Slateq(SlateQConfig::default()),
            Algo::Es => AlgoConfig::Es(EsConfig::default()),
        }
    }

    /// The algorithm.
    pub fn algo(&self) -> Algo {
        match self {
            AlgoConfig::Random => Algo::Random,
            AlgoConfig::Greedy => Algo::Greedy,
            AlgoConfig::Linucb(_) => Algo::Linucb,
            AlgoConfig::Lints(_) => Algo::Lints,
            AlgoConfig::Slateq(_) => Algo::Slateq,
            AlgoConfig::Es(_) => Algo::Es,
        }
    }

    /// The environments training collects from at once (SlateQ's `num_envs`; one for
    /// the others, which learn from each step before the next).
    pub fn num_envs(&self) -> usize {
        match self {
            AlgoConfig::Slateq(c) => c.num_envs,
            _ => 1,
        }
    }

    /// The whole episodes one iteration plays where its steps are left to the algorithm:
    /// one generation for evolution strategies, one episode for the others.
    pub(crate) fn episodes_per_iteration(&self) -> usize {
        match self {
            AlgoConfig::Es(c) => 2 * c.directions * c.episodes_per_direction,
            _ => 1,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), AgentError> {
        match self {
            AlgoConfig::Random | AlgoConfig::Greedy => Ok(()),
            AlgoConfig::Linucb(c) => c.validate(),
            AlgoConfig::Lints(c) => c.validate(),
            AlgoConfig::Slateq(c) => c.validate(),
            AlgoConfig::Es(c) => c.validate(),
        }
    }
}

/// Builds the agent a configuration names, for the environments of `spec` (the
/// configuration's own scenario, or one of the same layout).
pub fn build_agent(config: &TrainConfig, spec: &EnvSpec) -> Result<Box<dyn Agent>, TrainError> {
    let seed = config.env.seed;
    // Whatever the agent needs to know of the environment, as an environment shows it.
    let env = spec.make();
    let layout = env.layout();
    Ok(match &config.agent {
        AlgoConfig::Random => Box::new(Baseline::new(BaselineKind::Random, seed)),
        AlgoConfig::Greedy => Box::new(Baseline::new(BaselineKind::Greedy, seed)),
        AlgoConfig::Linucb(c) => Box::new(LinearBandit::new(Exploration::Ucb(*c), layout, seed)?),
        AlgoConfig::Lints(c) => {
            Box::new(LinearBandit::new(Exploration::Thompson(*c), layout, seed)?)
        }
        AlgoConfig::Slateq(c) => slateq_agent(c, seed, spec, env.as_ref())?,
        AlgoConfig::Es(c) => Box::new(Es::new(*c, layout, seed)?),
    })
}

/// SlateQ lives in `agents-slateq`, which needs libtorch.
#[cfg(feature = "slateq")]
fn slateq_agent(
    config: &SlateQConfig,
    seed: u64,
    spec: &EnvSpec,
    env: &dyn SlateEnv,
) -> Result<Box<dyn Agent>, TrainError> {
    Ok(Box::new(agents_slateq::SlateQ::new(
        config.clone(),
        env.layout(),
        env.known_choice(),
        agents_slateq::Episodes {
            fixed_length: spec.episode_length().is_some(),
            same_candidates: !spec.scenario().resample_documents,
        },
        seed,
    )?))
}

#[cfg(not(feature = "slateq"))]
fn slateq_agent(
    _config: &SlateQConfig,
    _seed: u64,
    _spec: &EnvSpec,
    _env: &dyn SlateEnv,
) -> Result<Box<dyn Agent>, TrainError> {
    Err(TrainError::Unavailable {
        algo: "slateq",
        why: "rlrec was built without the `slateq` feature (libtorch); build it with `cargo xtask`",
    })
}
