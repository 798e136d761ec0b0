//! Resuming: what a continued run may change, an edited `config.toml`, and checkpoints
//! whose contents do not fit their configuration.

use std::fs;

use serde_json::Value;

use crate::util::{bandit_run, metric_iterations, rlrec};

/// An edited `config.toml` is reported, not silently overwritten.
#[test]
fn an_edited_config_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    bandit_run(&run);
    let path = run.join("config.toml");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("seed = 0", "seed = 9");
    fs::write(&path, &text).unwrap();
    rlrec(["train", "--resume", "--iterations", "6", "--out"])
        .args([&run])
        .fails_with("env.seed: 0 → 9");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        text,
        "the file is left for the user"
    );
    // A comment alone is no edit: nothing to report.
    let original = text.replace("seed = 9", "seed = 0");
    fs::write(&path, format!("# my run\n{original}")).unwrap();
    let (_, out) = rlrec(["train", "--resume", "--iterations", "6", "--out"])
        .args([&run])
        .output();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("in the file"));
    // The resume changed `iterations` alone, in place: the comment stays.
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        format!(
            "# my run\n{}",
            original.replace("iterations = 5", "iterations = 6")
        )
    );
    // A key a resume may change, edited in the file: the run goes on with the checkpoint's
    // value and says so.
    let edited = text.replace("eval_episodes = 5", "eval_episodes = 7");
    assert_ne!(edited, text);
    fs::write(&path, &edited).unwrap();
    let (_, out) = rlrec(["train", "--resume", "--iterations", "7", "--out"])
        .args([&run])
        .output();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("eval_episodes = 7 in the file, 5 used"),
        "{stderr}"
    );
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# my run\n"), "{text}");
    assert!(text.contains("eval_episodes = 5") && text.contains("iterations = 7"));
    let evaluated: Value =
        serde_json::from_str(&fs::read_to_string(run.join("evaluation.json")).unwrap()).unwrap();
    assert_eq!(evaluated["evaluation"]["episodes"], 5);
}

/// On resume, evaluation and checkpoint settings apply; the others are refused by name.
#[test]
fn resume_applies_or_refuses_every_option() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    bandit_run(&run);
    rlrec([
        "train",
        "--resume",
        "--iterations",
        "8",
        "--steps-per-iteration",
        "50",
        "--out",
    ])
    .args([&run])
    .fails_with("steps_per_iteration: the run has 0, the options give 50");
    let done = rlrec([
        "train",
        "--resume",
        "--json",
        "--iterations",
        "8",
        "--eval-episodes",
        "7",
        "--evaluation-interval",
        "2",
        "--checkpoint-every",
        "4",
        "--out",
    ])
    .args([&run])
    .json();
    assert_eq!(done["evaluation"]["episodes"], 7);
    assert!(run.join("checkpoint-000008").exists() && !run.join("checkpoint-000007").exists());
    let last: Value = serde_json::from_str(
        fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert!(
        last["evaluation"]["mean"].is_f64(),
        "evaluated at iteration 8"
    );
    // Re-typing the original command with --resume is fine.
    rlrec([
        "train",
        "--algo",
        "linucb",
        "--checkpoint-every",
        "1",
        "--resume",
        "--iterations",
        "9",
        "--json",
        "--out",
    ])
    .args([&run])
    .json();
}

/// A checkpoint edited to another environment, its checksum recomputed, is refused.
#[test]
fn a_checkpoint_whose_contents_do_not_fit_its_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    bandit_run(&run);
    let file = run.join("checkpoint-000005/checkpoint.bin");
    let mut ckpt = trainer::Checkpoint::read(&file).unwrap();
    ckpt.config.env.params.insert("sensitivity".into(), 0.3);
    let edited = dir.path().join("edited");
    fs::create_dir(&edited).unwrap();
    fs::write(edited.join("checkpoint.bin"), ckpt.encode()).unwrap();
    rlrec(["train", "--iterations", "9", "--out"])
        .args([dir.path().join("b")])
        .args(["--checkpoint"])
        .args([&edited])
        .fails_with("model parameters differ");
    assert!(
        !dir.path().join("b").exists(),
        "a refused branch leaves no folder"
    );
    // Every command that reads it refuses it, not only training.
    for command in [
        &["inference", "--episodes", "5", "--checkpoint"][..],
        &["inspect", "--checkpoint"],
        &["compare", "--episodes", "5", "--checkpoint"],
        &["episode", "--checkpoint"],
    ] {
        rlrec(command)
            .args([&edited])
            .fails_with("its configuration does not fit its saved environments");
    }
    let mut ckpt = trainer::Checkpoint::read(&file).unwrap();
    ckpt.config.env.num_candidates = 30;
    fs::write(edited.join("checkpoint.bin"), ckpt.encode()).unwrap();
    rlrec(["inference", "--checkpoint"])
        .args([&edited])
        .fails_with("the saved environment has the candidate set");
}

/// A damaged `metrics.jsonl` is refused by name, and left as it is, where a resume used
/// to continue with silent gaps in its curves (issue 27, finding 5). Half a line after
/// the checkpoint's iteration, as a crash during an append leaves it, is dropped.
#[test]
fn a_damaged_history_is_refused_not_resumed_with_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    bandit_run(&run);
    let path = run.join("metrics.jsonl");
    let whole = fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = whole.lines().collect();
    assert_eq!(lines.len(), 5);
    let without = |skip: usize| -> String {
        let kept: Vec<&str> = (0..5).filter(|&i| i != skip).map(|i| lines[i]).collect();
        kept.join("\n") + "\n"
    };
    let cut_last = format!("{}\n{}", lines[..4].join("\n"), &lines[4][..20]);
    for (damaged, message) in [
        (cut_last, "lacks the results of iteration 5 ("),
        (without(2), "lacks the results of iteration 3 ("),
        (
            format!("not json\n{whole}"),
            "line 1 is not an iteration's results",
        ),
        (format!("{whole}{}\n", lines[1]), "some appear twice"),
    ] {
        fs::write(&path, &damaged).unwrap();
        rlrec(["train", "--resume", "--iterations", "6", "--out"])
            .args([&run])
            .fails_with(message);
        assert_eq!(fs::read_to_string(&path).unwrap(), damaged, "{message}");
    }
    fs::remove_file(&path).unwrap();
    rlrec(["train", "--resume", "--iterations", "6", "--out"])
        .args([&run])
        .fails_with("lacks the results of iterations 1–5");
    fs::write(&path, format!("{whole}{{\"training_itera")).unwrap();
    let (shown, out) = rlrec(["train", "--resume", "--iterations", "6", "--out"])
        .args([&run])
        .output();
    assert!(out.status.success(), "{shown}");
    assert_eq!(metric_iterations(&run), [1, 2, 3, 4, 5, 6]);
}
