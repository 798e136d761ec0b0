//! SlateQ through the CLI: learning, exact resume, and clear errors.

use std::path::Path;

use crate::util::{metrics_without_times, rlrec, slateq_config, straight_and_resumed, train};

/// On LTS defaults 10/3 greedy beats random by about 166 (1111 vs 945), so a value
/// learner that only learns "more clickbait pays" is already far above random. Over 200
/// evaluation episodes (sd ≈ 165–190) the standard error is about 13, so requiring 100
/// above the random baseline leaves several standard errors on either side.
#[test]
fn slateq_learns_far_better_than_random_on_default_lts() {
    let dir = tempfile::tempdir().unwrap();
    let config = slateq_config(dir.path(), "");
    let done = train(
        &dir.path().join("run"),
        &["--config", config.to_str().unwrap(), "--iterations", "20"],
    );
    let mean = done["evaluation"]["mean"].as_f64().unwrap();
    let random = done["random_baseline"].as_f64().unwrap();
    assert!(
        mean >= random + 100.0,
        "SlateQ {mean:.1} vs random {random:.1}"
    );
}

/// Trains 20 iterations of 100 steps straight and split at 8 (iterations end inside
/// episodes of 60 steps), with `extra` under `[slateq]`; returns the metrics.
fn slateq_resumes_exactly_with(extra: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let config = slateq_config(dir.path(), extra);
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--steps-per-iteration",
        "100",
        "--eval-episodes",
        "10",
    ];
    let (a, b, metrics) = straight_and_resumed(dir.path(), &args, 8, 20);
    assert_eq!(metrics.len(), 20);
    assert_eq!(a["evaluation"], b["evaluation"]);
    metrics
}

/// One environment, one gradient step per step and one-step targets
/// (`examples/configs/slateq-1-env.toml`).
#[test]
fn slateq_with_one_environment_resumes_exactly() {
    let metrics = slateq_resumes_exactly_with("num_envs = 1\ntrain_every = 1\nn_step = 1");
    assert!(
        metrics[19]["learner"]["grad_steps"].as_f64().unwrap() > 1000.0,
        "it did learn"
    );
}

/// Four environments, each with its open episode and open n-step returns in the
/// checkpoint, and one gradient step per step of all four.
#[test]
fn slateq_with_several_environments_resumes_exactly() {
    let metrics = slateq_resumes_exactly_with("num_envs = 4\ntrain_every = 4\nn_step = 3");
    let at = |i: usize, key: &str| metrics[i][key].as_f64().unwrap();
    // 2000 steps after 300 of warm-up, one gradient step per 4.
    assert_eq!(metrics[19]["learner"]["grad_steps"].as_f64(), Some(426.0));
    assert_eq!(at(19, "timesteps_total"), 2000.0);
    // Each environment took 500 steps: 8 whole episodes of 60.
    assert_eq!(at(19, "episodes_total"), 32.0);
}

/// RLlib's `evaluation_parallel_to_training`: each evaluation runs on another thread while
/// its iteration trains, so it reports the policy the iteration started from, which is
/// what a serial run reports one iteration earlier; training is the same bit for bit.
#[test]
fn parallel_evaluations_report_the_policy_the_iteration_started_from() {
    let dir = tempfile::tempdir().unwrap();
    let config = slateq_config(dir.path(), "");
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let args = [
            "--config",
            config.to_str().unwrap(),
            "--iterations",
            "8",
            "--evaluation-interval",
            "1",
            "--eval-episodes",
            "10",
        ];
        let done = train(&out, &[&args[..], extra].concat());
        (done, metrics_without_times(&out))
    };
    let (serial_done, serial) = run("serial", &[]);
    let (parallel_done, parallel) = run("parallel", &["--evaluation-parallel-to-training"]);
    assert_eq!(serial_done["evaluation"], parallel_done["evaluation"]);
    let split = |m: &serde_json::Value| {
        let mut m = m.clone();
        let evaluation = m.as_object_mut().unwrap().remove("evaluation").unwrap();
        (m, evaluation)
    };
    let evaluated: Vec<_> = serial.iter().map(split).collect();
    for (i, line) in parallel.iter().enumerate() {
        let (training, evaluation) = split(line);
        assert_eq!(training, evaluated[i].0, "iteration {}", i + 1);
        if i > 0 {
            assert_eq!(evaluation, evaluated[i - 1].1, "iteration {}", i + 1);
        }
    }
    // The evaluations follow learning: they are not all the same policy's.
    assert_ne!(evaluated[1].1, evaluated[7].1);
    let config_toml = std::fs::read_to_string(dir.path().join("parallel/config.toml")).unwrap();
    assert!(config_toml.contains("evaluation_parallel_to_training = true"));
}

#[test]
fn bad_slateq_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |config: &Path, args: &[&str], message: &str| {
        let out = dir.path().join("refused");
        rlrec(["train", "--config"])
            .args([config])
            .args(args)
            .args(["--out"])
            .args([&out])
            .fails_with(message);
        assert!(!out.exists(), "{message}: nothing is written");
    };
    let other = tempfile::tempdir().unwrap();
    let typo = slateq_config(other.path(), "learning_rate = 0.1");
    refused(
        &typo,
        &[],
        "slateq.learning_rate: unknown field `learning_rate`",
    );
    // 300 steps per iteration do not divide among 7 environments.
    let seven = slateq_config(other.path(), "num_envs = 7");
    refused(&seven, &[], "slateq.num_envs = 7 is invalid");

    let config = slateq_config(dir.path(), "");
    refused(&config, &["--device", "cuda"], "cuda was requested");
    refused(&config, &["--device", "tpu"], "expected cpu or cuda");
    refused(
        &config,
        &["--bandit-observation"],
        "SlateQ needs the user features",
    );

    // A SlateQ checkpoint is not a bandit's, and a bandit's is not SlateQ's.
    let slateq_run = dir.path().join("slateq");
    let config = config.to_str().unwrap();
    train(
        &slateq_run,
        &[
            "--config",
            config,
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
    rlrec([
        "train",
        "--algo",
        "linucb",
        "--iterations",
        "3",
        "--checkpoint",
    ])
    .args([&slateq_run])
    .fails_with("holds a slateq agent, not linucb");
    rlrec([
        "train",
        "--algo",
        "slateq",
        "--iterations",
        "3",
        "--checkpoint",
    ])
    .args([&bandit_run])
    .fails_with("holds a linucb agent, not slateq");
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
        // Random slates alone click on 46% (evolution) and 23% (exploration) of the steps.
        let ctr = done["evaluation"]["metrics"]["CTR"].as_f64().unwrap();
        assert!(ctr > 0.15 && ctr < 1.0, "{env}: CTR {ctr}");
        let text = rlrec(["inspect", "--checkpoint"]).args([&run]).ok();
        assert!(text.contains(choice), "{env}: {text}");
        assert!(text.contains("Linear("), "{text}");
        // The replay the checkpoint keeps is counted, not shown empty (issue 28, §4).
        let held: usize = text
            .split("replay ")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(held > 4000, "{text}");
    }
}

/// On SARDINE's catalogue of 1,000 items the default replay of 200,000 transitions holds
/// the catalogue once (it used to need 14.9 GiB and was refused); SlateQ takes the true
/// state, or with the click history SARDINE's observation, and its checkpoint resumes.
#[test]
fn slateq_runs_on_sardines_catalogue_from_either_observation() {
    for (extra, user_dim) in [(&[][..], "31"), (&["--set", "click_history=0.9"][..], "21")] {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let args = [
            "--algo",
            "slateq",
            "--env",
            "sardine-slate-top-k-bored",
            "--iterations",
            "1",
            "--steps-per-iteration",
            "300",
            "--eval-episodes",
            "2",
            "--set",
            "slateq.learning_starts=200",
            "--set",
            "slateq.batch_size=8",
        ];
        train(&run, &[&args[..], extra].concat());
        let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
        let ideal = extra.is_empty();
        assert!(
            config.contains(&format!("user_observation = {ideal}")),
            "{config}"
        );
        let text = rlrec(["inspect", "--checkpoint"]).args([&run]).ok();
        // The state's value network reads the user features and the time left.
        let state_net = format!("V(user): Linear({user_dim}→32");
        assert!(text.contains(&state_net), "{text}");
        rlrec(["train", "--json", "--resume", "--iterations", "2", "--out"])
            .args([&run])
            .json();
    }
}

/// A SlateQ run on interest evolution with a checkpoint every iteration keeps the replay
/// buffer in its latest checkpoint only, and still continues exactly.
#[test]
fn only_the_latest_checkpoint_keeps_the_replay_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--algo",
        "slateq",
        "--env",
        "interest-evolution",
        "--num-candidates",
        "10",
        "--steps-per-iteration",
        "200",
        "--checkpoint-every",
        "1",
        "--eval-episodes",
        "5",
    ];
    let (a, b, metrics) = straight_and_resumed(dir.path(), &args, 5, 12);
    assert_eq!(metrics.len(), 12);
    assert_eq!(a["evaluation"], b["evaluation"]);
    for run in ["straight", "split"] {
        let run = dir.path().join(run);
        let replays: Vec<String> = std::fs::read_dir(&run)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("replay.bin").exists())
            .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(replays, ["checkpoint-000012"], "{}", run.display());
        let checkpoints = std::fs::read_dir(&run)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("checkpoint-")
            })
            .count();
        assert_eq!(checkpoints, 12);
    }
    // An older checkpoint still serves inference, and refuses to continue training.
    let old = dir.path().join("straight/checkpoint-000006");
    rlrec(["inference", "--steps", "2", "--checkpoint"])
        .args([&old])
        .ok();
    rlrec(["train", "--iterations", "13", "--checkpoint"])
        .args([&old])
        .args(["--out"])
        .args([dir.path().join("branch")])
        .fails_with("holds no replay buffer");
}
