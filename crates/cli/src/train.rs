//! `rlrec train`, `rlrec inference` and `rlrec inspect`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use env::Scenario;
use serde_json::json;
use trainer::checkpoint::EVALUATION_FILE;
use trainer::logs::LogReader;
use trainer::{
    build_agent, evaluate_policy_on, Algo, Algorithm, Checkpoint, Evaluation, FixedPolicy,
    LtsPlanner, OfflineSource, RunDir, Summary, TrainConfig, RESUMABLE_KEYS,
};

use crate::args::{
    any_u64, any_usize, check_evaluation_size, count_usize, folder_path, run_folder_of, EnvArgs,
    MAX_EPISODES,
};
use crate::commands::{print_metrics, print_summary};
use crate::output::{note, outln};
use crate::{plot, progress};

/// Options of `rlrec train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Algorithm: random, greedy, linucb, lints, slateq [default: slateq, or the
    /// --config file's].
    #[arg(long, value_parser = |s: &str| s.parse::<Algo>())]
    pub algo: Option<Algo>,
    /// Stop at this training iteration; a resumed run trains only the rest [default: 180
    /// for slateq (60 offline), 100 for the others].
    #[arg(long, value_parser = any_u64)]
    pub iterations: Option<u64>,
    /// Run folder: a new or empty folder, or with --resume a run to continue [default:
    /// runs/<algo>-<env>-<time>].
    #[arg(long, value_name = "DIR", value_parser = folder_path)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its latest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Continue from this checkpoint (a checkpoint folder, or a run folder for its
    /// latest). From an older checkpoint of a run this branches into a new run folder
    /// (--out, or a new default one), unless --rewind.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub checkpoint: Option<PathBuf>,
    /// With --checkpoint naming an older checkpoint of a run: continue that run from it,
    /// dropping its later iterations and checkpoints.
    #[arg(long, requires = "checkpoint")]
    pub rewind: bool,
    /// A TOML file with any part of the configuration (see a run's config.toml); the
    /// rest keeps its defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Environment steps per iteration; 0: one episode where every episode has the same
    /// length, else 1000 [default: 1000 for slateq, 0 for the others].
    #[arg(long, value_parser = any_usize)]
    pub steps_per_iteration: Option<usize>,
    /// Checkpoint every N iterations, and always at the end; 0: only at the end
    /// [default: 10].
    #[arg(long, value_name = "N", value_parser = any_u64)]
    pub checkpoint_every: Option<u64>,
    /// Keep only the N newest checkpoints and the best evaluated one; 0: all [default: 0].
    /// Only the newest keeps SlateQ's replay buffer in any case.
    #[arg(long, value_name = "N", value_parser = any_u64)]
    pub keep_checkpoints: Option<u64>,
    /// Episodes of the final evaluation, without exploration [default: 1000].
    #[arg(long, value_parser = any_usize)]
    pub eval_episodes: Option<usize>,
    /// Evaluate (without exploration, 100 episodes) every N iterations during training;
    /// 0: never [default: 0].
    #[arg(long, value_name = "N", value_parser = any_u64)]
    pub evaluation_interval: Option<u64>,
    /// Run each of those evaluations on another thread while its iteration trains, as
    /// RLlib's evaluation_parallel_to_training: it evaluates the policy as the iteration
    /// starts, and hides its time where a core is free.
    #[arg(long)]
    pub evaluation_parallel_to_training: bool,
    /// Learn from this log (`rlrec log`) instead of the environment: a fixed replay, no
    /// interaction; evaluated in the logs' environment as every run is.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["resume", "checkpoint"])]
    pub offline: Option<PathBuf>,
    /// SlateQ's device: cpu, or cuda where libtorch sees a GPU [default: cpu].
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
        // An offline run's environment is its log's.
        if config.offline.is_none() {
            config.env = self.env.apply(config.env);
            config.algo().required_wrappers(&mut config.env)?;
        }
        if let Some(n) = self.iterations {
            config.iterations = n;
        }
        if let Some(n) = self.steps_per_iteration {
            config.steps_per_iteration = n;
        }
        if let Some(n) = self.checkpoint_every {
            config.checkpoint_every = n;
        }
        if let Some(n) = self.keep_checkpoints {
            config.keep_checkpoints = n;
        }
        if let Some(n) = self.eval_episodes {
            config.eval_episodes = n;
        }
        if let Some(n) = self.evaluation_interval {
            config.evaluation_interval = n;
        }
        if self.evaluation_parallel_to_training {
            config.evaluation_parallel_to_training = true;
        }
        #[cfg(feature = "slateq")]
        if let Some(device) = &self.device {
            match &mut config.agent {
                trainer::AlgoConfig::Slateq(c) => c.device = device.clone(),
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

    /// The configuration of a new offline run on the log `dir`: the offline defaults
    /// ([`TrainConfig::offline`]), then the file, then the flags.
    fn offline_config(&self, dir: &Path) -> Result<TrainConfig> {
        if self.env != EnvArgs::default() {
            bail!(
                "--offline learns in the environment of its log: leave out the environment \
                 options (write another log for another environment)"
            );
        }
        let reader = LogReader::open(dir)?;
        let meta = reader.meta();
        let base = TrainConfig::offline(
            self.algo.unwrap_or(Algo::Slateq),
            meta.scenario.clone(),
            OfflineSource {
                logs: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()),
                checksum: meta.checksum.clone(),
                steps: meta.steps,
            },
        );
        let config = self.config_over(base)?;
        let mut wanted = config.env.clone();
        config.algo().required_wrappers(&mut wanted)?;
        if config.algo().learns_from_replay() && wanted.wrappers != config.env.wrappers {
            bail!(
                "{} needs the user's state, which {} does not hold ({} hides it): write the log \
                 with --user-observation",
                config.algo(),
                dir.display(),
                config.env.env
            );
        }
        let steps = config.iteration_steps() as u64;
        let passes = meta.steps.div_ceil(steps);
        if !config.algo().learns_from_replay() && config.iterations > passes {
            bail!(
                "{} holds {} steps: {} takes in each once, so at most {passes} iterations of \
                 {steps} steps (--iterations is {})",
                dir.display(),
                meta.steps,
                config.algo(),
                config.iterations
            );
        }
        Ok(config)
    }

    /// The configuration a run continues under: the saved one with the options given on
    /// top. Options equal to the saved ones are fine; the settings of [`RESUMABLE_KEYS`]
    /// may change; anything else is a conflict, each named.
    fn resumed_config(
        &self,
        saved: &TrainConfig,
        iteration: u64,
        evaluated: bool,
    ) -> Result<TrainConfig> {
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
                "a continued run keeps its configuration, but these options change it:\n{}\n\
                 (only {} may change; start a new run for the rest)",
                conflicts.join("\n"),
                RESUMABLE_KEYS.join(", ")
            );
        }
        // A run stopped between its last checkpoint and its final evaluation is finished
        // by a resume to the same iteration count: it evaluates, as it would have.
        let finishing = config.iterations == iteration && !evaluated;
        if config.iterations <= iteration && !finishing {
            bail!(
                "the checkpoint is at iteration {iteration}, so --iterations must be above it \
                 (it is {}): training stops at that iteration count",
                config.iterations
            );
        }
        Ok(config)
    }
}

/// `runs/<algo>-<env>-<UTC time>`, made unique by [`RunDir::create_new`].
fn new_run(config: &TrainConfig) -> Result<RunDir> {
    let stem = format!(
        "{}-{}-{}",
        config.algo(),
        config.env.env.replace('/', "_"),
        trainer::UtcTime::now().compact()
    );
    Ok(RunDir::create_new(Path::new("runs"), &stem, config)?)
}

pub fn train(args: &TrainArgs) -> Result<()> {
    let (mut algorithm, run) = if args.resume || args.checkpoint.is_some() {
        continued(args)?
    } else {
        // Everything is checked before the folder is made.
        let config = match &args.offline {
            Some(dir) => args.offline_config(dir)?,
            None => args.fresh_config()?,
        };
        let algorithm = Algorithm::new(config)?;
        let run = match &args.out {
            Some(out) => RunDir::create(out, algorithm.config())?,
            None => new_run(algorithm.config())?,
        };
        (algorithm, run)
    };
    run_training(&mut algorithm, &run, args.json)
}

/// The run `--resume` or `--checkpoint` continues: in place from its latest checkpoint,
/// rewound with `--rewind`, or branched into a new folder.
fn continued(args: &TrainArgs) -> Result<(Algorithm, RunDir)> {
    let source = match (&args.checkpoint, &args.out) {
        (Some(dir), _) => dir.clone(),
        (None, Some(out)) => out.clone(),
        (None, None) => bail!("--resume needs --out DIR (the run folder to continue)"),
    };
    let mut ckpt = match Checkpoint::read(&source) {
        Err(trainer::CheckpointError::Missing(_)) if RunDir::run_id_in(&source)?.is_some() => {
            bail!(
                "{} has no checkpoint yet (the run stopped before its first): start it again \
                 with the same command without --resume",
                source.display()
            )
        }
        read => read?,
    };
    if let Some(algo) = args.algo {
        ckpt.expect_algo(algo)?;
    }
    let iteration = ckpt.iteration();
    let home = run_folder_of(&source);
    let evaluated = evaluated_at(&home) == Some(iteration);
    let saved = ckpt.config.clone();
    ckpt.config = args.resumed_config(&saved, iteration, evaluated)?;
    let is_latest = RunDir::latest_in(&home)? == Some(iteration);
    let target = match &args.out {
        Some(out) => out.clone(),
        None if is_latest || args.rewind => home.clone(),
        // An older checkpoint, no --rewind: a branch, as RLlib's restore starts a new trial.
        None => PathBuf::new(),
    };
    let target_id = if target.as_os_str().is_empty() {
        None
    } else {
        RunDir::run_id_in(&target)?
    };
    if target_id.as_deref() != Some(ckpt.run_id.as_str()) {
        // Another run's folder: never write one run's continuation into another. One that
        // stopped before its first checkpoint (a branch that failed) starts again.
        if target_id.is_some() && RunDir::latest_in(&target)?.is_some() {
            return Err(trainer::RunError::ForeignCheckpoint(target).into());
        }
        let config = ckpt.config.clone();
        // Restored before any folder is made: a checkpoint that cannot continue leaves
        // nothing behind.
        let algorithm = ckpt.into_algorithm()?;
        let run = if target.as_os_str().is_empty() {
            new_run(&config)?
        } else {
            RunDir::create(&target, &config)?
        };
        run.adopt_history(&home, iteration)?;
        note!(
            "branching from iteration {iteration} of {} into the new run folder {}",
            home.display(),
            run.path().display()
        );
        return Ok((algorithm, run));
    }
    let mut run = RunDir::open(&target)?;
    for edit in run.check_continue(&ckpt, &saved, args.rewind)? {
        note!(
            "{}: {edit}: a run continues with its checkpoint's settings (give the option \
             to change one); the file is written again",
            run.path().join(trainer::CONFIG_FILE).display()
        );
    }
    let config = ckpt.config.clone();
    let algorithm = ckpt.into_algorithm()?;
    run.continue_at(iteration, &config, args.rewind)?;
    Ok((algorithm, run))
}

/// The iteration a run folder's final evaluation was made at, if it has one.
pub fn evaluated_at(run: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(run.join(EVALUATION_FILE)).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["training_iteration"].as_u64()
}

fn run_training(algorithm: &mut Algorithm, run: &RunDir, json: bool) -> Result<()> {
    let config = algorithm.config().clone();
    let first = algorithm.state().iteration;
    if !json {
        let offline = config.offline.as_ref().map_or(String::new(), |o| {
            format!(" offline from the log {}", o.logs.display())
        });
        outln!(
            "training {}{offline} on {} ({} candidates, slate {}): iterations {}..{} of {} steps, run folder {}",
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
    let mut last_note: Option<std::time::Instant> = None;
    while !algorithm.is_done() {
        let result = algorithm.train()?;
        run.append_metrics(&result)?;
        // The checkpoint first: whoever reads the iteration's line (`rlrec tune`, the Ray
        // driver) may take the checkpoint it reports.
        let every = config.checkpoint_every;
        if (every > 0 && result.training_iteration.is_multiple_of(every)) || algorithm.is_done() {
            last_checkpoint = Some(run.save(algorithm, config.keep_checkpoints)?);
        }
        if json {
            outln!("{}", serde_json::to_string(&result)?);
        }
        let mut message = match (result.episode_reward_mean, &config.offline) {
            (Some(m), _) => format!("episode_reward_mean {m:.2}"),
            // An offline run plays no episodes: it learns from logged ones.
            (None, Some(_)) => "offline".into(),
            (None, None) => "no episode finished yet".into(),
        };
        if let Some(e) = &result.evaluation {
            message.push_str(&format!(", evaluated {:.2}", e.summary.mean));
        }
        // No terminal: a line per iteration, as RLlib prints, but at most one a second
        // (fast runs would flood the log), and always the last and each evaluation.
        let due = last_note.is_none_or(|t| t.elapsed().as_secs_f64() >= 1.0)
            || algorithm.is_done()
            || result.evaluation.is_some();
        if bar.is_hidden() && due {
            last_note = Some(std::time::Instant::now());
            note!(
                "iteration {}/{}: {} steps, {} episodes, {message}, {:.1} s",
                result.training_iteration,
                config.iterations,
                result.timesteps_total,
                result.episodes_total,
                result.time_total_s
            );
        }
        bar.set_message(message);
        bar.set_position(result.training_iteration);
    }
    bar.finish_and_clear();
    let checkpoint = match last_checkpoint {
        Some(c) => c,
        // Nothing trained: a finished run resumed for its evaluation; its checkpoint stands.
        None => run
            .checkpoints()?
            .pop()
            .map(|(_, path)| path)
            .context("the resumed run has no checkpoint")?,
    };

    let eval_bar = progress::bar(config.eval_episodes as u64, "evaluation", json);
    let evaluation =
        algorithm.evaluate(config.eval_episodes, |i| eval_bar.set_position(i as u64))?;
    eval_bar.finish_and_clear();
    let iteration = algorithm.state().iteration;
    trainer::write_atomic(
        &run.path().join(EVALUATION_FILE),
        serde_json::to_string_pretty(
            &json!({"training_iteration": iteration, "evaluation": evaluation}),
        )?
        .as_bytes(),
    )?;
    let random = random_baseline(&config)?;
    let plot_path = run.path().join(format!("{}-training.png", config.algo()));
    let metrics = run.metrics()?;
    let training: Vec<(f64, f64)> = metrics
        .iter()
        .filter_map(|m| {
            m.episode_reward_mean
                .map(|v| (m.training_iteration as f64, v))
        })
        .collect();
    let mut evaluations: Vec<plot::Point> = metrics
        .iter()
        .filter_map(|m| {
            let s = &m.evaluation.as_ref()?.summary;
            Some(plot::Point {
                x: m.training_iteration as f64,
                mean: s.mean,
                ci95: s.ci95,
            })
        })
        .collect();
    evaluations.push(plot::Point {
        x: iteration as f64,
        mean: evaluation.summary.mean,
        ci95: evaluation.summary.ci95,
    });
    let mut references = vec![plot::Reference {
        label: "random baseline".into(),
        value: random.mean,
    }];
    references.extend(optimum_references(&config));
    plot::training_curve(
        &plot_path,
        &format!("{} on {}", config.algo(), config.env.env),
        &format!(
            "training iteration ({} environment steps each)",
            config.iteration_steps()
        ),
        config.algo().name(),
        &training,
        &evaluations,
        &references,
    )
    .with_context(|| format!("writing {}", plot_path.display()))?;

    if json {
        outln!(
            "{}",
            json!({"checkpoint": checkpoint, "evaluation": evaluation, "random_baseline": random.mean, "plot": plot_path})
        );
    } else {
        if let Some(last) = metrics.last() {
            outln!(
                "iteration {}: {} steps, {} episodes, episode_reward_mean {}, {:.1} s",
                last.training_iteration,
                last.timesteps_total,
                last.episodes_total,
                last.episode_reward_mean
                    .map_or("n/a".into(), |v| format!("{v:.2}")),
                last.time_total_s
            );
        }
        print_evaluation("evaluation (no exploration)", &evaluation)?;
        outln!("random baseline: {:.2}", random.mean);
        for r in optimum_references(&config) {
            outln!("{} (planner, an oracle): {:.2}", r.label, r.value);
        }
        outln!("checkpoint: {}", checkpoint.display());
        outln!("training curve: {}", plot_path.display());
    }
    Ok(())
}

fn print_evaluation(title: &str, e: &Evaluation) -> Result<()> {
    print_summary(title, &e.summary)?;
    if let Some(m) = &e.metrics {
        print_metrics(m)?;
    }
    Ok(())
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
        },
        plot::Reference {
            label: "optimal-stationary policy".into(),
            value: planner.stationary_value(),
        },
    ]
}

/// The scenario a checkpoint's policy is evaluated on: its evaluation stream, with the
/// options given on top; the world, the candidate count and the slate size must stay.
pub fn evaluation_scenario(
    ckpt: &Checkpoint,
    args: &EnvArgs,
    seed: Option<u64>,
) -> Result<Scenario> {
    let trained = ckpt.config.eval_scenario();
    let mut scenario = args.apply(trained.clone());
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    if (&scenario.env, scenario.num_candidates, scenario.slate_size)
        != (&trained.env, trained.num_candidates, trained.slate_size)
        || scenario.wrappers != trained.wrappers
    {
        bail!(
            "{} was trained on {} {}/{} with {:?}; it can only be evaluated there (other \
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
    #[arg(long, value_name = "DIR")]
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
    let mut env = scenario.build()?;
    let mut agent = build_agent(&ckpt.config, env.as_ref())?;
    agent.load(&ckpt.agent_state)?;
    let layout = env.layout();
    let mut slate = vec![0; layout.slate_size];
    env.reset(None);
    agent.begin_episode();
    let mut records = Vec::new();
    for step in 0..steps {
        let user = env.user().to_vec();
        let items = env.items().to_vec();
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
        outln!("{}", serde_json::to_string(&records)?);
    }
    Ok(())
}

/// Options of `rlrec inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// A checkpoint folder, or a run folder (its latest checkpoint).
    #[arg(long, value_name = "DIR")]
    pub checkpoint: PathBuf,
    /// Print one JSON object: the algorithm, counters, configuration and description.
    #[arg(long)]
    pub json: bool,
}

pub fn inspect(args: &InspectArgs) -> Result<()> {
    let ckpt = Checkpoint::read(&args.checkpoint)?;
    let env = ckpt.config.env.build()?;
    let mut agent = build_agent(&ckpt.config, env.as_ref())?;
    agent.load(&ckpt.agent_state)?;
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
