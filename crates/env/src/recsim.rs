//! The RecSim→gym adapter, with documents keyed by position as RLlib's wrapper does.

use recsim_core::{CheckedEnvConfig, ConfigError, EnvConfig, Environment, KnownChoice, Model};

use crate::{Env, EnvError, EnvState, Simulator, SlotResponse, Space, Step, Transition, Value};

/// The gym spaces of a model's user, document and response observations.
pub trait ModelSpaces: Model {
    /// RecSim's user observation space.
    fn user_space() -> Space;
    /// RecSim's document space; [`Model::doc_observation`] is its flat encoding.
    fn doc_space() -> Space;
    /// One slate position's response space.
    fn response_space() -> Space;
    /// An observed response as a point of [`ModelSpaces::response_space`].
    fn response_value(response: &Self::Response) -> Value;
    /// The flat encoding ([`crate::flat`]) of [`ModelSpaces::response_value`], written
    /// into `out` (`response_space().flat_dim()` long). The default derives it from the
    /// value, allocating; the built-in models write it directly.
    fn response_features(response: &Self::Response, out: &mut [f32]) {
        crate::flat::flatten_value(
            &Self::response_space(),
            &Self::response_value(response),
            out,
        );
    }
    /// A document's features ([`Model::doc_observation`]) as a point of
    /// [`ModelSpaces::doc_space`]; the features themselves unless the space is structured.
    /// The features must be the flat encoding ([`crate::flat`]) of this value.
    fn doc_value(features: &[f32]) -> Value {
        Value::Array(features.iter().map(|&x| f64::from(x)).collect())
    }
    /// Bounds of the flat document features, as the bandit observation's `item` matrix
    /// declares them: RLlib's `[−1, 1]` unless a model's features lie elsewhere.
    fn item_bounds() -> (f64, f64) {
        (-1.0, 1.0)
    }
    /// Bounds of the user observation together with the true user features the
    /// user-observation wrapper adds.
    fn user_bounds() -> (f64, f64) {
        (-1.0, 1.0)
    }
}

/// One observation: `{user, doc: positions 0..N, response: K responses}`.
///
/// The response holds one entry per slate position: the last step's responses, as
/// observed, padded with empty responses (no click) where the slate was shorter, and all
/// empty after `reset`, so that every observation lies in the observation space (RecSim's
/// reset gives `None`, which does not).
#[derive(Debug, Clone, PartialEq)]
pub struct RecSimObs<M: Model> {
    /// The user observation (empty where the state is hidden), followed by any true user
    /// features a [`crate::UserObservation`] wrapper adds.
    pub user: Vec<f32>,
    /// `N × DOC_DIM` document features, row `i` = candidate position `i`.
    pub docs: Vec<f32>,
    /// `K` responses: the last step's, as observed, then empty ones.
    pub response: Vec<M::Response>,
}

impl<M: Model> RecSimObs<M> {
    /// The features of the candidate at `position`.
    pub fn doc(&self, position: usize) -> &[f32] {
        &self.docs[position * M::DOC_DIM..(position + 1) * M::DOC_DIM]
    }

    /// The number of candidates.
    pub fn num_docs(&self) -> usize {
        self.docs.len() / M::DOC_DIM.max(1)
    }
}

impl<M: ModelSpaces> RecSimObs<M> {
    /// The observation as a point of the observation space, keys sorted as gym's `Dict`.
    pub fn to_value(&self) -> Value {
        let docs = (0..self.num_docs())
            .map(|i| (i.to_string(), M::doc_value(self.doc(i))))
            .collect();
        Value::Dict(vec![
            ("doc".into(), Value::Dict(docs)),
            (
                "response".into(),
                Value::Tuple(self.response.iter().map(M::response_value).collect()),
            ),
            (
                "user".into(),
                Value::Array(self.user.iter().map(|&x| f64::from(x)).collect()),
            ),
        ])
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
    /// The simulator of `model` with its candidate set and streams (RecSim's constructor).
    pub fn new(model: M, config: EnvConfig) -> Result<Self, ConfigError> {
        Ok(Self::with_checked(model, config.checked()?))
    }

    /// [`RecSimEnv::new`] with a configuration already checked.
    pub fn with_checked(model: M, checked: CheckedEnvConfig) -> Self {
        let config = *checked.get();
        let sim = Environment::with_checked(model, checked);
        let obs = RecSimObs {
            user: vec![0.0; M::USER_OBS_DIM],
            docs: vec![0.0; config.num_candidates * M::DOC_DIM],
            response: vec![M::Response::default(); config.slate_size],
        };
        let mut env = Self {
            sim,
            obs,
            started: false,
        };
        env.observe();
        env
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
        let shown = self.sim.responses();
        for (slot, out) in self.obs.response.iter_mut().enumerate() {
            *out = shown
                .get(slot)
                .map_or_else(M::Response::default, |r| model.response_observation(r));
        }
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
            transition: Transition {
                reward: outcome.reward,
                terminated: outcome.done,
                truncated: false,
                click: outcome.click,
            },
        })
    }

    fn observation(&self) -> &RecSimObs<M> {
        &self.obs
    }
}

impl<M: ModelSpaces> Simulator for RecSimEnv<M> {
    fn user_feature_names(&self) -> &'static [&'static str] {
        M::USER_FEATURES
    }

    fn slate_size(&self) -> usize {
        self.sim.config().slate_size
    }

    fn write_user_features(&self, out: &mut [f32]) {
        self.sim.model().user_features(self.sim.user(), out);
    }

    fn doc_id(&self, position: usize) -> u64 {
        self.sim.doc_id(position)
    }

    fn known_choice(&self) -> KnownChoice {
        self.sim.model().known_choice()
    }

    fn write_responses(&self, out: &mut [SlotResponse]) {
        let model = self.sim.model();
        let shown = self.sim.responses();
        for (slot, out) in out.iter_mut().enumerate() {
            *out = shown
                .get(slot)
                .map_or_else(SlotResponse::default, |r| SlotResponse {
                    click: M::is_click(r),
                    reward: model.reward(std::slice::from_ref(r)),
                    quality: M::quality_and_cluster(r).map(|(quality, _)| quality),
                });
        }
    }

    fn save_state(&self) -> EnvState {
        EnvState {
            simulator: bincode::serde::encode_to_vec(&self.sim, bincode::config::standard())
                .expect("an in-memory simulator state always serialises"),
            started: self.started,
            elapsed_steps: None,
        }
    }

    fn load_state(&mut self, state: &EnvState) -> Result<(), EnvError> {
        let (sim, _): (Environment<M>, usize) =
            bincode::serde::decode_from_slice(&state.simulator, bincode::config::standard())
                .map_err(|e| EnvError::Decode(Box::new(e)))?;
        // The seed may differ: a vector environment reseeds its slots, and the streams
        // themselves are part of the state.
        let shape = |c: &EnvConfig| (c.num_candidates, c.slate_size, c.resample_documents);
        if shape(sim.config()) != shape(self.sim.config())
            || sim.candidates().len() != sim.config().num_candidates
        {
            return Err(EnvError::State(format!(
                "the saved environment has the candidate set {:?}, this one {:?}",
                sim.config(),
                self.sim.config()
            )));
        }
        if sim.model() != self.sim.model() {
            return Err(EnvError::State(
                "the saved environment's model parameters differ from this one's".into(),
            ));
        }
        self.sim = sim;
        self.started = state.started;
        self.observe();
        Ok(())
    }

    fn unwrapped(&self) -> &dyn Simulator {
        self
    }
}

/// A boolean's one-hot encoding as a `Discrete(2)`.
#[inline]
fn one_hot2(x: bool) -> [f32; 2] {
    if x {
        [0.0, 1.0]
    } else {
        [1.0, 0.0]
    }
}

mod lts_spaces {
    use recsim_core::lts::LtsResponse;
    use recsim_core::LongTermSatisfaction;

    use crate::{ModelSpaces, Space, Value};

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
        fn response_value(r: &LtsResponse) -> Value {
            Value::Dict(vec![
                ("click".into(), Value::Int(r.click.into())),
                ("engagement".into(), Value::Array(vec![r.engagement])),
            ])
        }
        fn response_features(r: &LtsResponse, out: &mut [f32]) {
            out[..2].copy_from_slice(&super::one_hot2(r.click));
            out[2] = r.engagement as f32;
        }
    }
}

mod interest_evolution_spaces {
    use recsim_core::interest_evolution::{IevResponse, NUM_CLUSTERS};
    use recsim_core::InterestEvolution;

    use crate::{ModelSpaces, Space, Value};

    impl ModelSpaces for InterestEvolution {
        fn user_space() -> Space {
            Space::boxed(-1.0, 1.0, &[NUM_CLUSTERS])
        }
        fn doc_space() -> Space {
            Space::boxed(-1.0, 1.0, &[NUM_CLUSTERS])
        }
        fn response_space() -> Space {
            // gym's Dict sorts the keys of RecSim's plain dict.
            Space::dict(vec![
                ("click", Space::Discrete(2)),
                ("cluster_id", Space::Discrete(NUM_CLUSTERS as u64)),
                ("liked", Space::Discrete(2)),
                ("quality", Space::boxed(-100.0, 100.0, &[])),
                ("watch_time", Space::boxed(0.0, 100.0, &[])),
            ])
        }
        fn response_value(r: &IevResponse) -> Value {
            Value::Dict(vec![
                ("click".into(), Value::Int(r.click.into())),
                ("cluster_id".into(), Value::Int(r.cluster_id as u64)),
                ("liked".into(), Value::Int(r.liked.into())),
                ("quality".into(), Value::Array(vec![r.quality])),
                ("watch_time".into(), Value::Array(vec![r.watch_time])),
            ])
        }
        fn response_features(r: &IevResponse, out: &mut [f32]) {
            let (click, rest) = out.split_at_mut(2);
            click.copy_from_slice(&super::one_hot2(r.click));
            let (cluster, rest) = rest.split_at_mut(NUM_CLUSTERS);
            cluster.fill(0.0);
            cluster[r.cluster_id] = 1.0;
            rest[..2].copy_from_slice(&super::one_hot2(r.liked));
            rest[2] = r.quality as f32;
            rest[3] = r.watch_time as f32;
        }
    }
}

mod interest_exploration_spaces {
    use recsim_core::interest_exploration::{IeResponse, NUM_TOPICS};
    use recsim_core::InterestExploration;

    use crate::{ModelSpaces, Space, Value};

    impl ModelSpaces for InterestExploration {
        fn user_space() -> Space {
            Space::boxed(0.0, f64::INFINITY, &[0])
        }
        fn doc_space() -> Space {
            Space::dict(vec![
                ("cluster_id", Space::Discrete(NUM_TOPICS as u64)),
                ("quality", Space::boxed(0.0, f64::INFINITY, &[])),
            ])
        }
        fn response_space() -> Space {
            Space::dict(vec![
                ("click", Space::Discrete(2)),
                ("cluster_id", Space::Discrete(NUM_TOPICS as u64)),
                ("quality", Space::boxed(0.0, f64::INFINITY, &[])),
            ])
        }
        fn response_value(r: &IeResponse) -> Value {
            Value::Dict(vec![
                ("click".into(), Value::Int(r.click.into())),
                ("cluster_id".into(), Value::Int(r.cluster_id as u64)),
                ("quality".into(), Value::Array(vec![r.quality])),
            ])
        }
        fn response_features(r: &IeResponse, out: &mut [f32]) {
            out[..2].copy_from_slice(&super::one_hot2(r.click));
            out[2..2 + NUM_TOPICS].fill(0.0);
            out[2 + r.cluster_id] = 1.0;
            out[2 + NUM_TOPICS] = r.quality as f32;
        }
        fn doc_value(features: &[f32]) -> Value {
            let cluster = features[..NUM_TOPICS]
                .iter()
                .position(|&x| x == 1.0)
                .unwrap_or(0);
            Value::Dict(vec![
                ("cluster_id".into(), Value::Int(cluster as u64)),
                (
                    "quality".into(),
                    Value::Array(vec![f64::from(features[NUM_TOPICS])]),
                ),
            ])
        }
        /// The flat encoding `[onehot(cluster_id), quality]`: one-hots and a positive
        /// quality. (RLlib's bandit wrapper refuses IE's Dict documents; rlrec flattens
        /// them.)
        fn item_bounds() -> (f64, f64) {
            (0.0, f64::INFINITY)
        }
        /// The true user features are the positive topic affinities.
        fn user_bounds() -> (f64, f64) {
            (0.0, f64::INFINITY)
        }
    }
}
