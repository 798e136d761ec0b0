//! `cargo xtask bench --vs-sardine`: SARDINE's eight worlds on one core, rlrec beside
//! `sardine-rec` 1.0.8 (through `xtask/sardine_bench.py` in the test venv), under the
//! random policy and the greedy oracle, rounds alternating between the two. Writes
//! `target/bench/sardine.json` and, for a full run, `docs/sardine-benchmarks.md`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Result;
use serde::Serialize;

use super::process;
use super::rows::Rate;

/// One preset under one policy, both simulators.
#[derive(Debug, Serialize)]
struct Row {
    id: String,
    policy: &'static str,
    rlrec: Rate,
    sardine: Rate,
}

const POLICIES: [&str; 2] = ["random", "oracle"];

/// Runs the comparison: `seconds` per round, `rounds` rounds of each.
pub fn run(root: &Path, quick: bool) -> Result<()> {
    let (seconds, rounds) = if quick { (0.2, 1) } else { (2.0, 5) };
    let measurer = process::Measurer::build()?;
    let python = crate::python::installed()?;
    let script = root.join("xtask").join("sardine_bench.py");
    let mut rows = Vec::new();
    for (id, name) in measurer.sardine_presets()? {
        for policy in POLICIES {
            eprintln!("xtask: timing {id} under {policy} (one core)");
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let args = ["sardine", &name, policy, &seconds.to_string(), "1"];
                ours.extend(measurer.rounds(&args)?.0);
                let (value, _) = process::json(
                    Command::new(&python)
                        .arg(&script)
                        .args([&id, policy])
                        .args(["--seconds", &seconds.to_string(), "--rounds", "1"]),
                )?;
                theirs.extend(process::rounds(&value)?);
            }
            rows.push(Row {
                id: id.clone(),
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
