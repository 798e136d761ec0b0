//! The command helper and the shared fixtures of the command-line tests.
//!
//! [`rlrec`] builds a command; [`Rlrec::ok`], [`Rlrec::json`] and [`Rlrec::fails`] run it
//! and, when it does not do what the test expects, panic with the whole story: the
//! command, its exit status, its stdout and its stderr.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test: `RLREC_TEST_BIN` if set (to run the suite against another
/// build), else this package's.
pub fn binary() -> PathBuf {
    std::env::var_os("RLREC_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rlrec")))
}

/// An `rlrec` command to run.
pub struct Rlrec {
    cmd: Command,
    shown: String,
}

/// `rlrec ARGS…`.
pub fn rlrec<I, S>(args: I) -> Rlrec
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(binary());
    let mut shown = String::from("rlrec");
    for a in args {
        shown.push(' ');
        shown.push_str(&a.as_ref().to_string_lossy());
        cmd.arg(a);
    }
    Rlrec { cmd, shown }
}

impl Rlrec {
    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.shown.push(' ');
            self.shown.push_str(&a.as_ref().to_string_lossy());
            self.cmd.arg(a);
        }
        self
    }

    /// Runs in `dir`.
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self.shown = format!("(in {}) {}", dir.display(), self.shown);
        self
    }

    /// Sends stdout to `stdout` (a file, `/dev/full`).
    pub fn stdout(mut self, stdout: impl Into<Stdio>) -> Self {
        self.cmd.stdout(stdout);
        self
    }

    /// Sends stderr to `stderr`.
    pub fn stderr(mut self, stderr: impl Into<Stdio>) -> Self {
        self.cmd.stderr(stderr);
        self
    }

    /// Runs it and returns what happened.
    pub fn output(mut self) -> (String, Output) {
        let output = self.cmd.output().expect("rlrec starts");
        (self.shown, output)
    }

    /// Runs it, requires success, and returns stdout.
    pub fn ok(self) -> String {
        let (shown, out) = self.output();
        if !out.status.success() {
            panic!("expected success\n{}", report(&shown, &out));
        }
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// Runs it, requires success, and parses the last stdout line as JSON.
    pub fn json(self) -> Value {
        let shown = self.shown.clone();
        let stdout = self.ok();
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("{shown}: last line is not JSON ({e}): {last}"))
    }

    /// Runs it and requires a clean failure: exit code 1, an error message, no panic.
    /// Returns stderr.
    pub fn fails(self) -> String {
        let (shown, out) = self.output();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if out.status.code() != Some(1) || stderr.contains("panicked") || stderr.is_empty() {
            panic!(
                "expected a clean failure (exit 1)\n{}",
                report(&shown, &out)
            );
        }
        stderr
    }

    /// Runs it and requires a clean failure whose message contains `message`.
    pub fn fails_with(self, message: &str) -> String {
        let shown = self.shown.clone();
        let stderr = self.fails();
        assert!(
            stderr.contains(message),
            "{shown}: expected an error containing {message:?}, got:\n{stderr}"
        );
        stderr
    }
}

/// The command, its status and both outputs, for a failed expectation.
pub fn report(shown: &str, out: &Output) -> String {
    format!(
        "command: {shown}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `rlrec train --json --out OUT ARGS…`, returning the last line (checkpoint, evaluation).
pub fn train(out: &Path, args: &[&str]) -> Value {
    rlrec(["train", "--json", "--out"])
        .args([out])
        .args(args)
        .json()
}

/// A run's metrics.jsonl without the wall-clock fields (`time_*`, `timestamp`), for
/// comparing runs.
pub fn metrics_without_times(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut()
                .unwrap()
                .retain(|k, _| !k.starts_with("time_") && k != "timestamp");
            v
        })
        .collect()
}

/// Trains `total` iterations straight in `dir/straight`, and `first` then (resumed) the
/// rest in `dir/split`; asserts that the two `metrics.jsonl` agree (wall times aside) and
/// returns both runs' last lines and the straight run's metrics.
pub fn straight_and_resumed(
    dir: &Path,
    args: &[&str],
    first: u64,
    total: u64,
) -> (Value, Value, Vec<Value>) {
    let (straight, split) = (dir.join("straight"), dir.join("split"));
    let (first, total) = (first.to_string(), total.to_string());
    let a = train(&straight, &[args, &["--iterations", &total]].concat());
    train(&split, &[args, &["--iterations", &first]].concat());
    let b = rlrec(["train", "--json", "--resume", "--out"])
        .args([&split])
        .args(["--iterations", &total])
        .json();
    let metrics = metrics_without_times(&straight);
    assert_eq!(
        metrics,
        metrics_without_times(&split),
        "{first} + rest must equal {total} straight"
    );
    (a, b, metrics)
}

/// Every file under a folder with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            for (k, v) in snapshot(&path) {
                out.insert(format!("{name}/{k}"), v);
            }
        } else {
            out.insert(name, std::fs::read(&path).unwrap_or_default());
        }
    }
    out
}

/// Asserts that a folder still holds exactly `before`, naming the files that differ.
pub fn assert_unchanged(dir: &Path, before: &BTreeMap<String, Vec<u8>>, what: &str) {
    let after = snapshot(dir);
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(
        changed.is_empty(),
        "{what}: these files changed, appeared or went: {changed:?}"
    );
}

/// A small, fast SlateQ configuration for LTS defaults 10/3, with `extra` lines appended
/// to its `[slateq]` table.
#[cfg(feature = "slateq")]
pub fn slateq_config(dir: &Path, extra: &str) -> PathBuf {
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
seed = 3

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
    path
}

/// Waits for `path` to exist, up to `limit`.
pub fn wait_for(path: &Path, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A short LinUCB run: 5 iterations of one episode, a checkpoint each.
pub fn bandit_run(out: &Path) -> Value {
    train(
        out,
        &[
            "--algo",
            "linucb",
            "--iterations",
            "5",
            "--checkpoint-every",
            "1",
            "--eval-episodes",
            "5",
        ],
    )
}

/// Runs `rlrec args…` in `dir` to completion, at most `limit`; `None` if it ran longer
/// (it is then killed).
pub fn run_bounded(dir: &Path, args: &[&str], limit: Duration) -> Option<std::process::Output> {
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The `training_iteration` of every line of a run folder's `metrics.jsonl`, in order.
pub fn metric_iterations(run: &Path) -> Vec<u64> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["training_iteration"]
                .as_u64()
                .unwrap()
        })
        .collect()
}
