//! The documentation runs: every `rlrec` command in a ```` ```console ```` block of the
//! README and the guide is run, in order, in one folder per page, and every output line
//! the page shows must appear in the command's output, in order. A `…` in a shown line
//! stands for any text (a time, a run folder's name); a line that is only `…` for any
//! lines. So a page cannot show a figure the command no longer prints.
//!
//! `cargo xtask train ARGS` runs as `rlrec train --algo slateq ARGS`, what it runs after
//! its set-up; in a build without SlateQ, pages' SlateQ commands are skipped.

use std::path::{Path, PathBuf};

use crate::util::rlrec;

/// One command of a page and the lines it shows.
struct Example {
    line: usize,
    command: String,
    shown: Vec<String>,
}

fn page(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

/// The commands of a page's console blocks, continuation lines joined.
fn examples(text: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_console = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            in_console = line.trim() == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some((start, mut command)) = pending.take() {
            command.push(' ');
            command.push_str(line.trim().trim_end_matches('\\').trim());
            if line.trim_end().ends_with('\\') {
                pending = Some((start, command));
            } else {
                out.push(Example {
                    line: start,
                    command,
                    shown: Vec::new(),
                });
            }
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            let command = command.split(" # ").next().unwrap().trim();
            if command.ends_with('\\') {
                pending = Some((i + 1, command.trim_end_matches('\\').trim().to_string()));
            } else {
                out.push(Example {
                    line: i + 1,
                    command: command.to_string(),
                    shown: Vec::new(),
                });
            }
        } else if let Some(last) = out.last_mut() {
            last.shown.push(line.trim_end().to_string());
        }
    }
    out
}

/// Whether `actual` matches `shown`, where `…` stands for any text.
fn line_matches(shown: &str, actual: &str) -> bool {
    let mut rest = actual;
    let pieces: Vec<&str> = shown.split('…').collect();
    for (k, piece) in pieces.iter().enumerate() {
        if k == 0 {
            match rest.strip_prefix(piece) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if k == pieces.len() - 1 {
            return rest.ends_with(piece);
        } else {
            match rest.find(piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

/// Checks that every shown line appears in `output`, in order.
fn check_shown(example: &Example, output: &str, page: &Path) {
    let lines: Vec<&str> = output.lines().map(str::trim_end).collect();
    let mut at = 0;
    for shown in example.shown.iter().filter(|l| l.trim() != "…") {
        match lines[at..].iter().position(|l| line_matches(shown, l)) {
            Some(k) => at += k + 1,
            None => panic!(
                "{}:{}: `{}` no longer prints\n  {shown}\nit printed:\n{output}",
                page.display(),
                example.line,
                example.command
            ),
        }
    }
}

/// Splits a command line on spaces, keeping quoted words whole.
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    for c in command.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            (_, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn run_page(name: &str) {
    let (path, text) = page(name);
    let dir = tempfile::tempdir().unwrap();
    let examples = examples(&text);
    assert!(!examples.is_empty(), "{name} shows no command");
    for example in &examples {
        let words = words(&example.command);
        let args: Vec<String> = match words.first().map(String::as_str) {
            Some("rlrec") => words[1..].to_vec(),
            Some("cargo") if words.get(1).map(String::as_str) == Some("xtask") => {
                match words.get(2).map(String::as_str) {
                    Some("train") => {
                        let mut args = vec!["train".to_string(), "--algo".into(), "slateq".into()];
                        args.extend(words[3..].iter().cloned());
                        args
                    }
                    // Set-up, figures, benchmarks: not this test's to run.
                    _ => continue,
                }
            }
            _ => continue,
        };
        let slateq = args
            .windows(2)
            .any(|w| w[0] == "--algo" && w[1] == "slateq")
            || args.iter().any(|a| a.contains("slateq"));
        if slateq && !cfg!(feature = "slateq") {
            continue;
        }
        let output = rlrec(&args).current_dir(dir.path()).ok();
        check_shown(example, &output, &path);
    }
}

#[test]
fn the_matching_handles_elisions() {
    assert!(line_matches(
        "iteration 100: 12000 steps, … s",
        "iteration 100: 12000 steps, 0.3 s"
    ));
    assert!(line_matches(
        "checkpoint: runs/linucb/checkpoint-000100",
        "checkpoint: runs/linucb/checkpoint-000100"
    ));
    assert!(!line_matches("mean return 1157.67", "mean return 1157.68"));
    assert!(line_matches(
        "  candidates: 0: [0.723]  …  14: [0.880]  …",
        "  candidates: 0: [0.723]  1: [0.2]  14: [0.880]  19: [0.1]"
    ));
    let e = examples(
        "```console\n$ rlrec compare --policy random \\\n    --checkpoint runs/x\nline\n```\n",
    );
    assert_eq!(
        e[0].command,
        "rlrec compare --policy random --checkpoint runs/x"
    );
    assert_eq!(e[0].shown, ["line"]);
    assert_eq!(words("a 'b c' d"), ["a", "b c", "d"]);
}

#[test]
fn the_guide_runs_as_written() {
    run_page("docs/guide.md");
}

#[test]
fn the_readme_runs_as_written() {
    run_page("README.md");
}

#[test]
fn the_logs_page_runs_as_written() {
    run_page("docs/logs.md");
}

/// `cargo xtask obd`'s page: what the commands print on the Open Bandit Dataset is what it
/// shows, so its table in import.md cannot drift from a rerun unnoticed.
#[test]
fn the_open_bandit_dataset_page_runs_as_written() {
    if crate::import::obd().is_some() {
        run_page("docs/obd-results.md");
    }
}
