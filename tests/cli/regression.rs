//! Behaviours once wrong, each pinned: endless episodes cut at the horizon, one environment
//! for every row of `compare`, partial configurations, and `--steps-per-iteration 0`.

use std::fs;
use std::time::Duration;

use serde_json::Value;

use crate::util::{bandit_run, rlrec, run_bounded, train};

/// Interest evolution whose budget never runs out ends at its default horizon.
#[test]
fn endless_interest_evolution_is_cut_at_its_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "baseline",
        "--policy",
        "greedy",
        "--episodes",
        "3",
        "--json",
        "--env",
        "interest-evolution",
        "--set",
        "user_quality_factor=10",
    ];
    let out = run_bounded(dir.path(), &args, Duration::from_secs(30)).expect("it finishes");
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["mean_length"].as_f64(), Some(1000.0));
}

/// `compare` evaluates checkpoints and fixed policies on one environment: the options
/// change every row alike.
#[test]
fn compare_evaluates_every_row_on_one_environment() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("linucb-a");
    bandit_run(&run);
    let rows = |extra: &[&str]| -> Vec<f64> {
        let v = rlrec([
            "compare",
            "--policy",
            "greedy",
            "--episodes",
            "50",
            "--json",
            "--checkpoint",
        ])
        .args([&run])
        .args(extra)
        .json();
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["summary"]["mean"].as_f64().unwrap())
            .collect()
    };
    let plain = rows(&[]);
    let changed = rows(&["--set", "sensitivity=0.2", "--horizon", "50"]);
    assert_ne!(
        plain[1], changed[1],
        "the checkpoint's row sees the options"
    );
    // LinUCB is greedy by clickbait here, so both rows play alike on the same episodes.
    assert!((changed[0] - changed[1]).abs() < 2.0, "{changed:?}");
    let labels = rlrec(["compare", "--episodes", "5", "--json", "--checkpoint"])
        .args([&run])
        .json();
    assert_eq!(
        labels[0]["label"], "linucb-a",
        "rows are labelled by run name"
    );
}

/// A partial configuration merges over the defaults.
#[test]
fn a_partial_config_merges_over_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    fs::write(&config, "algo = \"linucb\"\n[linucb]\nalpha = 0.5\n").unwrap();
    let run = dir.path().join("run");
    rlrec([
        "train",
        "--json",
        "--iterations",
        "2",
        "--eval-episodes",
        "5",
        "--config",
    ])
    .args([&config])
    .args(["--out"])
    .args([&run])
    .json();
    let saved = fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        saved.contains("alpha = 0.5") && saved.contains("lambda = 1.0"),
        "{saved}"
    );
    assert!(
        !saved.contains("[slateq]"),
        "only its own algorithm's table"
    );
}

/// `--steps-per-iteration 0` means one episode where episodes have one length, else
/// 1000 steps, as the help says.
#[test]
fn zero_steps_per_iteration_is_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let done = |env: &str| {
        let run = dir.path().join(env);
        train(
            &run,
            &[
                "--algo",
                "random",
                "--iterations",
                "1",
                "--eval-episodes",
                "2",
                "--env",
                env,
                "--num-candidates",
                "10",
            ],
        );
        let line = fs::read_to_string(run.join("metrics.jsonl")).unwrap();
        serde_json::from_str::<Value>(line.lines().next().unwrap()).unwrap()["timesteps_total"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(done("strong-lts"), 120);
    assert_eq!(done("interest-exploration"), 100);
    assert_eq!(done("interest-evolution"), 1000);
}
