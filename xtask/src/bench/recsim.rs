//! Python RecSim 0.2.4 in a cache venv, timed by `xtask/recsim_bench.py`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use super::process;
use crate::libtorch::cache_root;
use crate::python::{new_venv, pip_install, python3};

/// What RecSim's environments import, pinned to the versions of the reference figures'
/// machine (Python 3.11, numpy 1.26). RecSim itself comes without its declared
/// dependencies: TensorFlow, dopamine and scipy serve only its agents and runner.
const PACKAGES: [&str; 5] = [
    "numpy==1.26.4",
    "gym==0.26.2",
    "gin-config==0.5.0",
    "absl-py==2.1.0",
    "six==1.16.0",
];
const RECSIM: &str = "recsim==0.2.4";
/// Written last, so that an interrupted install is redone rather than trusted.
const COMPLETE: &str = "rlrec-complete";

/// The venv's interpreter, installing the venv first if needed (about 15 s, once).
pub fn ensure_venv() -> Result<PathBuf> {
    let venv = cache_root()?.join("recsim-venv");
    let python = venv.join("bin").join("python");
    if venv.join(COMPLETE).is_file() && python.is_file() {
        return Ok(python);
    }
    eprintln!(
        "xtask: installing RecSim 0.2.4 from PyPI into {} (once)",
        venv.display()
    );
    new_venv(&venv, &python3())?;
    pip_install(&python, &[], &PACKAGES)?;
    pip_install(&python, &["--no-deps"], &[RECSIM])?;
    std::fs::write(venv.join(COMPLETE), "")?;
    Ok(python)
}

/// Times one scenario in its own interpreter; returns the steps per second of every
/// round and the child's peak RSS (KiB), and the versions it ran.
pub fn measure(
    python: &Path,
    script: &Path,
    scenario: &str,
    seconds: f64,
    rounds: usize,
) -> Result<(Vec<f64>, u64, serde_json::Value)> {
    let (value, peak) = process::json(
        Command::new(python)
            .arg(script)
            .arg(scenario)
            .args(["--seconds", &seconds.to_string()])
            .args(["--rounds", &rounds.to_string()]),
    )?;
    let rounds = process::rounds(&value)?;
    Ok((rounds, peak, value["versions"].clone()))
}
