//! Many environments stepped in lockstep by [`env::VectorEnv`] with NEXT_STEP autoreset,
//! writing each step's batch into numpy arrays this object owns: `rlrec.RecSimVectorEnv`
//! wraps it.

use std::sync::Mutex;

use env::{
    decode_action, Autoreset, Execution, Space, Transition, TransitionSink, VectorEnv as Batch,
    VectorError,
};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::PyDict;

use crate::layout::{describe, describe_flat, Node};
use crate::options::{scenario, value_error};

/// `(observations, rewards, terminated, truncated, info)`.
type Step<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyDict>,
);

/// The batch and its scratch slates, behind one lock.
struct Inner {
    batch: Batch,
    /// `B × K` slates decoded from the last actions.
    slates: Vec<usize>,
    /// Whether a reset has seeded the slots (the first unseeded reset seeds them from the
    /// scenario's seed, as `rlrec baseline --num-envs B` does).
    seeded: bool,
}

/// The arrays a step writes: owned here, handed out as they are or copied.
struct Buffers {
    obs: Py<PyArray2<f32>>,
    rewards: Py<PyArray1<f64>>,
    terminated: Py<PyArray1<bool>>,
    truncated: Py<PyArray1<bool>>,
    clicked: Py<PyArray1<i64>>,
    /// Whether the slot's user clicked (gymnasium's `_clicked` mask).
    click_mask: Py<PyArray1<bool>>,
    /// The clicked document's quality and cluster, where the world has them.
    video: Option<Video>,
}

/// The clicked videos' facts (NaN and -1 without a click).
struct Video {
    quality: Py<PyArray1<f64>>,
    cluster: Py<PyArray1<i64>>,
}

/// `B` environments of one scenario with NEXT_STEP autoreset.
#[pyclass(frozen, module = "rlrec._rlrec")]
pub struct VectorEnv {
    inner: Mutex<Inner>,
    buffers: Buffers,
    num_envs: usize,
    flat_dim: usize,
    num_candidates: usize,
    slate_size: usize,
    scenario_seed: u64,
    /// `N^K` where actions are `Discrete`.
    discrete: Option<u64>,
    observation_space: Space,
    action_space: Space,
    /// The dict layout; `None` for flat observations.
    layout: Option<Node>,
    /// Hand out copies of the buffers (gymnasium's `copy=True`).
    copy: bool,
}

#[pymethods]
impl VectorEnv {
    /// `num_envs` environments of world `env` with `options`, stepped on up to `threads`
    /// threads.
    #[new]
    #[pyo3(signature = (env, num_envs, threads = 1, flat = false, copy = true, options = None))]
    fn new(
        py: Python<'_>,
        env: &str,
        num_envs: usize,
        threads: usize,
        flat: bool,
        copy: bool,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        if num_envs == 0 || threads == 0 {
            return Err(PyValueError::new_err(
                "num_envs and threads must be at least 1",
            ));
        }
        crate::options::bounded_num_envs(num_envs)?;
        let scenario = scenario(env, options)?;
        let spec = scenario.resolve().map_err(crate::options::config_error)?;
        let envs: Vec<_> = (0..num_envs).map(|_| spec.make()).collect();
        let (observation_space, action_space) = envs[0].spaces();
        let layout = envs[0].layout();
        let batch = Batch::new(envs, Execution::for_slots(threads, num_envs))
            .map_err(vector_error)?
            .with_autoreset(Autoreset::NextStep);
        let flat_dim = batch.flat_dim();
        let has_quality = spec.world().num_clusters().is_some();
        let buffers = Buffers::zeros(py, num_envs, flat_dim, has_quality);
        Ok(Self {
            inner: Mutex::new(Inner {
                batch,
                slates: vec![0; num_envs * layout.slate_size],
                seeded: false,
            }),
            buffers,
            num_envs,
            flat_dim,
            num_candidates: layout.num_candidates,
            slate_size: layout.slate_size,
            scenario_seed: scenario.seed,
            discrete: match action_space {
                Space::Discrete(n) => Some(n),
                _ => None,
            },
            layout: (!flat)
                .then(|| Node::for_observation(py, &observation_space))
                .transpose()?,
            observation_space,
            action_space,
            copy,
        })
    }

    /// One environment's observation space, described as [`describe`] does.
    fn single_observation_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.layout {
            Some(_) => describe(py, &self.observation_space),
            None => describe_flat(py, &self.observation_space),
        }
    }

    /// One environment's action space, described as [`describe`] does.
    fn single_action_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        describe(py, &self.action_space)
    }

    /// The number of threads that step the slots.
    fn threads(&self, py: Python<'_>) -> usize {
        self.inner
            .lock_py_attached(py)
            .unwrap_or_else(|e| e.into_inner())
            .batch
            .threads()
    }

    /// Starts an episode in every slot: slot `i` seeded with `slot_seed(seed, i)`; without
    /// a seed, the first reset uses the scenario's seed and later ones continue each
    /// slot's streams. Returns the batch of first observations.
    #[pyo3(signature = (seed = None))]
    fn reset<'py>(&self, py: Python<'py>, seed: Option<u64>) -> PyResult<Bound<'py, PyAny>> {
        let mut inner = self
            .inner
            .lock_py_attached(py)
            .unwrap_or_else(|e| e.into_inner());
        let obs = self.buffers.obs.bind(py);
        {
            let mut obs = obs.readwrite();
            let flat = obs.as_slice_mut().map_err(|e| value_error(&e))?;
            let inner = &mut *inner;
            match (seed, inner.seeded) {
                (Some(seed), _) => inner.batch.reset(seed),
                (None, false) => inner.batch.reset(self.scenario_seed),
                (None, true) => inner.batch.reset_unseeded(),
            }
            inner.seeded = true;
            for (slot, out) in flat.chunks_exact_mut(self.flat_dim).enumerate() {
                if let Some(env) = inner.batch.env(slot) {
                    env.write_flat(out);
                }
            }
        }
        self.observations(py)
    }

    /// One step of every slot: `(observations, rewards, terminated, truncated, info)`.
    /// `actions` is an int64 array of `(B, K)` slates, or of `(B,)` discrete actions. A
    /// slot whose episode ended at the previous step resets instead (its action is
    /// ignored; reward 0, neither end). Bad actions raise and change nothing.
    fn step<'py>(&self, py: Python<'py>, actions: &Bound<'py, PyAny>) -> PyResult<Step<'py>> {
        let mut guard = self
            .inner
            .lock_py_attached(py)
            .unwrap_or_else(|e| e.into_inner());
        let inner = &mut *guard;
        self.read_actions(actions, &mut inner.slates)?;
        // With copies handed out, the step writes straight into new arrays, which are
        // the copies: no second pass over the batch on this thread.
        let fresh;
        let b = match self.copy {
            true => {
                fresh = Buffers::zeros(
                    py,
                    self.num_envs,
                    self.flat_dim,
                    self.buffers.video.is_some(),
                );
                &fresh
            }
            false => &self.buffers,
        };
        let (mut obs, mut rewards, mut terminated, mut truncated, mut clicked, mut mask) = (
            b.obs.bind(py).readwrite(),
            b.rewards.bind(py).readwrite(),
            b.terminated.bind(py).readwrite(),
            b.truncated.bind(py).readwrite(),
            b.clicked.bind(py).readwrite(),
            b.click_mask.bind(py).readwrite(),
        );
        let mut quality = b.video.as_ref().map(|v| {
            (
                v.quality.bind(py).readwrite(),
                v.cluster.bind(py).readwrite(),
            )
        });
        let contiguous = |e: numpy::AsSliceError| value_error(&e);
        let flat = obs.as_slice_mut().map_err(contiguous)?;
        let out = Out {
            rewards: rewards.as_slice_mut().map_err(contiguous)?,
            terminated: terminated.as_slice_mut().map_err(contiguous)?,
            truncated: truncated.as_slice_mut().map_err(contiguous)?,
            clicked: clicked.as_slice_mut().map_err(contiguous)?,
            mask: mask.as_slice_mut().map_err(contiguous)?,
            quality: match &mut quality {
                Some((q, c)) => Some((
                    q.as_slice_mut().map_err(contiguous)?,
                    c.as_slice_mut().map_err(contiguous)?,
                )),
                None => None,
            },
        };
        // The slots step without the GIL, on the pool's threads where there is one, and
        // each thread writes its slots' rewards, ends and clicks.
        py.detach(|| inner.batch.step_flat_to(&inner.slates, flat, out))
            .map_err(vector_error)?;
        drop((obs, rewards, terminated, truncated, clicked, mask, quality));
        drop(guard);
        let info = PyDict::new(py);
        let mask = b.click_mask.bind(py).clone().into_any();
        info.set_item(pyo3::intern!(py, "clicked"), b.clicked.bind(py))?;
        info.set_item(pyo3::intern!(py, "_clicked"), &mask)?;
        if let Some(video) = &b.video {
            info.set_item(pyo3::intern!(py, "clicked_quality"), video.quality.bind(py))?;
            info.set_item(pyo3::intern!(py, "_clicked_quality"), &mask)?;
            info.set_item(pyo3::intern!(py, "clicked_cluster"), video.cluster.bind(py))?;
            info.set_item(pyo3::intern!(py, "_clicked_cluster"), &mask)?;
        }
        Ok((
            self.observations_of(py, b.obs.bind(py))?,
            b.rewards.bind(py).clone().into_any(),
            b.terminated.bind(py).clone().into_any(),
            b.truncated.bind(py).clone().into_any(),
            info,
        ))
    }
}

/// The step's per-slot outputs but the observations: slices of the arrays it writes.
struct Out<'a> {
    rewards: &'a mut [f64],
    terminated: &'a mut [bool],
    truncated: &'a mut [bool],
    clicked: &'a mut [i64],
    mask: &'a mut [bool],
    quality: Option<(&'a mut [f64], &'a mut [i64])>,
}

impl TransitionSink for Out<'_> {
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (rewards_a, rewards_b) = self.rewards.split_at_mut(mid);
        let (terminated_a, terminated_b) = self.terminated.split_at_mut(mid);
        let (truncated_a, truncated_b) = self.truncated.split_at_mut(mid);
        let (clicked_a, clicked_b) = self.clicked.split_at_mut(mid);
        let (mask_a, mask_b) = self.mask.split_at_mut(mid);
        let (quality_a, quality_b) = match self.quality {
            Some((q, c)) => {
                let ((q_a, q_b), (c_a, c_b)) = (q.split_at_mut(mid), c.split_at_mut(mid));
                (Some((q_a, c_a)), Some((q_b, c_b)))
            }
            None => (None, None),
        };
        (
            Out {
                rewards: rewards_a,
                terminated: terminated_a,
                truncated: truncated_a,
                clicked: clicked_a,
                mask: mask_a,
                quality: quality_a,
            },
            Out {
                rewards: rewards_b,
                terminated: terminated_b,
                truncated: truncated_b,
                clicked: clicked_b,
                mask: mask_b,
                quality: quality_b,
            },
        )
    }

    fn write(&mut self, i: usize, t: &Transition) {
        self.rewards[i] = t.reward;
        self.terminated[i] = t.terminated;
        self.truncated[i] = t.truncated;
        self.mask[i] = t.click.is_some();
        self.clicked[i] = t.click.map_or(-1, |c| c.position as i64);
        if let Some((q, c)) = &mut self.quality {
            q[i] = t.click.and_then(|c| c.quality).unwrap_or(f64::NAN);
            c[i] = t.click.and_then(|c| c.cluster).map_or(-1, |c| c as i64);
        }
    }
}

impl Buffers {
    /// Zeroed arrays for `num_envs` slots.
    fn zeros(py: Python<'_>, num_envs: usize, flat_dim: usize, video: bool) -> Self {
        Buffers {
            obs: PyArray2::zeros(py, [num_envs, flat_dim], false).unbind(),
            rewards: PyArray1::zeros(py, num_envs, false).unbind(),
            terminated: PyArray1::zeros(py, num_envs, false).unbind(),
            truncated: PyArray1::zeros(py, num_envs, false).unbind(),
            clicked: PyArray1::zeros(py, num_envs, false).unbind(),
            click_mask: PyArray1::zeros(py, num_envs, false).unbind(),
            video: video.then(|| Video {
                quality: PyArray1::zeros(py, num_envs, false).unbind(),
                cluster: PyArray1::zeros(py, num_envs, false).unbind(),
            }),
        }
    }
}

impl VectorEnv {
    /// The observations of the batch: the flat array (or its copy), or the dict layout.
    fn observations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let obs = self.buffers.obs.bind(py);
        match &self.layout {
            None => Ok(self.handed_out(obs)),
            Some(_) => self.observations_of(py, obs),
        }
    }

    /// The observations of a step's array: as it is, or the dict layout.
    fn observations_of<'py>(
        &self,
        py: Python<'py>,
        obs: &Bound<'py, PyArray2<f32>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match &self.layout {
            None => Ok(obs.clone().into_any()),
            Some(node) => {
                let obs = obs.readonly();
                let flat = obs.as_slice().map_err(|e| value_error(&e))?;
                node.read_batch(py, flat, self.num_envs, self.flat_dim)
            }
        }
    }

    /// An owned array as handed to the caller: a copy where `copy` is set.
    fn handed_out<'py, T: numpy::Element, D: numpy::ndarray::Dimension>(
        &self,
        array: &Bound<'py, numpy::PyArray<T, D>>,
    ) -> Bound<'py, PyAny> {
        if self.copy {
            array.to_owned_array().into_pyarray(array.py()).into_any()
        } else {
            array.clone().into_any()
        }
    }

    /// Decodes a batch of actions into `B × K` slates; refuses anything outside the
    /// batched action space.
    fn read_actions(&self, actions: &Bound<'_, PyAny>, slates: &mut [usize]) -> PyResult<()> {
        let (b, k, n) = (self.num_envs, self.slate_size, self.num_candidates);
        let Ok(array) = actions.cast::<PyUntypedArray>() else {
            return Err(PyTypeError::new_err(format!(
                "the actions of a vector environment are a numpy array, not {}",
                crate::options::type_name(actions)
            )));
        };
        if !matches!(array.dtype().kind(), b'i' | b'u') {
            return Err(PyTypeError::new_err(format!(
                "actions are integers, not {}",
                array.dtype()
            )));
        }
        let shape: Vec<usize> = array.shape().to_vec();
        let expected: Vec<usize> = match self.discrete {
            Some(_) => vec![b],
            None => vec![b, k],
        };
        if shape != expected {
            return Err(PyValueError::new_err(format!(
                "the actions of {b} environments have shape {expected:?}, not {shape:?}"
            )));
        }
        // int64 is what batched spaces sample; other integer types are converted.
        let values = match actions.cast::<numpy::PyArrayDyn<i64>>() {
            Ok(values) => values.clone(),
            Err(_) => actions
                .call_method1("astype", ("int64",))?
                .cast_into::<numpy::PyArrayDyn<i64>>()?,
        };
        let values = values.readonly();
        let values = values.as_array();
        match self.discrete {
            Some(size) => {
                for (slate, &a) in slates.chunks_exact_mut(k).zip(values.iter()) {
                    let action = u64::try_from(a).map_err(|_| {
                        PyValueError::new_err(format!(
                            "discrete action {a} is negative: the action space is Discrete({size})"
                        ))
                    })?;
                    decode_action(action, n, slate).map_err(|e| value_error(&e))?;
                }
            }
            None => {
                for (out, &p) in slates.iter_mut().zip(values.iter()) {
                    *out = usize::try_from(p)
                        .ok()
                        .filter(|&p| p < n)
                        .ok_or_else(|| crate::single::position_error(p, n))?;
                }
            }
        }
        Ok(())
    }
}

fn vector_error(e: VectorError) -> PyErr {
    value_error(&e)
}
