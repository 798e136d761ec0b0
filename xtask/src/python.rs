//! The Python package's tests: `cargo xtask test` builds the extension into a wheel with
//! maturin, installs it into cached venvs and runs `python/tests` with pytest in each.
//!
//! Two venvs under the cache root ([`cache_root`]), each installed from a requirements
//! file of `python/requirements/` and reinstalled only when that file (or the Python
//! that made the venv) changes:
//!
//! * `python-venv` (`test.txt`): the newest Gymnasium, maturin and pytest; seconds to
//!   install.
//! * `rllib-venv` (`rllib.txt`): RLlib 2.60 with torch, which pins Gymnasium 1.2.2. The
//!   whole suite runs again there, the RLlib smoke test with it. About three minutes and
//!   4.7 GB once; `RLREC_SKIP_RLLIB=1` skips it (CI never sets it).
//! * `tune-venv` (`tune.txt`): Ray Tune 2.60 (no torch), rliable and TensorBoard's reader,
//!   for the sweep suite (`python/tests/tune`): the statistics against rliable, the event
//!   files against TensorBoard, and a sweep on a two-node Ray cluster. About a minute once;
//!   `RLREC_SKIP_RAY=1` skips it (CI never sets it).
//!
//! The first two venvs run `python/tests` but for `python/tests/tune`, which only the
//! third runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::checked;
use crate::libtorch::cache_root;

/// Written last into a venv: the requirements it was installed from.
const MARKER: &str = "rlrec-requirements";

/// A venv of the cache and the requirements file it is installed from.
struct Venv {
    name: &'static str,
    requirements: &'static str,
}

const LIGHT: Venv = Venv {
    name: "python-venv",
    requirements: "test.txt",
};
const RLLIB: Venv = Venv {
    name: "rllib-venv",
    requirements: "rllib.txt",
};
const TUNE: Venv = Venv {
    name: "tune-venv",
    requirements: "tune.txt",
};
/// obp 0.5.7 for `cargo xtask obd --peer`, on a Python before 3.11.
const OBP: Venv = Venv {
    name: "obp-venv",
    requirements: "obp-peer.txt",
};

/// The sweep suite, which needs the tune venv's packages.
const TUNE_TESTS: &str = "python/tests/tune";

/// Whether a developer asked to skip a heavy venv (`NAME=1`); CI never sets these.
fn skipped(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v != "0")
}

/// Builds the wheel, then installs it and runs the suite in each venv.
pub fn test() -> Result<()> {
    let root = crate::workspace_root()?;
    let light = ensure_venv(&root, &LIGHT, &python3())?;
    let wheel = build_wheel(&root, &light)?;
    let without_tune = ["python/tests", "--ignore", TUNE_TESTS];
    run_suite(&root, &light, &wheel, &without_tune)?;
    if skipped("RLREC_SKIP_RAY") {
        eprintln!("xtask: RLREC_SKIP_RAY is set: not running the sweep suite on Ray Tune 2.60");
    } else {
        let tune = ensure_venv(&root, &TUNE, &python3())?;
        run_suite(&root, &tune, &wheel, &[TUNE_TESTS])?;
    }
    if skipped("RLREC_SKIP_RLLIB") {
        eprintln!("xtask: RLREC_SKIP_RLLIB is set: not running the suite with RLlib 2.60 (Gymnasium 1.2.2)");
        return Ok(());
    }
    let rllib = ensure_venv(&root, &RLLIB, &python3())?;
    run_suite(&root, &rllib, &wheel, &without_tune)
}

/// The interpreter of the light venv with the current wheel installed (for the benchmark).
pub fn installed() -> Result<PathBuf> {
    let root = crate::workspace_root()?;
    let light = ensure_venv(&root, &LIGHT, &python3())?;
    let wheel = build_wheel(&root, &light)?;
    install(&light, &wheel)?;
    Ok(light)
}

/// The obp venv's interpreter, made with `base` (a Python before 3.11).
pub fn obp_venv(base: &str) -> Result<PathBuf> {
    ensure_venv(&crate::workspace_root()?, &OBP, base)
}

/// `$PYTHON`, else `python3`.
pub fn python3() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The venv's interpreter, (re)installing the venv with `base` first where its
/// requirements changed.
fn ensure_venv(root: &Path, venv: &Venv, base: &str) -> Result<PathBuf> {
    let file = root
        .join("python")
        .join("requirements")
        .join(venv.requirements);
    let requirements =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let version = Command::new(base)
        .arg("--version")
        .output()
        .with_context(|| format!("running {base} (Python 3 with venv and pip is required)"))?;
    let wanted = format!(
        "{}{requirements}",
        String::from_utf8_lossy(&version.stdout).trim_end()
    );
    let dir = cache_root()?.join(venv.name);
    let python = dir.join("bin").join("python");
    let marker = dir.join(MARKER);
    if python.is_file() && std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        return Ok(python);
    }
    eprintln!(
        "xtask: installing python/requirements/{} into {}",
        venv.requirements,
        dir.display()
    );
    new_venv(&dir, base)?;
    // The wheels are large (torch); a second copy in pip's cache helps nobody.
    pip_install(&python, &["--no-cache-dir", "-r"], &[file.as_os_str()])
        .with_context(|| format!("installing {}", file.display()))?;
    std::fs::write(&marker, wanted)?;
    Ok(python)
}

/// Creates an empty venv at `dir`, replacing what was there, with the interpreter `base`.
pub fn new_venv(dir: &Path, base: &str) -> Result<()> {
    crate::clear(dir)?;
    checked(Command::new(base).args(["-m", "venv"]).arg(dir))
        .with_context(|| format!("creating a venv with {base} (Python 3 with venv is required)"))
}

/// `python -m pip install`, quietly, with pip's `options` before the `packages`.
pub fn pip_install(
    python: &Path,
    options: &[&str],
    packages: &[impl AsRef<std::ffi::OsStr>],
) -> Result<()> {
    checked(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(options)
            .args(packages),
    )
}

/// `maturin build --release` of `python/` into `target/wheels/python/`; returns the wheel.
fn build_wheel(root: &Path, python: &Path) -> Result<PathBuf> {
    let out = root.join("target").join("wheels").join("python");
    crate::clear(&out)?;
    eprintln!("xtask: building the Python extension (maturin build --release)");
    checked(
        Command::new(python)
            .args(["-m", "maturin", "build", "--release", "--quiet", "--out"])
            .arg(&out)
            .arg("--interpreter")
            .arg(python)
            .current_dir(root.join("python")),
    )?;
    let wheels: Vec<PathBuf> = std::fs::read_dir(&out)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    match wheels.as_slice() {
        [wheel] => Ok(wheel.clone()),
        other => bail!("maturin left {} wheels in {}", other.len(), out.display()),
    }
}

/// Installs the wheel into the venv, replacing any earlier build.
fn install(python: &Path, wheel: &Path) -> Result<()> {
    checked(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--force-reinstall",
            ])
            .arg(wheel),
    )
}

/// Installs the wheel into the venv and runs pytest on `tests` there, with the `rlrec`
/// binary that the Rust tests built for the parity tests.
fn run_suite(root: &Path, python: &Path, wheel: &Path, tests: &[&str]) -> Result<()> {
    install(python, wheel)?;
    let rlrec = root.join("target").join("release").join("rlrec");
    if !rlrec.is_file() {
        bail!(
            "{} is missing: the Rust tests build it first",
            rlrec.display()
        );
    }
    eprintln!(
        "xtask: pytest {} with {}",
        tests.join(" "),
        python.display()
    );
    checked(
        Command::new(python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .args(tests)
            .current_dir(root)
            .env("RLREC_BIN", rlrec)
            // Tests never write bytecode into the source tree.
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    )
}
