//! `rlrec inference` and `rlrec inspect`: what a checkpoint's policy does.

use std::path::PathBuf;

use anyhow::{bail, Result};
use env::Scenario;
use serde_json::json;
use trainer::{evaluate_policy_on, Checkpoint};

use crate::args::{any_path, check_evaluation_size, count_usize, EnvArgs, MAX_EPISODES};
use crate::output::{outln, print_evaluation};
use crate::progress;

/// The scenario a checkpoint's policy is evaluated on: its evaluation stream, with the
/// options given on top; the world, the candidate count and the slate size must stay.
pub fn evaluation_scenario(
    ckpt: &Checkpoint,
    args: &EnvArgs,
    seed: Option<u64>,
) -> Result<Scenario> {
    let trained = ckpt.config.eval_scenario();
    let mut scenario = args.apply(trained.clone())?;
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    if (&scenario.env, scenario.num_candidates, scenario.slate_size)
        != (&trained.env, trained.num_candidates, trained.slate_size)
        || scenario.wrappers != trained.wrappers
    {
        bail!(
            "{} was trained on {} {}/{} with {}; it can only be evaluated there (other \
             parameters, seeds and horizons are fine)",
            ckpt.path.display(),
            trained.env,
            trained.num_candidates,
            trained.slate_size,
            trained.wrappers
        );
    }
    scenario.validate()?;
    Ok(scenario)
}

/// Options of `rlrec inference`.
#[derive(Debug, clap::Args)]
pub struct InferenceArgs {
    /// A checkpoint folder, or a run folder (its latest checkpoint).
    #[arg(long, value_name = "DIR", value_parser = any_path)]
    pub checkpoint: PathBuf,
    /// Show this many steps of the policy, candidates and slate each [default: 5].
    #[arg(long, conflicts_with = "episodes", value_parser = count_usize(1, 1_000_000, "steps shown"))]
    pub steps: Option<usize>,
    /// Evaluate the policy over this many episodes instead (without exploration).
    #[arg(long, value_parser = count_usize(1, MAX_EPISODES, "the most episodes one command plays"))]
    pub episodes: Option<usize>,
    /// The environment: the checkpoint's evaluation stream (its training seed + 1000003)
    /// unless these options change it; the world, candidates and slate size stay.
    #[command(flatten)]
    pub env: EnvArgs,
    /// Print JSON: the steps, or the evaluation's summary.
    #[arg(long)]
    pub json: bool,
}

pub fn inference(args: &InferenceArgs) -> Result<()> {
    let ckpt = Checkpoint::read(&args.checkpoint)?;
    let scenario = evaluation_scenario(&ckpt, &args.env, None)?;
    if let Some(episodes) = args.episodes {
        check_evaluation_size(&scenario, episodes, 1)?;
        let bar = progress::bar(episodes as u64, "episodes", args.json);
        let evaluation =
            evaluate_policy_on(&ckpt.config, &ckpt.agent_state, &scenario, episodes, |i| {
                bar.set_position(i as u64)
            })?;
        bar.finish_and_clear();
        if args.json {
            outln!("{}", serde_json::to_string(&evaluation)?);
        } else {
            print_evaluation(
                &format!("{} policy (no exploration)", ckpt.algo()),
                &evaluation,
            )?;
        }
        return Ok(());
    }
    let steps = args.steps.unwrap_or(5);
    let spec = scenario.resolve()?;
    let mut env = spec.make();
    let mut agent = ckpt.agent(&spec)?;
    let layout = env.layout();
    let mut slate = vec![0; layout.slate_size];
    env.reset(None);
    agent.begin_episode();
    // The JSON array is written a step at a time (on one line, as every --json output),
    // so a million steps take no memory.
    if args.json {
        crate::output::part(format_args!("["))?;
    }
    for step in 0..steps {
        let user = env.user().to_vec();
        let items = env.items().to_vec();
        agent.act(env.as_ref(), false, &mut slate);
        let t = env.step(&slate)?;
        let row = |i: usize| items[i * layout.doc_dim..(i + 1) * layout.doc_dim].to_vec();
        if args.json {
            let record = json!({
                "step": step, "user": user,
                "candidates": (0..layout.num_candidates).map(row).collect::<Vec<_>>(),
                "slate": slate, "slate_features": slate.iter().map(|&i| row(i)).collect::<Vec<_>>(),
                "reward": t.reward, "clicked": t.click.map(|c| c.position),
            });
            let separator = if step + 1 < steps { "," } else { "" };
            crate::output::part(format_args!("{record}{separator}"))?;
        } else {
            outln!("step {step}:");
            if !user.is_empty() {
                outln!("  user: {user:.3?}");
            }
            let cands: Vec<String> = (0..layout.num_candidates)
                .map(|i| format!("{i}: {:.3?}", row(i)))
                .collect();
            outln!("  candidates: {}", cands.join("  "));
            let chosen: Vec<String> = slate
                .iter()
                .map(|&i| format!("{i} {:.3?}", row(i)))
                .collect();
            outln!("  slate: [{}]", chosen.join(", "));
            outln!(
                "  reward {:.3}, clicked {}",
                t.reward,
                t.click
                    .map_or("none".into(), |c| format!("slot {}", c.position))
            );
        }
        if t.done() {
            env.reset(None);
            agent.begin_episode();
        }
    }
    if args.json {
        outln!("]");
    }
    Ok(())
}

/// Options of `rlrec inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// A checkpoint folder, or a run folder (its latest checkpoint).
    #[arg(long, value_name = "DIR", value_parser = any_path)]
    pub checkpoint: PathBuf,
    /// Print one JSON object: the algorithm, counters, configuration and description.
    #[arg(long)]
    pub json: bool,
}

pub fn inspect(args: &InspectArgs) -> Result<()> {
    let ckpt = Checkpoint::read(&args.checkpoint)?;
    let mut agent = ckpt.agent(&ckpt.config.env.resolve()?)?;
    // The replay the checkpoint keeps, so the description counts what it holds.
    if let Some(replay) = &ckpt.replay {
        agent.load_replay(replay)?;
    }
    let s = &ckpt.state;
    if args.json {
        outln!(
            "{}",
            json!({
                "algorithm": ckpt.algo().name(),
                "training_iteration": s.iteration,
                "timesteps_total": s.timesteps_total,
                "episodes_total": s.episodes_total,
                "time_total_s": s.time_total_s,
                "replay_kept": ckpt.replay.is_some(),
                "policy": agent.describe(),
                "config": ckpt.config.to_table(),
            })
        );
        return Ok(());
    }
    outln!("algorithm: {}", ckpt.algo());
    outln!(
        "trained: {} iterations, {} environment steps, {} episodes, {:.1} s",
        s.iteration,
        s.timesteps_total,
        s.episodes_total,
        s.time_total_s
    );
    outln!("\npolicy:\n{}", agent.describe());
    outln!("\nconfiguration:\n{}", ckpt.config.to_toml());
    Ok(())
}

/// Options of `rlrec export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A checkpoint folder, or a run folder (its latest checkpoint).
    #[arg(long, value_name = "DIR", value_parser = any_path)]
    pub checkpoint: PathBuf,
    /// The ONNX model to write (`.onnx`); its JSON sidecar goes beside it (`.json`).
    #[arg(long, value_name = "FILE", value_parser = any_path)]
    pub out: PathBuf,
    /// Print one JSON object: the algorithm, the model and the sidecar.
    #[arg(long)]
    pub json: bool,
}

pub fn export(args: &ExportArgs) -> Result<()> {
    if args.out.extension().and_then(|e| e.to_str()) != Some("onnx") {
        bail!(
            "--out {} must name a .onnx file (the sidecar takes the same name with .json)",
            args.out.display()
        );
    }
    if args.out.is_dir() {
        bail!("--out {} is a folder", args.out.display());
    }
    let ckpt = Checkpoint::read(&args.checkpoint)?;
    let policy = ckpt.agent(&ckpt.config.env.resolve()?)?.portable()?;
    export::save(&policy, &args.out)?;
    let sidecar = export::sidecar_path(&args.out);
    if args.json {
        let done = json!({"algorithm": policy.algorithm, "model": args.out, "sidecar": sidecar});
        outln!("{done}");
    } else {
        outln!(
            "{} policy written to {} (how to use it: {})",
            policy.algorithm,
            args.out.display(),
            sidecar.display()
        );
    }
    Ok(())
}
