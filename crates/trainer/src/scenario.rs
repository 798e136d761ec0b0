//! A scenario: which environment, its parameters, and which wrappers, built into a
//! [`SlateEnv`].

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;

use env::{
    BanditObservation, DiscreteAction, Env, ModelSpaces, RecSimEnv, RecSimObs, Simulator, SlateEnv,
    SlateObs, TimeLimit,
};
use recsim_core::{
    interest_evolution, interest_exploration, ConfigError, EnvConfig, IeParams, IevParams,
    InterestEvolution, InterestExploration, LongTermSatisfaction, LtsParams, Model, ParamSet,
    Params,
};
use serde::{Deserialize, Serialize};

use crate::VideoMetrics;

/// The environments rlrec ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvKind {
    /// Long-term satisfaction with the tutorial's "StrongLTS" user.
    StrongLts,
    /// Long-term satisfaction with RecSim's default user.
    Lts,
    /// Interest evolution: observed interests, videos in 20 clusters, a time budget.
    InterestEvolution,
    /// Interest exploration: two topics, hidden users; ends only at its horizon.
    InterestExploration,
}

impl EnvKind {
    pub const ALL: [EnvKind; 4] = [
        EnvKind::StrongLts,
        EnvKind::Lts,
        EnvKind::InterestEvolution,
        EnvKind::InterestExploration,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EnvKind::StrongLts => "strong-lts",
            EnvKind::Lts => "lts",
            EnvKind::InterestEvolution => "interest-evolution",
            EnvKind::InterestExploration => "interest-exploration",
        }
    }

    /// The model's parameters before any `--set`.
    pub fn default_params(self) -> Vec<(&'static str, f64)> {
        match self {
            EnvKind::StrongLts => LtsParams::strong().values(),
            EnvKind::Lts => LtsParams::default().values(),
            EnvKind::InterestEvolution => IevParams::default().values(),
            EnvKind::InterestExploration => IeParams::default().values(),
        }
    }

    /// The horizon a scenario gets when it sets none. Interest exploration never ends by
    /// itself (RecSim's runner cuts it at 27,000 steps, RLlib not at all); rlrec cuts it
    /// at 100, the horizon of the reference figures.
    pub fn default_horizon(self) -> Option<usize> {
        match self {
            EnvKind::InterestExploration => Some(100),
            _ => None,
        }
    }

    /// Whether the user state is hidden from the agent (the user-features wrapper then
    /// reveals it).
    pub fn has_hidden_user(self) -> bool {
        !matches!(self, EnvKind::InterestEvolution)
    }

    /// The clusters RecSim's video-cluster metrics count clicks in; `None` for long-term
    /// satisfaction, which has no metrics.
    pub fn num_clusters(self) -> Option<usize> {
        match self {
            EnvKind::StrongLts | EnvKind::Lts => None,
            EnvKind::InterestEvolution => Some(interest_evolution::NUM_CLUSTERS),
            EnvKind::InterestExploration => Some(interest_exploration::NUM_TOPICS),
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
    /// Add the user's true state to the observation (LTS: satisfaction; interest
    /// evolution: remaining budget; interest exploration: topic affinities).
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
    /// Cut episodes after this many steps, as truncated (`--horizon`); `None`: the
    /// environment's [`EnvKind::default_horizon`].
    #[serde(default)]
    pub max_episode_steps: Option<usize>,
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
            max_episode_steps: None,
        }
    }
}

/// Something to do with the scenario's model, whichever it is ([`Scenario::visit`]).
pub trait ModelVisitor {
    type Output;
    /// Called with the model built from the scenario's parameters.
    fn visit<M: ModelSpaces>(self, model: M, scenario: &Scenario) -> Self::Output;
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
            EnvKind::InterestEvolution | EnvKind::InterestExploration => return Ok(None),
        };
        base.with_overrides(&self.params).map(Some)
    }

    /// The episode horizon: the scenario's own, else the environment's default.
    pub fn horizon(&self) -> Result<Option<NonZeroUsize>, ConfigError> {
        match self.max_episode_steps.or(self.env.default_horizon()) {
            None => Ok(None),
            Some(steps) => NonZeroUsize::new(steps)
                .map(Some)
                .ok_or(ConfigError::ZeroHorizon),
        }
    }

    /// The length of every episode, where it is fixed: LTS spends one unit of its budget
    /// per step; a horizon cuts the others.
    pub fn episode_length(&self) -> Option<usize> {
        match self.lts_params() {
            Ok(Some(p)) => Some(p.horizon()),
            _ => self.horizon().ok().flatten().map(NonZeroUsize::get),
        }
    }

    /// The video-cluster metrics of this environment, empty; `None` where RecSim has none.
    pub fn video_metrics(&self) -> Option<VideoMetrics> {
        self.env.num_clusters().map(VideoMetrics::new)
    }

    /// Checks the configuration, builds the model from the parameters and overrides, and
    /// hands it to `visitor`.
    pub fn visit<V: ModelVisitor>(&self, visitor: V) -> Result<V::Output, ConfigError> {
        self.env_config().validate()?;
        self.horizon()?;
        Ok(match self.env {
            EnvKind::StrongLts => visitor.visit(
                self.model::<LongTermSatisfaction>(LtsParams::strong())?,
                self,
            ),
            EnvKind::Lts => visitor.visit(
                self.model::<LongTermSatisfaction>(LtsParams::default())?,
                self,
            ),
            EnvKind::InterestEvolution => {
                visitor.visit(self.model::<InterestEvolution>(IevParams::default())?, self)
            }
            EnvKind::InterestExploration => visitor.visit(
                self.model::<InterestExploration>(IeParams::default())?,
                self,
            ),
        })
    }

    /// The model from `base` with the scenario's overrides applied.
    fn model<M: Model>(&self, base: M::Params) -> Result<M, ConfigError> {
        M::from_params(base.with_overrides(&self.params)?)
    }

    /// Checks everything without building the environment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        struct Check;
        impl ModelVisitor for Check {
            type Output = ();
            fn visit<M: ModelSpaces>(self, _: M, _: &Scenario) {}
        }
        self.visit(Check)
    }

    /// Builds the wrapped environment, with its horizon where it has one.
    pub fn build(&self) -> Result<Box<dyn SlateEnv>, ConfigError> {
        struct Build;
        impl ModelVisitor for Build {
            type Output = Result<Box<dyn SlateEnv>, ConfigError>;
            fn visit<M: ModelSpaces>(self, model: M, s: &Scenario) -> Self::Output {
                let env = RecSimEnv::new(model, s.env_config())?;
                Ok(match s.horizon()? {
                    Some(steps) => wrap_user(TimeLimit::new(env, steps), s.wrappers),
                    None => wrap_user(env, s.wrappers),
                })
            }
        }
        self.visit(Build)?
    }
}

fn wrap_user<M, E>(env: E, w: Wrappers) -> Box<dyn SlateEnv>
where
    M: ModelSpaces,
    E: Env<Obs = RecSimObs<M>, Act = [usize]> + Simulator + Send + 'static,
{
    if w.user_observation {
        wrap_bandit(env::UserObservation::new(env), w)
    } else {
        wrap_bandit(env, w)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn episode_end(env: &mut dyn SlateEnv) -> (usize, env::Transition) {
        env.start(None);
        let mut steps = 0;
        loop {
            steps += 1;
            let t = env.recommend(&[steps % 10, 3]).unwrap();
            if t.done() {
                return (steps, t);
            }
        }
    }

    #[test]
    fn interest_exploration_is_cut_at_its_horizon() {
        let mut scenario = Scenario {
            env: EnvKind::InterestExploration,
            num_candidates: 10,
            ..Scenario::default()
        };
        let (steps, last) = episode_end(scenario.build().unwrap().as_mut());
        assert_eq!(steps, 100);
        assert!(last.truncated && !last.terminated);
        scenario.max_episode_steps = Some(7);
        assert_eq!(episode_end(scenario.build().unwrap().as_mut()).0, 7);
        scenario.max_episode_steps = Some(0);
        assert_eq!(scenario.validate(), Err(ConfigError::ZeroHorizon));
    }

    #[test]
    fn parameters_are_per_model() {
        let mut scenario = Scenario {
            env: EnvKind::InterestEvolution,
            params: vec![("time_budget".into(), 20.0)],
            ..Scenario::default()
        };
        assert_eq!(scenario.lts_params(), Ok(None));
        let (steps, last) = episode_end(scenario.build().unwrap().as_mut());
        assert!(last.terminated && !last.truncated && steps < 60);
        scenario.params = vec![("sensitivity".into(), 0.1)];
        assert!(matches!(
            scenario.validate(),
            Err(ConfigError::UnknownParam { .. })
        ));
        assert!(EnvKind::Lts.num_clusters().is_none());
        assert_eq!(
            scenario
                .video_metrics()
                .map(|m| m.report().cluster_watch_fractions.len()),
            Some(20)
        );
    }

    #[test]
    fn a_scenario_saved_before_horizons_still_loads() {
        let mut json = serde_json::to_value(Scenario::default()).unwrap();
        json.as_object_mut().unwrap().remove("max_episode_steps");
        let scenario: Scenario = serde_json::from_value(json).unwrap();
        assert_eq!(scenario, Scenario::default());
    }
}
