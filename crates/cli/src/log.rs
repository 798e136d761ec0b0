//! `rlrec log`: a policy with known probabilities run in an environment, every step
//! written to a Parquet log; and the policy options it shares with `rlrec ope`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use env::Scenario;
use logs::{write_log, BasePolicy, PolicySpec};
use rollout::FixedPolicy;
use serde_json::json;
use trainer::{Checkpoint, Checkpoints};

use crate::args::{
    any_path, check_total_steps, count, folder_path, policy_parser, EnvArgs, MAX_EPISODES,
};
use crate::interrupt;
use crate::output::outln;
use crate::progress;

/// A policy with known probabilities: a fixed policy or a checkpoint, made random by
/// `--epsilon` or `--temperature`.
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyArgs {
    /// A fixed policy: random, or the deterministic base of --epsilon or --temperature.
    #[arg(long, value_parser = policy_parser(), conflicts_with = "checkpoint")]
    pub policy: Option<FixedPolicy>,
    /// A trained checkpoint (or run folder) as the deterministic base, acting without
    /// exploration.
    #[arg(long, value_name = "DIR", value_parser = any_path)]
    pub checkpoint: Option<PathBuf>,
    /// ε-greedy: a uniformly random slate with probability ε, else the base policy's.
    #[arg(long, value_name = "E", conflicts_with = "temperature")]
    pub epsilon: Option<f64>,
    /// Softmax (Plackett–Luce) over the base policy's scores: each position drawn from the
    /// candidates left with probability ∝ exp(score / T).
    #[arg(long, value_name = "T")]
    pub temperature: Option<f64>,
}

impl PolicyArgs {
    /// The policy these options name; without --epsilon or --temperature, the base policy
    /// itself (deterministic), or the random policy.
    pub fn spec(&self) -> Result<PolicySpec> {
        let base = match (&self.policy, &self.checkpoint) {
            (Some(FixedPolicy::Random), _) => {
                if self.epsilon.is_some() || self.temperature.is_some() {
                    bail!("--epsilon and --temperature randomise a deterministic policy; the random policy is already uniform");
                }
                return Ok(PolicySpec::Random);
            }
            (Some(policy), _) => BasePolicy::Fixed(*policy),
            (None, Some(dir)) => trainer::checkpoint_policy(dir.clone())?,
            (None, None) => bail!("give --policy NAME or --checkpoint DIR"),
        };
        let spec = match (self.epsilon, self.temperature) {
            (_, Some(temperature)) => PolicySpec::Softmax { base, temperature },
            (epsilon, None) => PolicySpec::EpsilonGreedy {
                base,
                epsilon: epsilon.unwrap_or(0.0),
            },
        };
        spec.validate().map_err(anyhow::Error::msg)?;
        Ok(spec)
    }

    /// The scenario to run on: a checkpoint's training scenario (with its wrappers), else
    /// the tutorial's, with the environment options on top.
    pub fn scenario(&self, env: &EnvArgs) -> Result<Scenario> {
        let base = match &self.checkpoint {
            Some(dir) => Checkpoint::header(dir)?.config.env,
            None => Scenario::default(),
        };
        let scenario = env.apply(base)?;
        scenario.validate()?;
        Ok(scenario)
    }
}

/// Options of `rlrec log`.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Whole episodes to log.
    #[arg(long, value_parser = count(1, MAX_EPISODES, "the most episodes one command plays"))]
    pub episodes: u64,
    /// The log folder: new, empty, or an earlier log, which is replaced once the new one
    /// is complete.
    #[arg(long, value_name = "DIR", value_parser = folder_path)]
    pub out: PathBuf,
    #[command(flatten)]
    pub env: EnvArgs,
    /// Print one JSON object: the folder, the metadata, the mean return, the size.
    #[arg(long)]
    pub json: bool,
}

/// The most steps one log holds: about 100 GB of Parquet.
const MAX_LOG_STEPS: u64 = 1_000_000_000;

pub fn log(args: &LogArgs) -> Result<()> {
    let spec = args.policy.spec()?;
    let scenario = args.policy.scenario(&args.env)?;
    check_total_steps(
        &scenario,
        args.episodes,
        MAX_LOG_STEPS,
        "one log holds (about 100 bytes a step on disk)",
        "log",
    )?;
    let bar = progress::bar(args.episodes, "episodes", args.json);
    let start = Instant::now();
    let catching = interrupt::catch();
    let summary = write_log(
        &scenario,
        &spec,
        &Checkpoints,
        args.episodes,
        &args.out,
        |i| {
            bar.set_position(i);
            interrupt::flow()
        },
    )
    .with_context(|| format!("writing the log {}", args.out.display()))?;
    drop(catching);
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let meta = &summary.meta;
    if args.json {
        outln!(
            "{}",
            json!({"log": summary.path, "meta": meta, "mean_return": summary.mean_return, "bytes": summary.bytes, "seconds": seconds})
        );
    } else {
        let s = &meta.scenario;
        outln!(
            "logged {} episodes ({} steps) of {} on {} ({} candidates, slate {}, seed {}) into {}",
            meta.episodes,
            meta.steps,
            meta.policy,
            s.env,
            s.num_candidates,
            s.slate_size,
            s.seed,
            summary.path.display()
        );
        outln!(
            "  mean return {:.2}; {:.1} MB; {:.2} s ({:.0} steps/s)",
            summary.mean_return,
            summary.bytes as f64 / 1e6,
            seconds,
            meta.steps as f64 / seconds.max(1e-9)
        );
    }
    Ok(())
}
