//! Training, checkpoints, resume and inference through the CLI.

use std::fs;

use serde_json::Value;

use crate::util::{
    assert_unchanged, binary, rlrec, snapshot, straight_and_resumed, train, wait_for,
};

/// The tutorial's bandit lab: StrongLTS 20/2, discrete actions + bandit observation, seed
/// 123, 100 iterations. A bandit learns `reward ≈ θ·clickbait` with θ > 0, so it should put
/// the most clickbaity candidate first and score like the greedy policy.
#[test]
fn bandits_learn_the_greedy_policy_on_the_tutorial_setting() {
    for algo in ["linucb", "lints"] {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join(algo);
        let done = train(
            &run,
            &["--algo", algo, "--iterations", "100", "--seed", "123"],
        );
        let steps = rlrec(["inference", "--steps", "500", "--json", "--checkpoint"])
            .args([&run])
            .json();
        let steps = steps.as_array().unwrap();
        let top_first = steps
            .iter()
            .filter(|s| {
                let best = s["candidates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c[0].as_f64().unwrap())
                    .fold(f64::NEG_INFINITY, f64::max);
                s["slate_features"][0][0].as_f64().unwrap() == best
            })
            .count();
        assert!(
            top_first as f64 >= 0.95 * 500.0,
            "{algo}: {top_first}/500 steps put the top clickbait first"
        );
        // Evaluation runs on the training seed + 1_000_003; the greedy baseline on the same
        // seed sees the same users, documents and noise (common random numbers), so the
        // two means differ only by the policies' choices.
        let eval = rlrec(["inference", "--episodes", "500", "--json", "--checkpoint"])
            .args([&run])
            .json();
        let greedy = rlrec([
            "baseline",
            "--policy",
            "greedy",
            "--episodes",
            "500",
            "--json",
            "--seed",
            "1000126",
        ])
        .json();
        let (m, g) = (
            eval["mean"].as_f64().unwrap(),
            greedy["mean"].as_f64().unwrap(),
        );
        assert!(
            (m - g).abs() <= 2.0,
            "{algo}: evaluated {m:.2} vs greedy {g:.2}"
        );
        assert!(done["evaluation"]["mean"].as_f64().unwrap() > 1140.0);
    }
}

/// LTS defaults 10/3: greedy beats random by about 166, so a bandit that learns the
/// clickbait slope must reach about greedy's 1111; 1090 leaves room for the sd of ~190
/// over 200 evaluation episodes (standard error ≈ 13).
#[test]
fn linucb_reaches_greedy_on_default_lts() {
    let dir = tempfile::tempdir().unwrap();
    let done = train(
        &dir.path().join("run"),
        &[
            "--algo",
            "linucb",
            "--env",
            "lts",
            "--num-candidates",
            "10",
            "--slate-size",
            "3",
            "--iterations",
            "100",
            "--eval-episodes",
            "500",
        ],
    );
    let mean = done["evaluation"]["mean"].as_f64().unwrap();
    assert!(mean >= 1090.0, "LinUCB on LTS 10/3 evaluated at {mean:.1}");
}

#[test]
fn resuming_continues_exactly() {
    for algo in ["linucb", "lints", "random"] {
        let dir = tempfile::tempdir().unwrap();
        // 100 steps an iteration: iterations end inside episodes, so resume must restore a
        // half-played episode, the environment's streams and the smoothing window.
        let args = [
            "--algo",
            algo,
            "--steps-per-iteration",
            "100",
            "--eval-episodes",
            "20",
        ];
        let (a, b, metrics) = straight_and_resumed(dir.path(), &args, 40, 100);
        assert_eq!(metrics.len(), 100);
        assert_eq!(a["evaluation"], b["evaluation"], "{algo}");
    }
}

#[test]
fn bad_checkpoints_are_refused_and_nothing_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(
        &run,
        &[
            "--algo",
            "linucb",
            "--iterations",
            "10",
            "--eval-episodes",
            "5",
        ],
    );
    let good = std::fs::read(run.join("checkpoint-000010/checkpoint.bin")).unwrap();

    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    let mut newer = good.clone();
    newer[8] = 99;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", good[..good.len() - 10].to_vec(), "truncated"),
        ("flipped", flipped, "checksum"),
        ("newer", newer, "newer"),
        (
            "foreign",
            b"PK\x03\x04 not a checkpoint at all".to_vec(),
            "not an rlrec checkpoint",
        ),
    ];
    for (name, bytes, message) in cases {
        let bad = dir.path().join(name);
        std::fs::create_dir_all(&bad).unwrap();
        std::fs::write(bad.join("checkpoint.bin"), &bytes).unwrap();
        let before = snapshot(dir.path());
        for args in [
            vec!["inference", "--checkpoint"],
            vec!["inspect", "--checkpoint"],
            vec!["train", "--iterations", "20", "--checkpoint"],
        ] {
            rlrec(args).args([&bad]).fails_with(message);
        }
        assert_unchanged(dir.path(), &before, name);
    }

    let before = snapshot(dir.path());
    rlrec([
        "train",
        "--algo",
        "lints",
        "--iterations",
        "20",
        "--checkpoint",
    ])
    .args([&run])
    .fails_with("holds a linucb agent, not lints");
    rlrec(["train", "--algo", "linucb", "--iterations", "20", "--out"])
        .args([&run])
        .fails_with("already holds a run");
    rlrec(["inference", "--checkpoint"])
        .args([dir.path().join("missing")])
        .fails_with("no checkpoint at");
    assert_unchanged(dir.path(), &before, "refused commands");
}

/// Killing `rlrec train` at arbitrary moments, checkpoint writes included, must always leave
/// the pointer naming a loadable checkpoint.
#[test]
fn a_killed_run_leaves_a_loadable_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_str = run.to_str().unwrap().to_string();
    let mut child = std::process::Command::new(binary())
        .args([
            "train",
            "--algo",
            "linucb",
            "--iterations",
            "1000000",
            "--checkpoint-every",
            "1",
            "--steps-per-iteration",
            "20",
            "--out",
            &run_str,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The first checkpoint must exist before the first kill (start-up loads libtorch).
    assert!(wait_for(
        &run.join("checkpoint_path.txt"),
        std::time::Duration::from_secs(10)
    ));
    let mut iterations = 0;
    for delay_ms in [150u64, 337, 461, 289, 523, 413, 347] {
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        // Still training when killed: the resume that started it did not fail.
        assert!(
            child.try_wait().unwrap().is_none(),
            "train exited before the kill"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        let inspected = rlrec(["inspect", "--checkpoint", &run_str, "--json"]).json();
        let reached = inspected["training_iteration"].as_u64().unwrap();
        assert!(reached >= iterations, "{reached} < {iterations}");
        iterations = reached;
        child = std::process::Command::new(binary())
            .args([
                "train",
                "--resume",
                "--out",
                &run_str,
                "--iterations",
                "1000000",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let last = rlrec(["inspect", "--checkpoint", &run_str, "--json"]).json();
    assert!(last["training_iteration"].as_u64().unwrap() >= iterations);
}

/// The bandits run on RecSim's other two worlds, and training and evaluation report
/// RecSim's video-cluster metrics there.
#[test]
fn bandits_run_on_the_interest_worlds() {
    for env in ["interest-evolution", "interest-exploration"] {
        for algo in ["linucb", "lints"] {
            let dir = tempfile::tempdir().unwrap();
            let done = train(
                &dir.path().join("run"),
                &[
                    "--algo",
                    algo,
                    "--env",
                    env,
                    "--num-candidates",
                    "10",
                    "--iterations",
                    "3",
                    "--steps-per-iteration",
                    "300",
                    "--eval-episodes",
                    "20",
                ],
            );
            let ctr = done["evaluation"]["metrics"]["CTR"].as_f64().unwrap();
            // Random slates click on 46% (evolution) and 23% (exploration) of the steps.
            assert!(ctr > 0.15 && ctr < 1.0, "{algo} on {env}: CTR {ctr}");
            let line = std::fs::read_to_string(dir.path().join("run/metrics.jsonl")).unwrap();
            let first: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
            assert!(
                first["metrics"]["cluster_watch_count_frac/no_click"].is_f64(),
                "{first}"
            );
        }
    }
}

/// Ctrl-C (or SIGTERM) stops a run at the end of its iteration with a checkpoint of it,
/// says how to continue, and the run continues from there (issue 28, §4).
#[test]
fn an_interrupted_run_saves_its_iteration_and_says_how_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_str = run.to_str().unwrap().to_string();
    for (signal, resume) in [(libc::SIGINT, false), (libc::SIGTERM, true)] {
        let mut args = vec!["train", "--out", &run_str, "--iterations", "1000000"];
        if resume {
            args.push("--resume");
        } else {
            // Checkpoints only at the end: the one found is the interruption's.
            args.extend(["--algo", "linucb", "--steps-per-iteration", "20"]);
            args.extend(["--checkpoint-every", "0"]);
        }
        let metrics = run.join("metrics.jsonl");
        let lines = || fs::read_to_string(&metrics).map_or(0, |t| t.lines().count());
        // Lines this process wrote, so its handler is in place: the first run may have
        // written many more than it had when its signal came.
        let before = lines();
        let child = std::process::Command::new(binary())
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while lines() < before + 3 {
            assert!(started.elapsed().as_secs() < 30, "no iterations");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // SAFETY: kill(2) of the child this test started.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let iteration = fs::read_to_string(&metrics).unwrap().lines().count();
        assert!(
            stderr.contains(&format!(
                "interrupted after iteration {iteration}, whose checkpoint is saved: `rlrec \
                 train --resume --out {run_str}` continues"
            )),
            "{stderr}"
        );
        let inspected = rlrec(["inspect", "--json", "--checkpoint", &run_str]).json();
        assert_eq!(inspected["training_iteration"], iteration as u64);
    }
}

/// Hyperparameters from the command line, dotted as in a `--config` file or a sweep's
/// axes (issue 28, §4); elsewhere `--set` takes the world's parameters only.
#[test]
fn dotted_keys_set_a_runs_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(
        &run,
        &[
            "--algo",
            "linucb",
            "--iterations",
            "2",
            "--eval-episodes",
            "2",
            "--set",
            "linucb.alpha=0.25",
            "--set",
            "sensitivity=0.1",
        ],
    );
    let config = fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("alpha = 0.25"), "{config}");
    assert!(config.contains("sensitivity = 0.1"), "{config}");
    rlrec(["train", "--algo", "linucb", "--set", "linucb.alhpa=1"])
        .fails_with("linucb.alhpa: unknown field `alhpa`");
    rlrec(["train", "--algo", "linucb", "--set", "slateq.lr=1e-4"])
        .fails_with("[slateq] configures --algo slateq");
    rlrec(["train", "--algo", "linucb", "--set", "linucb..alpha=1"]).fails_with("not a dotted key");
    rlrec(["baseline", "--policy", "random", "--set", "slateq.lr=1e-4"])
        .fails_with("only `rlrec train` takes");
}
