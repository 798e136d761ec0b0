//! Writing to stdout and stderr without panicking: a failed write to stdout (a full disk,
//! `/dev/full`) is an error like any other, and a closed pipe ends the program quietly
//! (SIGPIPE, set in `main`).

use std::fmt;
use std::io::{self, Write};

use anyhow::{Context, Result};
use ope::{Line, Outcome};
use rollout::{Evaluation, RunStats, Summary, VideoReport};

/// Writes one line to stdout.
pub fn line(args: fmt::Arguments) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

/// Writes to stdout without ending the line (a JSON array streamed on one line).
pub fn part(args: fmt::Arguments) -> Result<()> {
    io::stdout()
        .lock()
        .write_fmt(args)
        .context("writing to stdout")
}

/// Writes one line to stderr, for progress notes: a failure to write them is ignored,
/// as there is nowhere left to report it.
pub fn write_note(args: fmt::Arguments) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// `println!` that returns the write's error instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))?
    };
}

/// `eprintln!` that never panics.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::output::write_note(format_args!($($arg)*))
    };
}

pub(crate) use {note, outln};

/// RecSim's video-cluster metrics, two lines.
pub fn print_metrics(r: &VideoReport) -> Result<()> {
    let quality = r
        .average_quality
        .map_or("none".to_string(), |q| format!("{q:.3}"));
    outln!(
        "  CTR {:.3}, average clicked quality {quality}, no-click fraction {:.3} ({} steps)",
        r.ctr,
        r.no_click_fraction,
        r.impressions
    );
    let clusters: Vec<String> = r
        .cluster_watch_fractions
        .iter()
        .enumerate()
        .map(|(k, f)| format!("{k}: {f:.3}"))
        .collect();
    outln!("  clicks per step by cluster: {}", clusters.join(", "));
    Ok(())
}

/// A summary of returns, three lines.
pub fn print_summary(title: &str, s: &Summary) -> Result<()> {
    outln!("{title}: {} episodes", s.episodes);
    outln!("  mean return {:.2} ({})", s.mean, spread(s));
    outln!(
        "  min {:.2}, max {:.2}, mean episode length {:.1}",
        s.min,
        s.max,
        s.mean_length
    );
    Ok(())
}

/// What a summary of one episode shows instead of an interval: it has no spread.
pub const NO_INTERVAL: &str = "one episode: no interval";

/// `sd …, 95% interval […]`, or that one episode has none.
fn spread(s: &Summary) -> String {
    if s.episodes < 2 {
        NO_INTERVAL.into()
    } else {
        format!(
            "sd {:.2}, 95% interval [{:.2}, {:.2}]",
            s.std, s.ci95[0], s.ci95[1]
        )
    }
}

/// An evaluation's summary, with the video-cluster metrics where the world has them.
pub fn print_evaluation(title: &str, e: &Evaluation) -> Result<()> {
    print_summary(title, &e.summary)?;
    if let Some(m) = &e.metrics {
        print_metrics(m)?;
    }
    Ok(())
}

/// The column titles of [`stats_columns`].
pub const STATS_HEADER: &str =
    "seeds       mean  95% interval (t)           IQM  95% interval (bootstrap)";

/// A row's statistics under [`STATS_HEADER`].
pub fn stats_columns(s: &RunStats) -> String {
    let interval = |ci: Option<[f64; 2]>| {
        ci.map_or("(one seed)".to_string(), |[lo, hi]| {
            format!("[{lo:.2}, {hi:.2}]")
        })
    };
    format!(
        "{:>5} {:>10.2}  {:<22} {:>8.2}  {}",
        s.scores.len(),
        s.mean.value,
        interval(s.mean.ci95),
        s.iqm.value,
        interval(s.iqm.ci95)
    )
}

/// One estimator's line, its numbers to `digits` decimals.
pub fn print_line(line: &Line, truth: Option<f64>, digits: usize) -> Result<()> {
    let name = line.estimator.name;
    match &line.outcome {
        // Clustered by episode: one episode has no spread to measure.
        Outcome::Estimate(e) if !e.se.is_finite() => {
            outln!("  {name:<24} {:>12.digits$}  {NO_INTERVAL}", e.value);
        }
        Outcome::Estimate(e) => {
            let mark = match truth {
                Some(t) if e.covers(t) => "  covers the truth",
                Some(_) => "  misses the truth",
                None => "",
            };
            outln!(
                "  {name:<24} {:>12.digits$}  [{:.digits$}, {:.digits$}]{mark}",
                e.value,
                e.ci95[0],
                e.ci95[1]
            );
        }
        Outcome::Unsupported { why } => outln!("  {name:<24} unsupported: {why}"),
        Outcome::Undefined { why } => outln!("  {name:<24} no estimate: {why}"),
    }
    Ok(())
}
