//! A policy rlrec exported (`rlrec export`), acting without exploration in Rust:
//! `rlrec.load_policy` wraps it. No libtorch: SlateQ's networks are evaluated from the
//! exported numbers ([`agents::portable`]).

use std::path::PathBuf;

use agents::portable::{Portable, Scores};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// `scores`' result: the values and, where the policy has them, the choice weights.
type ValuesAndWeights<'py> = (Bound<'py, PyArray1<f32>>, Option<Bound<'py, PyArray1<f32>>>);

/// An exported policy and the scratch its scoring reuses.
#[pyclass(module = "rlrec._rlrec")]
pub struct ExportedPolicy {
    policy: Portable,
    scores: Scores,
}

impl ExportedPolicy {
    /// Scores one observation, after checking its shapes and values.
    fn score(&mut self, user: &[f32], items: &[f32], rows: usize) -> PyResult<()> {
        let l = self.policy.layout;
        if user.len() != l.user_dim {
            return Err(PyValueError::new_err(format!(
                "user has {} features; the policy reads {}",
                user.len(),
                l.user_dim
            )));
        }
        if rows < l.slate_size || items.len() != rows * l.doc_dim {
            return Err(PyValueError::new_err(format!(
                "items must be at least {} candidates (the slate size) of {} features each",
                l.slate_size, l.doc_dim
            )));
        }
        if !user.iter().chain(items).all(|v| v.is_finite()) {
            return Err(PyValueError::new_err("a feature is NaN or infinite"));
        }
        self.policy.score(user, items, &mut self.scores);
        Ok(())
    }
}

#[pymethods]
impl ExportedPolicy {
    /// Reads the `.onnx` model `rlrec export` wrote.
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        let policy = export::load(&path).map_err(|e| crate::options::value_error(&e))?;
        Ok(Self {
            policy,
            scores: Scores::default(),
        })
    }

    /// The algorithm's name.
    #[getter]
    fn algorithm(&self) -> String {
        self.policy.algorithm.clone()
    }

    /// The layout: candidates, slate size, features per candidate, user features, and the
    /// time feature's index and episode length where it has one.
    #[getter]
    fn layout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let l = self.policy.layout;
        let d = PyDict::new(py);
        d.set_item("num_candidates", l.num_candidates)?;
        d.set_item("slate_size", l.slate_size)?;
        d.set_item("doc_dim", l.doc_dim)?;
        d.set_item("user_dim", l.user_dim)?;
        d.set_item("time", l.time.map(|t| (t.index, t.steps)))?;
        Ok(d)
    }

    /// `(values, weights)`: the candidates' scores (SlateQ: then no click's) and, for
    /// SlateQ's weighted choice models, the choice weights (else `None`).
    fn scores<'py>(
        &mut self,
        py: Python<'py>,
        user: PyReadonlyArray1<'py, f32>,
        items: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<ValuesAndWeights<'py>> {
        let rows = items.shape()[0];
        self.score(user.as_slice()?, items.as_slice()?, rows)?;
        let values = self.scores.values.clone().into_pyarray(py);
        let weights =
            (!self.scores.weights.is_empty()).then(|| self.scores.weights.clone().into_pyarray(py));
        Ok((values, weights))
    }

    /// The slate, best first.
    fn slate(
        &mut self,
        user: PyReadonlyArray1<'_, f32>,
        items: PyReadonlyArray2<'_, f32>,
    ) -> PyResult<Vec<usize>> {
        let rows = items.shape()[0];
        let (user, items) = (user.as_slice()?, items.as_slice()?);
        self.score(user, items, rows)?;
        let mut slate = vec![0; self.policy.layout.slate_size];
        self.policy.slate(user, items, &mut self.scores, &mut slate);
        Ok(slate)
    }
}
