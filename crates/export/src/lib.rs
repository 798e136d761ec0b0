//! Policies out of rlrec: a [`Portable`] policy written as an ONNX model with a JSON
//! sidecar that says how to use it, and read back from that model alone. No dependency
//! beyond what rlrec has: the few protobuf rules ONNX needs are written here ([`proto`]).
//!
//! ```
//! use agents::portable::{Portable, Scorer, Scores};
//! use env::Layout;
//!
//! let layout = Layout { num_candidates: 3, slate_size: 2, doc_dim: 1, user_dim: 0, time: None };
//! let policy = Portable { algorithm: "linucb".into(), layout, scorer: Scorer::Linear { theta: vec![2.0] } };
//! let bytes = export::onnx::write(&policy).unwrap();
//! let back = export::onnx::read(&bytes).unwrap();
//! assert_eq!(back, policy);
//! let (mut scores, mut slate) = (Scores::default(), [0; 2]);
//! back.slate(&[], &[0.5, 3.0, 1.0], &mut scores, &mut slate);
//! assert_eq!(slate, [1, 2]);
//! ```

#![warn(missing_docs)]

pub mod onnx;
pub mod proto;

use std::fs;
use std::path::{Path, PathBuf};

use agents::portable::{Choice, Portable, Scorer};
use agents::AgentError;
use serde_json::json;
use thiserror::Error;

/// A policy that cannot be written or read.
#[derive(Debug, Error)]
pub enum ExportError {
    /// A file that is not a model rlrec exported, or a damaged one.
    #[error("not a policy rlrec exported: {0}")]
    NotOurs(String),
    /// A policy this export does not cover.
    #[error("this policy cannot be exported: {0}")]
    Unsupported(String),
    /// A policy whose numbers do not fit its layout.
    #[error("the policy does not hold together")]
    Policy(#[source] AgentError),
    /// A file that cannot be read or written.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

impl From<AgentError> for ExportError {
    fn from(e: AgentError) -> Self {
        ExportError::Policy(e)
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The sidecar's path beside a model's: `policy.onnx` → `policy.json`.
pub fn sidecar_path(model: &Path) -> PathBuf {
    model.with_extension("json")
}

/// The sidecar: the inputs and outputs by name and shape, the layout, and how a slate is
/// chosen from the outputs, for a reader who has ONNX Runtime and not rlrec.
pub fn sidecar(policy: &Portable) -> serde_json::Value {
    let l = policy.layout;
    let mut inputs = Vec::new();
    if l.user_dim > 0 {
        inputs.push(
            json!({"name": "user", "shape": [l.user_dim], "dtype": "float32",
            "holds": "the observation's user features, as rlrec shows them"}),
        );
    }
    inputs.push(
        json!({"name": "items", "shape": ["candidates", l.doc_dim], "dtype": "float32",
        "holds": "one row of features per candidate"}),
    );
    let (outputs, slate) = match &policy.scorer {
        Scorer::Linear { .. } => (
            json!([{"name": "scores", "shape": ["candidates"], "holds": "the posterior mean reward of each candidate"}]),
            json!({"rule": "top_k", "how": "the slate_size highest scores, best first; ties keep the lower index first"}),
        ),
        Scorer::SlateQ(net) => {
            let mut outputs = vec![json!({"name": "values", "shape": ["candidates + 1"],
                "holds": "Q̄ of each candidate, then of no click"})];
            let how = match net.choice {
                Choice::FirstPosition => {
                    "first_position: the slate_size highest values, best first (the user consumes the first position)"
                }
                _ => {
                    outputs.push(json!({"name": "weights", "shape": ["candidates + 1"],
                        "holds": "the choice model's weight of each candidate, then of no click"}));
                    "slate value Σ w_i·Q̄_i / (Σ w_i + w_∅) over the slate and no click, maximised by the optimizer; the slate ordered by Q̄, best first"
                }
            };
            (
                json!(outputs),
                json!({"rule": "slateq", "optimizer": net.optimizer, "how": how}),
            )
        }
    };
    json!({
        "format": "rlrec-policy",
        "version": 1,
        "algorithm": policy.algorithm,
        "layout": l,
        "inputs": inputs,
        "outputs": outputs,
        "slate": slate,
        "time_feature": l.time.map(|t| json!({"index": t.index, "steps": t.steps,
            "holds": "the remaining fraction (T − t) / T of the episode; the model log-scales it itself"})),
    })
}

/// Writes `policy` to `model` (ONNX) and its sidecar beside it, each whole or not at all.
pub fn save(policy: &Portable, model: &Path) -> Result<(), ExportError> {
    let bytes = onnx::write(policy)?;
    let text = serde_json::to_string_pretty(&sidecar(policy)).expect("a sidecar serialises");
    for (path, contents) in [
        (model.to_path_buf(), bytes),
        (sidecar_path(model), text.into_bytes()),
    ] {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        fs::write(&tmp, contents).map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
    }
    Ok(())
}

/// Reads a model [`save`] wrote.
pub fn load(model: &Path) -> Result<Portable, ExportError> {
    onnx::read(&fs::read(model).map_err(io(model))?)
}
