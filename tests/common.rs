//! Helpers shared by the command-line tests.

#![allow(dead_code)]

use std::process::{Command, Output};

pub fn rlrec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlrec"))
        .args(args)
        .output()
        .expect("rlrec runs")
}

/// Runs rlrec, requires success, and parses the last stdout line as JSON.
pub fn rlrec_json(args: &[&str]) -> serde_json::Value {
    let out = rlrec(args);
    assert!(
        out.status.success(),
        "rlrec {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().expect("output")).expect("JSON")
}

/// Runs rlrec and requires a clean failure: non-zero exit, an error message, no panic.
pub fn rlrec_fails(args: &[&str]) -> String {
    let out = rlrec(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "rlrec {args:?} should fail");
    assert!(
        !stderr.contains("panicked"),
        "rlrec {args:?} panicked: {stderr}"
    );
    stderr
}
