//! `rlrec ope`: a policy's value estimated from logs by every estimator, optionally beside
//! the simulator's true values, over one log or many.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use env::Scenario;
use logs::obd::{self, Campaign};
use logs::{ImportedLog, LogReader};
use ope::{
    evaluate, evaluate_imported, learn, on_policy, simulate_truth, ActionDist, Learner, Line,
    OpeReport, Outcome, Truth, PER_EPISODE, PER_STEP,
};
use serde_json::json;
use trainer::Checkpoints;

use crate::args::{any_path, count_usize, png_path, MAX_EPISODES};
use crate::import::obd_root;
use crate::log::PolicyArgs;
use crate::output::{outln, NO_INTERVAL};
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
    if args.logs.iter().any(|dir| logs::is_imported(dir)) {
        return imported(args);
    }
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
    let spec = args.policy.spec()?;
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

/// One estimator's line, its numbers to `digits` decimals.
fn print_line(line: &Line, truth: Option<f64>, digits: usize) -> Result<()> {
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

/// `rlrec ope` on an imported log: a distribution over items per position as the target,
/// optionally against a log of the target itself.
fn imported(args: &OpeArgs) -> Result<()> {
    let [dir] = args.logs.as_slice() else {
        bail!("give one imported log at a time (--logs DIR)");
    };
    let whole =
        ImportedLog::open(dir).with_context(|| format!("reading the log {}", dir.display()))?;
    let (items, k) = (whole.meta.items, whole.meta.slate_size);
    let target = match (&args.target, args.learn) {
        (Some(target), _) => target.as_str(),
        (None, Some(learner)) => {
            let (train, held_out) = whole.split(args.holdout).map_err(anyhow::Error::msg)?;
            let dist = learn(&train, learner, obd::BTS_DRAWS, obd::BTS_SEED)
                .map_err(anyhow::Error::msg)?;
            return report_imported(args, dir, &held_out, &dist);
        }
        (None, None) => bail!(
            "{} is an imported log: give the target as --target uniform, bts or FILE (a \
             distribution over its items per position) or --learn, not --policy or --checkpoint",
            dir.display()
        ),
    };
    let dist = match target {
        "uniform" => ActionDist::uniform(items, k),
        "bts" => {
            let Some(campaign) = &whole.meta.campaign else {
                bail!("--target bts is the Open Bandit Dataset's policy, and {} was not imported from it", dir.display());
            };
            let campaign: Campaign = campaign.parse().map_err(anyhow::Error::msg)?;
            let (alpha, beta) = obd::bts_prior(&obd_root()?, campaign)?;
            ActionDist::thompson(&alpha, &beta, k, obd::BTS_DRAWS, obd::BTS_SEED)
                .map_err(anyhow::Error::msg)?
        }
        file => ActionDist::read_csv(Path::new(file), items, k)
            .with_context(|| format!("reading the target {file}"))?,
    };
    report_imported(args, dir, &whole, &dist)
}

/// Evaluates `dist` on `log` (the folder `dir`'s, or its held-out part) and reports it,
/// against --on-policy's log where one is given.
fn report_imported(args: &OpeArgs, dir: &Path, log: &ImportedLog, dist: &ActionDist) -> Result<()> {
    let (items, k) = (log.meta.items, log.meta.slate_size);
    if let Some(path) = &args.write_target {
        storage::write_atomic(path, dist.to_csv().as_bytes())?;
    }
    let report = evaluate_imported(log, dist).map_err(anyhow::Error::msg)?;
    let truth = match &args.on_policy {
        Some(other) => {
            let on = ImportedLog::open(other)
                .with_context(|| format!("reading the on-policy log {}", other.display()))?;
            if (on.meta.items, on.meta.slate_size) != (items, k) {
                bail!(
                    "{} holds {} items × {} positions, {} holds {items} × {k}: not logs of one catalogue",
                    other.display(),
                    on.meta.items,
                    on.meta.slate_size,
                    dir.display()
                );
            }
            Some((other.clone(), on.meta.policy.clone(), on_policy(&on)))
        }
        None => None,
    };
    // A learned target has no log of its own: --on-policy's is another policy's, to
    // compare with, not this target's truth.
    let learned = args.learn.is_some();
    let on_value = truth
        .as_ref()
        .and_then(|(_, _, o)| o.estimate())
        .map(|e| e.value);
    let truth_value = on_value.filter(|_| !learned);
    if let Some(path) = &args.plot {
        let series: Vec<plot::Estimates> = report
            .estimates
            .iter()
            .map(|l| plot::Estimates {
                label: l.estimator.short.to_string(),
                points: l
                    .outcome
                    .estimate()
                    .map(|x| (x.value, x.ci95))
                    .into_iter()
                    .collect(),
            })
            .collect();
        let title = format!(
            "{} from {} ({}): reward per row",
            report.target,
            dir.display(),
            report.logging
        );
        plot::estimates_chart(
            path,
            &title,
            &series,
            on_value.map(|t| {
                let name = if learned {
                    "the other policy's on-policy value"
                } else {
                    "on-policy value"
                };
                (name, t)
            }),
        )
        .with_context(|| format!("writing {}", path.display()))?;
    }
    let relative = |l: &Line| {
        let (e, t) = (l.outcome.estimate()?, truth_value?);
        (t != 0.0).then(|| (e.value - t).abs() / t.abs())
    };
    if args.json {
        let errors: serde_json::Map<String, serde_json::Value> = report
            .estimates
            .iter()
            .map(|l| (l.estimator.id.to_string(), json!(relative(l))))
            .collect();
        let truth = truth
            .as_ref()
            .map(|(path, policy, o)| json!({"log": path, "policy": policy, "outcome": o}));
        outln!(
            "{}",
            json!({"report": report, "on_policy": truth, "relative_error": errors, "learned": learned})
        );
        return Ok(());
    }
    outln!(
        "off-policy evaluation of {} on {} ({}: {} rows, {} impressions)",
        report.target,
        dir.display(),
        report.logging,
        report.rows,
        report.impressions
    );
    outln!("reward per row (the target's, at the logged contexts and positions):");
    for line in &report.estimates {
        print_line(line, truth_value, 5)?;
    }
    outln!(
        "  weights: effective sample size {:.0} of {} rows, largest {:.2}",
        report.ess,
        report.rows,
        report.max_weight
    );
    if let Some(e) = report.logged.estimate() {
        outln!(
            "logged: the logging policy's own reward per row {:.5} [{:.5}, {:.5}]",
            e.value,
            e.ci95[0],
            e.ci95[1]
        );
    }
    if learned {
        outln!(
            "learned from the log's first {} of impressions, evaluated on the last {} ({} rows)",
            format_share(1.0 - args.holdout),
            format_share(args.holdout),
            report.rows
        );
    }
    if let (true, Some((path, policy, Outcome::Estimate(e)))) = (learned, &truth) {
        outln!(
            "compared with: {policy}'s own reward per row in {} {:.5} [{:.5}, {:.5}]",
            path.display(),
            e.value,
            e.ci95[0],
            e.ci95[1]
        );
    }
    if let (false, Some((path, policy, Outcome::Estimate(e)))) = (learned, &truth) {
        outln!(
            "on-policy: {policy}'s own reward per row in {} {:.5} [{:.5}, {:.5}]",
            path.display(),
            e.value,
            e.ci95[0],
            e.ci95[1]
        );
        let errors: Vec<String> = report
            .estimates
            .iter()
            .filter_map(|l| {
                Some(format!(
                    "{} {:.1}%",
                    l.estimator.short,
                    100.0 * relative(l)?
                ))
            })
            .collect();
        outln!("  relative error: {}", errors.join(", "));
    }
    if let Some(path) = &args.plot {
        outln!("chart written to {}", path.display());
    }
    Ok(())
}

/// A share as a percentage.
fn format_share(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}
