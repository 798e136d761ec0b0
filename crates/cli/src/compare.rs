//! `rlrec compare`: fixed policies and trained checkpoints evaluated on one environment
//! and one stream of users, side by side, with a chart; with `--seeds S`, each on S seeds
//! (trained algorithms trained again on each), with the runs' interval statistics.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use env::Scenario;
use rollout::{evaluate_on, fixed_policy, FixedPolicy, RunStats, Summary};
use serde_json::json;
use trainer::{evaluate_policy_on, Algorithm, Checkpoint, TrainConfig};

use crate::args::{
    any_path, check_evaluation_size, count_usize, png_path, policy_parser, EnvArgs, MAX_EPISODES,
};
use crate::output::{note, outln, NO_INTERVAL};

/// The most seeds one comparison runs per row.
const MAX_SEEDS: u64 = 1000;
use crate::{plot, progress};

/// Options of `rlrec compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// A fixed policy to include (repeatable).
    #[arg(long, value_parser = policy_parser())]
    pub policy: Vec<FixedPolicy>,
    /// A trained checkpoint (or run folder) to include (repeatable); labelled by its run
    /// folder's name.
    #[arg(long, value_name = "DIR", value_parser = any_path)]
    pub checkpoint: Vec<PathBuf>,
    /// Episodes each policy plays, all on the same users and documents.
    #[arg(long, default_value_t = 1000, value_parser = count_usize(1, MAX_EPISODES, "the most episodes one command plays"))]
    pub episodes: usize,
    /// Run every row on S seeds: fixed policies are evaluated on S evaluation seeds (the
    /// environment's seed, +1, …); a checkpoint's configuration is trained again from
    /// scratch on S training seeds (its own seed, +1, …) and each policy evaluated on the
    /// matching evaluation seed. Rows then report the mean over seeds with Student's t
    /// 95% interval and the interquartile mean with a bootstrap interval.
    #[arg(long, value_name = "S", value_parser = count_usize(1, MAX_SEEDS, "seeds per row"))]
    pub seeds: Option<usize>,
    /// With --seeds, the seeds run at once (trained again and evaluated), each on a
    /// thread of its own with its own agent in memory (a SlateQ row's replay buffer too);
    /// the figures are the same whatever the number [default: the number of cores].
    #[arg(long, value_name = "J", value_parser = count_usize(1, 256, "seeds at once"), requires = "seeds")]
    pub jobs: Option<usize>,
    /// The environment every row is evaluated on: the first checkpoint's evaluation
    /// stream (else the tutorial's scenario on seed 1000003, where a run trained with seed
    /// 0 evaluates), with these options on top.
    #[command(flatten)]
    pub env: EnvArgs,
    /// Write a chart of the means and their 95% intervals.
    #[arg(long, value_name = "FILE", value_parser = png_path)]
    pub plot: Option<PathBuf>,
    /// Print one JSON array: a label and a summary per row (with --seeds: the runs'
    /// scores and statistics).
    #[arg(long)]
    pub json: bool,
}

/// Every row is evaluated on the same environment and seed (common random numbers): the
/// options given apply to the checkpoints as to the fixed policies.
pub fn compare(args: &CompareArgs) -> Result<()> {
    if args.policy.is_empty() && args.checkpoint.is_empty() {
        bail!("nothing to compare: give --policy and/or --checkpoint");
    }
    let checkpoints = args
        .checkpoint
        .iter()
        .map(|dir| Checkpoint::read(dir))
        .collect::<Result<Vec<_>, _>>()?;
    let base = match checkpoints.first() {
        Some(first) => {
            let mut s = first.config.eval_scenario();
            s.wrappers = Default::default();
            s
        }
        None => Scenario {
            seed: rollout::EVAL_SEED_OFFSET,
            ..Scenario::default()
        },
    };
    let scenario = args.env.apply(base)?;
    scenario.validate()?;
    check_evaluation_size(&scenario, args.episodes, 1)?;
    let seeds = args.seeds.unwrap_or(1);
    // Every seed, a retrained row's too, is checked before anything trains.
    for k in 0..seeds {
        offset_seed(scenario.seed, k)?;
    }
    if args.seeds.is_some() {
        for ckpt in &checkpoints {
            if ckpt.config.offline.is_some() {
                bail!(
                    "{} was trained offline on one log, recorded on one seed: compare it \
                     without --seeds (training it again on other seeds would need their logs)",
                    ckpt.path.display()
                );
            }
            for k in 0..seeds {
                offset_seed(ckpt.config.env.seed, k)?;
            }
        }
    }
    let jobs = args.jobs.unwrap_or_else(crate::args::cores).min(seeds);
    // Rows trained again count their iterations as well as their episodes.
    let retrained: u64 = if args.seeds.is_some() {
        checkpoints.iter().map(|c| c.config.iterations).sum::<u64>() * seeds as u64
    } else {
        0
    };
    let evaluated = ((args.policy.len() + args.checkpoint.len()) * args.episodes * seeds) as u64;
    let bar = progress::bar(
        evaluated + retrained,
        if retrained > 0 {
            "episodes and training iterations"
        } else {
            "episodes"
        },
        args.json,
    );
    let tick = |_: usize| bar.inc(1);
    // (label, colour key, one evaluation per seed). Baselines first, then trained agents,
    // then oracles.
    let mut rows: Vec<(String, String, Vec<Summary>)> = Vec::new();
    let (oracles, baselines): (Vec<FixedPolicy>, Vec<FixedPolicy>) =
        args.policy.iter().copied().partition(|p| p.is_oracle());
    // Seed k of every row plays on the same users and documents (common random numbers).
    let on_seed = |s: &Scenario, k: usize| -> Result<Scenario> {
        let mut s = s.clone();
        s.seed = offset_seed(s.seed, k)?;
        Ok(s)
    };
    let fixed = |policy: FixedPolicy| -> Result<(String, String, Vec<Summary>)> {
        // Built once for every seed: an oracle's planner does not depend on it.
        let mut on = scenario.clone();
        let (make_policy, _) = fixed_policy(policy, &mut on)?;
        let runs = per_seed(seeds, jobs, |k| {
            let s = on_seed(&on, k)?;
            Ok(evaluate_on(&s, make_policy(s.seed), args.episodes, tick)?.summary)
        })?;
        Ok((policy.name().to_string(), policy.name().to_string(), runs))
    };
    for &policy in &baselines {
        rows.push(fixed(policy)?);
    }
    for ckpt in &checkpoints {
        let trained = &ckpt.config.env;
        if (&trained.env, trained.num_candidates, trained.slate_size)
            != (&scenario.env, scenario.num_candidates, scenario.slate_size)
        {
            bail!(
                "{} was trained on {} {}/{}, not {} {}/{}: every row is evaluated on one \
                 environment",
                ckpt.path.display(),
                trained.env,
                trained.num_candidates,
                trained.slate_size,
                scenario.env,
                scenario.num_candidates,
                scenario.slate_size
            );
        }
        // The checkpoint's own observation wrappers, on the comparison's environment.
        let on = Scenario {
            wrappers: trained.wrappers,
            ..scenario.clone()
        };
        let runs = if args.seeds.is_none() {
            vec![
                evaluate_policy_on(&ckpt.config, &ckpt.agent_state, &on, args.episodes, tick)?
                    .summary,
            ]
        } else {
            per_seed(seeds, jobs, |k| {
                let mut config = ckpt.config.clone();
                config.env.seed = offset_seed(config.env.seed, k)?;
                if bar.is_hidden() && !args.json {
                    note!(
                        "training {} again on seed {} ({} iterations)",
                        ckpt.run_name(),
                        config.env.seed,
                        config.iterations
                    );
                }
                let algorithm = trained_from_scratch(config, || bar.inc(1))?;
                let on = on_seed(&on, k)?;
                let policy = algorithm.agent().policy();
                Ok(evaluate_on(&on, policy, args.episodes, tick)?.summary)
            })?
        };
        rows.push((ckpt.run_name(), ckpt.algo().to_string(), runs));
    }
    for &policy in &oracles {
        rows.push(fixed(policy)?);
    }
    bar.finish_and_clear();
    if args.seeds.is_some() {
        return report_seeds(args, &scenario, &rows);
    }
    let rows: Vec<(String, String, Summary)> = rows
        .into_iter()
        .map(|(label, key, mut runs)| (label, key, runs.remove(0)))
        .collect();
    if let Some(path) = &args.plot {
        let points: Vec<plot::Row> = rows
            .iter()
            .enumerate()
            .map(|(i, (label, key, s))| plot::Row {
                label: label.clone(),
                color: plot::color_of(key),
                point: plot::Point {
                    x: i as f64,
                    mean: s.mean,
                    ci95: s.ci95,
                },
                runs: Vec::new(),
            })
            .collect();
        let title = format!(
            "{} {}/{}: evaluated return over the same {} episodes",
            scenario.env, scenario.num_candidates, scenario.slate_size, args.episodes
        );
        plot::comparison_chart(path, &title, &points)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        let out: Vec<_> = rows
            .iter()
            .map(|(label, _, s)| json!({"label": label, "summary": s}))
            .collect();
        outln!("{}", serde_json::to_string(&out)?);
    } else {
        outln!(
            "{} {}/{}, seed {}, {} episodes each (no exploration):",
            scenario.env,
            scenario.num_candidates,
            scenario.slate_size,
            scenario.seed,
            args.episodes
        );
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(6).max(6);
        outln!(
            "  {:<width$} {:>10} {:>8}  95% interval",
            "policy",
            "mean",
            "sd"
        );
        for (label, _, s) in &rows {
            if s.episodes < 2 {
                outln!("  {label:<width$} {:>10.2}  {NO_INTERVAL}", s.mean);
                continue;
            }
            outln!(
                "  {label:<width$} {:>10.2} {:>8.2}  [{:.2}, {:.2}]",
                s.mean,
                s.std,
                s.ci95[0],
                s.ci95[1]
            );
        }
        if let Some(path) = &args.plot {
            outln!("chart written to {}", path.display());
        }
    }
    Ok(())
}

/// `seed + k`, within the seeds a scenario takes.
fn offset_seed(seed: u64, k: usize) -> Result<u64> {
    seed.checked_add(k as u64)
        .filter(|s| *s <= i64::MAX as u64)
        .with_context(|| format!("seed {seed} + {k} is beyond the largest seed, 2^63 − 1"))
}

/// A configuration trained from scratch to its last iteration, without a run folder;
/// `iterated` hears of each iteration.
fn trained_from_scratch(config: TrainConfig, iterated: impl Fn()) -> Result<Algorithm> {
    let mut algorithm = Algorithm::new(config)?;
    while !algorithm.is_done() {
        algorithm.train()?;
        iterated();
    }
    Ok(algorithm)
}

/// `run(k)` for every seed `k` below `seeds`, `jobs` at a time on threads of their own,
/// in seed order; the lowest seed's error wins, and no seed starts once a failure (or a
/// panic) is seen. Every seed's run depends on `k` alone, so the results do not depend
/// on `jobs`.
fn per_seed<T: Send>(
    seeds: usize,
    jobs: usize,
    run: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    if jobs <= 1 {
        return (0..seeds).map(run).collect();
    }
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(seeds));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let _stop = StopOnPanic(&next, seeds);
                let k = next.fetch_add(1, Ordering::SeqCst);
                if k >= seeds {
                    return;
                }
                let result = run(k);
                if result.is_err() {
                    // Nobody starts another seed; those running finish.
                    next.store(seeds, Ordering::SeqCst);
                }
                done.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((k, result));
            });
        }
    });
    let mut done = done
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    done.sort_by_key(|(k, _)| *k);
    done.into_iter().map(|(_, result)| result).collect()
}

/// The rows of `--seeds`: each row's per-seed mean returns and their statistics.
fn report_seeds(
    args: &CompareArgs,
    scenario: &Scenario,
    rows: &[(String, String, Vec<Summary>)],
) -> Result<()> {
    let stats: Vec<RunStats> = rows
        .iter()
        .map(|(_, _, runs)| RunStats::new(&runs.iter().map(|s| s.mean).collect::<Vec<_>>()))
        .collect();
    let seeds = args.seeds.unwrap_or(1);
    if let Some(path) = &args.plot {
        let points: Vec<plot::Row> = rows
            .iter()
            .zip(&stats)
            .enumerate()
            .map(|(i, ((label, key, _), s))| {
                plot::Row::of_seeds(label.clone(), plot::color_of(key), i, s)
            })
            .collect();
        let title = format!(
            "{} {}/{}: mean over {seeds} seeds of {} episodes each (rings: the seeds)",
            scenario.env, scenario.num_candidates, scenario.slate_size, args.episodes
        );
        plot::comparison_chart(path, &title, &points)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        let out: Vec<_> = rows
            .iter()
            .zip(&stats)
            .map(|((label, _, _), s)| json!({"label": label, "seeds": seeds, "stats": s}))
            .collect();
        outln!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }
    outln!(
        "{} {}/{}, seeds {}..{}, {} episodes each (no exploration):",
        scenario.env,
        scenario.num_candidates,
        scenario.slate_size,
        scenario.seed,
        scenario.seed + seeds as u64 - 1,
        args.episodes
    );
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(6).max(6);
    outln!("  {:<width$} {}", "policy", crate::output::STATS_HEADER);
    for ((label, _, _), s) in rows.iter().zip(&stats) {
        outln!("  {label:<width$} {}", crate::output::stats_columns(s));
    }
    if let Some(path) = &args.plot {
        outln!("chart written to {}", path.display());
    }
    Ok(())
}

/// Stops [`per_seed`]'s other threads from starting seeds when a run panics (the panic
/// reaches the caller once the running ones finish).
struct StopOnPanic<'a>(&'a AtomicUsize, usize);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(self.1, Ordering::SeqCst);
        }
    }
}
