//! `cargo xtask`: set-up and automation for rlrec.
//!
//! * `cargo xtask train [ARGS…]`: install libtorch if needed, build in release mode and run
//!   `rlrec train --algo slateq [ARGS…]`, the main job.
//! * `cargo xtask test`: the same set-up, then the quality gates (formatting, clippy with
//!   every feature, the documentation), the whole test suite, the custom-world example,
//!   the installed binary, and the smoke runs of the figures (`plots --quick`),
//!   the benchmark (`bench --quick`), the suites (`suite --quick`, with and without
//!   `--sardine`) and the OPE validation (`ope-validation --quick`).
//! * `cargo xtask install [--root DIR]`: the `rlrec` binary with SlateQ into `DIR/bin`
//!   (default `~/.cargo`, whose `bin` is on the PATH of a Rust set-up).
//! * `cargo xtask example [--quick]`: the custom-world example (`examples/custom_world.rs`)
//!   and a whole run through the library's driver (`examples/fit.rs`).
//! * `cargo xtask plots [--quick]`: every figure in `docs/img/` from real runs (`--quick`:
//!   tiny runs into `target/plots-quick/`, a smoke test).
//! * `cargo xtask bench [--quick] [--vs-recsim | --vs-sardine | --serve]`: speed figures,
//!   side by side with Python RecSim's, or SARDINE's worlds beside `sardine-rec`'s, or
//!   `rlrec serve` under load (see [`bench`](mod@bench)).
//! * `cargo xtask suite [--quick] [--sardine] [--jobs J]`: the default SlateQ against the
//!   baselines and, where the planner applies, the optimum, on a suite of scenarios; with
//!   `--sardine`, SARDINE's worlds against random and the greedy oracle (see [`suite`]).
//! * `cargo xtask ope-validation [--quick] [--sets N]`: the off-policy estimators against the
//!   simulator over many log sets (see [`validation`]), written as `docs/ope-validation.md`.
//! * `cargo xtask obd [--peer]`: the Open Bandit Dataset's protocol (each policy's click
//!   rate from the other's logs) on every campaign, as `docs/obd-results.md`; `--peer`
//!   adds obp's own estimators on the same rows (see [`data`]).
//! * `cargo xtask layers [--check]`: the workspace's structure: crate and file sizes, the
//!   imports between modules, and any circle among them (see [`layers`]).
//! * `cargo xtask setup`: only the set-up (libtorch, the Open Bandit Dataset); prints
//!   their folders.
//!
//! xtask links none of the workspace's libraries, so that it builds in seconds: the
//! benchmark's measurements run in a program of their own (`crates/measure`).

mod bench;
mod data;
mod layers;
mod libtorch;
mod plots;
mod python;
mod suite;
mod validation;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <train [ARGS…] | test | install [--root DIR] | example [--quick] | plots [--quick] | bench [--quick] [--vs-recsim | --vs-sardine | --serve] | suite [--quick] [--sardine] [--jobs J] | ope-validation [--quick] [--sets N] | obd [--peer] | layers [--check] | setup>";

/// The release build of the `rlrec` binary with SlateQ, and nothing else: the main job's.
const BUILD_CLI: [&str; 6] = ["build", "--release", "-p", "cli", "--features", "slateq"];

/// The release build of every program of the workspace (`rlrec`, `measure`, the
/// examples) with every feature, which the other commands use. Examples bring in the
/// dev-dependencies, so the features resolve as for `cargo test --workspace
/// --all-features --release`: after the tests, this build only links.
pub(crate) const BUILD_ALL: [&str; 7] = [
    "build",
    "--release",
    "--workspace",
    "--all-features",
    "--bins",
    "--examples",
    "--quiet",
];

fn run(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        bail!("{USAGE}");
    };
    match command.as_str() {
        "setup" => {
            println!("{}", libtorch::ensure()?.display());
            println!("{}", data::ensure_obd()?.display());
            Ok(())
        }
        "train" => {
            cargo(&BUILD_CLI)?;
            let mut train = vec!["train".to_string()];
            if !rest
                .iter()
                .any(|a| a == "--algo" || a.starts_with("--algo="))
            {
                train.extend(["--algo".into(), "slateq".into()]);
            }
            train.extend(rest.iter().cloned());
            checked(Command::new(rlrec()?).args(&train))
        }
        "test" => test(),
        "install" => {
            let root = match rest {
                [] => default_install_root()?,
                [flag, dir] if flag == "--root" => PathBuf::from(dir),
                _ => bail!("usage: cargo xtask install [--root DIR]"),
            };
            let installed = install(&root, &BUILD_CLI)?;
            println!(
                "installed {} (it finds libtorch in {} by its rpath: keep that folder)",
                installed.display(),
                libtorch::ensure()?.display()
            );
            Ok(())
        }
        "example" => example(rest.iter().any(|a| a == "--quick")),
        "plots" => plots::plots(rest.iter().any(|a| a == "--quick")),
        "bench" => bench::run(rest),
        "suite" => suite::run(rest),
        "ope-validation" => validation::run(rest),
        "obd" => data::obd(rest),
        "layers" => layers::run(rest),
        other => bail!("unknown command `{other}`; {USAGE}"),
    }
}

/// The quality gates, then every test.
fn test() -> Result<()> {
    cargo(&["fmt", "--all", "--check"])?;
    // No circle of imports, no crate or file past its size.
    layers::run(&["--check".to_string()])?;
    // One pass with every feature (the default members alone, plain cargo's view, differ
    // by one function), in the release profile like every build below: build scripts
    // (libtorch's C++ wrapper, zstd) and proc-macros are then compiled once for all.
    cargo(&[
        "clippy",
        "--release",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo_with(
        &[
            "doc",
            "--release",
            "--workspace",
            "--all-features",
            "--no-deps",
            "--lib",
        ],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // Doctests are not rlrec's binaries: they find libtorch through the library path.
    let library_path = libtorch::ensure()?.join("lib");
    data::ensure_obd()?;
    cargo_with(
        &["test", "--workspace", "--all-features", "--release"],
        &[
            (
                "LD_LIBRARY_PATH",
                library_path.to_str().context("a UTF-8 path")?,
            ),
            // The tests on the Open Bandit Dataset skip where it is missing, except here.
            ("RLREC_REQUIRE_DATA", "1"),
        ],
    )?;
    example(true)?;
    let root = workspace_root()?.join("target/xtask-install");
    let installed = install(&root, &BUILD_ALL)?;
    check_installed(&installed)?;
    python::test()?;
    plots::plots(true)?;
    bench::run(&["--quick".to_string()])?;
    bench::run(&["--quick".to_string(), "--serve".to_string()])?;
    suite::run(&["--quick".to_string()])?;
    suite::run(&["--quick".to_string(), "--sardine".to_string()])?;
    validation::run(&["--quick".to_string()])
}

/// `~/.cargo`, or `CARGO_HOME`.
fn default_install_root() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME").context("HOME is not set; pass --root DIR")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

/// Builds `rlrec` with SlateQ (by `build`, [`BUILD_CLI`] or [`BUILD_ALL`]) and copies it
/// into `root/bin`; its rpath names the libtorch folder, so it runs from anywhere without
/// `LD_LIBRARY_PATH`.
fn install(root: &Path, build: &[&str]) -> Result<PathBuf> {
    cargo(build)?;
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    let target = bin.join("rlrec");
    let tmp = bin.join(".rlrec.tmp");
    std::fs::copy(rlrec()?, &tmp).with_context(|| format!("copying to {}", tmp.display()))?;
    std::fs::rename(&tmp, &target).with_context(|| format!("installing {}", target.display()))?;
    Ok(target)
}

/// The installed binary runs from another folder with no library path set, SlateQ and
/// all.
fn check_installed(rlrec: &Path) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("rlrec-install-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = checked(
        Command::new(rlrec)
            .args([
                "train",
                "--algo",
                "slateq",
                "--iterations",
                "1",
                "--steps-per-iteration",
                "100",
                "--eval-episodes",
                "1",
                "--out",
                "run",
            ])
            .current_dir(&dir)
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("LIBTORCH"),
    );
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The examples: a world defined outside rlrec's crates, trained; a whole run through
/// the library's driver.
fn example(quick: bool) -> Result<()> {
    // Built as the tests build the workspace, whose release libraries it reuses.
    cargo(&BUILD_ALL)?;
    let library_path = libtorch::ensure()?.join("lib");
    let examples = workspace_root()?.join("target/release/examples");
    let run_example = |name: &str, args: &[&str]| {
        // Examples have no rpath: they find libtorch as the doctests do.
        checked(
            Command::new(examples.join(name))
                .args(args)
                .env("LD_LIBRARY_PATH", &library_path),
        )
    };
    run_example("custom_world", if quick { &["--quick"] } else { &[] })?;
    // A whole run through the library's driver, into a folder of its own.
    let run = workspace_root()?.join("target/example-fit");
    clear(&run)?;
    run_example("fit", &[run.to_str().context("a UTF-8 path")?])
}

/// Removes `dir` and what it holds, if it is there: a previous run's folder.
pub(crate) fn clear(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    Ok(())
}

/// The built `rlrec` binary.
pub(crate) fn rlrec() -> Result<PathBuf> {
    Ok(workspace_root()?.join("target/release/rlrec"))
}

pub(crate) fn workspace_root() -> Result<std::path::PathBuf> {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Ok(manifest
        .parent()
        .context("xtask lives inside the workspace")?
        .to_path_buf())
}

/// Runs cargo with libtorch set up for `torch-sys`.
pub(crate) fn cargo(args: &[&str]) -> Result<()> {
    cargo_with(args, &[])
}

/// [`cargo`] with extra environment variables.
fn cargo_with(args: &[&str], vars: &[(&str, &str)]) -> Result<()> {
    let libtorch = libtorch::ensure()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(args)
        .current_dir(workspace_root()?)
        .env("LIBTORCH", &libtorch)
        .env_remove("LIBTORCH_USE_PYTORCH");
    for (k, v) in vars {
        command.env(k, v);
    }
    checked(&mut command)
}

/// Runs the built `rlrec` with `args` in `dir`: its standard output, or its error.
pub(crate) fn run_rlrec(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(rlrec()?)
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("starting rlrec {args:?}"))?;
    if !out.status.success() {
        bail!(
            "rlrec {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn checked(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {:?}", command.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        bail!("{:?} failed: {status}", command.get_program())
    }
}
