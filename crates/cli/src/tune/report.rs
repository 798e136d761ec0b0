//! A finished sweep's results: the table, the best configuration, `results.json` and
//! the figures.

use std::fs::{self};
use std::path::Path;

use anyhow::{Context, Result};
use rollout::RunStats;
use serde_json::{json, Value};
use storage::write_atomic;
use trainer::checkpoint::EVALUATION_FILE;
use trainer::sweep::{Metric, Mode, Sweep};
use trainer::RunDir;

use crate::output::{outln, stats_columns, STATS_HEADER};
use crate::plot;

use super::folder::SweepDir;

/// The final evaluation's mean return of a finished run.
pub(super) fn evaluated_mean(run: &Path) -> Option<f64> {
    let text = fs::read_to_string(run.join(EVALUATION_FILE)).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["evaluation"]["mean"].as_f64()
}

/// A trial's score under the sweep's metric.
pub(super) fn score(
    metric: Metric,
    run: &Path,
    metrics: &[trainer::IterationResult],
) -> Result<f64> {
    match metric {
        Metric::Evaluation => evaluated_mean(run)
            .with_context(|| format!("{} has no final evaluation", run.display())),
        Metric::EpisodeRewardMean => metrics
            .last()
            .and_then(|m| m.episode_reward_mean)
            .with_context(|| {
                format!(
                    "{}: no training episode finished, so it has no episode_reward_mean",
                    run.display()
                )
            }),
    }
}

/// The results: the table, the best configuration, `results.json` and the figures.
pub(super) fn report(sweep: &Sweep, dir: &SweepDir, json: bool) -> Result<()> {
    let mut scores = vec![Vec::new(); sweep.configurations.len()];
    let mut histories = vec![Vec::new(); sweep.configurations.len()];
    for trial in &sweep.trials {
        let run = dir.trial_dir(trial);
        let metrics = RunDir::metrics_in(&run)?;
        scores[trial.configuration].push(score(sweep.metric, &run, &metrics)?);
        histories[trial.configuration].push(metrics);
    }
    let stats: Vec<RunStats> = scores.iter().map(|s| RunStats::new(s)).collect();
    // Ranked by the interquartile mean (the mean where it ties), best first.
    let mut order: Vec<usize> = (0..stats.len()).collect();
    let key = |s: &RunStats| (s.iqm.value, s.mean.value);
    order.sort_by(|&a, &b| {
        let (ka, kb) = (key(&stats[a]), key(&stats[b]));
        let ord = ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1));
        match sweep.mode {
            Mode::Max => ord.reverse(),
            Mode::Min => ord,
        }
        .then(a.cmp(&b))
    });
    let best = order[0];
    // A ranking is not a finding: the configurations that tie with the first, and those
    // whose interval of the mean overlaps its own, are named with it.
    let tied: Vec<usize> = order[1..]
        .iter()
        .copied()
        .filter(|&i| key(&stats[i]) == key(&stats[best]))
        .collect();
    let overlapping: Vec<usize> = match stats[best].mean.ci95 {
        Some([lo, hi]) => order[1..]
            .iter()
            .copied()
            .filter(|i| !tied.contains(i))
            .filter(|&i| stats[i].mean.ci95.is_some_and(|[l, h]| l <= hi && lo <= h))
            .collect(),
        None => Vec::new(),
    };
    let width = sweep
        .configurations
        .len()
        .saturating_sub(1)
        .to_string()
        .len();
    let name = |i: usize| format!("c{i:0width$}");
    let rows: Vec<Value> = order
        .iter()
        .enumerate()
        .map(|(rank, &i)| {
            let c = &sweep.configurations[i];
            let overrides: serde_json::Map<String, Value> = c
                .overrides
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null)))
                .collect();
            let trials: Vec<&str> = sweep
                .trials
                .iter()
                .filter(|t| t.configuration == i)
                .map(|t| t.name.as_str())
                .collect();
            json!({
                "rank": rank + 1,
                "configuration": name(i),
                "label": c.label(),
                "overrides": overrides,
                "trials": trials,
                "stats": stats[i],
            })
        })
        .collect();
    let (curves, scores_png) = (dir.path.join("curves.png"), dir.path.join("scores.png"));
    let names = |list: &[usize]| list.iter().map(|&i| name(i)).collect::<Vec<_>>();
    let results = json!({
        "metric": sweep.metric.name(),
        "mode": sweep.mode.name(),
        "seeds": sweep.seeds,
        "best": rows[0],
        "tied_with_best": names(&tied),
        "overlapping_best": names(&overlapping),
        "configurations": rows,
        "figures": [curves, scores_png],
    });
    write_atomic(
        &dir.path.join("results.json"),
        serde_json::to_string_pretty(&results)?.as_bytes(),
    )?;
    figures(sweep, &stats, &histories, &name, &curves, &scores_png)?;
    if json {
        outln!("{results}");
        return Ok(());
    }
    let config = &sweep.trials[0].config;
    outln!(
        "{} on {} {}/{}: {} configurations × {} seeds, {} iterations; {} ({}), ranked by IQM",
        config.algo(),
        config.env.env,
        config.env.num_candidates,
        config.env.slate_size,
        sweep.configurations.len(),
        sweep.seeds,
        config.iterations,
        sweep.metric.name(),
        sweep.mode.name()
    );
    let label_width = sweep
        .configurations
        .iter()
        .map(|c| c.label().len())
        .max()
        .unwrap_or(0)
        .max("configuration".len());
    outln!(
        "rank  {:<w$}  {:<label_width$}  {STATS_HEADER}",
        "",
        "configuration",
        w = width + 1
    );
    for (rank, &i) in order.iter().enumerate() {
        outln!(
            "{:>4}  {:<w$}  {:<label_width$}  {}",
            rank + 1,
            name(i),
            sweep.configurations[i].label(),
            stats_columns(&stats[i]),
            w = width + 1
        );
    }
    if tied.is_empty() {
        outln!(
            "best configuration: {} ({})",
            name(best),
            sweep.configurations[best].label()
        );
    } else {
        outln!(
            "no best configuration: {} and {} tie",
            name(best),
            names(&tied).join(", ")
        );
    }
    if !overlapping.is_empty() {
        outln!(
            "its interval overlaps those of {}: these seeds cannot tell them apart",
            names(&overlapping).join(", ")
        );
    }
    outln!(
        "results: {}; figures: {}, {}",
        dir.path.join("results.json").display(),
        curves.display(),
        scores_png.display()
    );
    Ok(())
}

/// The learning curves (each configuration's mean `episode_reward_mean` over its seeds,
/// with their range) and the final scores with their intervals.
pub(super) fn figures(
    sweep: &Sweep,
    stats: &[RunStats],
    histories: &[Vec<Vec<trainer::IterationResult>>],
    name: &dyn Fn(usize) -> String,
    curves_png: &Path,
    scores_png: &Path,
) -> Result<()> {
    let config = &sweep.trials[0].config;
    let curves: Vec<plot::Curve> = histories
        .iter()
        .enumerate()
        .map(|(i, runs)| {
            let length = runs.iter().map(Vec::len).min().unwrap_or(0);
            let points = (0..length)
                .filter_map(|k| {
                    let values: Vec<f64> = runs
                        .iter()
                        .map(|r| r[k].episode_reward_mean)
                        .collect::<Option<_>>()?;
                    let (lo, hi) = values
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                            (l.min(*v), h.max(*v))
                        });
                    let x = runs[0][k].training_iteration as f64;
                    Some((x, rollout::stats::mean(&values), lo, hi))
                })
                .collect();
            plot::Curve {
                label: format!("{}: {}", name(i), sweep.configurations[i].label()),
                points,
            }
        })
        .collect();
    plot::learning_curves(
        curves_png,
        &format!(
            "{} on {}: episode_reward_mean, mean of {} seeds (band: their range)",
            config.algo(),
            config.env.env,
            sweep.seeds
        ),
        &format!(
            "training iteration ({} environment steps each)",
            config.iteration_steps()
        ),
        &curves,
        &references(sweep)?,
    )
    .with_context(|| format!("writing {}", curves_png.display()))?;
    let rows: Vec<plot::Row> = stats
        .iter()
        .enumerate()
        .map(|(i, s)| {
            // The axis names each configuration by its values too, shortened to fit.
            let mut label = format!("{} {}", name(i), sweep.configurations[i].label());
            if label.chars().count() > 28 {
                label = label.chars().take(27).collect::<String>() + "…";
            }
            plot::Row::of_seeds(label, plot::series_color(i), i, s)
        })
        .collect();
    plot::comparison_chart(
        scores_png,
        &format!(
            "{}: mean over seeds with Student's t 95% interval (rings: the seeds)",
            sweep.metric.name()
        ),
        &rows,
    )
    .with_context(|| format!("writing {}", scores_png.display()))
}

/// The reference lines of the sweep's scenario where every trial plays the same one (no
/// axis sets `env.*` but the seed): a line per configuration's scenario would tell apart
/// nothing the legend does not.
fn references(sweep: &Sweep) -> Result<Vec<trainer::Reference>> {
    let base = &sweep.trials[0].config;
    let seedless = |s: &env::Scenario| env::Scenario {
        seed: 0,
        ..s.clone()
    };
    if sweep
        .trials
        .iter()
        .any(|t| seedless(&t.config.env) != seedless(&base.env))
    {
        return Ok(Vec::new());
    }
    Ok(trainer::reference_lines(base)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_draws_its_scenarios_reference_lines_only_where_every_trial_shares_it() {
        let base = "[sweep]\niterations = 2\nseeds = 2\n[base]\nalgo = \"linucb\"\n[axes]\n";
        let shared = Sweep::parse(&format!(
            "{base}\"linucb.alpha\" = {{ grid = [0.5, 2.0] }}\n"
        ))
        .unwrap();
        let lines = references(&shared).unwrap();
        let labels: Vec<&str> = lines.iter().map(|r| r.label.as_str()).collect();
        // StrongLTS has a planner: the random baseline, then its two values.
        assert_eq!(
            labels,
            [
                "random baseline",
                "optimal planner",
                "optimal-stationary policy"
            ]
        );
        assert!(lines[0].value < lines[2].value && lines[2].value <= lines[1].value);
        let apart = Sweep::parse(&format!(
            "{base}\"env.num_candidates\" = {{ grid = [10, 20] }}\n"
        ))
        .unwrap();
        assert!(references(&apart).unwrap().is_empty());
    }
}
