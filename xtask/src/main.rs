//! `cargo xtask`: set-up and automation for rlrec.
//!
//! * `cargo xtask train [ARGS…]`: install libtorch if needed, build in release mode and run
//!   `rlrec train --algo slateq [ARGS…]`, the main job.
//! * `cargo xtask test`: the same set-up, then the whole test suite and the smoke runs of
//!   the figures (`plots --quick`) and the benchmark (`bench --quick`).
//! * `cargo xtask plots [--quick]`: every figure in `docs/img/` from real runs (`--quick`:
//!   tiny runs into `target/plots-quick/`, a smoke test).
//! * `cargo xtask bench [--quick] [--vs-recsim]`: speed figures, side by side with
//!   Python RecSim's (see [`bench`]).
//! * `cargo xtask setup`: only the libtorch set-up; prints the folder.
//!
//! The `xtask` alias builds this program in release mode, because the benchmark measures
//! the simulator in-process (workspace members get no optimisation in the dev profile).

mod bench;
mod libtorch;
mod plots;
mod python;

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

const USAGE: &str =
    "usage: cargo xtask <train [ARGS…] | test | plots [--quick] | bench [--quick] [--vs-recsim] | setup>";

fn run(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        bail!("{USAGE}");
    };
    match command.as_str() {
        "setup" => {
            println!("{}", libtorch::ensure()?.display());
            Ok(())
        }
        "train" => {
            cargo(&["build", "--release", "-p", "cli", "--features", "slateq"])?;
            let mut train = vec!["train".to_string()];
            if !rest
                .iter()
                .any(|a| a == "--algo" || a.starts_with("--algo="))
            {
                train.extend(["--algo".into(), "slateq".into()]);
            }
            train.extend(rest.iter().cloned());
            let rlrec = workspace_root()?.join("target/release/rlrec");
            checked(Command::new(rlrec).args(&train))
        }
        "test" => {
            cargo(&["test", "--workspace", "--all-features", "--release"])?;
            // Apart, so that no libtorch is linked in (see xtask/Cargo.toml).
            cargo(&["test", "--release", "-p", "xtask", "--bins"])?;
            python::test()?;
            plots::plots(true)?;
            bench::run(&["--quick".to_string()])
        }
        "plots" => plots::plots(rest.iter().any(|a| a == "--quick")),
        "bench" => bench::run(rest),
        // A measurement in a child process of the benchmark.
        "__measure" => bench::child(rest),
        other => bail!("unknown command `{other}`; {USAGE}"),
    }
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
    let libtorch = libtorch::ensure()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    checked(
        Command::new(cargo)
            .args(args)
            .current_dir(workspace_root()?)
            .env("LIBTORCH", &libtorch)
            .env_remove("LIBTORCH_USE_PYTORCH"),
    )
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
