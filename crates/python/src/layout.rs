//! Observations as Python sees them: the spaces described for the Python side to build
//! gymnasium spaces from, and flat observations turned into RLlib's dict layout.
//!
//! Every observation is written flat first ([`env::flat`]); the dict layout is read from
//! the flat vector by a [`Node`] tree built once from the observation space, so the two
//! layouts agree by construction and a step builds no intermediate value.

use env::flat::{flat_bounds, flat_offsets};
use env::Space;
use numpy::{PyArray0, PyArray1, PyArray2, PyArrayDyn, PyArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

/// A space as nested tuples: `("Discrete", n)`, `("MultiDiscrete", [n, …])`,
/// `("Box", low, high, shape)`, `("Dict", [(key, space), …])`, `("Tuple", [space, …])`.
pub fn describe<'py>(py: Python<'py>, space: &Space) -> PyResult<Bound<'py, PyAny>> {
    Ok(match space {
        Space::Discrete(n) => ("Discrete", *n).into_pyobject(py)?.into_any(),
        Space::MultiDiscrete(nvec) => ("MultiDiscrete", nvec.clone())
            .into_pyobject(py)?
            .into_any(),
        Space::Box { low, high, shape } => ("Box", *low, *high, shape.clone())
            .into_pyobject(py)?
            .into_any(),
        Space::Dict(entries) => {
            let items = entries
                .iter()
                .map(|(k, s)| Ok((k.as_str(), describe(py, s)?)))
                .collect::<PyResult<Vec<_>>>()?;
            ("Dict", items).into_pyobject(py)?.into_any()
        }
        Space::Tuple(items) => {
            let items = items
                .iter()
                .map(|s| describe(py, s))
                .collect::<PyResult<Vec<_>>>()?;
            ("Tuple", PyList::new(py, items)?)
                .into_pyobject(py)?
                .into_any()
        }
    })
}

/// The flat observation's space: `("Box", low, high, (D,))` with per-element bounds.
pub fn describe_flat<'py>(py: Python<'py>, space: &Space) -> PyResult<Bound<'py, PyAny>> {
    let (low, high) = flat_bounds(space);
    let dim = low.len();
    Ok((
        "Box",
        PyArray1::from_vec(py, low),
        PyArray1::from_vec(py, high),
        (dim,),
    )
        .into_pyobject(py)?
        .into_any())
}

/// Where one part of an observation lies in the flat vector, and how it reads out.
pub enum Node {
    /// A `Box`: `len` values from `offset`, as a float32 array of `shape`.
    Real {
        offset: usize,
        len: usize,
        shape: Vec<usize>,
    },
    /// A `Discrete(n)`: the one-hot vector at `offset`, as its index.
    Index { offset: usize, n: usize },
    /// A `MultiDiscrete(nvec)`: the one-hot vectors from `offset`, as an int64 array of
    /// their indices (SARDINE's slate and clicks).
    Indices { offset: usize, nvec: Vec<usize> },
    /// A `Dict`, its keys interned once.
    Dict(Vec<(Py<PyString>, Node)>),
    /// A `Tuple`.
    Tuple(Vec<Node>),
}

impl Node {
    /// The tree of an observation space, whose top-level parts lie where
    /// [`flat_offsets`] puts them.
    pub fn for_observation(py: Python<'_>, space: &Space) -> PyResult<Self> {
        let Space::Dict(entries) = space else {
            // One part, the whole vector (SARDINE's ideal state).
            return Self::build(py, space, &mut 0);
        };
        let offsets = flat_offsets(space);
        let parts = entries
            .iter()
            .map(|(key, sub)| {
                let (_, offset, _) =
                    offsets.iter().find(|(k, _, _)| k == key).ok_or_else(|| {
                        PyValueError::new_err(format!(
                            "the observation part `{key}` has no flat layout"
                        ))
                    })?;
                let mut at = *offset;
                Ok((
                    PyString::intern(py, key).unbind(),
                    Self::build(py, sub, &mut at)?,
                ))
            })
            .collect::<PyResult<_>>()?;
        Ok(Node::Dict(parts))
    }

    fn build(py: Python<'_>, space: &Space, at: &mut usize) -> PyResult<Self> {
        let offset = *at;
        *at += space.flat_dim();
        Ok(match space {
            Space::Box { shape, .. } => Node::Real {
                offset,
                len: shape.iter().product(),
                shape: shape.clone(),
            },
            Space::Discrete(n) => Node::Index {
                offset,
                n: *n as usize,
            },
            Space::Dict(entries) => {
                let mut inner = offset;
                Node::Dict(
                    entries
                        .iter()
                        .map(|(k, s)| {
                            Ok((
                                PyString::intern(py, k).unbind(),
                                Self::build(py, s, &mut inner)?,
                            ))
                        })
                        .collect::<PyResult<_>>()?,
                )
            }
            Space::Tuple(items) => {
                let mut inner = offset;
                Node::Tuple(
                    items
                        .iter()
                        .map(|s| Self::build(py, s, &mut inner))
                        .collect::<PyResult<_>>()?,
                )
            }
            Space::MultiDiscrete(nvec) => Node::Indices {
                offset,
                nvec: nvec.iter().map(|&n| n as usize).collect(),
            },
        })
    }

    /// One observation from its flat vector.
    pub fn read<'py>(&self, py: Python<'py>, flat: &[f32]) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            Node::Real { offset, len, shape } => float_array(py, shape, |out| {
                out.copy_from_slice(&flat[*offset..offset + len])
            })?,
            Node::Index { offset, n } => argmax(&flat[*offset..offset + n])
                .into_pyobject(py)?
                .into_any(),
            Node::Indices { offset, nvec } => {
                let indices = PyArray1::<i64>::zeros(py, nvec.len(), false);
                // SAFETY: the array was just made here; nothing else holds it.
                let out = unsafe { indices.as_slice_mut() }.expect("a new array is contiguous");
                write_indices(&flat[*offset..], nvec, out);
                indices.into_any()
            }
            Node::Dict(entries) => {
                let dict = PyDict::new(py);
                for (key, node) in entries {
                    dict.set_item(key.bind(py), node.read(py, flat)?)?;
                }
                dict.into_any()
            }
            Node::Tuple(items) => PyTuple::new(
                py,
                items
                    .iter()
                    .map(|node| node.read(py, flat))
                    .collect::<PyResult<Vec<_>>>()?,
            )?
            .into_any(),
        })
    }

    /// A batch of observations from `b` flat vectors of `dim` values each: every `Box` as
    /// one float32 array of `(b, *shape)`, every `Discrete` as one int64 array of `(b,)`.
    pub fn read_batch<'py>(
        &self,
        py: Python<'py>,
        flat: &[f32],
        b: usize,
        dim: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            Node::Real { offset, len, shape } => {
                let batched: Vec<usize> = std::iter::once(b).chain(shape.iter().copied()).collect();
                float_array(py, &batched, |out| {
                    if *len == 0 {
                        return;
                    }
                    for (row, out) in flat.chunks_exact(dim).zip(out.chunks_exact_mut(*len)) {
                        out.copy_from_slice(&row[*offset..offset + len]);
                    }
                })?
            }
            Node::Index { offset, n } => {
                let indices = PyArray1::<i64>::zeros(py, b, false);
                // SAFETY: the array was just made here; nothing else holds it.
                let out = unsafe { indices.as_slice_mut() }.expect("a new array is contiguous");
                for (row, out) in flat.chunks_exact(dim).zip(out) {
                    *out = argmax(&row[*offset..offset + n]) as i64;
                }
                indices.into_any()
            }
            Node::Indices { offset, nvec } => {
                let k = nvec.len();
                let indices = PyArray2::<i64>::zeros(py, [b, k], false);
                // SAFETY: the array was just made here; nothing else holds it.
                let out = unsafe { indices.as_slice_mut() }.expect("a new array is contiguous");
                if k > 0 {
                    for (row, out) in flat.chunks_exact(dim).zip(out.chunks_exact_mut(k)) {
                        write_indices(&row[*offset..], nvec, out);
                    }
                }
                indices.into_any()
            }
            Node::Dict(entries) => {
                let dict = PyDict::new(py);
                for (key, node) in entries {
                    dict.set_item(key.bind(py), node.read_batch(py, flat, b, dim)?)?;
                }
                dict.into_any()
            }
            Node::Tuple(items) => PyTuple::new(
                py,
                items
                    .iter()
                    .map(|node| node.read_batch(py, flat, b, dim))
                    .collect::<PyResult<Vec<_>>>()?,
            )?
            .into_any(),
        })
    }
}

/// A new float32 array of `shape`, filled by `fill`.
pub fn float_array<'py>(
    py: Python<'py>,
    shape: &[usize],
    fill: impl FnOnce(&mut [f32]),
) -> PyResult<Bound<'py, PyAny>> {
    // Fixed dimensions where they fit: an array of dynamic dimensions costs an allocation
    // of its own, and a dict observation makes one array per document every step.
    // SAFETY (every `new`): the elements stay unread until `filled` hands them to `fill`,
    // which writes every one before Python sees the array.
    match *shape {
        [] => filled(unsafe { PyArray0::<f32>::new(py, [], false) }, fill),
        [n] => filled(unsafe { PyArray1::<f32>::new(py, [n], false) }, fill),
        [n, m] => filled(unsafe { PyArray2::<f32>::new(py, [n, m], false) }, fill),
        _ => filled(unsafe { PyArrayDyn::<f32>::new(py, shape, false) }, fill),
    }
}

/// Hands a new, uninitialised array to `fill`, which writes every element.
fn filled<'py, D: numpy::ndarray::Dimension>(
    array: Bound<'py, numpy::PyArray<f32, D>>,
    fill: impl FnOnce(&mut [f32]),
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: the array was just made here; nothing else holds it.
    fill(unsafe { array.as_slice_mut() }.expect("a new array is contiguous"));
    Ok(array.into_any())
}

/// The index of a one-hot vector's 1.
fn argmax(one_hot: &[f32]) -> usize {
    one_hot.iter().position(|&x| x == 1.0).unwrap_or(0)
}

/// The indices of consecutive one-hot vectors of lengths `nvec`, from the start of `flat`.
fn write_indices(flat: &[f32], nvec: &[usize], out: &mut [i64]) {
    let mut at = 0;
    for (&n, out) in nvec.iter().zip(out) {
        *out = argmax(&flat[at..at + n]) as i64;
        at += n;
    }
}
