//! The RecSim→gym adapter, with documents keyed by position as RLlib's wrapper does.

use recsim_core::{ConfigError, EnvConfig, Environment, KnownChoice, Model};

use crate::{Env, EnvError, Simulator, Space, Step, StepInfo};

/// The gym spaces of a model's user, document and response observations.
pub trait ModelSpaces: Model {
    fn user_space() -> Space;
    fn doc_space() -> Space;
    fn response_space() -> Space;
}

/// One observation: `{user, doc: positions 0..N, response: K responses}`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecSimObs<M: Model> {
    /// The user observation (empty where the state is hidden), followed by any true user
    /// features a [`crate::UserObservation`] wrapper adds.
    pub user: Vec<f32>,
    /// `N × DOC_DIM` document features, row `i` = candidate position `i`.
    pub docs: Vec<f32>,
    /// The last step's responses, as observed; empty after `reset` (RecSim's `None`).
    pub response: Vec<M::Response>,
}

impl<M: Model> RecSimObs<M> {
    pub fn doc(&self, position: usize) -> &[f32] {
        &self.docs[position * M::DOC_DIM..(position + 1) * M::DOC_DIM]
    }

    pub fn num_docs(&self) -> usize {
        self.docs.len() / M::DOC_DIM.max(1)
    }
}

/// RecSim's `RecSimGymEnv` with RLlib's positional re-keying: fixed spaces, typed
/// observations.
#[derive(Debug, Clone)]
pub struct RecSimEnv<M: Model> {
    sim: Environment<M>,
    obs: RecSimObs<M>,
    started: bool,
}

impl<M: ModelSpaces> RecSimEnv<M> {
    pub fn new(model: M, config: EnvConfig) -> Result<Self, ConfigError> {
        let sim = Environment::new(model, config)?;
        let obs = RecSimObs {
            user: vec![0.0; M::USER_OBS_DIM],
            docs: vec![0.0; config.num_candidates * M::DOC_DIM],
            response: Vec::with_capacity(config.slate_size),
        };
        let mut env = Self {
            sim,
            obs,
            started: false,
        };
        env.observe();
        Ok(env)
    }

    /// The simulator underneath (RecSim's `info['env']`).
    pub fn simulator(&self) -> &Environment<M> {
        &self.sim
    }

    fn observe(&mut self) {
        let model = self.sim.model();
        model.user_observation(self.sim.user(), &mut self.obs.user);
        for (doc, out) in self
            .sim
            .candidates()
            .iter()
            .zip(self.obs.docs.chunks_exact_mut(M::DOC_DIM))
        {
            model.doc_observation(doc, out);
        }
        self.obs.response.clear();
        self.obs.response.extend(
            self.sim
                .responses()
                .iter()
                .map(|r| model.response_observation(r)),
        );
    }
}

impl<M: ModelSpaces> Env for RecSimEnv<M> {
    type Obs = RecSimObs<M>;
    type Act = [usize];

    fn observation_space(&self) -> Space {
        let cfg = self.sim.config();
        let docs = (0..cfg.num_candidates)
            .map(|i| (i.to_string(), M::doc_space()))
            .collect();
        Space::dict(vec![
            ("doc", Space::Dict(docs)),
            (
                "response",
                Space::Tuple(vec![M::response_space(); cfg.slate_size]),
            ),
            ("user", M::user_space()),
        ])
    }

    fn action_space(&self) -> Space {
        let cfg = self.sim.config();
        Space::MultiDiscrete(vec![cfg.num_candidates as u64; cfg.slate_size])
    }

    fn reset(&mut self, seed: Option<u64>) -> &RecSimObs<M> {
        if let Some(seed) = seed {
            self.sim.reseed(seed);
        }
        self.sim.reset();
        self.started = true;
        self.observe();
        &self.obs
    }

    fn step(&mut self, slate: &[usize]) -> Result<Step<'_, RecSimObs<M>>, EnvError> {
        if !self.started {
            return Err(EnvError::NotReset);
        }
        let outcome = self.sim.step(slate)?;
        self.observe();
        Ok(Step {
            obs: &self.obs,
            reward: outcome.reward,
            terminated: outcome.done,
            truncated: false,
            info: StepInfo {
                clicked: outcome.clicked,
            },
        })
    }

    fn observation(&self) -> &RecSimObs<M> {
        &self.obs
    }
}

impl<M: ModelSpaces> Simulator for RecSimEnv<M> {
    fn user_feature_dim(&self) -> usize {
        M::USER_FEATURE_DIM
    }

    fn write_user_features(&self, out: &mut [f32]) {
        self.sim.model().user_features(self.sim.user(), out);
    }

    fn known_choice(&self) -> KnownChoice {
        self.sim.model().known_choice()
    }

    fn save_state(&self) -> Vec<u8> {
        bincode::serde::encode_to_vec((&self.sim, self.started), bincode::config::standard())
            .expect("an in-memory simulator state always serialises")
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        let ((sim, started), _): ((Environment<M>, bool), usize) =
            bincode::serde::decode_from_slice(bytes, bincode::config::standard())
                .map_err(|e| EnvError::State(e.to_string()))?;
        if sim.config().num_candidates != self.sim.config().num_candidates
            || sim.config().slate_size != self.sim.config().slate_size
        {
            return Err(EnvError::State(
                "the saved environment has a different candidate or slate size".into(),
            ));
        }
        self.sim = sim;
        self.started = started;
        self.observe();
        Ok(())
    }
}

mod lts_spaces {
    use recsim_core::LongTermSatisfaction;

    use crate::{ModelSpaces, Space};

    impl ModelSpaces for LongTermSatisfaction {
        fn user_space() -> Space {
            Space::boxed(0.0, f64::INFINITY, &[0])
        }
        fn doc_space() -> Space {
            Space::boxed(0.0, 1.0, &[1])
        }
        fn response_space() -> Space {
            Space::dict(vec![
                ("click", Space::Discrete(2)),
                ("engagement", Space::boxed(0.0, 100.0, &[])),
            ])
        }
    }
}
