//! The building blocks of RecSim's dynamic Bayesian network and the environments built
//! from them.
//!
//! A [`Model`] is one RecSim environment's user and document distributions: the document
//! sampler, the user sampler, the choice and response model, the transition, termination
//! and reward aggregation. An [`Environment`] holds a model together with the candidate
//! set and the random streams, and steps it exactly in RecSim's order of events.

mod choice;
mod environment;
mod error;
pub mod lts;
mod model;
mod params;
mod rng;

pub use choice::KnownChoice;
pub use environment::{EnvConfig, Environment, Outcome};
pub use error::{ConfigError, StepError};
pub use lts::{LongTermSatisfaction, LtsParams};
pub use model::Model;
pub use params::{ParamSet, Params};
pub use rng::{stream, SimRng, Streams};

/// Logistic sigmoid `1 / (1 + e^{-x})`.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}
