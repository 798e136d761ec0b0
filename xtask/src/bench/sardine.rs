//! `cargo xtask bench --vs-sardine`: SARDINE's eight worlds on one core, rlrec beside
//! `sardine-rec` 1.0.8 (through `xtask/sardine_bench.py` in the test venv), under the
//! random policy and the greedy oracle, rounds alternating between the two. Writes
//! `target/bench/sardine.json` and, for a full run, `docs/sardine-benchmarks.md`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use env::SardinePreset;
use serde::Serialize;

use super::process;
use super::rows::Rate;

/// One preset under one policy, both simulators.
#[derive(Debug, Serialize)]
struct Row {
    id: &'static str,
    policy: &'static str,
    rlrec: Rate,
    sardine: Rate,
}

const POLICIES: [&str; 2] = ["random", "oracle"];

/// Runs the comparison: `seconds` per round, `rounds` rounds of each.
pub fn run(root: &Path, quick: bool) -> Result<()> {
    let (seconds, rounds) = if quick { (0.2, 1) } else { (2.0, 5) };
    let python = crate::python::installed()?;
    let script = root.join("xtask").join("sardine_bench.py");
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    let mut rows = Vec::new();
    for preset in SardinePreset::all() {
        for policy in POLICIES {
            eprintln!("xtask: timing {} under {policy} (one core)", preset.id);
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let args = ["sardine", preset.name, policy, &seconds.to_string(), "1"];
                ours.extend(rates(Command::new(&exe).arg("__measure").args(args))?);
                theirs.extend(rates(
                    Command::new(&python)
                        .arg(&script)
                        .args([preset.id, policy])
                        .args(["--seconds", &seconds.to_string(), "--rounds", "1"]),
                )?);
            }
            rows.push(Row {
                id: preset.id,
                policy,
                rlrec: Rate::of(ours),
                sardine: Rate::of(theirs),
            });
        }
    }
    let table = markdown(&rows);
    println!("{table}");
    let dir = root.join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("sardine.json"),
        serde_json::to_string_pretty(&rows)?,
    )?;
    if !quick {
        let page = format!(
            "# SARDINE's worlds: rlrec beside `sardine-rec` 1.0.8\n\n\
             Written by `cargo xtask bench --vs-sardine`: steps per second on one core, \
             reset+step of whole episodes, the median of {rounds} rounds of {seconds} s each, \
             the two simulators' rounds alternating. rlrec's items are generated from \
             `item_seed`, SARDINE's loaded from its files (the same sizes). The model and \
             the parity figures: [sardine.md](sardine.md).\n\n{table}"
        );
        std::fs::write(root.join("docs").join("sardine-benchmarks.md"), page)?;
    }
    Ok(())
}

/// The steps per second a measuring process printed.
fn rates(command: &mut Command) -> Result<Vec<f64>> {
    let finished = process::run(command, |_, _| ())?;
    let value: serde_json::Value = serde_json::from_str(finished.stdout.trim())
        .with_context(|| format!("a SARDINE timing printed `{}`", finished.stdout.trim()))?;
    serde_json::from_value(value["rounds"].clone()).context("a SARDINE timing printed no rounds")
}

fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| world | policy | rlrec (steps/s) | sardine-rec (steps/s) | rlrec / sardine-rec |\n\
         |---|---|---:|---:|---:|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| `{}` | {} | {:.0} | {:.0} | {:.0}× |",
            r.id,
            r.policy,
            r.rlrec.median,
            r.sardine.median,
            r.rlrec.median / r.sardine.median
        );
    }
    out
}
