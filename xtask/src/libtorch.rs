//! Finding or installing the libtorch that `tch` links.
//!
//! `tch 0.26` needs libtorch 2.13.0. The user's own (`LIBTORCH`) wins; otherwise the
//! CPU-sufficient subset of PyPI's `torch==2.13.0` wheel is installed once into a cache
//! folder with pip (PyPI has no CPU-only build; the two small CUDA runtime wheels are what
//! `libtorch_cpu.so` links against).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const TORCH_VERSION: &str = "2.13.0";
const WHEELS: [&str; 3] = [
    "torch==2.13.0",
    "nvidia-cuda-runtime==13.0.96",
    "nvidia-cuda-cupti==13.0.85",
];

/// The cache root: `RLREC_CACHE`, else `$XDG_CACHE_HOME/rlrec`, else `~/.cache/rlrec`.
pub fn cache_root() -> Result<PathBuf> {
    storage::cache_root().context("HOME is not set; set RLREC_CACHE")
}

fn is_libtorch(dir: &Path) -> bool {
    dir.join("lib").join("libtorch_cpu.so").is_file()
        || dir.join("lib").join("libtorch_cpu.dylib").is_file()
}

/// The libtorch folder to build against, installing it first if needed.
pub fn ensure() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("LIBTORCH") {
        let dir = PathBuf::from(dir);
        if !is_libtorch(&dir) {
            bail!(
                "LIBTORCH={} has no lib/libtorch_cpu.so; unset it to let xtask install libtorch {TORCH_VERSION}",
                dir.display()
            );
        }
        return Ok(dir);
    }
    let target = cache_root()?.join(format!("torch-{TORCH_VERSION}"));
    let torch = target.join("torch");
    if is_libtorch(&torch) {
        return Ok(torch);
    }
    install(&target)?;
    Ok(torch)
}

/// `pip install --target` into a temporary folder, renamed into place when complete, so
/// an interrupted install is never mistaken for a finished one.
fn install(target: &Path) -> Result<()> {
    let partial = target.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial)
            .with_context(|| format!("removing {}", partial.display()))?;
    }
    std::fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    eprintln!(
        "xtask: installing libtorch {TORCH_VERSION} from PyPI into {} (about 540 MB, once)",
        target.display()
    );
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--root-user-action=ignore",
            "--target",
        ])
        .arg(&partial)
        .args(WHEELS)
        .status()
        .with_context(|| format!("running {python} -m pip (Python 3 with pip is required)"))?;
    if !status.success() {
        bail!("pip could not install {}: {status}", WHEELS.join(" "));
    }
    if !is_libtorch(&partial.join("torch")) {
        bail!("the torch wheel installed without lib/libtorch_cpu.so");
    }
    if target.exists() {
        std::fs::remove_dir_all(target)
            .with_context(|| format!("removing {}", target.display()))?;
    }
    std::fs::rename(&partial, target)
        .with_context(|| format!("moving into {}", target.display()))?;
    Ok(())
}
