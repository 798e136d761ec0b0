//! `rlrec ope --candidates`: choosing among candidate policies by their estimates, every
//! estimator scored against the simulator's truth by how it ranks the candidates and how
//! good the one it would pick is (`ope::selection`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use logs::LogReader;
use ope::selection::{score, Selection};
use ope::{evaluate, simulate_truth, PER_STEP};
use rollout::FixedPolicy;
use serde_json::json;
use trainer::Checkpoints;

use crate::log::PolicyArgs;
use crate::output::outln;
use crate::progress;

/// The policy a candidate names: a fixed policy's name, `NAME@T=T` (softmax over its
/// scores), `NAME@eps=E` (ε-greedy around it) or `checkpoint=DIR`.
fn candidate(text: &str) -> Result<PolicyArgs> {
    let mut args = PolicyArgs {
        policy: None,
        checkpoint: None,
        epsilon: None,
        temperature: None,
    };
    let (base, random) = match text.split_once('@') {
        Some((base, random)) => (base, Some(random)),
        None => (text, None),
    };
    match base.strip_prefix("checkpoint=") {
        Some(dir) => args.checkpoint = Some(PathBuf::from(dir)),
        None => {
            let names = FixedPolicy::ALL.map(FixedPolicy::name).join(", ");
            args.policy = Some(
                FixedPolicy::ALL
                    .into_iter()
                    .find(|p| p.name() == base)
                    .with_context(|| format!("candidate `{text}`: `{base}` is not one of {names}, nor checkpoint=DIR"))?,
            );
        }
    }
    match random.map(|r| r.split_once('=')) {
        None => {}
        Some(Some(("T", t))) => {
            args.temperature = Some(
                t.parse()
                    .with_context(|| format!("candidate `{text}`: T={t} is not a number"))?,
            )
        }
        Some(Some(("eps", e))) => {
            args.epsilon = Some(
                e.parse()
                    .with_context(|| format!("candidate `{text}`: eps={e} is not a number"))?,
            )
        }
        Some(_) => bail!("candidate `{text}`: after `@` comes T=TEMPERATURE or eps=EPSILON"),
    }
    Ok(args)
}

/// One estimator's scores, averaged over the log sets where it estimated every candidate.
#[derive(Debug, serde::Serialize)]
struct Row {
    id: &'static str,
    name: &'static str,
    sets: usize,
    relative_error: Option<f64>,
    spearman: Option<f64>,
    regret_1: Option<f64>,
    regret_3: Option<f64>,
    type_1: Option<f64>,
    type_2: Option<f64>,
    sharpe_3: Option<f64>,
}

/// The mean of the defined values.
fn mean(xs: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let xs: Vec<f64> = xs.flatten().collect();
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Evaluates every candidate on every log set of `readers`, measures their true per-step
/// values over `episodes`, and reports each estimator's policy-selection scores.
pub fn select(
    candidates: &[String],
    episodes: usize,
    json: bool,
    readers: &[LogReader],
) -> Result<()> {
    if candidates.len() < 2 {
        bail!("--candidates needs two policies or more to choose among");
    }
    let specs = candidates
        .iter()
        .map(|c| candidate(c)?.spec())
        .collect::<Result<Vec<_>>>()?;
    let first = readers[0].meta();
    let steps: u64 = readers.iter().map(|r| r.meta().steps).sum();
    let bar = progress::bar(
        steps * specs.len() as u64 + 2 * (episodes * specs.len()) as u64,
        "steps and episodes",
        json,
    );
    let mut done = 0;
    // reports[c][s]: candidate c on log set s.
    let mut reports = Vec::new();
    let mut truths = Vec::new();
    for spec in &specs {
        let mut of_candidate = Vec::new();
        for reader in readers {
            of_candidate.push(
                evaluate(reader, spec, &Checkpoints, |i| bar.set_position(done + i))
                    .with_context(|| format!("evaluating {spec} on {}", reader.path().display()))?,
            );
            done += reader.meta().steps;
        }
        reports.push(of_candidate);
        let truth = simulate_truth(first, spec, &Checkpoints, episodes, |i| {
            bar.set_position(done + i as u64)
        })?;
        done += 2 * episodes as u64;
        truths.push(truth.per_step.value);
    }
    bar.finish_and_clear();
    let rows: Vec<Row> = PER_STEP
        .iter()
        .map(|e| {
            let scores: Vec<Selection> = (0..readers.len())
                .filter_map(|s| {
                    let estimates = reports
                        .iter()
                        .map(|r| r[s].line(e.id)?.outcome.estimate().map(|x| x.value))
                        .collect::<Option<Vec<f64>>>()?;
                    // The threshold: the logging policy's own per-step reward in this set.
                    Some(score(&estimates, &truths, reports[0][s].logged_step_reward))
                })
                .collect();
            Row {
                id: e.id,
                name: e.name,
                sets: scores.len(),
                relative_error: mean(scores.iter().map(|s| s.relative_error)),
                spearman: mean(scores.iter().map(|s| s.spearman)),
                regret_1: mean(scores.iter().map(|s| Some(s.regret_1))),
                regret_3: mean(scores.iter().map(|s| Some(s.regret_3))),
                type_1: mean(scores.iter().map(|s| s.type_1)),
                type_2: mean(scores.iter().map(|s| s.type_2)),
                sharpe_3: mean(scores.iter().map(|s| s.sharpe_3)),
            }
        })
        .collect();
    let threshold =
        reports[0].iter().map(|r| r.logged_step_reward).sum::<f64>() / readers.len() as f64;
    if json {
        outln!(
            "{}",
            json!({"candidates": candidates, "truth_per_step": truths, "threshold_mean": threshold, "selection": rows})
        );
        return Ok(());
    }
    outln!(
        "policy selection among {} candidates on {} log set(s) of {} ({} steps); truth: {episodes} simulated episodes each",
        candidates.len(),
        readers.len(),
        first.policy,
        steps
    );
    for (c, t) in candidates.iter().zip(&truths) {
        outln!("  {c:<28} true per-step value {t:.4}");
    }
    outln!("threshold: the logging policy's own per-step reward in each set (mean {threshold:.4})");
    let f = |x: Option<f64>| x.map_or("–".to_string(), |x| format!("{x:.3}"));
    outln!(
        "  {:<24} {:>5} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>9}",
        "estimator",
        "sets",
        "rel.err",
        "Spearman",
        "regret@1",
        "regret@3",
        "type I",
        "type II",
        "Sharpe@3"
    );
    for r in &rows {
        outln!(
            "  {:<24} {:>5} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>9}",
            r.name,
            r.sets,
            f(r.relative_error),
            f(r.spearman),
            f(r.regret_1),
            f(r.regret_3),
            f(r.type_1),
            f(r.type_2),
            f(r.sharpe_3)
        );
    }
    Ok(())
}
