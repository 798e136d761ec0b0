//! `rlrec export` and `rlrec serve` from the command line: what they write, and what they
//! refuse (the server's own behaviour is tested in `crates/serve` and, against
//! `rlrec inference`, in `python/tests/test_policy.py`).

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{binary, rlrec};

/// A run of `algo` in `out`: two iterations, a short evaluation.
fn trained(algo: &str, out: &Path) {
    rlrec([
        "train",
        "--iterations",
        "2",
        "--eval-episodes",
        "2",
        "--algo",
        algo,
        "--out",
    ])
    .args([out])
    .ok();
}

#[test]
fn export_writes_a_model_and_refuses_what_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let (run, random) = (dir.path().join("linucb"), dir.path().join("random"));
    trained("linucb", &run);
    let model = dir.path().join("policy.onnx");
    let done = rlrec(["export", "--json", "--checkpoint"])
        .args([&run])
        .args(["--out"])
        .args([&model])
        .json();
    assert_eq!(done["algorithm"], "linucb");
    assert!(model.is_file() && dir.path().join("policy.json").is_file());
    rlrec(["export", "--checkpoint"])
        .args([&run])
        .args(["--out"])
        .args([dir.path().join("policy.json")])
        .fails_with("must name a .onnx file");
    let folder = dir.path().join("folder.onnx");
    fs::create_dir(&folder).unwrap();
    rlrec(["export", "--checkpoint"])
        .args([&run])
        .args(["--out"])
        .args([&folder])
        .fails_with("is a folder");
    rlrec(["export", "--out", "x.onnx", "--checkpoint"])
        .args([dir.path().join("missing")])
        .fails();
    trained("random", &random);
    rlrec(["export", "--out", "x.onnx", "--checkpoint"])
        .args([&random])
        .fails_with("random has no portable form");
    // The server refuses what it cannot serve, before it listens.
    rlrec(["serve"]).fails_with("give --model FILE");
    let text = dir.path().join("notes.onnx");
    fs::write(&text, "not a model").unwrap();
    rlrec(["serve", "--model"])
        .args([&text])
        .fails_with("not a policy rlrec exported");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    rlrec([
        "serve",
        "--addr",
        &taken.local_addr().unwrap().to_string(),
        "--model",
    ])
    .args([&model])
    .fails();
    assert_eq!(fs::read_to_string(&text).unwrap(), "not a model");
}

/// A served checkpoint answers `/health` with its algorithm, and SIGTERM ends it with
/// exit 0.
#[test]
fn serve_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("linucb");
    trained("linucb", &run);
    let mut child = Command::new(binary())
        .args(["serve", "--json", "--addr", "127.0.0.1:0", "--checkpoint"])
        .arg(&run)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let addr = first["listening"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_string();
    let answer = (|| {
        let mut stream = TcpStream::connect(&addr)?;
        stream.write_all(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        Ok::<_, std::io::Error>(text)
    })();
    // SAFETY: a signal to our own child, not yet waited for.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let answer = answer.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"algorithm\":\"linucb\""), "{answer}");
    assert!(status.success(), "{status:?}");
    let last: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(last["stopped"], true);
}
