//! `metrics.jsonl`, a run's history: one line of results per iteration, read back
//! checked, so that a resumed run's curves never have silent gaps.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use storage::IoError;
use thiserror::Error;

use crate::IterationResult;

/// A history that cannot be used as it is.
#[derive(Debug, Error)]
pub enum HistoryError {
    /// The file cannot be read.
    #[error(transparent)]
    Io(#[from] IoError),
    /// Iterations up to the checkpoint a run continues from that the file lacks:
    /// continuing would leave a silent gap in its curves.
    #[error(
        "{} lacks {missing} (the run continues from iteration {iteration}): its history \
         would have a gap; restore the file from a copy, or train a new run",
        .path.display()
    )]
    Missing {
        /// The file.
        path: PathBuf,
        /// The checkpoint's iteration.
        iteration: u64,
        /// What is missing: `the results of iterations 1–3, 6`.
        missing: String,
    },
    /// A line that is not an iteration's results.
    #[error("{} line {line} is not an iteration's results", .path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong.
        source: serde_json::Error,
    },
}

/// Every iteration's results in `path` (none where there is no file yet).
pub(crate) fn results(path: &Path) -> Result<Vec<IterationResult>, HistoryError> {
    lines(path)?
        .iter()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| HistoryError::BadLine {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// The file's lines, but for half a line at its end (an append cut short).
fn lines(path: &Path) -> Result<Vec<String>, HistoryError> {
    // A device or pipe in its place could be read for ever.
    if path.exists() && !path.is_file() {
        return Err(IoError::on(path)(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ))
        .into());
    }
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(IoError::on(path)(e).into()),
    };
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // An append cut short by a crash: half a line after the last whole one.
    if !text.ends_with('\n')
        && lines
            .last()
            .is_some_and(|l| serde_json::from_str::<IterationResult>(l).is_err())
    {
        lines.pop();
    }
    Ok(lines)
}

/// The lines of iterations 1 to `iteration` in `path`, every one there and in order;
/// later lines are dropped. A line that is not an iteration's results, or a missing
/// iteration, is an error naming them: a resumed run's curves never have silent gaps.
pub(crate) fn through(path: &Path, iteration: u64) -> Result<Vec<String>, HistoryError> {
    let mut kept = Vec::new();
    let mut found = Vec::new();
    for (i, line) in lines(path)?.into_iter().enumerate() {
        let result: IterationResult =
            serde_json::from_str(&line).map_err(|source| HistoryError::BadLine {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            })?;
        if result.training_iteration <= iteration {
            found.push(result.training_iteration);
            kept.push(line);
        }
    }
    if found.iter().copied().eq(1..=iteration) {
        return Ok(kept);
    }
    found.sort_unstable();
    found.dedup();
    let mut gaps = Vec::new();
    let mut next = 1;
    for &i in found.iter().chain([iteration + 1].iter()) {
        if i < next {
            continue;
        }
        match i - next {
            0 => {}
            1 => gaps.push(next.to_string()),
            _ => gaps.push(format!("{next}–{}", i - 1)),
        }
        next = i + 1;
    }
    Err(HistoryError::Missing {
        path: path.to_path_buf(),
        iteration,
        missing: match gaps.as_slice() {
            [] => "its iterations in order (some appear twice or out of order)".into(),
            [one] if !one.contains('–') => format!("the results of iteration {one}"),
            _ => format!("the results of iterations {}", gaps.join(", ")),
        },
    })
}
