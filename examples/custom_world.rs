//! A world of your own, trained on like RecSim's: what RecSim's "developing an
//! environment" tutorial does, in rlrec. The world is defined here, through
//! `recsim_core::Model` and `env::ModelSpaces`, registered by name, and trained with
//! LinUCB and SlateQ through the same trainer as the built-in worlds; no rlrec crate is
//! edited.
//!
//! The world: a fitness app recommends workouts. A workout is its intensity in [0, 1).
//! The user does the first one shown; the effort she puts in (the reward) grows with the
//! intensity and with her energy, which intense workouts drain and easy ones restore. A
//! greedy recommender serves the most intense workout and wears her out; a learner that
//! sees her energy can pace her.
//!
//! `cargo xtask example` runs it (or, with libtorch set up:
//! `cargo run --release -p trainer --features slateq --example custom_world`); `--quick`
//! trains briefly, as the test suite does.

use agents::config::SlateQConfig;
use env::{ModelSpaces, ModelWorld, Scenario, Space, Value};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use recsim_core::{ConfigError, EpisodeLength, KnownChoice, Model, Params, SimRng};
use rollout::{baseline, FixedPolicy};
use serde::{Deserialize, Serialize};
use trainer::{Algo, AlgoConfig, Algorithm, TrainConfig};

/// The world's parameters, settable by name (`--set recovery=0.2` on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct GymParams {
    /// The share of the missing energy a session gives back.
    recovery: f64,
    /// Energy an intense (1.0) workout costs.
    fatigue: f64,
    /// Standard deviation of the effort's noise.
    noise: f64,
    /// Sessions per episode.
    sessions: f64,
}

impl Default for GymParams {
    fn default() -> Self {
        Self {
            recovery: 0.15,
            fatigue: 0.35,
            noise: 0.5,
            sessions: 50.0,
        }
    }
}

impl Params for GymParams {
    const MODEL: &'static str = "gym";

    fn fields(&mut self) -> Vec<(&'static str, &mut f64)> {
        vec![
            ("recovery", &mut self.recovery),
            ("fatigue", &mut self.fatigue),
            ("noise", &mut self.noise),
            ("sessions", &mut self.sessions),
        ]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let check = |name, value: f64, lo: f64, hi: f64| {
            if value.is_finite() && (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::InvalidParam {
                    name,
                    value,
                    why: "out of range",
                })
            }
        };
        check("recovery", self.recovery, 0.0, 1.0)?;
        check("fatigue", self.fatigue, 0.0, 1.0)?;
        check("noise", self.noise, 0.0, 10.0)?;
        check("sessions", self.sessions, 1.0, 10_000.0)
    }
}

/// The user: her energy in [0, 1] (the app sees it) and the sessions left.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Athlete {
    energy: f64,
    sessions_left: f64,
}

/// One slate position's response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Workout {
    done: bool,
    effort: f64,
}

/// The world's model: every node of its dynamic Bayesian network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Gym {
    params: GymParams,
}

impl Model for Gym {
    type Params = GymParams;
    type Doc = f64;
    type User = Athlete;
    type Response = Workout;

    const NAME: &'static str = "gym";
    const DOC_DIM: usize = 1;
    const USER_OBS_DIM: usize = 1;
    const USER_FEATURES: &'static [&'static str] = &["sessions_left"];

    fn from_params(params: GymParams) -> Result<Self, ConfigError> {
        params.validate()?;
        Ok(Self { params })
    }

    fn params(&self) -> &GymParams {
        &self.params
    }

    fn sample_document(&self, rng: &mut SimRng) -> f64 {
        rng.random()
    }

    fn sample_user(&self, rng: &mut SimRng) -> Athlete {
        Athlete {
            energy: rng.random_range(0.3..1.0),
            sessions_left: self.params.sessions,
        }
    }

    fn simulate_response(
        &self,
        user: &Athlete,
        slate: &[f64],
        rng: &mut SimRng,
        out: &mut [Workout],
    ) {
        // She always does the first workout shown.
        let z: f64 = StandardNormal.sample(rng);
        out[0] = Workout {
            done: true,
            effort: 10.0 * slate[0] * user.energy + self.params.noise * z,
        };
    }

    fn update_state(&self, user: &mut Athlete, slate: &[f64], _: &[Workout], _: &mut SimRng) {
        let p = &self.params;
        let energy = user.energy + p.recovery * (1.0 - user.energy) - p.fatigue * slate[0];
        user.energy = energy.clamp(0.0, 1.0);
        user.sessions_left -= 1.0;
    }

    fn is_terminal(&self, user: &Athlete) -> bool {
        user.sessions_left <= 0.0
    }

    fn reward(&self, responses: &[Workout]) -> f64 {
        responses.iter().filter(|r| r.done).map(|r| r.effort).sum()
    }

    fn is_click(response: &Workout) -> bool {
        response.done
    }

    fn doc_observation(&self, doc: &f64, out: &mut [f32]) {
        out[0] = *doc as f32;
    }

    fn user_observation(&self, user: &Athlete, out: &mut [f32]) {
        out[0] = user.energy as f32;
    }

    fn user_features(&self, user: &Athlete, out: &mut [f32]) {
        out[0] = user.sessions_left as f32;
    }

    fn response_observation(&self, response: &Workout) -> Workout {
        *response
    }

    /// What a greedy recommender ranks by: the effort expected now, which grows with the
    /// intensity whatever the energy.
    fn myopic_score(_user_obs: &[f32], doc_obs: &[f32]) -> f64 {
        f64::from(doc_obs[0])
    }

    fn known_choice(&self) -> KnownChoice {
        KnownChoice::FirstPosition
    }

    fn episode_length(&self) -> EpisodeLength {
        EpisodeLength::Fixed(self.params.sessions.ceil() as usize)
    }
}

/// How agents see the world: gym spaces of the user, a workout and a response.
impl ModelSpaces for Gym {
    fn user_space() -> Space {
        Space::boxed(0.0, 1.0, &[1])
    }
    fn doc_space() -> Space {
        Space::boxed(0.0, 1.0, &[1])
    }
    fn response_space() -> Space {
        Space::dict(vec![
            ("done", Space::Discrete(2)),
            (
                "effort",
                Space::boxed(f64::NEG_INFINITY, f64::INFINITY, &[]),
            ),
        ])
    }
    fn response_value(r: &Workout) -> Value {
        Value::Dict(vec![
            ("done".into(), Value::Int(r.done.into())),
            ("effort".into(), Value::Array(vec![r.effort])),
        ])
    }
    fn item_bounds() -> (f64, f64) {
        (0.0, 1.0)
    }
}

/// Trains `algo` on the gym world and evaluates it.
fn train(
    algo: Algo,
    iterations: u64,
    edit: impl FnOnce(&mut TrainConfig),
) -> Result<f64, Box<dyn std::error::Error>> {
    let mut config = TrainConfig::new(algo);
    config.env = Scenario {
        num_candidates: 10,
        ..Scenario::new("gym")
    };
    algo.required_wrappers(&mut config.env)?;
    config.iterations = iterations;
    edit(&mut config);
    let mut algorithm = Algorithm::new(config)?;
    while !algorithm.is_done() {
        algorithm.train()?;
    }
    Ok(algorithm.evaluate(200, |_| ())?.summary.mean)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    env::register(ModelWorld::<Gym>::new(
        "gym",
        "a fitness app: intense workouts pay now and tire the user",
        GymParams::default(),
    ))?;
    // Evaluation runs on the training seed + 1000003; the baselines on the same stream.
    let eval = Scenario {
        num_candidates: 10,
        seed: rollout::EVAL_SEED_OFFSET,
        ..Scenario::new("gym")
    };
    let mean = |p| -> Result<f64, Box<dyn std::error::Error>> {
        Ok(baseline(p, &eval, 200, 1, 1, |_| ())?
            .evaluation
            .summary
            .mean)
    };
    let (random, greedy) = (mean(FixedPolicy::Random)?, mean(FixedPolicy::Greedy)?);
    println!("gym world, 10 workouts a session, 50 sessions an episode (200 evaluation episodes)");
    println!("  random slates     {random:8.1}");
    println!("  greedy (now)      {greedy:8.1}");
    let linucb = train(Algo::Linucb, if quick { 5 } else { 50 }, |_| ())?;
    println!("  LinUCB            {linucb:8.1}   (it learns the effort of the moment: as greedy)");
    let slateq = train(Algo::Slateq, if quick { 2 } else { 40 }, |c| {
        c.steps_per_iteration = 1000;
        c.eval_episodes = 200;
        if let AlgoConfig::Slateq(s) = &mut c.agent {
            *s = SlateQConfig {
                gamma: 0.95,
                learning_starts: 1000,
                epsilon_steps: 15_000,
                // The run's gradient steps: one per step of the four environments.
                lr_decay_steps: (40_000 - 1_000) / s.train_every,
                ..s.clone()
            };
        }
    })?;
    println!("  SlateQ            {slateq:8.1}   (it paces the user's energy)");
    if !quick && slateq <= greedy {
        return Err(format!("SlateQ ({slateq:.1}) should beat greedy ({greedy:.1}) here").into());
    }
    Ok(())
}
