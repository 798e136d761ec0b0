//! SlateQ through the CLI: learning, exact resume, and clear errors.

mod common;

use std::path::Path;

use common::{rlrec_fails, straight_and_resumed, train};

/// A small, fast SlateQ configuration for LTS defaults 10/3.
fn write_config(dir: &Path, extra: &str) -> String {
    let path = dir.join("slateq.toml");
    let text = format!(
        r#"algo = "slateq"
iterations = 20
steps_per_iteration = 300
eval_episodes = 200

[env]
env = "lts"
num_candidates = 10
slate_size = 3
resample_documents = true
seed = 3

[env.wrappers]
user_observation = true
bandit_observation = false
discrete_action = false

[slateq]
hidden = [16]
batch_size = 32
buffer_size = 5000
learning_starts = 300
epsilon_steps = 2000
target_update_every = 200
{extra}
"#
    );
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// On LTS defaults 10/3 greedy beats random by about 166 (1111 vs 945), so a value
/// learner that only learns "more clickbait pays" is already far above random. Over 200
/// evaluation episodes (sd ≈ 165–190) the standard error is about 13, so requiring 100
/// above the random baseline leaves several standard errors on either side.
#[test]
fn slateq_learns_far_better_than_random_on_default_lts() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let done = train(
        &dir.path().join("run"),
        &["--config", &config, "--iterations", "20"],
    );
    let mean = done["evaluation"]["mean"].as_f64().unwrap();
    let random = done["random_baseline"].as_f64().unwrap();
    assert!(
        mean >= random + 100.0,
        "SlateQ {mean:.1} vs random {random:.1}"
    );
}

#[test]
fn slateq_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    // Iterations of 100 steps end inside episodes (60 steps each).
    let config = write_config(dir.path(), "");
    let args = [
        "--config",
        &config,
        "--steps-per-iteration",
        "100",
        "--eval-episodes",
        "10",
    ];
    let (a, b, metrics) = straight_and_resumed(dir.path(), &args, 8, 20);
    assert_eq!(metrics.len(), 20);
    assert!(
        metrics[19]["learner"]["grad_steps"].as_f64().unwrap() > 1000.0,
        "it did learn"
    );
    assert_eq!(a["evaluation"], b["evaluation"]);
}

#[test]
fn bad_slateq_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "learning_rate = 0.1");
    let stderr = rlrec_fails(&[
        "train",
        "--config",
        &config,
        "--out",
        dir.path().join("a").to_str().unwrap(),
    ]);
    assert!(stderr.contains("unknown field `learning_rate`"), "{stderr}");

    let config = write_config(dir.path(), "");
    let stderr = rlrec_fails(&[
        "train",
        "--config",
        &config,
        "--device",
        "cuda",
        "--out",
        dir.path().join("b").to_str().unwrap(),
    ]);
    assert!(stderr.contains("cuda was requested"), "{stderr}");
    let stderr = rlrec_fails(&[
        "train",
        "--config",
        &config,
        "--device",
        "tpu",
        "--out",
        dir.path().join("c").to_str().unwrap(),
    ]);
    assert!(stderr.contains("expected cpu or cuda"), "{stderr}");

    // A SlateQ checkpoint is not a bandit's, and a bandit's is not SlateQ's.
    let slateq_run = dir.path().join("slateq");
    train(
        &slateq_run,
        &[
            "--config",
            &config,
            "--iterations",
            "2",
            "--eval-episodes",
            "2",
        ],
    );
    let bandit_run = dir.path().join("bandit");
    train(
        &bandit_run,
        &[
            "--algo",
            "linucb",
            "--iterations",
            "2",
            "--eval-episodes",
            "2",
        ],
    );
    let stderr = rlrec_fails(&[
        "train",
        "--algo",
        "linucb",
        "--checkpoint",
        slateq_run.to_str().unwrap(),
        "--iterations",
        "3",
    ]);
    assert!(
        stderr.contains("holds a slateq agent, not linucb"),
        "{stderr}"
    );
    let stderr = rlrec_fails(&[
        "train",
        "--algo",
        "slateq",
        "--checkpoint",
        bandit_run.to_str().unwrap(),
        "--iterations",
        "3",
    ]);
    assert!(
        stderr.contains("holds a linucb agent, not slateq"),
        "{stderr}"
    );
}

/// SlateQ runs on RecSim's other two worlds: with interest evolution's own (proportional)
/// choice model, and with a learned conditional logit for interest exploration's hidden
/// users.
#[test]
fn slateq_runs_on_the_interest_worlds() {
    for (env, choice) in [
        ("interest-evolution", "the environment's own"),
        ("interest-exploration", "conditional logit"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let done = train(
            &run,
            &[
                "--algo",
                "slateq",
                "--env",
                env,
                "--num-candidates",
                "10",
                "--iterations",
                "2",
                "--steps-per-iteration",
                "2500",
                "--eval-episodes",
                "5",
            ],
        );
        assert!(done["evaluation"]["metrics"]["CTR"].as_f64().unwrap() > 0.0);
        let out = common::rlrec(&["inspect", "--checkpoint", run.to_str().unwrap()]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(choice), "{env}: {text}");
        assert!(text.contains("Linear("), "{text}");
    }
}
