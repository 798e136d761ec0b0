//! Run folders: a user's folder is never written into, a run is never continued in another
//! run's folder, a second writer is refused, failed writes and full disks leave every file
//! whole, and a run that stopped early starts again.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{
    assert_unchanged, bandit_run, binary, metric_iterations, rlrec, snapshot, train, wait_for,
};

/// A folder that is not an rlrec run is never written into.
#[test]
fn a_users_folder_is_never_written_into() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine");
    fs::create_dir_all(mine.join("checkpoint-000001")).unwrap();
    fs::write(mine.join("config.toml"), "# my own notes\n").unwrap();
    fs::write(mine.join("checkpoint-000001/model.bin"), b"precious").unwrap();
    fs::write(mine.join("data.csv"), "a,b\n1,2\n").unwrap();
    let before = snapshot(&mine);
    rlrec(["train", "--algo", "linucb", "--iterations", "2", "--out"])
        .args([&mine])
        .fails_with("is not an rlrec run folder");
    assert_unchanged(&mine, &before, "--out on a user's folder");
    // `--config config.toml --out .`: the user's commented config.toml stays as it is.
    let here = dir.path().join("here");
    fs::create_dir(&here).unwrap();
    fs::write(
        here.join("config.toml"),
        "# tuned by hand\nalgo = \"linucb\"\niterations = 2\n",
    )
    .unwrap();
    let before = snapshot(&here);
    rlrec(["train", "--config", "config.toml", "--out", "."])
        .current_dir(&here)
        .fails_with("is not an rlrec run folder");
    assert_unchanged(&here, &before, "--out . with the user's config.toml");
    // An empty folder is fine.
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    bandit_run(&empty);
}

/// A resume to an iteration the run has reached is an error that changes nothing.
#[test]
fn resuming_backwards_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    bandit_run(&run);
    let before = snapshot(&run);
    for (n, message) in [
        ("0", "iterations = 0 is invalid"),
        ("3", "--iterations must be above it"),
        ("5", "--iterations must be above it"),
    ] {
        rlrec(["train", "--resume", "--iterations", n, "--out"])
            .args([&run])
            .fails_with(message);
    }
    assert_unchanged(&run, &before, "backward resumes");
    let done = rlrec(["train", "--json", "--resume", "--iterations", "7", "--out"])
        .args([&run])
        .json();
    assert!(done["checkpoint"]
        .as_str()
        .unwrap()
        .ends_with("checkpoint-000007"));
}

/// One run's checkpoint is never continued in another run's folder.
#[test]
fn a_checkpoint_never_continues_in_another_runs_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (ucb, ts) = (dir.path().join("ucb"), dir.path().join("ts"));
    bandit_run(&ucb);
    train(
        &ts,
        &[
            "--algo",
            "lints",
            "--iterations",
            "3",
            "--eval-episodes",
            "5",
        ],
    );
    let before = snapshot(&ucb);
    rlrec(["train", "--iterations", "9", "--checkpoint"])
        .args([&ts])
        .args(["--out"])
        .args([&ucb])
        .fails_with("belongs to another run");
    assert_unchanged(&ucb, &before, "another run's checkpoint");
}

/// From an older checkpoint, training branches into a new run folder; `--rewind`
/// continues the run itself from there.
#[test]
fn an_older_checkpoint_branches_unless_rewound() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    bandit_run(&run);
    let before = snapshot(&run);
    let old = run.join("checkpoint-000002");
    let done = rlrec(["train", "--json", "--iterations", "3", "--checkpoint"])
        .args([&old])
        .current_dir(dir.path())
        .json();
    assert_unchanged(&run, &before, "branching");
    let branch = dir.path().join(done["checkpoint"].as_str().unwrap());
    let branch = branch.parent().unwrap();
    assert!(
        branch.starts_with(dir.path().join("runs")),
        "{}",
        branch.display()
    );
    let lines = fs::read_to_string(branch.join("metrics.jsonl")).unwrap();
    assert_eq!(
        lines.lines().count(),
        3,
        "the branch keeps the history up to 2, adds 3"
    );
    // In place: refused without --rewind, done with it.
    rlrec(["train", "--iterations", "3", "--out"])
        .args([&run])
        .args(["--checkpoint"])
        .args([&old])
        .fails_with("--rewind");
    assert_unchanged(&run, &before, "refused rewind");
    rlrec([
        "train",
        "--json",
        "--iterations",
        "3",
        "--rewind",
        "--checkpoint",
    ])
    .args([&old])
    .json();
    let lines = fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 3);
    assert!(
        !run.join("checkpoint-000005").exists(),
        "later checkpoints go"
    );
}

/// A run folder is locked by the process writing it; a second writer is told who.
#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut first = Command::new(binary())
        .args([
            "train",
            "--algo",
            "linucb",
            "--iterations",
            "1000000",
            "--steps-per-iteration",
            "20",
            "--out",
        ])
        .arg(&run)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(
        &run.join("checkpoint_path.txt"),
        Duration::from_secs(20)
    ));
    // The folder is locked before its run is looked at: a fresh run is told who holds it.
    rlrec(["train", "--algo", "linucb", "--out"])
        .args([&run])
        .fails_with(&format!("in use by process {}", first.id()));
    rlrec(["train", "--resume", "--iterations", "2000000", "--out"])
        .args([&run])
        .fails_with(&format!("in use by process {}", first.id()));
    first.kill().unwrap();
    first.wait().unwrap();
    // Once the writer is gone the run continues, its metrics one line per iteration.
    let at = rlrec(["inspect", "--json", "--checkpoint"])
        .args([&run])
        .json()["training_iteration"]
        .as_u64()
        .unwrap();
    rlrec(["train", "--resume", "--json", "--out"])
        .args([&run])
        .args(["--iterations", &(at + 2).to_string()])
        .json();
    let iterations = metric_iterations(&run);
    assert!(
        iterations.windows(2).all(|w| w[1] == w[0] + 1),
        "{iterations:?}"
    );
}

/// A failed write leaves the old file: plots go through a temporary name, metrics
/// appends are cut back.
#[test]
fn failed_writes_leave_existing_files_whole() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("figure.png");
    fs::write(&png, b"my figure").unwrap();
    // The temporary file's name is taken by a folder: the drawing cannot be written.
    fs::create_dir(dir.path().join(".figure.png.tmp")).unwrap();
    let stderr = rlrec(["episode", "--policy", "random", "--plot"])
        .args([&png])
        .fails_with("figure.png.tmp: Is a directory");
    // The system's error, not a Debug dump of the image encoder's (issue 27, finding 13).
    assert!(!stderr.contains("Custom {"), "{stderr}");
    assert_eq!(fs::read(&png).unwrap(), b"my figure");
    // A metrics file that is a device: refused, not read for ever.
    let run = dir.path().join("run");
    bandit_run(&run);
    let metrics = run.join("metrics.jsonl");
    fs::remove_file(&metrics).unwrap();
    std::os::unix::fs::symlink("/dev/full", &metrics).unwrap();
    rlrec(["train", "--resume", "--iterations", "6", "--out"])
        .args([&run])
        .fails_with("not a regular file");
}

/// A full disk: the run stops with an error, no file is left half-written, and once
/// there is room again it continues. Needs a small file system of its own: a tmpfs, which
/// root can mount (CI runs as root); elsewhere the test says so and passes.
#[test]
fn a_full_disk_leaves_a_run_that_continues() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("disk");
    fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("f06: cannot mount a tmpfs here (not root?): full-disk case not run");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&mnt);
    let run = mnt.join("run");
    bandit_run(&run);
    // Fill the disk, then leave it 16 KiB: a few iterations' checkpoints fit, not all.
    let filler = mnt.join("filler");
    let chunk = vec![0u8; 4096];
    {
        use std::io::Write;
        let mut f = fs::File::create(&filler).unwrap();
        while f.write_all(&chunk).and_then(|()| f.sync_data()).is_ok() {}
    }
    let size = fs::metadata(&filler).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(size - 16384)
        .unwrap();
    rlrec([
        "train",
        "--resume",
        "--checkpoint-every",
        "1",
        "--iterations",
        "1000",
        "--out",
    ])
    .args([&run])
    .fails_with("No space left on device");
    let check = |run: &Path| {
        let iterations = metric_iterations(run);
        assert_eq!(
            iterations,
            (1..=iterations.len() as u64).collect::<Vec<_>>(),
            "whole lines, in order"
        );
        assert!(!fs::read_dir(run).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")));
        rlrec(["inspect", "--json", "--checkpoint"])
            .args([run])
            .json()["training_iteration"]
            .as_u64()
            .unwrap()
    };
    let at = check(&run);
    fs::remove_file(&filler).unwrap();
    let done = rlrec([
        "train",
        "--resume",
        "--json",
        "--iterations",
        &(at + 3).to_string(),
        "--out",
    ])
    .args([&run])
    .json();
    assert!(done["evaluation"]["mean"].is_f64());
    assert_eq!(check(&run), at + 3);
}

/// A run that stopped before its first checkpoint starts again with the same command;
/// `--resume` says so.
#[test]
fn a_run_without_a_checkpoint_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    rlrec(["train", "--algo", "linucb", "--iterations", "2", "--out"])
        .args([&run])
        .stdout(full)
        .fails();
    assert!(run.join(".rlrec-run").exists() && !run.join("checkpoint_path.txt").exists());
    rlrec(["train", "--resume", "--iterations", "2", "--out"])
        .args([&run])
        .fails_with("start it again");
    train(
        &run,
        &[
            "--algo",
            "linucb",
            "--iterations",
            "2",
            "--eval-episodes",
            "5",
        ],
    );
    // A branch that stopped before its first checkpoint starts again with the same command.
    let branch = dir.path().join("branch");
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let branch_args = |out: &Path| {
        let mut args = vec!["train", "--iterations", "4", "--eval-episodes", "5"];
        args.extend(["--checkpoint", run.to_str().unwrap(), "--out"]);
        args.push(out.to_str().unwrap());
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    rlrec(branch_args(&branch)).stdout(full).fails();
    assert!(!branch.join("checkpoint_path.txt").exists());
    rlrec(branch_args(&branch)).ok();
    assert!(branch.join("checkpoint_path.txt").exists());
}

/// Runs started in the same second without `--out` get different folders: the
/// folders the next seconds' runs would take are occupied first, so the run must find a
/// free name, and it leaves the occupied ones alone.
#[test]
fn runs_started_together_get_their_own_folders() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    fs::create_dir(&runs).unwrap();
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for t in start..start + 20 {
        let name = format!(
            "random-strong-lts-{}",
            trainer::UtcTime::from_unix(t).compact()
        );
        fs::create_dir(runs.join(&name)).unwrap();
        fs::write(runs.join(&name).join("someone-elses.txt"), "taken").unwrap();
    }
    let before = snapshot(&runs);
    rlrec([
        "train",
        "--algo",
        "random",
        "--iterations",
        "1",
        "--eval-episodes",
        "2",
    ])
    .current_dir(dir.path())
    .ok();
    let after = snapshot(&runs);
    let new: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(
        new.iter().all(|k| k.contains("-2/")),
        "the run took a free name: {new:?}"
    );
    assert!(
        before.iter().all(|(k, v)| after.get(k) == Some(v)),
        "taken folders untouched"
    );
}
