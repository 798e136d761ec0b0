//! The building blocks of RecSim's dynamic Bayesian network (among them the choice
//! models) and the three environments built from them.
//!
//! A [`Model`] is one RecSim environment's user and document distributions: the document
//! sampler, the user sampler, the choice and response model, the transition, termination
//! and reward aggregation. An [`Environment`] holds a model together with the candidate
//! set and the random streams, and steps it exactly in RecSim's order of events.
//!
//! ```
//! use recsim_core::{EnvConfig, Environment, LongTermSatisfaction, LtsParams, Model};
//!
//! // The tutorial's StrongLTS user, 20 candidates, slates of 2, seed 0.
//! let model = LongTermSatisfaction::from_params(LtsParams::strong()).unwrap();
//! let mut env = Environment::new(model, EnvConfig::default()).unwrap();
//! env.reset();
//! let mut steps = 0;
//! loop {
//!     let outcome = env.step(&[0, 1]).unwrap();
//!     assert_eq!(outcome.click.map(|c| c.position), Some(0), "always the first slot");
//!     steps += 1;
//!     if outcome.done {
//!         break;
//!     }
//! }
//! assert_eq!(steps, 120, "one step per unit of the time budget");
//! ```

#![warn(missing_docs)]

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
pub use environment::{CheckedEnvConfig, Click, EnvConfig, Environment, Outcome};
pub use error::{error_chain, ChoiceError, ConfigError, Number, StepError};
pub use interest_evolution::{IevParams, InterestEvolution};
pub use interest_exploration::{IeParams, InterestExploration};
pub use lts::{LongTermSatisfaction, LtsParams};
pub use model::{EpisodeLength, Model};
pub use params::{check_min, check_range, ParamSet, Params};
pub use rng::{stream, SimRng, StreamId, Streams};

/// Logistic sigmoid `1 / (1 + e^{-x})`.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}
