//! Helpers shared by the command-line tests.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn rlrec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlrec"))
        .args(args)
        .output()
        .expect("rlrec runs")
}

/// Runs rlrec, requires success, and parses the last stdout line as JSON.
pub fn rlrec_json(args: &[&str]) -> serde_json::Value {
    let out = rlrec(args);
    assert!(
        out.status.success(),
        "rlrec {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().expect("output")).expect("JSON")
}

/// Runs rlrec and requires a clean failure: non-zero exit, an error message, no panic.
pub fn rlrec_fails(args: &[&str]) -> String {
    let out = rlrec(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "rlrec {args:?} should fail");
    assert!(
        !stderr.contains("panicked"),
        "rlrec {args:?} panicked: {stderr}"
    );
    stderr
}

/// `rlrec train --json --out OUT ARGS…`, returning the last line (checkpoint, evaluation).
pub fn train(out: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["train", "--json", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    rlrec_json(&all)
}

/// A run's metrics.jsonl without the wall-clock fields, for comparing runs.
pub fn metrics_without_times(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut()
                .unwrap()
                .retain(|k, _| !k.starts_with("time_"));
            v
        })
        .collect()
}

/// Trains `total` iterations straight in `dir/straight`, and `first` then (resumed) the
/// rest in `dir/split`; asserts that the two `metrics.jsonl` agree (wall times aside) and
/// returns both runs' last lines and the straight run's metrics.
pub fn straight_and_resumed(
    dir: &Path,
    args: &[&str],
    first: u64,
    total: u64,
) -> (serde_json::Value, serde_json::Value, Vec<serde_json::Value>) {
    let (straight, split) = (dir.join("straight"), dir.join("split"));
    let (first, total) = (first.to_string(), total.to_string());
    let a = train(&straight, &[args, &["--iterations", &total]].concat());
    train(&split, &[args, &["--iterations", &first]].concat());
    let b = rlrec_json(&[
        "train",
        "--json",
        "--resume",
        "--out",
        split.to_str().unwrap(),
        "--iterations",
        &total,
    ]);
    let metrics = metrics_without_times(&straight);
    assert_eq!(
        metrics,
        metrics_without_times(&split),
        "{first} + rest must equal {total} straight"
    );
    (a, b, metrics)
}
