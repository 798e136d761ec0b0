//! The gym layer: spaces, an [`Env`] trait with gymnasium's semantics, the RecSim→gym
//! adapter ([`RecSimEnv`]), the wrappers RLlib put around RecSim (each a [`Wrapper`]),
//! vector environments ([`VectorEnv`]) that step many environments in lockstep, and the
//! registry that makes an environment by name ([`make`], [`Scenario`], [`register`]), as
//! `gymnasium.make` does.
//!
//! Observations are typed values held by the environment and lent out by reference, so a
//! step fills buffers allocated once and allocates nothing.
//!
//! ```
//! // The tutorial's scenario: StrongLTS, 20 candidates, slates of 2, seed 0.
//! let mut env = env::make("strong-lts").unwrap();
//! env.reset(None);
//! let t = env.step(&[0, 1]).unwrap();
//! assert_eq!(t.click.map(|c| c.position), Some(0), "LTS users click position 0");
//! assert!(t.reward > 0.0 && !t.done());
//! ```

#![warn(missing_docs)]

mod differences;
pub mod flat;
mod recsim;
mod registry;
mod sardine;
mod scenario;
mod slate;
mod space;
mod vector;
mod world;
mod wrappers;

/// SARDINE's eight presets ([`::sardine::Preset::all`]).
pub use ::sardine::Preset as SardinePreset;
pub use recsim::{ModelSpaces, RecSimEnv, RecSimObs};
pub use registry::{register, registered, world, RegistryError};
pub use sardine::{SardineEnv, SardineWorld};
pub use scenario::{make, EnvSpec, Scenario, DEFAULT_ENV, MAX_CANDIDATES, MAX_HORIZON};
pub use slate::{Layout, SlateAction, SlateEnv, SlateObs, TimeFeature};
pub use space::{Space, Value};
pub use vector::{
    slot_seed, Autoreset, Execution, SlotPolicy, TransitionSink, VectorEnv, VectorError, MAX_ENVS,
};
pub use world::{ModelWorld, World, WorldModel};
pub use wrappers::{
    decode_action, encode_action, BanditObs, BanditObservation, DiscreteAction,
    TimeAwareObservation, TimeLimit, UserObservation, Wrappers,
};

pub use recsim_core::{error_chain, Click, ConfigError, KnownChoice, Number, StepError};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What went wrong in an environment call. The environment is left unchanged.
#[derive(Debug, Error)]
pub enum EnvError {
    /// The simulator refused the slate or action.
    #[error(transparent)]
    Step(#[from] StepError),
    /// `step` before the first `reset`.
    #[error("step() called before reset()")]
    NotReset,
    /// A saved state that does not fit this environment.
    #[error("cannot restore environment state: {0}")]
    State(String),
    /// A saved simulator that does not decode (the decoder's error is the source).
    #[error("cannot restore environment state")]
    Decode(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One step's scalar results: the reward, how the episode ended, and the click. Every
/// step type ([`Step`], a vector environment's batch, an episode's records) embeds it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Transition {
    /// The step's reward.
    pub reward: f64,
    /// The model's own end of the episode.
    pub terminated: bool,
    /// The episode was cut by a time limit, not by the model.
    pub truncated: bool,
    /// The user's click, if any (gym's `info`).
    pub click: Option<Click>,
}

impl Transition {
    /// The episode is over, by the model or by a time limit.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// One slate position's response in the last step, in terms every world shares: what a
/// log records per position.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SlotResponse {
    /// The user clicked (consumed) this position.
    pub click: bool,
    /// The reward this position's response earns alone ([`recsim_core::Model::reward`] of
    /// it): LTS's engagement, interest evolution's watch time, interest exploration's 1 per
    /// click. RecSim's rewards add up over positions, so these sum to the step's reward.
    pub reward: f64,
    /// The shown document's quality, where the response reveals one (interest evolution
    /// and exploration).
    pub quality: Option<f64>,
}

/// The result of [`Env::step`]: the observation, lent by the environment, and the
/// transition.
#[derive(Debug)]
pub struct Step<'a, O> {
    /// The observation after the step.
    pub obs: &'a O,
    /// Reward, ends and click.
    pub transition: Transition,
}

/// A gymnasium-style environment.
pub trait Env {
    /// The observation type, lent by reference.
    type Obs;
    /// The action type (a slate of positions, or one discrete action).
    type Act: ?Sized;

    /// The space every observation lies in.
    fn observation_space(&self) -> Space;
    /// The space every valid action lies in.
    fn action_space(&self) -> Space;
    /// Starts an episode. With a seed, every random stream restarts from it first.
    fn reset(&mut self, seed: Option<u64>) -> &Self::Obs;
    /// One step; a refused action leaves the environment unchanged.
    fn step(&mut self, action: &Self::Act) -> Result<Step<'_, Self::Obs>, EnvError>;
    /// The current observation.
    fn observation(&self) -> &Self::Obs;
}

/// The whole state of a wrapped environment, as a checkpoint saves it: the simulator's
/// (user, candidates, every random stream) and each wrapper's own part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvState {
    /// The simulator, encoded by the model's own environment type.
    pub simulator: Vec<u8>,
    /// Whether an episode has started.
    pub started: bool,
    /// Steps of the current episode, where a [`TimeLimit`] or a [`TimeAwareObservation`]
    /// counts them (both count the same steps: those since the last reset).
    pub elapsed_steps: Option<u64>,
}

/// Access to the true user state below the wrappers (what the user-features wrapper
/// reveals) and to the whole simulator state (what a checkpoint saves).
pub trait Simulator {
    /// Length of the true user feature vector.
    fn user_feature_dim(&self) -> usize {
        self.user_feature_names().len()
    }
    /// The names of the true user features ([`recsim_core::Model::USER_FEATURES`]).
    fn user_feature_names(&self) -> &'static [&'static str];
    /// The most documents a slate holds (`K`).
    fn slate_size(&self) -> usize;
    /// Writes the true user features ([`recsim_core::Model::user_features`]).
    fn write_user_features(&self, out: &mut [f32]);
    /// The id of the candidate at `position` (ids grow with every resample, as RecSim's).
    fn doc_id(&self, position: usize) -> u64;
    /// The model's choice model, as far as observations reveal it.
    fn known_choice(&self) -> KnownChoice;
    /// Writes the last step's response at each slate position: the raw responses, before
    /// the observation clips them; empty ones after a reset and past a shorter slate.
    fn write_responses(&self, out: &mut [SlotResponse]);
    /// The complete state, random streams included.
    fn save_state(&self) -> EnvState;
    /// Restores what [`Simulator::save_state`] wrote; on error nothing changes.
    fn load_state(&mut self, state: &EnvState) -> Result<(), EnvError>;
    /// The environment below every wrapper (gym's `env.unwrapped`).
    fn unwrapped(&self) -> &dyn Simulator;
    /// Writes each candidate's score under the world's short-term oracle, from the true
    /// user state (SARDINE's `-1` slate positions take the highest); `false`, writing
    /// nothing, where the world has no such oracle.
    fn oracle_scores(&self, _out: &mut [f64]) -> bool {
        false
    }
    /// `T`, where the observation's user features end with the time left in a `T`-step
    /// episode ([`Layout::time`]).
    fn time_steps(&self) -> Option<usize> {
        None
    }
}

/// An environment around another one, as gymnasium's `Wrapper`: the simulator below
/// passes through ([`Simulator`] is implemented for every wrapper), and a wrapper with
/// state of its own saves and loads it with the rest.
pub trait Wrapper {
    /// The wrapped environment.
    type Inner: Simulator;
    /// The wrapped environment (gym's `wrapper.env`).
    fn inner(&self) -> &Self::Inner;
    /// The wrapped environment, mutably.
    fn inner_mut(&mut self) -> &mut Self::Inner;
    /// Refreshes what the wrapper derives from the inner environment, after a state load.
    fn after_load(&mut self) {}
    /// Adds the wrapper's own state to a saved state.
    fn save_own(&self, _state: &mut EnvState) {}
    /// Checks the wrapper's own part of a saved state before anything is loaded.
    fn check_own(&self, _state: &EnvState) -> Result<(), EnvError> {
        Ok(())
    }
    /// Takes the wrapper's own part of a state that [`Wrapper::check_own`] accepted.
    fn load_own(&mut self, _state: &EnvState) {}
    /// `T`, where the wrapper adds the time feature ([`Simulator::time_steps`]).
    fn own_time_steps(&self) -> Option<usize> {
        None
    }
}

impl<W: Wrapper> Simulator for W {
    fn user_feature_names(&self) -> &'static [&'static str] {
        self.inner().user_feature_names()
    }
    fn slate_size(&self) -> usize {
        self.inner().slate_size()
    }
    fn write_user_features(&self, out: &mut [f32]) {
        self.inner().write_user_features(out)
    }
    fn doc_id(&self, position: usize) -> u64 {
        self.inner().doc_id(position)
    }
    fn known_choice(&self) -> KnownChoice {
        self.inner().known_choice()
    }
    fn write_responses(&self, out: &mut [SlotResponse]) {
        self.inner().write_responses(out)
    }
    fn save_state(&self) -> EnvState {
        let mut state = self.inner().save_state();
        self.save_own(&mut state);
        state
    }
    fn load_state(&mut self, state: &EnvState) -> Result<(), EnvError> {
        self.check_own(state)?;
        self.inner_mut().load_state(state)?;
        self.load_own(state);
        self.after_load();
        Ok(())
    }
    fn unwrapped(&self) -> &dyn Simulator {
        self.inner().unwrapped()
    }
    fn oracle_scores(&self, out: &mut [f64]) -> bool {
        self.inner().oracle_scores(out)
    }
    fn time_steps(&self) -> Option<usize> {
        self.own_time_steps().or_else(|| self.inner().time_steps())
    }
}
