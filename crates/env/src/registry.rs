//! Making environments by name, as `gymnasium.make` does: a [`Scenario`] names a
//! registered [`World`] and sets its options; [`Scenario::build`] returns the wrapped
//! environment. The four RecSim worlds are registered from the start, and [`register`]
//! adds others (as `gymnasium.register` does), built from any [`recsim_core::Model`].

use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock, RwLock};

use recsim_core::{
    ConfigError, EnvConfig, EpisodeLength, IeParams, IevParams, InterestEvolution,
    InterestExploration, LongTermSatisfaction, LtsParams, Model, ParamSet, Params,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{
    BanditObservation, DiscreteAction, Env, ModelSpaces, RecSimEnv, RecSimObs, Simulator, SlateEnv,
    SlateObs, TimeAwareObservation, TimeLimit, UserObservation,
};

/// The environment every command defaults to: the reference tutorial's StrongLTS.
pub const DEFAULT_ENV: &str = "strong-lts";

/// The most candidates a scenario may have: SlateQ's replay stores positions as `u16`,
/// and no slate problem of this kind needs more.
pub const MAX_CANDIDATES: usize = u16::MAX as usize;

/// The longest horizon a scenario may set: far beyond any RecSim episode, and short
/// enough that an episode always finishes.
pub const MAX_HORIZON: usize = 1_000_000;

/// A family of environments that can be made by name: a model, its parameters' defaults,
/// and what the trainer needs to know of it. [`ModelWorld`] implements it for any
/// [`Model`] with [`ModelSpaces`]; [`register`] adds one to the registry.
pub trait World: Send + Sync {
    /// The registered name (`--env NAME`).
    fn name(&self) -> &str;
    /// One line on what the world is.
    fn description(&self) -> &str;
    /// Every model parameter with its default, in order: what `--set NAME=VALUE` sets.
    fn default_params(&self) -> Vec<(&'static str, f64)>;
    /// The horizon episodes get when a scenario sets none.
    fn default_horizon(&self) -> Option<usize>;
    /// Whether the agent cannot see the user state (the user-features wrapper reveals it).
    fn hidden_user(&self) -> bool;
    /// The clusters RecSim's video-cluster metrics count clicks in, where the model has them.
    fn num_clusters(&self) -> Option<usize>;
    /// The score a greedy policy ranks each candidate by ([`SlateObs::myopic_scores`]), for
    /// an observation given as its user features and `N × d` candidate features: how a
    /// policy acts on logged observations, with no environment to ask.
    fn myopic_scores(&self, user: &[f32], items: &[f32], out: &mut [f64]);
    /// Builds the model from the default parameters and `params`, and reports on it.
    fn check(&self, params: &ParamSet) -> Result<ModelFacts, ConfigError>;
    /// Builds the wrapped environment of a scenario of this world.
    fn build(&self, scenario: &Scenario) -> Result<Box<dyn SlateEnv>, ConfigError>;
}

/// What [`World::check`] learns from the model built with a scenario's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFacts {
    /// How long its episodes last, before any time limit.
    pub episode_length: EpisodeLength,
    /// The long-term-satisfaction parameters, where the model is long-term satisfaction.
    pub lts_params: Option<LtsParams>,
}

/// A [`World`] made of a [`Model`]: its name, a description, the parameters it starts
/// from and its default horizon.
///
/// ```
/// use env::{ModelWorld, Scenario};
/// use recsim_core::{LongTermSatisfaction, LtsParams};
///
/// // Long-term satisfaction with a user twice as sensitive as StrongLTS's.
/// let params = LtsParams { sensitivity: 0.12, ..LtsParams::strong() };
/// let world = ModelWorld::<LongTermSatisfaction>::new("touchy-lts", "a very sensitive user", params);
/// env::register(world).unwrap();
/// let mut env = Scenario::new("touchy-lts").build().unwrap();
/// env.reset(None);
/// assert_eq!(env.layout().num_candidates, 20);
/// ```
#[derive(Debug, Clone)]
pub struct ModelWorld<M: Model> {
    name: String,
    description: String,
    base: M::Params,
    default_horizon: Option<usize>,
}

impl<M: ModelSpaces> ModelWorld<M> {
    /// A world of `M` whose parameters start from `base`.
    pub fn new(name: &str, description: &str, base: M::Params) -> Self {
        Self {
            name: name.to_string(),
            description: description.to_string(),
            base,
            default_horizon: None,
        }
    }

    /// Cuts episodes after `steps` steps unless a scenario sets its own horizon.
    pub fn with_default_horizon(mut self, steps: usize) -> Self {
        self.default_horizon = Some(steps);
        self
    }

    fn model(&self, params: &ParamSet) -> Result<M, ConfigError> {
        M::from_params(self.base.with_overrides(params)?)
    }
}

impl<M: ModelSpaces> World for ModelWorld<M> {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn default_params(&self) -> Vec<(&'static str, f64)> {
        self.base.values()
    }

    fn default_horizon(&self) -> Option<usize> {
        self.default_horizon
    }

    fn hidden_user(&self) -> bool {
        M::USER_OBS_DIM == 0
    }

    fn num_clusters(&self) -> Option<usize> {
        M::NUM_CLUSTERS
    }

    fn myopic_scores(&self, user: &[f32], items: &[f32], out: &mut [f64]) {
        for (row, score) in items.chunks_exact(M::DOC_DIM).zip(out) {
            *score = M::myopic_score(user, row);
        }
    }

    fn check(&self, params: &ParamSet) -> Result<ModelFacts, ConfigError> {
        let model = self.model(params)?;
        Ok(ModelFacts {
            episode_length: model.episode_length(),
            lts_params: model.lts_params().copied(),
        })
    }

    fn build(&self, scenario: &Scenario) -> Result<Box<dyn SlateEnv>, ConfigError> {
        let env = RecSimEnv::new(self.model(&scenario.params)?, scenario.env_config())?;
        let time = scenario.time_aware_steps()?.and_then(NonZeroUsize::new);
        Ok(match scenario.horizon()? {
            Some(steps) => wrap_user(TimeLimit::new(env, steps), scenario.wrappers, time),
            None => wrap_user(env, scenario.wrappers, time),
        })
    }
}

fn wrap_user<M, E>(env: E, w: Wrappers, time: Option<NonZeroUsize>) -> Box<dyn SlateEnv>
where
    M: ModelSpaces,
    E: Env<Obs = RecSimObs<M>, Act = [usize]> + Simulator + Send + 'static,
{
    if w.user_observation {
        wrap_time(UserObservation::new(env), w, time)
    } else {
        wrap_time(env, w, time)
    }
}

/// The time feature goes after the user features, so that it is the last user feature
/// whatever other wrappers add.
fn wrap_time<M, E>(env: E, w: Wrappers, time: Option<NonZeroUsize>) -> Box<dyn SlateEnv>
where
    M: ModelSpaces,
    E: Env<Obs = RecSimObs<M>, Act = [usize]> + Simulator + Send + 'static,
{
    match time {
        Some(steps) => wrap_bandit(TimeAwareObservation::new(env, steps), w),
        None => wrap_bandit(env, w),
    }
}

fn wrap_bandit<M, E>(env: E, w: Wrappers) -> Box<dyn SlateEnv>
where
    M: ModelSpaces,
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

/// Why a world cannot be registered.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// The name is taken.
    #[error("an environment named `{0}` is already registered")]
    Duplicate(String),
    /// The name cannot be typed as `--env NAME`.
    #[error("`{0}` is not a valid environment name: use letters, digits, `-`, `_`, `/` and `.`")]
    InvalidName(String),
}

type Registry = RwLock<Vec<Arc<dyn World>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(builtin()))
}

/// RecSim's three worlds, the first in two user settings.
fn builtin() -> Vec<Arc<dyn World>> {
    vec![
        Arc::new(ModelWorld::<LongTermSatisfaction>::new(
            "strong-lts",
            "long-term satisfaction with the tutorial's StrongLTS user (sensitivity 0.06, budget 120)",
            LtsParams::strong(),
        )),
        Arc::new(ModelWorld::<LongTermSatisfaction>::new(
            "lts",
            "long-term satisfaction with RecSim's default user",
            LtsParams::default(),
        )),
        // RecSim's episodes end when the budget does; with parameters under which it
        // never runs out (a large user_quality_factor, say) the cut at 1000 steps ends
        // them. With the defaults no episode comes near it (at most about 400 steps).
        Arc::new(
            ModelWorld::<InterestEvolution>::new(
                "interest-evolution",
                "interest evolution: observed interests, videos in 20 clusters, a time budget",
                IevParams::default(),
            )
            .with_default_horizon(1000),
        ),
        // It never ends by itself (RecSim's runner cuts it at 27,000 steps, RLlib not at
        // all); 100 steps is the horizon of the reference figures.
        Arc::new(
            ModelWorld::<InterestExploration>::new(
                "interest-exploration",
                "interest exploration: two topics, hidden users; ends only at its horizon",
                IeParams::default(),
            )
            .with_default_horizon(100),
        ),
    ]
}

/// Adds a world to the registry, as `gymnasium.register` does; a taken name is refused.
pub fn register(world: impl World + 'static) -> Result<(), RegistryError> {
    let name = world.name().to_string();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c));
    if !valid {
        return Err(RegistryError::InvalidName(name));
    }
    let mut worlds = registry().write().unwrap_or_else(|e| e.into_inner());
    if worlds.iter().any(|w| w.name() == name) {
        return Err(RegistryError::Duplicate(name));
    }
    worlds.push(Arc::new(world));
    Ok(())
}

/// Every registered world, the built-in ones first.
pub fn registered() -> Vec<Arc<dyn World>> {
    registry().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The world registered as `name`.
pub fn world(name: &str) -> Result<Arc<dyn World>, ConfigError> {
    let worlds = registry().read().unwrap_or_else(|e| e.into_inner());
    worlds
        .iter()
        .find(|w| w.name() == name)
        .cloned()
        .ok_or_else(|| ConfigError::UnknownEnvironment {
            name: name.to_string(),
            known: worlds
                .iter()
                .map(|w| w.name())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The environment registered as `name` with every option at its default (20 candidates,
/// slates of 2, resampled, seed 0), as `gymnasium.make(name)`.
pub fn make(name: &str) -> Result<Box<dyn SlateEnv>, ConfigError> {
    Scenario::new(name).build()
}

/// RLlib's optional wrappers, in the order they are applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Wrappers {
    /// Add the user's true state to the observation (LTS: satisfaction; interest
    /// evolution: remaining budget; interest exploration: topic affinities).
    pub user_observation: bool,
    /// Replace the observation by the `item` matrix of document features.
    pub bandit_observation: bool,
    /// `Discrete(N^K)` actions instead of `MultiDiscrete([N]*K)`.
    pub discrete_action: bool,
    /// Add the remaining fraction of the episode to the user observation (gymnasium's
    /// `TimeAwareObservation`; [`Scenario::time_aware_steps`]). The bandit observation
    /// drops the user observation, so it refuses this and `user_observation`.
    pub time_aware: bool,
}

/// Everything that defines an environment instance: a registered world and its options
/// (the `[env]` table of a run's configuration; the CLI's and Python's environment
/// options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The registered world's name.
    pub env: String,
    /// Candidate documents per step (`N`).
    pub num_candidates: usize,
    /// Documents per slate (`K`).
    pub slate_size: usize,
    /// Draw a fresh candidate set at every reset and step.
    pub resample_documents: bool,
    /// The seed of every random stream.
    pub seed: u64,
    /// Model parameter overrides (`--set name=value`).
    #[serde(default, skip_serializing_if = "ParamSet::is_empty")]
    pub params: ParamSet,
    /// RLlib's wrappers.
    #[serde(default)]
    pub wrappers: Wrappers,
    /// Cut episodes after this many steps, as truncated (`--horizon`); `None`: the
    /// world's [`World::default_horizon`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_episode_steps: Option<usize>,
}

impl Default for Scenario {
    /// The tutorial's main scenario: StrongLTS, 20 candidates, slate 2, resampled, seed 0.
    fn default() -> Self {
        Self::new(DEFAULT_ENV)
    }
}

impl Scenario {
    /// The world registered as `env` with the default options: 20 candidates, slate of 2,
    /// resampled, seed 0, no wrappers.
    pub fn new(env: &str) -> Self {
        let cfg = EnvConfig::default();
        Self {
            env: env.to_string(),
            num_candidates: cfg.num_candidates,
            slate_size: cfg.slate_size,
            resample_documents: cfg.resample_documents,
            seed: cfg.seed,
            params: ParamSet::new(),
            wrappers: Wrappers::default(),
            max_episode_steps: None,
        }
    }

    /// The registered world.
    pub fn world(&self) -> Result<Arc<dyn World>, ConfigError> {
        world(&self.env)
    }

    /// The simulator's candidate-set configuration.
    pub fn env_config(&self) -> EnvConfig {
        EnvConfig {
            num_candidates: self.num_candidates,
            slate_size: self.slate_size,
            resample_documents: self.resample_documents,
            seed: self.seed,
        }
    }

    /// The episode horizon: the scenario's own, else the world's default.
    pub fn horizon(&self) -> Result<Option<NonZeroUsize>, ConfigError> {
        let steps = match self.max_episode_steps {
            Some(steps) => Some(steps),
            None => self.world()?.default_horizon(),
        };
        match steps {
            None => Ok(None),
            Some(steps) if steps > MAX_HORIZON => Err(ConfigError::TooLarge {
                name: "max_episode_steps",
                value: steps as u128,
                max: MAX_HORIZON as u128,
                why: "every episode must be able to finish",
            }),
            Some(steps) => NonZeroUsize::new(steps)
                .map(Some)
                .ok_or(ConfigError::ZeroHorizon),
        }
    }

    /// Checks every option, builds the model and reports on it.
    pub fn check(&self) -> Result<ModelFacts, ConfigError> {
        let world = self.world()?;
        self.env_config().validate()?;
        if self.num_candidates > MAX_CANDIDATES {
            return Err(ConfigError::TooLarge {
                name: "num_candidates",
                value: self.num_candidates as u128,
                max: MAX_CANDIDATES as u128,
                why: "slate positions are stored in 16 bits",
            });
        }
        // A configuration file holds integers as 64-bit signed numbers.
        if self.seed > i64::MAX as u64 {
            return Err(ConfigError::TooLarge {
                name: "seed",
                value: self.seed.into(),
                max: i64::MAX as u128,
                why: "a configuration file stores it as a signed 64-bit integer",
            });
        }
        if self.wrappers.discrete_action
            && (self.num_candidates as u64)
                .checked_pow(self.slate_size as u32)
                .is_none()
        {
            return Err(ConfigError::TooLarge {
                name: "num_candidates^slate_size (the discrete action space)",
                value: (self.num_candidates as u128).saturating_pow(self.slate_size as u32),
                max: u64::MAX.into(),
                why: "a discrete action is a 64-bit number",
            });
        }
        if self.wrappers.bandit_observation {
            for (on, option) in [
                (self.wrappers.user_observation, "user_observation"),
                (self.wrappers.time_aware, "time_aware"),
            ] {
                if on {
                    return Err(ConfigError::DroppedByBanditObservation { option });
                }
            }
        }
        self.horizon()?;
        let facts = world.check(&self.params)?;
        if self.wrappers.time_aware
            && facts.episode_length == EpisodeLength::Variable
            && self.horizon()?.is_none()
        {
            return Err(ConfigError::UnboundedEpisodes);
        }
        Ok(facts)
    }

    /// Checks everything without building the environment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check().map(|_| ())
    }

    /// The length of every episode, where it is fixed: a fixed model length (cut by the
    /// horizon), or the horizon of a model that never ends by itself.
    pub fn episode_length(&self) -> Result<Option<usize>, ConfigError> {
        let facts = self.check()?;
        let horizon = self.horizon()?.map(NonZeroUsize::get);
        Ok(match facts.episode_length {
            EpisodeLength::Fixed(n) => Some(horizon.map_or(n, |h| h.min(n))),
            EpisodeLength::Endless => horizon,
            EpisodeLength::Variable => None,
        })
    }

    /// The episode length the time-aware observation counts down from, where it is on: the
    /// fixed length of every episode, else the horizon that cuts them. A world whose
    /// episodes have neither is refused.
    pub fn time_aware_steps(&self) -> Result<Option<usize>, ConfigError> {
        if !self.wrappers.time_aware {
            return Ok(None);
        }
        match self.episode_length()? {
            Some(steps) => Ok(Some(steps)),
            None => match self.horizon()? {
                Some(steps) => Ok(Some(steps.get())),
                None => Err(ConfigError::UnboundedEpisodes),
            },
        }
    }

    /// The long-term-satisfaction parameters with the overrides applied, where the world
    /// is long-term satisfaction.
    pub fn lts_params(&self) -> Result<Option<LtsParams>, ConfigError> {
        Ok(self.check()?.lts_params)
    }

    /// Builds the wrapped environment, with its horizon where it has one.
    pub fn build(&self) -> Result<Box<dyn SlateEnv>, ConfigError> {
        self.check()?;
        self.world()?.build(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transition;

    fn episode_end(env: &mut dyn SlateEnv) -> (usize, Transition) {
        env.reset(None);
        let mut steps = 0;
        loop {
            steps += 1;
            let t = env.step(&[steps % 10, 3]).unwrap();
            if t.done() {
                return (steps, t);
            }
        }
    }

    #[test]
    fn interest_exploration_is_cut_at_its_horizon() {
        let mut scenario = Scenario {
            num_candidates: 10,
            ..Scenario::new("interest-exploration")
        };
        let (steps, last) = episode_end(scenario.build().unwrap().as_mut());
        assert_eq!(steps, 100);
        assert!(last.truncated && !last.terminated);
        assert_eq!(scenario.episode_length().ok(), Some(Some(100)));
        scenario.max_episode_steps = Some(7);
        assert_eq!(episode_end(scenario.build().unwrap().as_mut()).0, 7);
        scenario.max_episode_steps = Some(0);
        assert!(matches!(scenario.validate(), Err(ConfigError::ZeroHorizon)));
    }

    #[test]
    fn episode_lengths_follow_the_model_and_the_horizon() {
        let mut lts = Scenario::default();
        assert_eq!(lts.episode_length().ok(), Some(Some(120)));
        lts.max_episode_steps = Some(5);
        assert_eq!(lts.episode_length().ok(), Some(Some(5)));
        let iev = Scenario::new("interest-evolution");
        assert_eq!(iev.episode_length().ok(), Some(None));
    }

    #[test]
    fn the_time_aware_feature_counts_down_each_worlds_episode_length() {
        let steps = |name: &str| {
            let mut s = Scenario::new(name);
            s.wrappers.time_aware = true;
            s.time_aware_steps()
        };
        // LTS's time budget, interest exploration's horizon, and the horizon that cuts
        // interest evolution's episodes of varying length.
        assert_eq!(steps("strong-lts").ok(), Some(Some(120)));
        assert_eq!(steps("lts").ok(), Some(Some(60)));
        assert_eq!(steps("interest-exploration").ok(), Some(Some(100)));
        assert_eq!(steps("interest-evolution").ok(), Some(Some(1000)));
        assert_eq!(
            Scenario::default().time_aware_steps().ok(),
            Some(None),
            "off"
        );
        // A world whose episodes have neither a length nor a horizon has nothing to count.
        register(ModelWorld::<InterestEvolution>::new(
            "registry-test/endless-iev",
            "test",
            IevParams::default(),
        ))
        .unwrap();
        assert!(matches!(
            steps("registry-test/endless-iev"),
            Err(ConfigError::UnboundedEpisodes)
        ));
        let user = Scenario {
            wrappers: Wrappers {
                user_observation: true,
                time_aware: true,
                ..Wrappers::default()
            },
            ..Scenario::default()
        };
        let mut env = user.build().unwrap();
        env.reset(None);
        assert_eq!(
            env.layout().user_dim,
            2,
            "the satisfaction, then the time left"
        );
        assert_eq!(env.user()[1], 1.0);
    }

    #[test]
    fn parameters_are_per_model() {
        let mut scenario = Scenario {
            params: ParamSet::from([("time_budget".into(), 20.0)]),
            ..Scenario::new("interest-evolution")
        };
        assert_eq!(scenario.lts_params().ok(), Some(None));
        let (steps, last) = episode_end(scenario.build().unwrap().as_mut());
        assert!(last.terminated && !last.truncated && steps < 60);
        scenario.params = ParamSet::from([("sensitivity".into(), 0.1)]);
        assert!(matches!(
            scenario.validate(),
            Err(ConfigError::UnknownParam { .. })
        ));
        assert_eq!(
            Scenario::default().lts_params().unwrap(),
            Some(LtsParams::strong())
        );
    }

    #[test]
    fn unknown_names_and_absurd_sizes_are_refused() {
        let err = Scenario::new("mars").validate().unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown environment `mars`; registered: strong-lts, lts"),
            "{err}"
        );
        let too_many = Scenario {
            num_candidates: MAX_CANDIDATES + 1,
            ..Scenario::default()
        };
        assert!(matches!(
            too_many.validate(),
            Err(ConfigError::TooLarge {
                name: "num_candidates",
                ..
            })
        ));
        let mut discrete = Scenario {
            num_candidates: 256,
            slate_size: 8,
            ..Scenario::default()
        };
        discrete.wrappers.discrete_action = true;
        assert!(matches!(
            discrete.validate(),
            Err(ConfigError::TooLarge { .. })
        ));
        discrete.slate_size = 7;
        assert_eq!(discrete.validate().ok(), Some(()), "256^7 = 2^56 fits");
        let seed = Scenario {
            seed: u64::MAX,
            ..Scenario::default()
        };
        assert!(seed.validate().is_err());
    }

    #[test]
    fn registering_refuses_taken_and_untypable_names() {
        let world = |name: &str| {
            ModelWorld::<LongTermSatisfaction>::new(name, "test", LtsParams::default())
        };
        assert!(matches!(
            register(world("strong-lts")),
            Err(RegistryError::Duplicate(name)) if name == "strong-lts"
        ));
        assert!(matches!(
            register(world("two words")),
            Err(RegistryError::InvalidName(name)) if name == "two words"
        ));
        register(world("registry-test/lts-v0")).unwrap();
        assert!(make("registry-test/lts-v0").is_ok());
        assert!(registered()
            .iter()
            .any(|w| w.name() == "registry-test/lts-v0"));
    }
}
