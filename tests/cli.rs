//! The command line: what a user sees, and clean errors for bad input.

mod common;

use common::{rlrec, rlrec_fails, rlrec_json};

#[test]
fn env_shows_spaces_reset_and_step() {
    let out = rlrec(&["env"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("action space: MultiDiscrete([20 20])"),
        "{text}"
    );
    assert!(text.contains("'doc': Dict('0': Box(0.0, 1.0, (1,), float32)"));
    assert!(text.contains("resample_documents=true") && text.contains("resample_documents=false"));
    assert!(text.contains("reward:"));
    let discrete = String::from_utf8(rlrec(&["env", "--discrete-action"]).stdout).unwrap();
    assert!(discrete.contains("action space: Discrete(400)"));
}

#[test]
fn episode_plots_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("greedy.png");
    let e = rlrec_json(&[
        "episode",
        "--policy",
        "greedy",
        "--json",
        "--plot",
        png.to_str().unwrap(),
    ]);
    let steps = e["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 120);
    let total: f64 = steps.iter().map(|s| s["reward"].as_f64().unwrap()).sum();
    assert!((total - e["total_reward"].as_f64().unwrap()).abs() < 1e-6);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}

#[test]
fn baseline_saves_the_tutorial_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = rlrec_json(&[
        "baseline",
        "--policy",
        "random",
        "--episodes",
        "50",
        "--json",
        "--save",
        dir.path().to_str().unwrap(),
    ]);
    let txt = std::fs::read_to_string(dir.path().join("random_baseline.txt")).unwrap();
    assert_eq!(
        txt.trim().parse::<f64>().unwrap(),
        s["mean"].as_f64().unwrap()
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("random_baseline.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json, s);
}

#[test]
fn bad_input_is_a_clear_error() {
    let cases: [(&[&str], &str); 7] = [
        (
            &["baseline", "--policy", "random", "--set", "bogus=1"],
            "unknown parameter `bogus`",
        ),
        (
            &["baseline", "--policy", "random", "--set", "sensitivity=inf"],
            "sensitivity",
        ),
        (
            &[
                "baseline",
                "--policy",
                "random",
                "--set",
                "memory_discount=1.5",
            ],
            "memory_discount",
        ),
        (
            &["baseline", "--policy", "random", "--slate-size", "21"],
            "must not exceed num_candidates",
        ),
        (
            &[
                "baseline",
                "--policy",
                "random",
                "--num-candidates",
                "0",
                "--slate-size",
                "0",
            ],
            "num_candidates",
        ),
        (
            &["baseline", "--policy", "random", "--env", "mars"],
            "unknown environment",
        ),
        (
            &["baseline", "--policy", "random", "--episodes", "0"],
            "at least 1",
        ),
    ];
    for (args, message) in cases {
        let stderr = rlrec_fails(args);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
