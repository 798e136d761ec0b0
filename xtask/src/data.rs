//! Data sets, fetched from the package registries into the cache folder (never into the
//! repository): the Open Bandit Dataset's samples, which ship in the source archive of
//! PyPI's `obp` 0.5.7 (Saito et al., NeurIPS 2021 Datasets and Benchmarks; the data under
//! CC BY 4.0, obp under Apache 2.0). `rlrec import obd` reads them there.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::libtorch::cache_root;
use crate::python::{obp_venv, python3};
use crate::{cargo, checked, rlrec, workspace_root};

const OBP: &str = "obp-0.5.7";

/// The unpacked archive (`<cache>/obd/obp-0.5.7`), downloading it first if needed.
pub fn ensure_obd() -> Result<PathBuf> {
    let dir = cache_root()?.join("obd");
    let done = dir.join(OBP);
    if done.join("obp/dataset/obd/random/all/all.csv").is_file() {
        return Ok(done);
    }
    // Fetched and unpacked beside, renamed into place when whole: an interrupted set-up
    // is never taken for a finished one.
    let partial = dir.join("partial");
    crate::clear(&partial)?;
    std::fs::create_dir_all(&partial)?;
    eprintln!(
        "xtask: downloading the Open Bandit Dataset ({OBP}'s source archive from PyPI, 1.3 MB) into {}",
        dir.display()
    );
    // obp installs only on Python < 3.11; its archive is all that is needed, as is.
    checked(
        Command::new(python3())
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args([
                "--no-deps",
                "--no-binary",
                ":all:",
                "--ignore-requires-python",
            ])
            .args(["obp==0.5.7", "-d"])
            .arg(&partial),
    )
    .context("downloading obp 0.5.7's source archive with pip (Python 3 with pip is required)")?;
    checked(
        Command::new("tar")
            .arg("xzf")
            .arg(partial.join(format!("{OBP}.tar.gz")))
            .arg("-C")
            .arg(&partial)
            .args(["LICENSE", "obp/dataset/obd", "obp/policy/conf"].map(|p| format!("{OBP}/{p}"))),
    )
    .context("unpacking obp's archive")?;
    std::fs::rename(partial.join(OBP), &done)
        .with_context(|| format!("moving the data set into {}", done.display()))?;
    crate::clear(&partial)?;
    Ok(done)
}

/// A Python 3.10 for obp: `$RLREC_OBP_PYTHON`, else `python3.10` if it runs, else
/// pyenv's.
fn python310() -> Result<String> {
    if let Ok(python) = std::env::var("RLREC_OBP_PYTHON") {
        return Ok(python);
    }
    let runs = |p: &str| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    let pyenv = pyenv.and_then(|root| std::fs::read_dir(root.join("versions")).ok());
    std::iter::once("python3.10".to_string())
        .chain(pyenv.into_iter().flatten().filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("3.10.")
                .then(|| e.path().join("bin/python3.10").to_string_lossy().into_owned())
        }))
        .find(|p| runs(p))
        .context("obp 0.5.7 installs only on Python < 3.11 and no python3.10 was found; set RLREC_OBP_PYTHON")
}

/// `cargo xtask obd [--peer]`: on every campaign, both directions of the dataset's
/// protocol (`rlrec import obd`, then `rlrec ope` with the other policy's log as the
/// truth), their output written into `docs/obd-results.md` with the campaign `all`'s
/// charts in `docs/img/`; with `--peer`, obp's own estimators on the same rows, in
/// `docs/obd-peer-check.md` (xtask/obd_peer_check.py).
pub fn obd(args: &[String]) -> Result<()> {
    let peer = match args {
        [] => false,
        [flag] if flag == "--peer" => true,
        _ => bail!("usage: cargo xtask obd [--peer]"),
    };
    ensure_obd()?;
    let root = workspace_root()?;
    let work = root.join("target/obd");
    crate::clear(&work)?;
    std::fs::create_dir_all(&work)?;
    cargo(&crate::BUILD_ALL)?;
    let run = |line: &str| crate::run_rlrec(&work, &line.split(' ').collect::<Vec<_>>());
    let mut page = String::from(
        "# The Open Bandit Dataset: each policy's click rate from the other's logs\n\n\
         Written by `cargo xtask obd` (see [import.md](import.md)): the commands and what they \
         printed. \"covers the truth\" says whether an estimate's 95% interval holds the \
         on-policy click rate's point value.\n",
    );
    for campaign in ["all", "men", "women"] {
        let _ = writeln!(page, "\n## Campaign `{campaign}`\n\n```console");
        for policy in ["random", "bts"] {
            let line = format!(
                "import obd --campaign {campaign} --policy {policy} --out {policy}-{campaign}"
            );
            let _ = write!(page, "$ rlrec {line}\n{}", run(&line)?);
        }
        // Both directions, charted on `all`; then Thompson sampling learned from the
        // random log's first half, evaluated on its second, beside BTS.
        for (logging, target, truth, chart) in [
            ("random", "--target bts", "bts", "random-to-bts"),
            ("bts", "--target uniform", "random", "bts-to-random"),
            ("random", "--learn thompson", "bts", ""),
        ] {
            let chart = format!("obd-{campaign}-{chart}.png");
            let plot = campaign == "all" && !chart.ends_with("-.png");
            let mut line =
                format!("ope --logs {logging}-{campaign} {target} --on-policy {truth}-{campaign}");
            if plot {
                let _ = write!(line, " --plot {chart}");
            }
            let _ = write!(page, "$ rlrec {line}\n{}", run(&line)?);
            if plot {
                std::fs::copy(work.join(&chart), root.join("docs/img").join(&chart))?;
            }
        }
        page.push_str("```\n");
        if campaign == "all" {
            page.push_str("\n![random → BTS](img/obd-all-random-to-bts.png)\n![BTS → random](img/obd-all-bts-to-random.png)\n");
        }
    }
    std::fs::write(root.join("docs/obd-results.md"), &page)?;
    println!("{page}");
    if !peer {
        return Ok(());
    }
    checked(
        Command::new(obp_venv(&python310()?)?)
            // Another libtorch on the library path (rlrec's, for the tests) would be
            // loaded by obp's torch 1.12 in place of its own.
            .env_remove("LD_LIBRARY_PATH")
            .arg(root.join("xtask/obd_peer_check.py"))
            .arg(rlrec()?)
            .arg(work.join("peer"))
            .arg(root.join("docs/obd-peer-check.md")),
    )
}
