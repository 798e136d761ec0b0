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
fn env_shows_the_interest_environments() {
    let out = rlrec(&[
        "env",
        "--env",
        "interest-evolution",
        "--num-candidates",
        "10",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("action space: MultiDiscrete([10 10])"),
        "{text}"
    );
    assert!(text.contains("'user': Box(-1.0, 1.0, (20,), float32)"));
    assert!(text.contains("watch_time: "), "responses are shown: {text}");
    let out = rlrec(&[
        "env",
        "--env",
        "interest-exploration",
        "--num-candidates",
        "10",
        "--bandit-observation",
        "--discrete-action",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("horizon 100"), "{text}");
    assert!(text.contains("observation space: Dict('item': Box(0.0, inf, (10, 3), float32))"));
    assert!(text.contains("action space: Discrete(100)"));
    assert!(
        text.contains("item: [[0.000, 1.000, "),
        "the bandit view: {text}"
    );
}

#[test]
fn interest_environments_report_recsims_metrics() {
    let e = rlrec_json(&[
        "episode",
        "--policy",
        "greedy",
        "--env",
        "interest-evolution",
        "--num-candidates",
        "10",
        "--json",
    ]);
    let steps = e["steps"].as_array().unwrap();
    let clicks = steps.iter().filter(|s| !s["clicked"].is_null()).count();
    assert!(steps
        .iter()
        .all(|s| s["clicked"].is_null() == s["clicked_quality"].is_null()));
    let m = &e["metrics"];
    assert_eq!(m["impression"].as_u64(), Some(steps.len() as u64));
    assert_eq!(m["click"].as_u64(), Some(clicks as u64));
    // LTS has no metrics, and its episode JSON is as it was.
    let lts = rlrec_json(&["episode", "--policy", "random", "--json"]);
    assert!(lts.get("metrics").is_none());
    assert!(lts["steps"][0].get("clicked_quality").is_none());

    // Every wrapper works with interest evolution; a horizon cuts its episodes.
    let s = rlrec_json(&[
        "baseline",
        "--policy",
        "greedy",
        "--episodes",
        "20",
        "--env",
        "interest-evolution",
        "--num-candidates",
        "10",
        "--user-observation",
        "--bandit-observation",
        "--discrete-action",
        "--horizon",
        "30",
        "--json",
    ]);
    assert!(s["mean_length"].as_f64().unwrap() <= 30.0);
    assert!(s["metrics"]["CTR"].as_f64().unwrap() > 0.0);
    let text = String::from_utf8(
        rlrec(&[
            "baseline",
            "--policy",
            "random",
            "--episodes",
            "10",
            "--env",
            "interest-exploration",
            "--user-observation",
        ])
        .stdout,
    )
    .unwrap();
    assert!(
        text.contains("CTR") && text.contains("by cluster: 0: "),
        "{text}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let cases: [(&[&str], &str); 8] = [
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
        (
            &["baseline", "--policy", "random", "--horizon", "0"],
            "horizon",
        ),
    ];
    for (args, message) in cases {
        let stderr = rlrec_fails(args);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn bad_interest_parameters_are_clear_errors() {
    let iev = [
        "baseline",
        "--policy",
        "random",
        "--env",
        "interest-evolution",
    ];
    let ie = [
        "baseline",
        "--policy",
        "random",
        "--env",
        "interest-exploration",
    ];
    let cases: [(&[&str], &str, &str); 7] = [
        (
            &iev,
            "sensitivity=0.1",
            "unknown parameter `sensitivity` for interest evolution",
        ),
        (&iev, "step_penalty=-1", "step_penalty"),
        (&iev, "no_click_mass=nan", "no_click_mass"),
        (&iev, "min_normalizer=0", "min_normalizer"),
        (&iev, "time_budget=inf", "time_budget"),
        (&ie, "topic_0_probability=2", "topic_0_probability"),
        (&ie, "topic_1_quality_stddev=-0.1", "topic_1_quality_stddev"),
    ];
    for (base, set, message) in cases {
        let mut args = base.to_vec();
        args.extend(["--set", set]);
        let stderr = rlrec_fails(&args);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn baseline_on_vector_environments_depends_on_seed_and_count() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "baseline",
            "--policy",
            "random",
            "--episodes",
            "40",
            "--json",
        ];
        args.extend_from_slice(extra);
        rlrec_json(&args)
    };
    let plain = run(&[]);
    assert_eq!(
        run(&["--num-envs", "1"]),
        plain,
        "one environment is the default"
    );
    let four = run(&["--num-envs", "4"]);
    assert_eq!(run(&["--num-envs", "4"]), four, "reproducible");
    assert_ne!(four, plain);
    assert_eq!(four["episodes"].as_u64(), Some(40));
    assert_eq!(four["mean_length"].as_f64(), Some(120.0));
    let stderr = rlrec_fails(&["baseline", "--policy", "random", "--num-envs", "0"]);
    assert!(stderr.contains("--num-envs must be at least 1"), "{stderr}");
}
