//! The gym layer: spaces, an [`Env`] trait with gymnasium's semantics, the RecSim→gym
//! adapter ([`RecSimEnv`]), the wrappers RLlib put around RecSim, and vector environments
//! ([`VectorEnv`]) that step many environments in lockstep, across cores if asked.
//!
//! Observations are typed values held by the environment and lent out by reference, so a
//! step fills buffers allocated once and allocates nothing.

mod recsim;
mod slate;
mod space;
mod vector;
mod wrappers;

pub use recsim::{ModelSpaces, RecSimEnv, RecSimObs};
pub use slate::{Layout, SlateEnv, SlateObs, Transition};
pub use space::{Space, Value};
pub use vector::{slot_seed, Execution, SlotPolicy, VectorEnv, VectorError};
pub use wrappers::{
    decode_action, encode_action, BanditObs, BanditObservation, DiscreteAction, TimeLimit,
    UserObservation,
};

use recsim_core::{KnownChoice, StepError};
use thiserror::Error;

/// What went wrong in an environment call. The environment is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EnvError {
    #[error(transparent)]
    Step(#[from] StepError),
    #[error("step() called before reset()")]
    NotReset,
    #[error("cannot restore environment state: {0}")]
    State(String),
}

/// Extra facts about a step that are not part of the observation (gym's `info`), typed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepInfo {
    /// The slate position the user clicked, if any.
    pub clicked: Option<usize>,
    /// The clicked document's quality, where the model has one (the video-cluster
    /// metrics of interest evolution and exploration).
    pub clicked_quality: Option<f64>,
    /// The clicked document's cluster, where the model has one.
    pub clicked_cluster: Option<usize>,
}

/// The result of [`Env::step`]: the observation is lent by the environment.
#[derive(Debug)]
pub struct Step<'a, O> {
    pub obs: &'a O,
    pub reward: f64,
    /// The model's own end of the episode.
    pub terminated: bool,
    /// The episode was cut by a time limit, not by the model.
    pub truncated: bool,
    pub info: StepInfo,
}

/// A gymnasium-style environment.
pub trait Env {
    type Obs;
    type Act: ?Sized;

    fn observation_space(&self) -> Space;
    fn action_space(&self) -> Space;
    /// Starts an episode. With a seed, every random stream restarts from it first.
    fn reset(&mut self, seed: Option<u64>) -> &Self::Obs;
    fn step(&mut self, action: &Self::Act) -> Result<Step<'_, Self::Obs>, EnvError>;
    /// The current observation.
    fn observation(&self) -> &Self::Obs;
}

/// Access to the true user state below the wrappers (what the user-features wrapper
/// reveals) and to the whole simulator state (what a checkpoint saves).
pub trait Simulator {
    /// Length of the true user feature vector.
    fn user_feature_dim(&self) -> usize;
    /// The most documents a slate holds (`K`).
    fn slate_size(&self) -> usize;
    fn write_user_features(&self, out: &mut [f32]);
    /// The model's choice model, as far as observations reveal it.
    fn known_choice(&self) -> KnownChoice;
    /// The complete state, random streams included.
    fn save_state(&self) -> Vec<u8>;
    /// Restores what [`Simulator::save_state`] wrote; on error nothing changes.
    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError>;
}
