//! `rlrec._rlrec`, the extension module of the `rlrec` Python package: RecSim's worlds as
//! Gymnasium environments and vector environments, the fixed policies' baselines, and
//! exported policies.
//!
//! Environments are built only through the `env` registry ([`env::Scenario`]), baselines
//! by [`rollout::baseline`], the function `rlrec baseline` calls, so Python and the CLI
//! give the same figures for the same seed. The module links no libtorch.

#![warn(missing_docs)]

mod layout;
mod options;
mod policy;
mod single;
mod vector;

use std::str::FromStr;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rollout::FixedPolicy;

use options::value_error;

/// `rlrec baseline --json`'s object, as JSON: `policy` over `episodes` episodes on
/// `num_envs` environments stepped in lockstep on up to `threads` threads (the figures
/// depend on the seed and on `num_envs`, never on `threads`).
#[pyfunction]
#[pyo3(signature = (policy, env, episodes = 500, num_envs = 1, threads = 1, options = None))]
fn baseline(
    py: Python<'_>,
    policy: &str,
    env: &str,
    episodes: usize,
    num_envs: usize,
    threads: usize,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let policy = FixedPolicy::from_str(policy).map_err(PyValueError::new_err)?;
    if episodes == 0 || num_envs == 0 || threads == 0 {
        return Err(PyValueError::new_err(
            "episodes, num_envs and threads must be at least 1",
        ));
    }
    options::bounded_num_envs(num_envs)?;
    let scenario = options::scenario(env, options)?;
    // Minutes of work for large runs: other Python threads go on meanwhile.
    let report = py
        .detach(|| rollout::baseline(policy, &scenario, episodes, num_envs, threads, |_| ()))
        .map_err(|e| value_error(&e))?;
    serde_json::to_string(&report).map_err(|e| PyTypeError::new_err(e.to_string()))
}

/// The seed of slot `slot` of a vector environment reset with `seed`
/// ([`env::slot_seed`]).
#[pyfunction]
fn slot_seed(seed: u64, slot: usize) -> u64 {
    env::slot_seed(seed, slot)
}

/// A world's name, description and model parameters with their defaults.
type WorldInfo = (String, String, Vec<(&'static str, f64)>);

/// Every registered world.
#[pyfunction]
fn worlds() -> Vec<WorldInfo> {
    env::registered()
        .iter()
        .map(|w| {
            (
                w.name().to_string(),
                w.description().to_string(),
                w.default_params(),
            )
        })
        .collect()
}

/// SARDINE's presets: `(SARDINE's Gymnasium id, rlrec's world name)`.
#[pyfunction]
fn sardine_presets() -> Vec<(&'static str, &'static str)> {
    env::SardinePreset::all()
        .iter()
        .map(|p| (p.id, p.name))
        .collect()
}

/// The names of the fixed policies `baseline` runs.
#[pyfunction]
fn policies() -> Vec<&'static str> {
    FixedPolicy::ALL.iter().map(|p| p.name()).collect()
}

#[pymodule]
fn _rlrec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<single::Env>()?;
    m.add_class::<vector::VectorEnv>()?;
    m.add_class::<policy::ExportedPolicy>()?;
    m.add_function(wrap_pyfunction!(baseline, m)?)?;
    m.add_function(wrap_pyfunction!(slot_seed, m)?)?;
    m.add_function(wrap_pyfunction!(worlds, m)?)?;
    m.add_function(wrap_pyfunction!(policies, m)?)?;
    m.add_function(wrap_pyfunction!(sardine_presets, m)?)?;
    m.add("OPTIONS", options::OPTIONS.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
