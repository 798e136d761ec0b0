//! What defines an environment instance: a [`Scenario`] (a registered world and its
//! options) and the [`EnvSpec`] it resolves to once checked, which makes its
//! environments.

use std::num::NonZeroUsize;
use std::sync::Arc;

use recsim_core::{CheckedEnvConfig, ConfigError, EnvConfig, EpisodeLength, LtsParams, ParamSet};
use serde::{Deserialize, Serialize};

use crate::{world, SlateEnv, World, WorldModel, Wrappers};

/// The environment every command defaults to: the reference tutorial's StrongLTS.
pub const DEFAULT_ENV: &str = "strong-lts";

/// The most candidates a scenario may have: SlateQ's replay stores positions as `u16`,
/// and no slate problem of this kind needs more.
pub const MAX_CANDIDATES: usize = u16::MAX as usize;

/// The longest horizon a scenario may set: far beyond any RecSim episode, and short
/// enough that an episode always finishes.
pub const MAX_HORIZON: usize = 1_000_000;

/// The environment registered as `name` with every option at its default (20 candidates,
/// slates of 2, resampled, seed 0), as `gymnasium.make(name)`.
pub fn make(name: &str) -> Result<Box<dyn SlateEnv>, ConfigError> {
    Scenario::new(name).build()
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
    /// A `.npy` file of item embeddings for SARDINE's worlds (`--item-embeddings`; its own
    /// files, say); `None`: items generated from `item_seed`. Other worlds refuse one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_embeddings: Option<std::path::PathBuf>,
}

impl Default for Scenario {
    /// The tutorial's main scenario: StrongLTS, 20 candidates, slate 2, resampled, seed 0.
    fn default() -> Self {
        Self::new(DEFAULT_ENV)
    }
}

impl Scenario {
    /// The world registered as `env` with the default options: the world's candidate set
    /// (RecSim's: 20 candidates, slate of 2, resampled), seed 0, no wrappers.
    pub fn new(env: &str) -> Self {
        let cfg = world(env).map_or_else(|_| EnvConfig::default(), |w| w.default_config());
        Self {
            env: env.to_string(),
            num_candidates: cfg.num_candidates,
            slate_size: cfg.slate_size,
            resample_documents: cfg.resample_documents,
            seed: cfg.seed,
            params: ParamSet::new(),
            wrappers: Wrappers::default(),
            max_episode_steps: None,
            item_embeddings: None,
        }
    }

    /// Moves the scenario to world `env`: the old world's parameter overrides go, and
    /// where the two worlds start from different candidate sets (RecSim's and SARDINE's,
    /// say), the new world's replaces the old one's.
    pub fn switch_world(&mut self, env: &str) {
        if env == self.env {
            return;
        }
        self.params.clear();
        let defaults = |name: &str| world(name).ok().map(|w| w.default_config());
        if let (Some(old), Some(new)) = (defaults(&self.env), defaults(env)) {
            if old != new {
                self.num_candidates = new.num_candidates;
                self.slate_size = new.slate_size;
                self.resample_documents = new.resample_documents;
            }
        }
        self.env = env.to_string();
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

    /// Checks every option once, builds the model once, and returns what the scenario
    /// is: an [`EnvSpec`] whose environments can no longer fail to be made.
    pub fn resolve(&self) -> Result<EnvSpec, ConfigError> {
        let world = self.world()?;
        let config = self.env_config().checked()?;
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
        let horizon = self.horizon(world.as_ref())?;
        let model = world.model(self)?;
        let cut = horizon.map(NonZeroUsize::get);
        let episode_length = match model.episode_length() {
            EpisodeLength::Fixed(n) => Some(cut.map_or(n, |h| h.min(n))),
            EpisodeLength::Endless => cut,
            EpisodeLength::Variable => None,
        };
        // The time-aware observation counts down the fixed length of every episode, else
        // the horizon that cuts them; a world whose episodes have neither is refused.
        let time_aware_steps = match (self.wrappers.time_aware, episode_length.or(cut)) {
            (false, _) => None,
            (true, Some(steps)) => NonZeroUsize::new(steps),
            (true, None) => return Err(ConfigError::UnboundedEpisodes),
        };
        Ok(EnvSpec {
            scenario: self.clone(),
            world,
            model,
            config,
            horizon,
            episode_length,
            time_aware_steps,
        })
    }

    /// The episode horizon: the scenario's own, else the world's default.
    fn horizon(&self, world: &dyn World) -> Result<Option<NonZeroUsize>, ConfigError> {
        match self.max_episode_steps.or_else(|| world.default_horizon()) {
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

    /// Checks everything without building an environment ([`Scenario::resolve`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.resolve().map(drop)
    }

    /// Builds the wrapped environment, with its horizon where it has one: one
    /// [`Scenario::resolve`] and one [`EnvSpec::make`], as `gymnasium.make`.
    pub fn build(&self) -> Result<Box<dyn SlateEnv>, ConfigError> {
        Ok(self.resolve()?.make())
    }
}

/// A scenario resolved once ([`Scenario::resolve`]): every option checked, the model built,
/// and what follows from them (the horizon, the length of every episode, the steps the
/// time feature counts down). Making its environments cannot fail.
#[derive(Clone)]
pub struct EnvSpec {
    scenario: Scenario,
    world: Arc<dyn World>,
    model: Arc<dyn WorldModel>,
    config: CheckedEnvConfig,
    horizon: Option<NonZeroUsize>,
    episode_length: Option<usize>,
    time_aware_steps: Option<NonZeroUsize>,
}

impl EnvSpec {
    /// The scenario it resolves.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The registered world.
    pub fn world(&self) -> &dyn World {
        self.world.as_ref()
    }

    /// The episode horizon: the scenario's own, else the world's default.
    pub fn horizon(&self) -> Option<NonZeroUsize> {
        self.horizon
    }

    /// The length of every episode, where it is fixed: a fixed model length (cut by the
    /// horizon), or the horizon of a model that never ends by itself.
    pub fn episode_length(&self) -> Option<usize> {
        self.episode_length
    }

    /// The episode length the time-aware observation counts down from, where it is on.
    pub fn time_aware_steps(&self) -> Option<usize> {
        self.time_aware_steps.map(NonZeroUsize::get)
    }

    /// The long-term-satisfaction parameters with the overrides applied, where the world
    /// is long-term satisfaction.
    pub fn lts_params(&self) -> Option<&LtsParams> {
        self.model.lts_params()
    }

    /// A new environment of the scenario.
    pub fn make(&self) -> Box<dyn SlateEnv> {
        self.make_seeded(self.scenario.seed)
    }

    /// A new environment of the scenario with every random stream from `seed` instead
    /// (a vector's slots, an evaluation's stream).
    pub fn make_seeded(&self, seed: u64) -> Box<dyn SlateEnv> {
        let (wrappers, time) = (self.scenario.wrappers, self.time_aware_steps);
        let config = self.config.with_seed(seed);
        self.model.make(config, wrappers, self.horizon, time)
    }
}

impl std::fmt::Debug for EnvSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvSpec")
            .field("scenario", &self.scenario)
            .field("horizon", &self.horizon)
            .field("episode_length", &self.episode_length)
            .field("time_aware_steps", &self.time_aware_steps)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{register, ModelWorld, SlateEnv, Transition, World, WorldModel};
    use recsim_core::{IevParams, InterestEvolution, LongTermSatisfaction};
    use std::sync::Arc;

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
        assert_eq!(scenario.resolve().unwrap().episode_length(), Some(100));
        scenario.max_episode_steps = Some(7);
        assert_eq!(episode_end(scenario.build().unwrap().as_mut()).0, 7);
        scenario.max_episode_steps = Some(0);
        assert!(matches!(scenario.validate(), Err(ConfigError::ZeroHorizon)));
    }

    #[test]
    fn episode_lengths_follow_the_model_and_the_horizon() {
        let mut lts = Scenario::default();
        assert_eq!(lts.resolve().unwrap().episode_length(), Some(120));
        lts.max_episode_steps = Some(5);
        assert_eq!(lts.resolve().unwrap().episode_length(), Some(5));
        let iev = Scenario::new("interest-evolution");
        assert_eq!(iev.resolve().unwrap().episode_length(), None);
    }

    #[test]
    fn the_time_aware_feature_counts_down_each_worlds_episode_length() {
        let steps = |name: &str| {
            let mut s = Scenario::new(name);
            s.wrappers.time_aware = true;
            s.resolve().map(|spec| spec.time_aware_steps())
        };
        // LTS's time budget, interest exploration's horizon, and the horizon that cuts
        // interest evolution's episodes of varying length.
        assert_eq!(steps("strong-lts").ok(), Some(Some(120)));
        assert_eq!(steps("lts").ok(), Some(Some(60)));
        assert_eq!(steps("interest-exploration").ok(), Some(Some(100)));
        assert_eq!(steps("interest-evolution").ok(), Some(Some(1000)));
        assert_eq!(
            Scenario::default().resolve().unwrap().time_aware_steps(),
            None,
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
        let time = Some(crate::TimeFeature {
            index: 1,
            steps: 120,
        });
        assert_eq!(env.layout().time, time, "the layout names the time's slot");
        assert_eq!(Scenario::default().build().unwrap().layout().time, None);
    }

    /// Long-term satisfaction that counts how often its model is built.
    struct Counting(ModelWorld<LongTermSatisfaction>);

    static BUILT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    impl World for Counting {
        fn name(&self) -> &str {
            self.0.name()
        }
        fn description(&self) -> &str {
            self.0.description()
        }
        fn default_params(&self) -> Vec<(&'static str, f64)> {
            self.0.default_params()
        }
        fn default_horizon(&self) -> Option<usize> {
            self.0.default_horizon()
        }
        fn hidden_user(&self) -> bool {
            self.0.hidden_user()
        }
        fn num_clusters(&self) -> Option<usize> {
            self.0.num_clusters()
        }
        fn myopic_scores(&self, user: &[f32], items: &[f32], out: &mut [f64]) {
            self.0.myopic_scores(user, items, out)
        }
        fn model(&self, scenario: &Scenario) -> Result<Arc<dyn WorldModel>, ConfigError> {
            BUILT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.0.model(scenario)
        }
    }

    #[test]
    fn a_resolved_scenario_builds_its_model_once_and_makes_its_environments_as_build_does() {
        let name = "registry-test/counting-lts";
        register(Counting(ModelWorld::new(name, "test", LtsParams::strong()))).unwrap();
        let scenario = Scenario::new(name);
        let spec = scenario.resolve().unwrap();
        let built = || BUILT.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(built(), 1);
        let observation = |mut env: Box<dyn SlateEnv>| {
            env.reset(None);
            (env.user().to_vec(), env.items().to_vec())
        };
        let made: Vec<_> = (0..3).map(|_| observation(spec.make())).collect();
        let reseeded = observation(spec.make_seeded(9));
        assert_eq!(built(), 1, "making environments builds no model");
        assert!(made.iter().all(|o| *o == made[0]));
        assert_eq!(made[0], observation(scenario.build().unwrap()));
        let nine = Scenario {
            seed: 9,
            ..scenario
        };
        assert_eq!(reseeded, observation(nine.build().unwrap()));
        assert_ne!(reseeded, made[0]);
    }

    #[test]
    fn parameters_are_per_model() {
        let mut scenario = Scenario {
            params: ParamSet::from([("time_budget".into(), 20.0)]),
            ..Scenario::new("interest-evolution")
        };
        assert_eq!(scenario.resolve().unwrap().lts_params(), None);
        let (steps, last) = episode_end(scenario.build().unwrap().as_mut());
        assert!(last.terminated && !last.truncated && steps < 60);
        scenario.params = ParamSet::from([("sensitivity".into(), 0.1)]);
        assert!(matches!(
            scenario.validate(),
            Err(ConfigError::UnknownParam { .. })
        ));
        assert_eq!(
            Scenario::default().resolve().unwrap().lts_params(),
            Some(&LtsParams::strong())
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
}
