//! The building blocks of RecSim's dynamic Bayesian network (among them the choice
//! models) and the three environments built from them.
//!
//! A [`Model`] is one RecSim environment's user and document distributions: the document
//! sampler, the user sampler, the choice and response model, the transition, termination
//! and reward aggregation. An [`Environment`] holds a model together with the candidate
//! set and the random streams, and steps it exactly in RecSim's order of events.

pub mod choice;
mod environment;
mod error;
pub mod interest_evolution;
pub mod interest_exploration;
pub mod lts;
mod model;
mod params;
mod rng;

pub use choice::{
    Cascade, ChoiceModel, ExponentialCascade, KnownChoice, MultinomialLogit,
    MultinomialProportional, ProportionalCascade,
};
pub use environment::{Click, EnvConfig, Environment, Outcome};
pub use error::{ChoiceError, ConfigError, StepError};
pub use interest_evolution::{IevParams, InterestEvolution};
pub use interest_exploration::{IeParams, InterestExploration};
pub use lts::{LongTermSatisfaction, LtsParams};
pub use model::{EpisodeLength, Model};
pub use params::{ParamSet, Params};
pub use rng::{stream, SimRng, Streams};

/// Logistic sigmoid `1 / (1 + e^{-x})`.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}
