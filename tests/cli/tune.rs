//! Sweeps (`rlrec tune`), multi-seed comparisons (`compare --seeds`) and the TensorBoard
//! event files of run folders.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::util::{assert_unchanged, rlrec, snapshot, train};

/// A LinUCB sweep of `linucb.alpha` × 2 seeds, 3 iterations of one episode each.
const BANDIT_SWEEP: &str = r#"
[sweep]
iterations = 3
seeds = 2

[base]
algo = "linucb"
eval_episodes = 5

[axes]
"linucb.alpha" = { grid = [0.5, 2.0] }
"#;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

/// The results without the figures' paths, which name the folder.
#[cfg(feature = "slateq")]
fn results(out: &Path) -> Value {
    let mut v: Value =
        serde_json::from_str(&fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("figures");
    v
}

#[test]
fn a_bandit_sweep_reports_every_configuration_and_resumes_to_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = write(dir.path(), "sweep.toml", BANDIT_SWEEP);
    let out = dir.path().join("out");
    let done = rlrec(["tune", "--json", "--jobs", "2", "--out"])
        .args([&out, &sweep])
        .json();
    let rows = done["configurations"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let trials = row["trials"].as_array().unwrap();
        assert_eq!(trials.len(), 2);
        // Each trial is an ordinary run folder; its score is its final evaluation.
        let scores: Vec<f64> = trials
            .iter()
            .map(|t| {
                let run = out.join("trials").join(t.as_str().unwrap());
                assert!(run.join("checkpoint-000003/checkpoint.bin").is_file());
                assert!(run.join("events.out.tfevents.rlrec").is_file());
                let e: Value =
                    serde_json::from_str(&fs::read_to_string(run.join("evaluation.json")).unwrap())
                        .unwrap();
                e["evaluation"]["mean"].as_f64().unwrap()
            })
            .collect();
        let stats = &row["stats"];
        assert_eq!(stats["scores"], serde_json::json!(scores));
        let mean = (scores[0] + scores[1]) / 2.0;
        assert!((stats["mean"]["value"].as_f64().unwrap() - mean).abs() < 1e-9);
    }
    assert_eq!(done["best"], rows[0]);
    // α changes only how LinUCB explores; evaluated without exploration, with one
    // feature, both configurations rank as greedy does: a tie, reported as one (issue
    // 28, §3), not a win for c0.
    assert_eq!(rows[0]["stats"]["scores"], rows[1]["stats"]["scores"]);
    assert_eq!(done["tied_with_best"], serde_json::json!(["c1"]));
    for png in ["curves.png", "scores.png"] {
        assert!(fs::metadata(out.join(png)).unwrap().len() > 10_000, "{png}");
    }
    // The table, by text.
    let before = snapshot(&out.join("trials"));
    let text = rlrec(["tune", "--resume", "--out"])
        .args([&out, &sweep])
        .ok();
    assert!(text.contains("linucb.alpha=0.5"), "{text}");
    assert!(
        text.contains("no best configuration: c0 and c1 tie"),
        "{text}"
    );
    // Resuming a finished sweep trains nothing and changes no run.
    assert_unchanged(&out.join("trials"), &before, "a finished sweep resumed");
}

#[test]
fn bad_sweep_files_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (edit, message) in [
        (
            "\"linucb.alpah\" = { grid = [1.0] }",
            "unknown field `alpah`",
        ),
        ("\"linucb.lambda\" = { grid = [] }", "grid is empty"),
        (
            "\"linucb.lambda\" = { uniform = [2.0, 1.0] }",
            "the low bound is above the high one",
        ),
        (
            "\"linucb.lambda\" = { loguniform = [1.0, 1e9] }",
            "linucb.lambda",
        ),
        (
            "\"env.num_candidates\" = { grid = [20, 1] }",
            "env.num_candidates",
        ),
        (
            "\"slateq.lr\" = { grid = [0.1] }",
            "[slateq] configures --algo slateq",
        ),
        ("seed = { grid = [-1] }", "env.seed"),
    ] {
        let sweep = write(dir.path(), "bad.toml", &format!("{BANDIT_SWEEP}{edit}\n"));
        rlrec(["tune", "--out"])
            .args([&out, &sweep])
            .fails_with(message);
        assert!(!out.exists(), "{edit}: the sweep folder was created");
    }
    let sweep = write(dir.path(), "bad.toml", "[sweep]\nseeds = 0\n");
    rlrec(["tune", "--out"])
        .args([&out, &sweep])
        .fails_with("[sweep] seeds: must be at least 1");
    rlrec(["tune", "--out"])
        .args([&out, &dir.path().join("missing.toml")])
        .fails_with("reading");
    assert!(!out.exists());

    // A folder that is not empty is never written into; a sweep folder continues only
    // with its own sweep.
    let good = write(dir.path(), "good.toml", BANDIT_SWEEP);
    let mine = dir.path().join("mine");
    fs::create_dir(&mine).unwrap();
    fs::write(mine.join("notes.txt"), "mine").unwrap();
    let before = snapshot(&mine);
    rlrec(["tune", "--out"])
        .args([&mine, &good])
        .fails_with("is not empty");
    rlrec(["tune", "--resume", "--out"])
        .args([&mine, &good])
        .fails_with("is not a sweep folder");
    assert_unchanged(&mine, &before, "a user's folder");
    let plan = rlrec(["tune", "--plan", "--out"]).args([&out, &good]).ok();
    assert!(
        plan.contains("c0-seed0  linucb.alpha=0.5  (seed 0)"),
        "{plan}"
    );
    assert!(
        plan.contains("c1-seed1  linucb.alpha=2  (seed 1)"),
        "{plan}"
    );
    rlrec(["tune", "--out"])
        .args([&out, &good])
        .fails_with("already holds a sweep");
    let other = write(
        dir.path(),
        "other.toml",
        &BANDIT_SWEEP.replace("[0.5, 2.0]", "[0.5, 3.0]"),
    );
    rlrec(["tune", "--resume", "--out"])
        .args([&out, &other])
        .fails_with("linucb.alpha: 2.0 → 3.0");
}

#[cfg(feature = "slateq")]
mod interrupted {
    use std::fs;
    use std::io::{BufRead, BufReader};
    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use serde_json::Value;

    use super::{results, write};
    use crate::util::{binary, metrics_without_times, rlrec};

    /// What ended a sweep that the test interrupted.
    enum Stop {
        Interrupt,
        Kill,
    }

    /// Starts `rlrec tune --json`, waits until some trial has passed iteration `after`
    /// (so it has a checkpoint), stops the sweep as `stop` says and returns its exit status
    /// and stderr.
    fn interrupted(sweep: &Path, out: &Path, after: u64, stop: Stop) -> (Option<i32>, String) {
        let mut child = Command::new(binary())
            .args(["tune", "--json", "--jobs", "2", "--out"])
            .args([out, sweep])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("the sweep runs until stopped").unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["training_iteration"].as_u64().is_some_and(|i| i > after) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        }
        match stop {
            Stop::Interrupt => {
                // SAFETY: kill(2) of the child this test started.
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
            }
            Stop::Kill => child.kill().unwrap(),
        }
        // Read on: a sweep whose output reader went away would die of SIGPIPE instead.
        lines.for_each(drop);
        let output = child.wait_with_output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    }

    /// The issue's acceptance run: SlateQ's learning rate × 3 seeds on StrongLTS with
    /// `--jobs 2`, stopped by SIGINT and, in a second try, by SIGKILL, then resumed: the
    /// results and every trial's metrics equal an uninterrupted sweep's.
    #[test]
    fn an_interrupted_sweep_resumes_to_the_uninterrupted_results() {
        let dir = tempfile::tempdir().unwrap();
        let sweep = write(
            dir.path(),
            "lr.toml",
            r#"
[sweep]
iterations = 6
seeds = 3

[base]
algo = "slateq"
steps_per_iteration = 200
checkpoint_every = 2
eval_episodes = 50
[base.env]
env = "strong-lts"
[base.slateq]
hidden = [16]
batch_size = 32
buffer_size = 5000
learning_starts = 200
epsilon_steps = 600
target_update_every = 100

[axes]
"slateq.lr" = { grid = [1e-3, 1e-4] }
"#,
        );
        let straight = dir.path().join("straight");
        rlrec(["tune", "--json", "--jobs", "2", "--out"])
            .args([&straight, &sweep])
            .json();
        let expected = results(&straight);
        let trials: Vec<String> = fs::read_dir(straight.join("trials"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| !n.contains('.'))
            .collect();
        assert_eq!(trials.len(), 6);
        for (name, stop) in [("sigint", Stop::Interrupt), ("sigkill", Stop::Kill)] {
            let out = dir.path().join(name);
            let (code, stderr) = interrupted(&sweep, &out, 2, stop);
            match name {
                "sigint" => {
                    assert_eq!(code, Some(1), "{stderr}");
                    assert!(
                        stderr.contains("interrupted: ") && stderr.contains("--resume"),
                        "{stderr}"
                    );
                }
                _ => assert_eq!(code, None, "killed by a signal"),
            }
            // Straight away: the stopped trials' processes are gone and their folders free.
            let resumed = rlrec(["tune", "--json", "--jobs", "2", "--resume", "--out"])
                .args([&out, &sweep])
                .ok();
            assert!(
                resumed.contains("\"resumed\":true"),
                "{name}: some trial continued from a checkpoint:\n{resumed}"
            );
            assert_eq!(results(&out), expected, "{name}");
            for trial in &trials {
                assert_eq!(
                    metrics_without_times(&out.join("trials").join(trial)),
                    metrics_without_times(&straight.join("trials").join(trial)),
                    "{name}: {trial}"
                );
            }
        }
    }
}

/// `compare --seeds`: a fixed policy's seed k is its evaluation on seed + k; a trained
/// run's seed k is its configuration trained again on seed k, evaluated as `rlrec train`
/// evaluates it; the same whether the seeds run three at once or one at a time.
#[test]
fn compare_seeds_runs_every_row_on_each_seed() {
    let dir = tempfile::tempdir().unwrap();
    let mut evaluated = Vec::new();
    for seed in 0..3 {
        let done = train(
            &dir.path().join(format!("ucb{seed}")),
            &[
                "--algo",
                "linucb",
                "--iterations",
                "3",
                "--eval-episodes",
                "20",
                "--seed",
                &seed.to_string(),
            ],
        );
        evaluated.push(done["evaluation"]["mean"].as_f64().unwrap());
    }
    let png = dir.path().join("seeds.png");
    // Greedy and the first LinUCB run on 3 seeds, `jobs` of them at once.
    let compare = |jobs: &str| {
        rlrec([
            "compare",
            "--policy",
            "greedy",
            "--seeds",
            "3",
            "--episodes",
            "20",
            "--json",
            "--jobs",
            jobs,
            "--checkpoint",
        ])
        .args([dir.path().join("ucb0")])
    };
    let rows = compare("3").args(["--plot"]).args([&png]).json();
    let one_at_a_time = compare("1").json();
    assert_eq!(one_at_a_time, rows);
    let rows = rows.as_array().unwrap();
    let scores = |row: &Value| -> Vec<f64> {
        row["stats"]["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    assert_eq!(rows[0]["label"], "greedy");
    let greedy: Vec<f64> = (0..3)
        .map(|k| {
            rlrec([
                "baseline",
                "--policy",
                "greedy",
                "--episodes",
                "20",
                "--json",
                "--seed",
            ])
            .args([(1_000_003 + k).to_string()])
            .json()["mean"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(scores(&rows[0]), greedy);
    assert_eq!(rows[1]["label"], "ucb0");
    assert_eq!(scores(&rows[1]), evaluated);
    let ci = rows[1]["stats"]["mean"]["ci95"].as_array().unwrap();
    let mean = rows[1]["stats"]["mean"]["value"].as_f64().unwrap();
    assert!(ci[0].as_f64().unwrap() <= mean && mean <= ci[1].as_f64().unwrap());
    assert!(fs::metadata(&png).unwrap().len() > 10_000);
    let text = rlrec([
        "compare",
        "--policy",
        "random",
        "--seeds",
        "2",
        "--episodes",
        "5",
    ])
    .ok();
    assert!(
        text.contains("95% interval (t)") && text.contains("IQM"),
        "{text}"
    );
    rlrec(["compare", "--policy", "random", "--seeds", "0"]).fails_with("at least 1");
    rlrec(["compare", "--policy", "random", "--jobs", "2"]).fails_with("--seeds");
}

/// The steps of an event file's iteration records (TensorFlow's record framing, the
/// `step` field of each `Event`).
fn event_steps(path: &Path) -> Vec<u64> {
    let bytes = fs::read(path).unwrap();
    let mut steps = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        let event = &bytes[at + 12..at + 12 + len];
        at += 12 + len + 4;
        // wall_time (tag 0x09 and 8 bytes), then step (tag 0x10 and a varint) if any.
        if event.get(9) == Some(&0x10) {
            let (mut step, mut shift) = (0u64, 0);
            for &b in &event[10..] {
                step |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b < 0x80 {
                    break;
                }
            }
            steps.push(step);
        }
    }
    assert_eq!(at, bytes.len(), "whole records");
    steps
}

/// The event file follows metrics.jsonl: one record per iteration, cut back with it on a
/// rewind, and carried into a branch; a finished run's final evaluation is one more
/// record at its last iteration.
#[test]
fn event_files_follow_the_metrics_through_rewinds_and_branches() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let args = [
        "--algo",
        "linucb",
        "--iterations",
        "5",
        "--checkpoint-every",
        "1",
        "--eval-episodes",
        "2",
    ];
    train(&run, &args);
    let events = run.join("events.out.tfevents.rlrec");
    assert_eq!(event_steps(&events), [1, 2, 3, 4, 5, 5]);
    rlrec([
        "train",
        "--rewind",
        "--iterations",
        "4",
        "--eval-episodes",
        "2",
        "--checkpoint",
    ])
    .args([run.join("checkpoint-000002")])
    .ok();
    assert_eq!(event_steps(&events), [1, 2, 3, 4, 4]);
    let branch = dir.path().join("branch");
    rlrec([
        "train",
        "--iterations",
        "3",
        "--eval-episodes",
        "2",
        "--checkpoint",
    ])
    .args([run.join("checkpoint-000001")])
    .args(["--out"])
    .args([&branch])
    .ok();
    assert_eq!(
        event_steps(&branch.join("events.out.tfevents.rlrec")),
        [1, 2, 3, 3]
    );
}
