//! Python RecSim 0.2.4 in a cache venv, timed by `xtask/recsim_bench.py`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::process;
use crate::checked;
use crate::libtorch::cache_root;

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
    if venv.exists() {
        std::fs::remove_dir_all(&venv).with_context(|| format!("removing {}", venv.display()))?;
    }
    let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    eprintln!(
        "xtask: installing RecSim 0.2.4 from PyPI into {} (once)",
        venv.display()
    );
    checked(Command::new(&base).args(["-m", "venv"]).arg(&venv))
        .with_context(|| format!("creating a venv with {base} (Python 3 with venv is required)"))?;
    let pip = |extra: &[&str], packages: &[&str]| {
        checked(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(extra)
                .args(packages),
        )
    };
    pip(&[], &PACKAGES)?;
    pip(&["--no-deps"], &[RECSIM])?;
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
    let finished = process::run(
        Command::new(python)
            .arg(script)
            .arg(scenario)
            .args(["--seconds", &seconds.to_string()])
            .args(["--rounds", &rounds.to_string()]),
        |_, _| (),
    )?;
    let value: serde_json::Value = serde_json::from_str(finished.stdout.trim())
        .with_context(|| format!("RecSim's harness printed `{}`", finished.stdout.trim()))?;
    let rounds = serde_json::from_value(value["rounds"].clone())
        .context("RecSim's harness printed no rounds")?;
    Ok((rounds, finished.peak_rss_kib, value["versions"].clone()))
}
