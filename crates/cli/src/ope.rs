//! `rlrec ope`: a policy's value estimated from logs by every estimator, optionally beside
//! the simulator's true values, over one log or many.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use env::Scenario;
use logs::LogReader;
use ope::{evaluate, simulate_truth, Learner, OpeReport, Outcome, Truth, PER_EPISODE, PER_STEP};
use serde_json::json;
use trainer::Checkpoints;

use crate::args::{any_path, count_usize, png_path, MAX_EPISODES};
use crate::log::PolicyArgs;
use crate::output::{outln, print_line};
use crate::{plot, progress};

/// Options of `rlrec ope`.
#[derive(Debug, clap::Args)]
pub struct OpeArgs {
    /// A log folder written by `rlrec log` (repeatable: logs of one environment and one
    /// logging policy, as independent log sets, summarised together).
    #[arg(long, value_name = "DIR", required = true, value_parser = any_path)]
    pub logs: Vec<PathBuf>,
    /// The target policy.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Also measure the true values in the simulator over this many episodes (on the
    /// logs' seed + 1000003): the target's reward at the logging policy's states, and its
    /// return.
    #[arg(long, value_name = "EPISODES", value_parser = count_usize(1, MAX_EPISODES, "the most episodes one command plays"))]
    pub truth: Option<usize>,
    /// Write a chart of the per-step estimates, with their intervals and the truth.
    #[arg(long, value_name = "FILE", value_parser = png_path)]
    pub plot: Option<PathBuf>,
    /// Print one JSON object: every log's estimates, the truth, the summary.
    #[arg(long)]
    pub json: bool,
    /// Instead of --policy, choose among candidate policies (comma-separated; each a fixed
    /// policy's name, `NAME@T=T` for softmax, `NAME@eps=E` for ε-greedy, or
    /// `checkpoint=DIR`): every estimator's estimates of them, scored against the
    /// simulator's values (with --truth) by their error, Spearman's rank correlation,
    /// regret@1 and @3, the Type I and II errors of beating the logging policy, and
    /// SharpeRatio@3.
    #[arg(long, value_name = "LIST", value_delimiter = ',', conflicts_with_all = ["policy", "checkpoint", "epsilon", "temperature"])]
    pub candidates: Vec<String>,
    /// On an imported log (`rlrec import`), the target instead of --policy: a
    /// distribution over the items per position, `uniform`, `bts` (the Open Bandit
    /// Dataset's Bernoulli Thompson sampling, from its prior) or a CSV file of one row per
    /// item and one column per position.
    #[arg(long, value_name = "uniform|bts|FILE", conflicts_with_all = ["policy", "checkpoint", "epsilon", "temperature", "truth"])]
    pub target: Option<String>,
    /// On an imported log: an imported log of the target policy itself, whose own reward
    /// per row is the truth the estimates are held against.
    #[arg(long, value_name = "DIR", value_parser = any_path)]
    pub on_policy: Option<PathBuf>,
    /// On an imported log, the target instead of --target: a bandit learned from the
    /// log's earlier impressions (`thompson`: Thompson sampling from each item's Beta
    /// posterior of clicks; `greedy`: the items of the highest posterior means), evaluated
    /// on the rest (--holdout).
    #[arg(long, value_name = "thompson|greedy", conflicts_with_all = ["target", "policy", "checkpoint", "epsilon", "temperature", "truth"], value_parser = |s: &str| match s {
        "thompson" => Ok(Learner::Thompson),
        "greedy" => Ok(Learner::Greedy),
        other => Err(format!("`{other}` is not one of thompson, greedy")),
    })]
    pub learn: Option<Learner>,
    /// With --learn: the share of the log's impressions, the latest, held out to evaluate
    /// the learned policy on.
    #[arg(long, value_name = "SHARE", default_value_t = 0.5, requires = "learn")]
    pub holdout: f64,
    /// On an imported log: also write the target's distribution as --target reads it.
    #[arg(long, value_name = "FILE", value_parser = any_path)]
    pub write_target: Option<PathBuf>,
}

pub fn ope(args: &OpeArgs) -> Result<()> {
    if args.target.is_some()
        || args.learn.is_some()
        || args.on_policy.is_some()
        || args.write_target.is_some()
    {
        bail!(
            "--target, --learn, --on-policy and --write-target are for imported logs (`rlrec import`), and {} \
             was written by `rlrec log`: give --policy NAME or --checkpoint DIR",
            args.logs[0].display()
        );
    }
    let readers = args
        .logs
        .iter()
        .map(|dir| {
            LogReader::open(dir).with_context(|| format!("reading the log {}", dir.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let first = readers[0].meta();
    for (i, r) in readers.iter().enumerate().skip(1) {
        // Log sets are independent samples: one counted twice would halve its variance.
        if let Some(twin) = readers[..i]
            .iter()
            .find(|t| t.meta().checksum == r.meta().checksum)
        {
            bail!(
                "{} and {} are the same log (their checksums are equal): give each log set \
                 once",
                twin.path().display(),
                r.path().display()
            );
        }
        let seedless = Scenario {
            seed: first.scenario.seed,
            ..r.meta().scenario.clone()
        };
        let mut differences = seedless.differences(&first.scenario);
        if first.policy != r.meta().policy {
            differences.push(format!(
                "logging policy {}, not {}",
                r.meta().policy,
                first.policy
            ));
        }
        if !differences.is_empty() {
            bail!(
                "{} and {} are logs of different environments or logging policies ({} against \
                 the first): logs evaluated together must differ in their seeds only",
                readers[0].path().display(),
                r.path().display(),
                differences.join("; ")
            );
        }
    }
    if !args.candidates.is_empty() {
        let episodes = args.truth.context("--candidates needs --truth EPISODES: the simulator's values to score the choice against")?;
        return crate::select::select(&args.candidates, episodes, args.json, &readers);
    }
    let spec = args.policy.spec()?;
    let total: u64 = readers.iter().map(|r| r.meta().steps).sum();
    let bar = progress::bar(total, "logged steps", args.json);
    let mut done = 0;
    let mut reports = Vec::new();
    for reader in &readers {
        let report = evaluate(reader, &spec, &Checkpoints, |i| bar.set_position(done + i))
            .with_context(|| format!("evaluating on {}", reader.path().display()))?;
        done += reader.meta().steps;
        reports.push(report);
    }
    bar.finish_and_clear();
    let truth = match args.truth {
        Some(episodes) => {
            let bar = progress::bar(2 * episodes as u64, "simulated episodes", args.json);
            let truth = simulate_truth(first, &spec, &Checkpoints, episodes, |i| {
                bar.set_position(i as u64)
            })?;
            bar.finish_and_clear();
            Some(truth)
        }
        None => None,
    };
    let summary = (reports.len() > 1).then(|| summarise(&reports, truth.as_ref()));
    if let Some(path) = &args.plot {
        chart(path, &reports, truth.as_ref())?;
    }
    if args.json {
        outln!(
            "{}",
            json!({"reports": reports, "truth": truth, "summary": summary})
        );
        return Ok(());
    }
    if let [report] = reports.as_slice() {
        print_report(report, truth.as_ref())?;
    } else {
        let r = &reports[0];
        outln!(
            "off-policy evaluation of {} on {} logs of {} ({} steps in all)",
            r.target,
            reports.len(),
            r.logging,
            total
        );
    }
    if let Some(t) = &truth {
        outln!(
            "truth (simulator, {} episodes on seed {}): per-step value {:.4} (±{:.4}), return {:.2} (±{:.2})",
            t.episodes,
            t.seed,
            t.per_step.value,
            1.96 * t.per_step.se,
            t.per_episode.value,
            1.96 * t.per_episode.se
        );
    }
    if let Some(rows) = &summary {
        print_summary(rows, truth.is_some())?;
    }
    if let Some(path) = &args.plot {
        outln!("chart written to {}", path.display());
    }
    Ok(())
}

fn print_report(r: &OpeReport, truth: Option<&Truth>) -> Result<()> {
    outln!(
        "off-policy evaluation of {} on {} ({}: {} episodes, {} steps)",
        r.target,
        r.logs.display(),
        r.logging,
        r.episodes,
        r.steps
    );
    outln!("per-step value (the target's expected reward at the logged contexts):");
    for line in &r.per_step {
        print_line(line, truth.map(|t| t.per_step.value), 4)?;
    }
    outln!("return (whole episodes):");
    for line in &r.per_episode {
        print_line(line, truth.map(|t| t.per_episode.value), 4)?;
    }
    outln!(
        "  episode weights: {} of {} episodes weigh anything, effective sample size {:.1}",
        r.episodes_with_weight,
        r.episodes,
        r.episode_ess
    );
    outln!(
        "logged: the logging policy's own reward per step {:.4}, return {:.2}",
        r.logged_step_reward,
        r.logged_return
    );
    Ok(())
}

/// One estimator over many log sets.
#[derive(Debug, serde::Serialize)]
struct SummaryRow {
    id: &'static str,
    name: &'static str,
    /// Log sets with an estimate.
    estimates: usize,
    mean: Option<f64>,
    bias: Option<f64>,
    rmse: Option<f64>,
    /// The share of intervals that hold the truth.
    coverage: Option<f64>,
    mean_width: Option<f64>,
    /// Log sets where it gave no number, and the first reason.
    refused: usize,
    why: Option<String>,
}

fn summarise(reports: &[OpeReport], truth: Option<&Truth>) -> Vec<SummaryRow> {
    let mut rows = Vec::new();
    for (estimators, truth) in [
        (&PER_STEP[..], truth.map(|t| t.per_step.value)),
        (&PER_EPISODE[..], truth.map(|t| t.per_episode.value)),
    ] {
        for e in estimators {
            let outcomes: Vec<&Outcome> = reports
                .iter()
                .filter_map(|r| r.line(e.id).map(|l| &l.outcome))
                .collect();
            let estimates: Vec<_> = outcomes.iter().filter_map(|o| o.estimate()).collect();
            let why = outcomes.iter().find_map(|o| match o {
                Outcome::Unsupported { why } | Outcome::Undefined { why } => Some(why.clone()),
                Outcome::Estimate(_) => None,
            });
            let n = estimates.len() as f64;
            let mean = (n > 0.0).then(|| estimates.iter().map(|x| x.value).sum::<f64>() / n);
            let (bias, rmse, coverage) = match (mean, truth) {
                (Some(m), Some(t)) => (
                    Some(m - t),
                    Some((estimates.iter().map(|x| (x.value - t).powi(2)).sum::<f64>() / n).sqrt()),
                    Some(estimates.iter().filter(|x| x.covers(t)).count() as f64 / n),
                ),
                _ => (None, None, None),
            };
            rows.push(SummaryRow {
                id: e.id,
                name: e.name,
                estimates: estimates.len(),
                mean,
                bias,
                rmse,
                coverage,
                mean_width: (n > 0.0)
                    .then(|| estimates.iter().map(|x| x.ci95[1] - x.ci95[0]).sum::<f64>() / n),
                refused: outcomes.len() - estimates.len(),
                why,
            });
        }
    }
    rows
}

fn print_summary(rows: &[SummaryRow], truth: bool) -> Result<()> {
    let f = |x: Option<f64>| x.map_or("–".to_string(), |x| format!("{x:.4}"));
    outln!(
        "  {:<24} {:>8} {:>12} {:>10} {:>10} {:>9} {:>12}",
        "estimator",
        "sets",
        "mean",
        "bias",
        "RMSE",
        "coverage",
        "mean width"
    );
    for r in rows {
        if r.estimates == 0 {
            outln!(
                "  {:<24} no estimate from any log set: {}",
                r.name,
                r.why.as_deref().unwrap_or("")
            );
            continue;
        }
        outln!(
            "  {:<24} {:>8} {:>12} {:>10} {:>10} {:>9} {:>12}",
            r.name,
            r.estimates,
            f(r.mean),
            if truth { f(r.bias) } else { "–".into() },
            if truth { f(r.rmse) } else { "–".into() },
            r.coverage
                .map_or("–".into(), |c| format!("{:.0}%", 100.0 * c)),
            f(r.mean_width)
        );
    }
    Ok(())
}

/// The per-step estimates of every log set, estimator by estimator, with the truth.
fn chart(path: &std::path::Path, reports: &[OpeReport], truth: Option<&Truth>) -> Result<()> {
    let series: Vec<plot::Estimates> = PER_STEP
        .iter()
        .map(|e| plot::Estimates {
            label: e.short.to_string(),
            points: reports
                .iter()
                .filter_map(|r| r.line(e.id)?.outcome.estimate().map(|x| (x.value, x.ci95)))
                .collect(),
        })
        .collect();
    let r = &reports[0];
    let title = format!(
        "{} from {} log(s) of {}: per-step value",
        r.target,
        reports.len(),
        r.logging
    );
    plot::estimates_chart(
        path,
        &title,
        &series,
        truth.map(|t| ("simulator's value", t.per_step.value)),
    )
    .with_context(|| format!("writing {}", path.display()))
}
