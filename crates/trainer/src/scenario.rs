//! A scenario: which environment, its parameters, and which wrappers, built into a
//! [`SlateEnv`].

use std::fmt;
use std::str::FromStr;

use env::{
    BanditObservation, DiscreteAction, Env, ModelSpaces, RecSimEnv, RecSimObs, Simulator, SlateEnv,
    SlateObs,
};
use recsim_core::{
    ConfigError, EnvConfig, LongTermSatisfaction, LtsParams, Model, ParamSet, Params,
};
use serde::{Deserialize, Serialize};

/// The environments rlrec ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvKind {
    /// Long-term satisfaction with the tutorial's "StrongLTS" user.
    StrongLts,
    /// Long-term satisfaction with RecSim's default user.
    Lts,
}

impl EnvKind {
    pub const ALL: [EnvKind; 2] = [EnvKind::StrongLts, EnvKind::Lts];

    pub fn name(self) -> &'static str {
        match self {
            EnvKind::StrongLts => "strong-lts",
            EnvKind::Lts => "lts",
        }
    }

    /// Whether the user state is hidden from the agent (the user-features wrapper then
    /// reveals it).
    pub fn has_hidden_user(self) -> bool {
        match self {
            EnvKind::StrongLts | EnvKind::Lts => true,
        }
    }

    /// The model's parameters before any `--set`.
    pub fn default_params(self) -> Vec<(&'static str, f64)> {
        match self {
            EnvKind::StrongLts => LtsParams::strong().values(),
            EnvKind::Lts => LtsParams::default().values(),
        }
    }
}

impl fmt::Display for EnvKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EnvKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown environment `{s}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// RLlib's optional wrappers, in the order they are applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wrappers {
    /// Add the user's true state to the observation (LTS: satisfaction).
    pub user_observation: bool,
    /// Replace the observation by the `item` matrix of document features.
    pub bandit_observation: bool,
    /// `Discrete(N^K)` actions instead of `MultiDiscrete([N]*K)`.
    pub discrete_action: bool,
}

/// Everything that defines an environment instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub env: EnvKind,
    pub num_candidates: usize,
    pub slate_size: usize,
    pub resample_documents: bool,
    pub seed: u64,
    /// Model parameter overrides (`--set name=value`), in order.
    pub params: ParamSet,
    pub wrappers: Wrappers,
}

impl Default for Scenario {
    /// The tutorial's main scenario: StrongLTS, 20 candidates, slate 2, resampled, seed 0.
    fn default() -> Self {
        let cfg = EnvConfig::default();
        Self {
            env: EnvKind::StrongLts,
            num_candidates: cfg.num_candidates,
            slate_size: cfg.slate_size,
            resample_documents: cfg.resample_documents,
            seed: cfg.seed,
            params: ParamSet::new(),
            wrappers: Wrappers::default(),
        }
    }
}

impl Scenario {
    pub fn env_config(&self) -> EnvConfig {
        EnvConfig {
            num_candidates: self.num_candidates,
            slate_size: self.slate_size,
            resample_documents: self.resample_documents,
            seed: self.seed,
        }
    }

    /// The long-term-satisfaction parameters with the overrides applied, if this is LTS.
    pub fn lts_params(&self) -> Result<Option<LtsParams>, ConfigError> {
        let base = match self.env {
            EnvKind::StrongLts => LtsParams::strong(),
            EnvKind::Lts => LtsParams::default(),
        };
        base.with_overrides(&self.params).map(Some)
    }

    /// The length of every episode, where the model fixes it.
    pub fn max_episode_steps(&self) -> Option<usize> {
        match self.env {
            EnvKind::StrongLts | EnvKind::Lts => {
                self.lts_params().ok().flatten().map(|p| p.horizon())
            }
        }
    }

    /// Checks everything without building.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.env_config().validate()?;
        self.lts_params().map(|_| ())
    }

    /// Builds the wrapped environment.
    pub fn build(&self) -> Result<Box<dyn SlateEnv>, ConfigError> {
        let config = self.env_config();
        match self.env {
            EnvKind::StrongLts | EnvKind::Lts => {
                let params = self
                    .lts_params()?
                    .expect("LTS scenarios have LTS parameters");
                let model = LongTermSatisfaction::from_params(params)?;
                Ok(wrap_user(RecSimEnv::new(model, config)?, self.wrappers))
            }
        }
    }

    /// The unwrapped long-term-satisfaction environment, for the first lab's display.
    pub fn build_lts(&self) -> Result<RecSimEnv<LongTermSatisfaction>, ConfigError> {
        let params = self
            .lts_params()?
            .expect("LTS scenarios have LTS parameters");
        RecSimEnv::new(
            LongTermSatisfaction::from_params(params)?,
            self.env_config(),
        )
    }
}

fn wrap_user<M: ModelSpaces>(env: RecSimEnv<M>, w: Wrappers) -> Box<dyn SlateEnv> {
    if w.user_observation {
        wrap_bandit(env::UserObservation::new(env), w)
    } else {
        wrap_bandit(env, w)
    }
}

fn wrap_bandit<M, E>(env: E, w: Wrappers) -> Box<dyn SlateEnv>
where
    M: Model,
    E: Env<Obs = RecSimObs<M>, Act = [usize]> + Simulator + Send + 'static,
{
    if w.bandit_observation {
        wrap_action(BanditObservation::new(env), w)
    } else {
        wrap_action(env, w)
    }
}

fn wrap_action<E>(env: E, w: Wrappers) -> Box<dyn SlateEnv>
where
    E: Env<Act = [usize]> + Simulator + Send + 'static,
    E::Obs: SlateObs,
{
    if w.discrete_action {
        Box::new(DiscreteAction::new(env))
    } else {
        Box::new(env)
    }
}
