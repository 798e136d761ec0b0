//! Keyword arguments → a validated [`Scenario`]: the CLI's environment options under
//! their long names, and model parameters by name (the CLI's `--set name=value`).

use env::{ConfigError, Scenario};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};

/// Refuses more environments than one vector steps (the CLI's `--num-envs` bound), before
/// any is built.
pub fn bounded_num_envs(num_envs: usize) -> PyResult<()> {
    if num_envs > env::MAX_ENVS {
        return Err(PyValueError::new_err(format!(
            "num_envs = {num_envs} is too large: at most {} environments are stepped together",
            env::MAX_ENVS
        )));
    }
    Ok(())
}

/// The CLI's environment options (`--num-candidates` is `num_candidates`, …).
pub const OPTIONS: [&str; 10] = [
    "num_candidates",
    "slate_size",
    "resample_documents",
    "seed",
    "horizon",
    "discrete_action",
    "bandit_observation",
    "user_observation",
    "time_aware",
    "item_embeddings",
];

/// The scenario of world `env` with `options` applied and validated. A name that is
/// neither an option nor one of the world's parameters is a `TypeError`, as an
/// unexpected keyword argument is in Python; a value of the wrong type is a `TypeError`,
/// one out of range a `ValueError`, with the CLI's message where the CLI has one.
pub fn scenario(env: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<Scenario> {
    let mut s = Scenario::new(env);
    s.world().map_err(config_error)?;
    for (key, value) in options.into_iter().flat_map(|d| d.iter()) {
        let key: String = key
            .extract()
            .map_err(|_| PyTypeError::new_err("option names are strings"))?;
        let name = key.as_str();
        match name {
            "num_candidates" => s.num_candidates = count(name, &value)?,
            "slate_size" => s.slate_size = count(name, &value)?,
            "seed" => s.seed = integer(name, &value)?,
            "horizon" => {
                s.max_episode_steps = if value.is_none() {
                    None
                } else {
                    Some(count(name, &value)?)
                }
            }
            "resample_documents" => s.resample_documents = boolean(name, &value)?,
            "item_embeddings" => {
                s.item_embeddings = if value.is_none() {
                    None
                } else {
                    Some(value.extract::<std::path::PathBuf>().map_err(|_| {
                        PyTypeError::new_err(format!(
                            "item_embeddings is a path, not {}",
                            type_name(&value)
                        ))
                    })?)
                }
            }
            "discrete_action" => s.wrappers.discrete_action = boolean(name, &value)?,
            "bandit_observation" => s.wrappers.bandit_observation = boolean(name, &value)?,
            "user_observation" => s.wrappers.user_observation = boolean(name, &value)?,
            "time_aware" => s.wrappers.time_aware = boolean(name, &value)?,
            _ => {
                s.params.insert(key.clone(), real(name, &value)?);
            }
        }
    }
    s.validate().map_err(config_error)?;
    Ok(s)
}

/// A configuration error as Python's: an unknown name is a `TypeError`, anything else a
/// `ValueError`, each with the CLI's message.
pub fn config_error(e: ConfigError) -> PyErr {
    match e {
        ConfigError::UnknownParam { .. } => {
            PyTypeError::new_err(format!("{e}; environment options: {}", OPTIONS.join(", ")))
        }
        other => value_error(&other),
    }
}

/// An error as Python's `ValueError`, with its causes joined by `: `, as the CLI prints
/// them (no error repeats its cause in its own text).
pub fn value_error(e: &dyn std::error::Error) -> PyErr {
    PyValueError::new_err(env::error_chain(e))
}

/// The name of a value's type, for messages.
pub fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "?".into(), |n| n.to_string())
}

/// A non-negative integer (a Python `int` or a numpy integer; not a `bool`).
pub fn integer(name: &str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    if value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an integer, not bool"
        )));
    }
    value.extract::<u64>().map_err(|e| {
        if e.is_instance_of::<PyOverflowError>(value.py()) {
            PyValueError::new_err(format!(
                "{name} must be a non-negative integer below 2**64, not {value}"
            ))
        } else {
            PyTypeError::new_err(format!(
                "{name} must be an integer, not {}",
                type_name(value)
            ))
        }
    })
}

/// A count (`usize`).
pub fn count(name: &str, value: &Bound<'_, PyAny>) -> PyResult<usize> {
    let n = integer(name, value)?;
    usize::try_from(n).map_err(|_| PyValueError::new_err(format!("{name} = {n} is too large")))
}

/// A `bool` (or a numpy `bool_`).
pub fn boolean(name: &str, value: &Bound<'_, PyAny>) -> PyResult<bool> {
    value.extract::<bool>().map_err(|_| {
        PyTypeError::new_err(format!("{name} must be a bool, not {}", type_name(value)))
    })
}

/// A real number (an `int` or a `float`; not a `bool`).
fn real(name: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a number, not bool"
        )));
    }
    value.extract::<f64>().map_err(|_| {
        PyTypeError::new_err(format!("{name} must be a number, not {}", type_name(value)))
    })
}
