//! What a world is: the [`World`] trait (a family of environments made by name), the
//! [`WorldModel`] a scenario's parameters build, and [`ModelWorld`], both for any
//! [`recsim_core::Model`], with RLlib's wrappers applied in their order.

use std::num::NonZeroUsize;
use std::sync::Arc;

use recsim_core::{
    CheckedEnvConfig, ConfigError, EnvConfig, EpisodeLength, LtsParams, Model, ParamSet, Params,
};

use crate::{
    BanditObservation, DiscreteAction, Env, ModelSpaces, RecSimEnv, RecSimObs, Scenario, Simulator,
    SlateEnv, SlateObs, TimeAwareObservation, TimeLimit, UserObservation, Wrappers,
};

/// A family of environments that can be made by name: a model, its parameters' defaults,
/// and what the trainer needs to know of it. [`ModelWorld`] implements it for any
/// [`Model`] with [`ModelSpaces`]; [`crate::register`] adds one to the registry.
pub trait World: Send + Sync {
    /// The registered name (`--env NAME`).
    fn name(&self) -> &str;
    /// One line on what the world is.
    fn description(&self) -> &str;
    /// Every model parameter with its default, in order: what `--set NAME=VALUE` sets.
    fn default_params(&self) -> Vec<(&'static str, f64)>;
    /// The horizon episodes get when a scenario sets none.
    fn default_horizon(&self) -> Option<usize>;
    /// The candidate set a scenario of this world starts from (its seed is ignored):
    /// RecSim's 20 candidates, slates of 2, resampled, unless the world has its own.
    fn default_config(&self) -> EnvConfig {
        EnvConfig::default()
    }
    /// Whether the agent cannot see the user state (the user-features wrapper reveals it).
    fn hidden_user(&self) -> bool;
    /// Whether the observation, with these parameter overrides, remembers enough of what
    /// the user did for an agent to learn from without the true state (SARDINE's click
    /// history).
    fn remembers_user(&self, _params: &ParamSet) -> bool {
        false
    }
    /// The clusters RecSim's video-cluster metrics count clicks in, where the model has them.
    fn num_clusters(&self) -> Option<usize>;
    /// The score a greedy policy ranks each candidate by ([`SlateObs::myopic_scores`]), for
    /// an observation given as its user features and `N × d` candidate features: how a
    /// policy acts on logged observations, with no environment to ask.
    fn myopic_scores(&self, user: &[f32], items: &[f32], out: &mut [f64]);
    /// Builds the model from the default parameters and the scenario's, checking them and
    /// whatever else of the scenario the world cannot use: the model a resolved scenario
    /// ([`crate::Scenario::resolve`]) makes every environment from.
    fn model(&self, scenario: &Scenario) -> Result<Arc<dyn WorldModel>, ConfigError>;
}

/// A world's model built with a scenario's parameters ([`World::model`]): what the
/// scenario's checks need to know of it, and the environments it makes.
pub trait WorldModel: Send + Sync {
    /// How long its episodes last, before any time limit.
    fn episode_length(&self) -> EpisodeLength;
    /// The long-term-satisfaction parameters, where the model is long-term satisfaction.
    fn lts_params(&self) -> Option<&LtsParams>;
    /// A resolved scenario's environment ([`crate::EnvSpec::make`]): the candidate sets and
    /// random streams of `config`, RLlib's `wrappers`, cut at `horizon` steps where there is
    /// one, and with the time feature counting down `time_aware_steps` where it is on.
    fn make(
        &self,
        config: CheckedEnvConfig,
        wrappers: Wrappers,
        horizon: Option<NonZeroUsize>,
        time_aware_steps: Option<NonZeroUsize>,
    ) -> Box<dyn SlateEnv>;
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

    fn model(&self, scenario: &Scenario) -> Result<Arc<dyn WorldModel>, ConfigError> {
        if scenario.item_embeddings.is_some() {
            return Err(ConfigError::World {
                world: M::NAME,
                why: "only SARDINE's worlds read item embeddings: leave item_embeddings unset"
                    .into(),
            });
        }
        Ok(Arc::new(BuiltModel(M::from_params(
            self.base.with_overrides(&scenario.params)?,
        )?)))
    }
}

/// A [`ModelWorld`]'s model, built.
struct BuiltModel<M>(M);

impl<M: ModelSpaces> WorldModel for BuiltModel<M> {
    fn episode_length(&self) -> EpisodeLength {
        self.0.episode_length()
    }

    fn lts_params(&self) -> Option<&LtsParams> {
        self.0.lts_params()
    }

    fn make(
        &self,
        config: CheckedEnvConfig,
        wrappers: Wrappers,
        horizon: Option<NonZeroUsize>,
        time: Option<NonZeroUsize>,
    ) -> Box<dyn SlateEnv> {
        let env = RecSimEnv::with_checked(self.0.clone(), config);
        match horizon {
            Some(steps) => wrap_user(TimeLimit::new(env, steps), wrappers, time),
            None => wrap_user(env, wrappers, time),
        }
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
