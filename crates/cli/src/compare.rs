//! `rlrec compare`: fixed policies and trained checkpoints evaluated on one stream, side
//! by side, with a chart.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use env::Scenario;
use serde_json::json;
use trainer::{
    evaluate_on, evaluate_policy_on, fixed_policy, Checkpoint, FixedPolicy, Summary,
    EVAL_SEED_OFFSET,
};

use crate::args::{policy_parser, EnvArgs};
use crate::{plot, progress};

/// Options of `rlrec compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// A fixed policy to include (repeatable).
    #[arg(long, value_parser = policy_parser())]
    pub policy: Vec<FixedPolicy>,
    /// A trained checkpoint (or run folder) to include (repeatable).
    #[arg(long, value_name = "DIR")]
    pub checkpoint: Vec<PathBuf>,
    #[arg(long, default_value_t = 500)]
    pub episodes: usize,
    #[command(flatten)]
    pub env: EnvArgs,
    /// Write a bar chart of the means and their 95% intervals.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

fn evaluate_fixed(
    policy: FixedPolicy,
    scenario: &Scenario,
    episodes: usize,
    progress: impl FnMut(usize),
) -> Result<Summary> {
    let mut s = scenario.clone();
    let (make_agent, _) = fixed_policy(policy, &mut s)?;
    let mut agent = make_agent(s.seed);
    let mut env = s.build()?;
    Ok(evaluate_on(&s, env.as_mut(), agent.as_mut(), episodes, progress)?.summary)
}

/// Every entry is evaluated on the same scenario and seed (common random numbers). The
/// default seed is the one a run trained with seed 0 evaluates on, so a checkpoint's
/// figure here matches its final evaluation.
pub fn compare(args: &CompareArgs) -> Result<()> {
    if args.policy.is_empty() && args.checkpoint.is_empty() {
        bail!("nothing to compare: give --policy and/or --checkpoint");
    }
    anyhow::ensure!(args.episodes > 0, "--episodes must be at least 1");
    let mut scenario = args.env.scenario()?;
    if args.env.seed.is_none() {
        scenario.seed = EVAL_SEED_OFFSET;
    }
    let total = (args.policy.len() + args.checkpoint.len()) * args.episodes;
    let bar = progress::bar(total as u64, "episodes", args.json);
    let mut done = 0u64;
    let mut rows: Vec<(String, Summary)> = Vec::new();
    // Baselines first, then the trained agents, then the planner's oracles.
    let (oracles, baselines): (Vec<FixedPolicy>, Vec<FixedPolicy>) =
        args.policy.iter().copied().partition(|p| p.is_oracle());
    for &policy in &baselines {
        let summary = evaluate_fixed(policy, &scenario, args.episodes, |i| {
            bar.set_position(done + i as u64)
        })?;
        done += args.episodes as u64;
        rows.push((policy.name().to_string(), summary));
    }
    for dir in &args.checkpoint {
        let ckpt = Checkpoint::read(dir)?;
        let trained = &ckpt.config.env;
        if (&trained.env, trained.num_candidates, trained.slate_size)
            != (&scenario.env, scenario.num_candidates, scenario.slate_size)
        {
            bail!(
                "{} was trained on {} {}/{}, not {} {}/{}",
                dir.display(),
                trained.env,
                trained.num_candidates,
                trained.slate_size,
                scenario.env,
                scenario.num_candidates,
                scenario.slate_size
            );
        }
        let mut on = trained.clone();
        on.seed = scenario.seed;
        let evaluation =
            evaluate_policy_on(&ckpt.config, &ckpt.agent_state, &on, args.episodes, |i| {
                bar.set_position(done + i as u64)
            })?;
        done += args.episodes as u64;
        rows.push((ckpt.algo().name().to_string(), evaluation.summary));
    }
    for &policy in &oracles {
        rows.push((
            policy.name().to_string(),
            evaluate_fixed(policy, &scenario, args.episodes, |i| {
                bar.set_position(done + i as u64)
            })?,
        ));
        done += args.episodes as u64;
    }
    bar.finish_and_clear();
    if let Some(path) = &args.plot {
        let bars: Vec<plot::Bar> = rows
            .iter()
            .map(|(label, s)| plot::Bar {
                label: label.clone(),
                mean: s.mean,
                ci95: s.ci95,
            })
            .collect();
        let title = format!(
            "{} {}/{}: evaluated return over {} episodes",
            scenario.env, scenario.num_candidates, scenario.slate_size, args.episodes
        );
        plot::comparison_chart(path, &title, &bars)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        let out: Vec<_> = rows
            .iter()
            .map(|(label, s)| json!({"label": label, "summary": s}))
            .collect();
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!(
            "{} {}/{}, seed {}, {} episodes each (no exploration):",
            scenario.env,
            scenario.num_candidates,
            scenario.slate_size,
            scenario.seed,
            args.episodes
        );
        println!(
            "  {:<20} {:>10} {:>8}  95% interval",
            "policy", "mean", "sd"
        );
        for (label, s) in &rows {
            println!(
                "  {:<20} {:>10.2} {:>8.2}  [{:.2}, {:.2}]",
                label, s.mean, s.std, s.ci95[0], s.ci95[1]
            );
        }
        if let Some(path) = &args.plot {
            println!("chart written to {}", path.display());
        }
    }
    Ok(())
}
