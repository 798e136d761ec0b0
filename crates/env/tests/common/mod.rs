//! The environments the `env` tests share: each world, built directly on its model with
//! seed 4 (the registry builds the same ones by name).

#![allow(dead_code)] // Each test binary uses its own part.

use std::num::NonZeroUsize;

use env::{RecSimEnv, TimeLimit};
use recsim_core::{
    EnvConfig, IeParams, IevParams, InterestEvolution, InterestExploration, LongTermSatisfaction,
    LtsParams, Model,
};

/// `n` candidates, slates of `k`, resampled, seed 4.
pub fn config(n: usize, k: usize) -> EnvConfig {
    EnvConfig {
        num_candidates: n,
        slate_size: k,
        resample_documents: true,
        seed: 4,
    }
}

/// StrongLTS.
pub fn lts(n: usize, k: usize) -> RecSimEnv<LongTermSatisfaction> {
    let model = LongTermSatisfaction::from_params(LtsParams::strong()).unwrap();
    RecSimEnv::new(model, config(n, k)).unwrap()
}

/// Interest evolution with RecSim's defaults.
pub fn iev(n: usize, k: usize) -> RecSimEnv<InterestEvolution> {
    let model = InterestEvolution::from_params(IevParams::default()).unwrap();
    RecSimEnv::new(model, config(n, k)).unwrap()
}

/// Interest exploration with RecSim's defaults, cut at `horizon` steps.
pub fn ie(n: usize, k: usize, horizon: usize) -> TimeLimit<RecSimEnv<InterestExploration>> {
    let model = InterestExploration::from_params(IeParams::default()).unwrap();
    let env = RecSimEnv::new(model, config(n, k)).unwrap();
    TimeLimit::new(env, NonZeroUsize::new(horizon).unwrap())
}
