//! `rlrec train`, `rlrec inference` and `rlrec inspect`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::json;
#[cfg(feature = "slateq")]
use trainer::AlgoConfig;
use trainer::{
    build_agent, evaluate_policy, Algo, Algorithm, Checkpoint, Evaluation, FixedPolicy, LtsPlanner,
    RunDir, Summary, TrainConfig, RESUMABLE_KEYS,
};

use crate::args::EnvArgs;
use crate::commands::{print_metrics, print_summary};
use crate::{plot, progress};

/// Options of `rlrec train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Algorithm: random, greedy, linucb, lints, slateq.
    #[arg(long, value_parser = |s: &str| s.parse::<Algo>())]
    pub algo: Option<Algo>,
    /// Stop at this training iteration (a resumed run trains only the rest).
    #[arg(long)]
    pub iterations: Option<u64>,
    /// Run folder [default: runs/<algo>-<env>-<unix time>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its latest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Continue from this checkpoint (a checkpoint folder or a run folder).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub checkpoint: Option<PathBuf>,
    /// A TOML file with any part of the configuration (see a run's config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Environment steps per iteration (0: one episode).
    #[arg(long)]
    pub steps_per_iteration: Option<usize>,
    /// Checkpoint every N iterations (and at the end).
    #[arg(long)]
    pub checkpoint_every: Option<u64>,
    /// Episodes of the final evaluation.
    #[arg(long)]
    pub eval_episodes: Option<usize>,
    /// Evaluate (without exploration, 100 episodes) every N iterations during training.
    #[arg(long, value_name = "N")]
    pub evaluation_interval: Option<u64>,
    /// SlateQ's device: cpu, or cuda where libtorch sees a GPU.
    #[cfg(feature = "slateq")]
    #[arg(long)]
    pub device: Option<String>,
    #[command(flatten)]
    pub env: EnvArgs,
    /// One JSON line per iteration and a last line naming the checkpoint.
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    /// The configuration these options give over `base`: the file merged in, then the
    /// flags.
    fn config_over(&self, base: TrainConfig) -> Result<TrainConfig> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                base.merged(&text)
                    .with_context(|| format!("in {}", path.display()))?
            }
            None => base,
        };
        if let Some(algo) = self.algo {
            if algo != config.algo() {
                bail!(
                    "--algo {algo}, but the configuration is for {}",
                    config.algo()
                );
            }
        }
        config.env = self.env.apply(config.env);
        config.algo().required_wrappers(&mut config.env)?;
        if let Some(n) = self.iterations {
            config.iterations = n;
        }
        if let Some(n) = self.steps_per_iteration {
            config.steps_per_iteration = n;
        }
        if let Some(n) = self.checkpoint_every {
            config.checkpoint_every = n;
        }
        if let Some(n) = self.eval_episodes {
            config.eval_episodes = n;
        }
        if let Some(n) = self.evaluation_interval {
            config.evaluation_interval = n;
        }
        #[cfg(feature = "slateq")]
        if let Some(device) = &self.device {
            match &mut config.agent {
                AlgoConfig::Slateq(c) => c.device = device.clone(),
                _ => bail!("--device is SlateQ's; this run is {}", config.algo()),
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// The configuration of a new run: the algorithm's defaults, then the file, then the
    /// flags. The algorithm is `--algo`'s, else the file's, else SlateQ.
    fn fresh_config(&self) -> Result<TrainConfig> {
        self.config_over(TrainConfig::new(self.algo.unwrap_or(Algo::Slateq)))
    }

    /// The configuration a resumed run continues under: the saved one, with the options
    /// given on top. Options equal to the saved ones are fine; the settings of
    /// [`RESUMABLE_KEYS`] may change; anything else is a conflict, each named.
    fn resumed_config(&self, saved: &TrainConfig) -> Result<TrainConfig> {
        let config = self.config_over(saved.clone())?;
        let conflicts: Vec<String> = saved
            .differences(&config)
            .into_iter()
            .filter(|(key, _, _)| !RESUMABLE_KEYS.contains(&key.as_str()))
            .map(|(key, run, asked)| {
                format!("  {key}: the run has {run}, the options give {asked}")
            })
            .collect();
        if !conflicts.is_empty() {
            bail!(
                "a resumed run keeps its configuration, but these options change it:\n{}\n\
                 (only {} may change on resume; start a new run with another --out for the rest)",
                conflicts.join("\n"),
                RESUMABLE_KEYS.join(", ")
            );
        }
        Ok(config)
    }
}

fn default_out(config: &TrainConfig) -> PathBuf {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PathBuf::from("runs").join(format!("{}-{}-{now}", config.algo(), config.env.env))
}

pub fn train(args: &TrainArgs) -> Result<()> {
    let (mut algorithm, run) = if args.resume || args.checkpoint.is_some() {
        let source = match (&args.checkpoint, &args.out) {
            (Some(dir), _) => dir.clone(),
            (None, Some(out)) => out.clone(),
            (None, None) => bail!("--resume needs --out DIR (the run folder to continue)"),
        };
        let mut ckpt = Checkpoint::read(&source)?;
        if let Some(algo) = args.algo {
            ckpt.expect_algo(algo)?;
        }
        let out = match &args.out {
            Some(out) => out.clone(),
            None => run_folder_of(&source),
        };
        let iteration = ckpt.state.iteration;
        ckpt.config = args.resumed_config(&ckpt.config)?;
        let algorithm = ckpt.into_algorithm()?;
        let run = RunDir::resume(&out, algorithm.config(), iteration)?;
        (algorithm, run)
    } else {
        let config = args.fresh_config()?;
        let out = args.out.clone().unwrap_or_else(|| default_out(&config));
        let algorithm = Algorithm::new(config)?;
        let run = RunDir::create(&out, algorithm.config())?;
        (algorithm, run)
    };
    run_training(&mut algorithm, &run, args.json)
}

/// A checkpoint folder's run folder (its parent), or the folder itself.
fn run_folder_of(source: &Path) -> PathBuf {
    if source.join(trainer::checkpoint::CHECKPOINT_FILE).is_file() {
        source
            .parent()
            .map_or_else(|| source.to_path_buf(), Path::to_path_buf)
    } else {
        source.to_path_buf()
    }
}

fn run_training(algorithm: &mut Algorithm, run: &RunDir, json: bool) -> Result<()> {
    let config = algorithm.config().clone();
    let first = algorithm.state().iteration;
    if !json {
        println!(
            "training {} on {} ({} candidates, slate {}): iterations {}..{} of {} steps, run folder {}",
            config.algo(),
            config.env.env,
            config.env.num_candidates,
            config.env.slate_size,
            first + 1,
            config.iterations,
            config.iteration_steps(),
            run.path().display()
        );
    }
    let bar = progress::bar(config.iterations, "iterations", json);
    bar.set_position(first);
    let mut last_checkpoint = None;
    while !algorithm.is_done() {
        let result = algorithm.train()?;
        run.append_metrics(&result)?;
        if json {
            println!("{}", serde_json::to_string(&result)?);
        }
        let mut message = result
            .episode_reward_mean
            .map(|m| format!("reward mean {m:.1}"))
            .unwrap_or_default();
        if let Some(e) = &result.evaluation {
            message.push_str(&format!(", evaluated {:.1}", e.summary.mean));
        }
        bar.set_message(message);
        bar.set_position(result.training_iteration);
        let every = config.checkpoint_every;
        if (every > 0 && result.training_iteration.is_multiple_of(every)) || algorithm.is_done() {
            last_checkpoint = Some(run.save(algorithm)?);
        }
    }
    bar.finish_and_clear();
    let checkpoint = match last_checkpoint {
        Some(c) => c,
        None => run.save(algorithm)?,
    };

    let eval_bar = progress::bar(config.eval_episodes as u64, "evaluation", json);
    let summary = algorithm.evaluate(config.eval_episodes, |i| eval_bar.set_position(i as u64))?;
    eval_bar.finish_and_clear();
    let random = random_baseline(&config)?;
    let plot_path = run.path().join(format!("{}-training.png", config.algo()));
    let metrics = run.metrics()?;
    let points: Vec<(f64, f64)> = metrics
        .iter()
        .filter_map(|m| {
            m.episode_reward_mean
                .map(|v| (m.training_iteration as f64, v))
        })
        .collect();
    let mut references = vec![plot::Reference {
        label: "random baseline".into(),
        value: random.mean,
        color: plotters::style::RED,
    }];
    references.extend(optimum_references(&config));
    plot::training_curve(
        &plot_path,
        &format!("{} on {}", config.algo(), config.env.env),
        &format!(
            "training iteration ({} environment steps each)",
            config.iteration_steps()
        ),
        &points,
        &references,
    )
    .with_context(|| format!("writing {}", plot_path.display()))?;

    if json {
        println!(
            "{}",
            json!({"checkpoint": checkpoint, "evaluation": summary, "random_baseline": random.mean, "plot": plot_path})
        );
    } else {
        if let Some(last) = metrics.last() {
            println!(
                "iteration {}: {} steps, {} episodes, episode_reward_mean {}, {:.1} s",
                last.training_iteration,
                last.timesteps_total,
                last.episodes_total,
                last.episode_reward_mean
                    .map_or("n/a".into(), |v| format!("{v:.2}")),
                last.time_total_s
            );
        }
        print_evaluation("evaluation (no exploration)", &summary);
        println!("random baseline: {:.2}", random.mean);
        for r in optimum_references(&config) {
            println!("{} (planner, an oracle): {:.2}", r.label, r.value);
        }
        println!("checkpoint: {}", checkpoint.display());
        println!("training curve: {}", plot_path.display());
    }
    Ok(())
}

fn print_evaluation(title: &str, e: &Evaluation) {
    print_summary(title, &e.summary);
    if let Some(m) = &e.metrics {
        print_metrics(m);
    }
}

/// The random policy's mean return on the training scenario (the plots' red line).
fn random_baseline(config: &TrainConfig) -> Result<Summary> {
    let mut scenario = config.env.clone();
    scenario.wrappers = Default::default();
    let report = trainer::baseline(FixedPolicy::Random, &scenario, 500, 1, 1, |_| ())?;
    Ok(report.evaluation.summary)
}

/// The planner's optimum and its best stationary value, where the model has a planner.
fn optimum_references(config: &TrainConfig) -> Vec<plot::Reference> {
    let Ok(planner) = LtsPlanner::for_scenario(&config.env) else {
        return Vec::new();
    };
    vec![
        plot::Reference {
            label: "optimal planner".into(),
            value: planner.predicted_value(),
            color: plotters::style::RGBColor(0, 140, 60),
        },
        plot::Reference {
            label: "best stationary policy".into(),
            value: planner.stationary_value(),
            color: plotters::style::RGBColor(230, 120, 0),
        },
    ]
}

/// Options of `rlrec inference`.
#[derive(Debug, clap::Args)]
pub struct InferenceArgs {
    /// A checkpoint folder, or a run folder (its latest checkpoint).
    #[arg(long, value_name = "DIR")]
    pub checkpoint: PathBuf,
    /// Show this many steps, candidates and slate each [default: 5].
    #[arg(long, conflicts_with = "episodes")]
    pub steps: Option<usize>,
    /// Evaluate over this many episodes instead.
    #[arg(long)]
    pub episodes: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

pub fn inference(args: &InferenceArgs) -> Result<()> {
    let ckpt = Checkpoint::read(&args.checkpoint)?;
    if let Some(episodes) = args.episodes {
        if episodes == 0 {
            bail!("--episodes must be at least 1");
        }
        let bar = progress::bar(episodes as u64, "episodes", args.json);
        let summary = evaluate_policy(&ckpt.config, &ckpt.agent_state, episodes, |i| {
            bar.set_position(i as u64)
        })?;
        bar.finish_and_clear();
        if args.json {
            println!("{}", serde_json::to_string(&summary)?);
        } else {
            print_evaluation(
                &format!("{} policy (no exploration)", ckpt.algo()),
                &summary,
            );
        }
        return Ok(());
    }
    let steps = args.steps.unwrap_or(5);
    let mut env = ckpt.config.eval_scenario().build()?;
    let mut agent = build_agent(&ckpt.config, env.as_ref())?;
    agent.load(&ckpt.agent_state)?;
    let layout = env.layout();
    let mut slate = vec![0; layout.slate_size];
    env.reset(None);
    let mut records = Vec::new();
    for step in 0..steps {
        let user = env.user().to_vec();
        let items = env.items().to_vec();
        if step == 0 {
            agent.begin_episode();
        }
        agent.act(env.as_ref(), false, &mut slate);
        let t = env.step(&slate)?;
        let row = |i: usize| items[i * layout.doc_dim..(i + 1) * layout.doc_dim].to_vec();
        if args.json {
            records.push(json!({
                "step": step, "user": user,
                "candidates": (0..layout.num_candidates).map(row).collect::<Vec<_>>(),
                "slate": slate, "slate_features": slate.iter().map(|&i| row(i)).collect::<Vec<_>>(),
                "reward": t.reward, "clicked": t.click.map(|c| c.position),
            }));
        } else {
            println!("step {step}:");
            if !user.is_empty() {
                println!("  user: {user:.3?}");
            }
            let cands: Vec<String> = (0..layout.num_candidates)
                .map(|i| format!("{i}: {:.3?}", row(i)))
                .collect();
            println!("  candidates: {}", cands.join("  "));
            let chosen: Vec<String> = slate
                .iter()
                .map(|&i| format!("{i} {:.3?}", row(i)))
                .collect();
            println!("  slate: [{}]", chosen.join(", "));
            println!(
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
        println!("{}", serde_json::to_string(&records)?);
    }
    Ok(())
}

pub fn inspect(checkpoint: &Path) -> Result<()> {
    let ckpt = Checkpoint::read(checkpoint)?;
    println!("algorithm: {}", ckpt.algo());
    println!(
        "trained: {} iterations, {} environment steps, {} episodes, {:.1} s",
        ckpt.state.iteration,
        ckpt.state.timesteps_total,
        ckpt.state.episodes_total,
        ckpt.state.time_total_s
    );
    let env = ckpt.config.env.build()?;
    let mut agent = build_agent(&ckpt.config, env.as_ref())?;
    agent.load(&ckpt.agent_state)?;
    println!("\npolicy:\n{}", agent.describe());
    println!("\nconfiguration:\n{}", ckpt.config.to_toml());
    Ok(())
}
