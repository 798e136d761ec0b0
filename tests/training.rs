//! Training, checkpoints, resume and inference through the CLI.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{rlrec, rlrec_fails, rlrec_json, straight_and_resumed, train};
use serde_json::Value;

/// Every file under a folder with its bytes, to show that nothing changed.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for (k, v) in snapshot(&path) {
                out.insert(
                    format!("{}/{k}", path.file_name().unwrap().to_string_lossy()),
                    v,
                );
            }
        } else {
            out.insert(
                path.file_name().unwrap().to_string_lossy().into(),
                std::fs::read(&path).unwrap(),
            );
        }
    }
    out
}

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
        let run_str = run.to_str().unwrap();
        let steps = rlrec_json(&[
            "inference",
            "--checkpoint",
            run_str,
            "--steps",
            "500",
            "--json",
        ]);
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
        let eval = rlrec_json(&[
            "inference",
            "--checkpoint",
            run_str,
            "--episodes",
            "500",
            "--json",
        ]);
        let greedy = rlrec_json(&[
            "baseline",
            "--policy",
            "greedy",
            "--episodes",
            "500",
            "--json",
            "--seed",
            "1000126",
        ]);
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
        let bad_str = bad.to_str().unwrap();
        for args in [
            vec!["inference", "--checkpoint", bad_str],
            vec!["inspect", "--checkpoint", bad_str],
            vec!["train", "--checkpoint", bad_str, "--iterations", "20"],
        ] {
            let stderr = rlrec_fails(&args);
            assert!(stderr.contains(message), "{name} {args:?}: {stderr}");
        }
        assert_eq!(snapshot(dir.path()), before, "{name}: the folders changed");
    }

    let before = snapshot(dir.path());
    let run_str = run.to_str().unwrap();
    let stderr = rlrec_fails(&[
        "train",
        "--algo",
        "lints",
        "--checkpoint",
        run_str,
        "--iterations",
        "20",
    ]);
    assert!(
        stderr.contains("holds a linucb agent, not lints"),
        "{stderr}"
    );
    let stderr = rlrec_fails(&[
        "train",
        "--algo",
        "linucb",
        "--out",
        run_str,
        "--iterations",
        "20",
    ]);
    assert!(stderr.contains("already holds a run"), "{stderr}");
    let stderr = rlrec_fails(&[
        "inference",
        "--checkpoint",
        dir.path().join("missing").to_str().unwrap(),
    ]);
    assert!(stderr.contains("no checkpoint at"), "{stderr}");
    assert_eq!(snapshot(dir.path()), before);
}

/// Killing `rlrec train` at arbitrary moments, checkpoint writes included, must always leave
/// the pointer naming a loadable checkpoint.
#[test]
fn a_killed_run_leaves_a_loadable_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_str = run.to_str().unwrap().to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rlrec"))
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
        .spawn()
        .unwrap();
    let mut kills = 0;
    // The first checkpoint must exist before the first kill (start-up loads libtorch).
    let pointer = run.join("checkpoint_path.txt");
    for _ in 0..200 {
        if pointer.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for delay_ms in [150u64, 337, 461, 289, 523, 413, 347] {
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        let out = rlrec(&["inspect", "--checkpoint", &run_str]);
        assert!(
            out.status.success(),
            "after kill {kills}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        child = std::process::Command::new(env!("CARGO_BIN_EXE_rlrec"))
            .args([
                "train",
                "--resume",
                "--out",
                &run_str,
                "--iterations",
                "1000000",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();
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
            assert!(ctr > 0.0 && ctr < 1.0, "{algo} on {env}: CTR {ctr}");
            let line = std::fs::read_to_string(dir.path().join("run/metrics.jsonl")).unwrap();
            let first: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
            assert!(
                first["metrics"]["cluster_watch_count_frac/no_click"].is_f64(),
                "{first}"
            );
        }
    }
}
