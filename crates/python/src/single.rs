//! One environment, as gymnasium's `Env`: `rlrec.RecSimEnv` wraps it.

use std::sync::Mutex;

use env::flat::env_flat_dim;
use env::{decode_action, Scenario, SlateEnv, Space, StepError, Transition};
use numpy::{PyArray1, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::{PyBool, PyDict};

use crate::layout::{describe, describe_flat, float_array, Node};
use crate::options::{integer, scenario, type_name, value_error};

/// `(observation, reward, terminated, truncated, info)`.
type Step<'py> = (Bound<'py, PyAny>, f64, bool, bool, Bound<'py, PyDict>);

/// What a step changes, behind one lock: the environment, the slate being decoded and
/// the flat observation the dict layout is read from.
struct State {
    env: Box<dyn SlateEnv>,
    slate: Vec<usize>,
    flat: Vec<f32>,
}

/// A RecSim environment with RLlib's wrappers, built through the `env` registry.
#[pyclass(frozen, module = "rlrec._rlrec")]
pub struct Env {
    state: Mutex<State>,
    scenario: Scenario,
    observation_space: Space,
    action_space: Space,
    /// The dict layout; `None` for flat observations.
    layout: Option<Node>,
    num_candidates: usize,
    /// `N^K` where actions are `Discrete`.
    discrete: Option<u64>,
}

#[pymethods]
impl Env {
    /// Builds world `env` with `options` (the CLI's environment options and model
    /// parameters); `flat` observations are one float32 vector.
    #[new]
    #[pyo3(signature = (env, flat = false, options = None))]
    fn new(
        py: Python<'_>,
        env: &str,
        flat: bool,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let scenario = scenario(env, options)?;
        let built = scenario.build().map_err(crate::options::config_error)?;
        let (observation_space, action_space) = built.spaces();
        let layout = (!flat)
            .then(|| Node::for_observation(py, &observation_space))
            .transpose()?;
        let discrete = match action_space {
            Space::Discrete(n) => Some(n),
            _ => None,
        };
        let layout_of = built.layout();
        Ok(Self {
            state: Mutex::new(State {
                flat: vec![0.0; env_flat_dim(built.as_ref())],
                slate: vec![0; layout_of.slate_size],
                env: built,
            }),
            scenario,
            observation_space,
            action_space,
            layout,
            num_candidates: layout_of.num_candidates,
            discrete,
        })
    }

    /// The observation space, described as [`describe`] does.
    fn observation_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.layout {
            Some(_) => describe(py, &self.observation_space),
            None => describe_flat(py, &self.observation_space),
        }
    }

    /// The action space, described as [`describe`] does.
    fn action_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        describe(py, &self.action_space)
    }

    /// The scenario as JSON (the `[env]` table of a run's configuration).
    fn scenario_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.scenario).map_err(|e| value_error(&e))
    }

    /// Starts an episode, restarting every random stream from `seed` when given; returns
    /// the first observation.
    #[pyo3(signature = (seed = None))]
    fn reset<'py>(
        &self,
        py: Python<'py>,
        seed: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let seed = seed
            .filter(|s| !s.is_none())
            .map(|s| integer("seed", s))
            .transpose()?;
        let mut state = self
            .state
            .lock_py_attached(py)
            .unwrap_or_else(|e| e.into_inner());
        state.env.reset(seed);
        self.observation(py, &mut state)
    }

    /// One step: `(observation, reward, terminated, truncated, info)`. A refused action
    /// raises and leaves the environment as it was.
    fn step<'py>(&self, py: Python<'py>, action: &Bound<'py, PyAny>) -> PyResult<Step<'py>> {
        let mut state = self
            .state
            .lock_py_attached(py)
            .unwrap_or_else(|e| e.into_inner());
        let State { env, slate, .. } = &mut *state;
        self.read_action(action, slate)?;
        let t = env.step(slate).map_err(|e| value_error(&e))?;
        let obs = self.observation(py, &mut state)?;
        Ok((obs, t.reward, t.terminated, t.truncated, info(py, &t)?))
    }
}

impl Env {
    /// The current observation, new Python objects every time.
    fn observation<'py>(&self, py: Python<'py>, state: &mut State) -> PyResult<Bound<'py, PyAny>> {
        match &self.layout {
            None => float_array(py, &[state.flat.len()], |out| state.env.write_flat(out)),
            Some(node) => {
                state.env.write_flat(&mut state.flat);
                node.read(py, &state.flat)
            }
        }
    }

    /// Decodes an action of the action space into a slate of candidate positions.
    fn read_action(&self, action: &Bound<'_, PyAny>, slate: &mut [usize]) -> PyResult<()> {
        match self.discrete {
            Some(n) => {
                let a = discrete_action(action, n)?;
                decode_action(a, self.num_candidates, slate).map_err(|e| value_error(&e))
            }
            None => slate_action(action, self.num_candidates, slate),
        }
    }
}

/// The step's click, as `rlrec episode --json` reports it: `clicked` (the position), and
/// `clicked_quality` and `clicked_cluster` where the world has them; no keys without a
/// click (the JSON's `null`), so that Gymnasium's vector environments, which batch infos
/// key by key with a mask of the environments that have the key, can batch them.
fn info<'py>(py: Python<'py>, t: &Transition) -> PyResult<Bound<'py, PyDict>> {
    let info = PyDict::new(py);
    if let Some(click) = t.click {
        info.set_item(pyo3::intern!(py, "clicked"), click.position)?;
        if let Some(quality) = click.quality {
            info.set_item(pyo3::intern!(py, "clicked_quality"), quality)?;
        }
        if let Some(cluster) = click.cluster {
            info.set_item(pyo3::intern!(py, "clicked_cluster"), cluster)?;
        }
    }
    Ok(info)
}

/// A `Discrete(n)` action: a Python or numpy integer (a 0-d integer array too).
fn discrete_action(action: &Bound<'_, PyAny>, n: u64) -> PyResult<u64> {
    let not_integer = || {
        PyTypeError::new_err(format!(
            "an action of Discrete({n}) is an integer, not {}",
            type_name(action)
        ))
    };
    if action.is_instance_of::<PyBool>() {
        return Err(not_integer());
    }
    if let Ok(array) = action.cast::<PyUntypedArray>() {
        if !matches!(array.dtype().kind(), b'i' | b'u') {
            return Err(PyTypeError::new_err(format!(
                "an action of Discrete({n}) is an integer, not an array of {}",
                array.dtype()
            )));
        }
        if array.ndim() != 0 {
            return Err(PyValueError::new_err(format!(
                "an action of Discrete({n}) is one integer, not an array of shape {:?}",
                array.shape()
            )));
        }
    }
    action.extract::<u64>().map_err(|e| {
        if e.is_instance_of::<PyOverflowError>(action.py()) {
            PyValueError::new_err(format!(
                "discrete action {action} is out of range: the action space is Discrete({n}), actions 0..{n}"
            ))
        } else {
            not_integer()
        }
    })
}

/// A `MultiDiscrete([N]*K)` action: `K` integers in `[0, N)`, as a numpy integer array or
/// a sequence of integers.
fn slate_action(action: &Bound<'_, PyAny>, n: usize, slate: &mut [usize]) -> PyResult<()> {
    let k = slate.len();
    let space = || format!("MultiDiscrete([{n}]*{k})");
    // The fast path: what MultiDiscrete.sample() returns.
    if let Ok(array) = action.cast::<PyArray1<i64>>() {
        let readonly = array.readonly();
        if let Ok(values) = readonly.as_slice() {
            return positions(values.iter().copied(), n, slate, &space);
        }
        let values = readonly.as_array();
        return positions(values.iter().copied(), n, slate, &space);
    }
    if let Ok(array) = action.cast::<PyUntypedArray>() {
        let dtype = array.dtype();
        if !matches!(dtype.kind(), b'i' | b'u') {
            return Err(PyTypeError::new_err(format!(
                "an action of {} holds integers, not {dtype}",
                space()
            )));
        }
        if array.ndim() != 1 {
            return Err(PyValueError::new_err(format!(
                "an action of {} has shape ({k},), not {:?}",
                space(),
                array.shape()
            )));
        }
    }
    if action.is_instance_of::<PyBool>() || action.extract::<i64>().is_ok() {
        return Err(PyTypeError::new_err(format!(
            "an action of {} is a sequence of {k} integers, not one {}",
            space(),
            type_name(action)
        )));
    }
    let values: Vec<i64> = action.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "an action of {} is a sequence of {k} integers; got {}",
            space(),
            type_name(action)
        ))
    })?;
    positions(values.into_iter(), n, slate, &space)
}

/// Checks and copies `K` candidate positions.
fn positions(
    values: impl ExactSizeIterator<Item = i64>,
    n: usize,
    slate: &mut [usize],
    space: &dyn Fn() -> String,
) -> PyResult<()> {
    if values.len() != slate.len() {
        return Err(PyValueError::new_err(format!(
            "an action of {} has {} positions, not {}",
            space(),
            slate.len(),
            values.len()
        )));
    }
    for (out, value) in slate.iter_mut().zip(values) {
        // Positions past the candidates are refused by the environment, with its message.
        *out = usize::try_from(value).map_err(|_| position_error(value, n))?;
    }
    Ok(())
}

/// A slate position outside `0..n`, with the environment's message where it has one.
pub fn position_error(position: i64, n: usize) -> PyErr {
    PyValueError::new_err(match usize::try_from(position) {
        Ok(position) => StepError::PositionOutOfRange {
            position,
            num_candidates: n,
        }
        .to_string(),
        Err(_) => format!(
            "slate position {position} is negative: there are {n} candidates (positions 0 to {})",
            n.saturating_sub(1)
        ),
    })
}
