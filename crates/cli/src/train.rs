//! `rlrec train`, `rlrec inference` and `rlrec inspect`.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use logs::LogReader;
use serde_json::json;
use trainer::{
    Algo, Continue, FitEvents, FitReport, IterationResult, OfflineSource, TrainConfig, TrainError,
    Trainer,
};

use crate::args::{any_path, any_u64, any_usize, folder_path, EnvArgs};
use crate::output::{note, outln, print_evaluation};
use crate::{interrupt, plot, progress};

/// Options of `rlrec train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Algorithm: random, greedy, linucb, lints, slateq, es (evolution strategies)
    /// [default: slateq, or the --config file's].
    #[arg(long, value_parser = |s: &str| s.parse::<Algo>())]
    pub algo: Option<Algo>,
    /// Stop at this training iteration; a resumed run trains only the rest [default: 180
    /// for slateq (100 offline), 100 for the others (offline: one pass over the log)].
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
    #[arg(long, value_name = "DIR", conflicts_with = "resume", value_parser = any_path)]
    pub checkpoint: Option<PathBuf>,
    /// With --checkpoint naming an older checkpoint of a run: continue that run from it,
    /// dropping its later iterations and checkpoints.
    #[arg(long, requires = "checkpoint")]
    pub rewind: bool,
    /// A TOML file with any part of the configuration (see a run's config.toml); the
    /// rest keeps its defaults.
    #[arg(long, value_name = "FILE", value_parser = any_path)]
    pub config: Option<PathBuf>,
    /// Environment steps per iteration; 0: one episode (es: one generation's episodes)
    /// where every episode has the same length, else 1000 [default: 1000 for slateq, 0
    /// for the others].
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
    /// 0: never [default: 0; offline: 6 for slateq, a tenth of the iterations for the
    /// others].
    #[arg(long, value_name = "N", value_parser = any_u64)]
    pub evaluation_interval: Option<u64>,
    /// Run each of those evaluations on another thread while its iteration trains, as
    /// RLlib's evaluation_parallel_to_training: it evaluates the policy as the iteration
    /// starts, and hides its time where a core is free.
    #[arg(long)]
    pub evaluation_parallel_to_training: bool,
    /// Learn from this log (`rlrec log`) instead of the environment: a fixed replay, no
    /// interaction; evaluated in the logs' environment as every run is.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["resume", "checkpoint"], value_parser = any_path)]
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
        // Dotted keys, as a file or a sweep's axis sets them, go over the file.
        let keys = self.env.keys();
        if !keys.is_empty() {
            config = config.with_keys(&keys)?;
        }
        // An offline run's environment is its log's.
        if config.offline.is_none() {
            config.env = self.env.apply_params(config.env);
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
                holdout: 0.0,
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
        if config.offline.as_ref().is_some_and(|o| o.holdout > 0.0)
            && meta.policy.is_deterministic()
        {
            note!(
                "warning: the policy of {} is {}: the log shows what no other slate does, so \
                 the held-out scores of the run's policies, and its choice among them, are \
                 guesses",
                dir.display(),
                meta.policy
            );
        }
        Ok(config)
    }
}

pub fn train(args: &TrainArgs) -> Result<()> {
    let mut trainer = if args.resume || args.checkpoint.is_some() {
        let source = match (&args.checkpoint, &args.out) {
            (Some(dir), _) => dir,
            (None, Some(out)) => out,
            (None, None) => bail!("--resume needs --out DIR (the run folder to continue)"),
        };
        let how = Continue {
            source,
            out: args.out.as_deref(),
            rewind: args.rewind,
            algo: args.algo,
        };
        // The saved configuration with the options given on top; the library refuses
        // what a resume may not change.
        Trainer::resume(how, |saved, _, _| args.config_over(saved.clone()))?
    } else {
        // Everything is checked before the folder is made.
        let config = match &args.offline {
            Some(dir) => args.offline_config(dir)?,
            None => args.fresh_config()?,
        };
        Trainer::new(config, args.out.as_deref())?
    };
    for line in trainer.notes() {
        note!("{line}");
    }
    let config = trainer.algorithm().config().clone();
    if !args.json {
        // The log as the user named it; the configuration keeps its absolute path.
        let offline = config.offline.as_ref().map_or(String::new(), |o| {
            let named = args.offline.as_deref().unwrap_or(&o.logs);
            let held_out = if o.holdout > 0.0 {
                format!(" (its last {:.0}% of episodes held out)", 100.0 * o.holdout)
            } else {
                String::new()
            };
            format!(" offline from the log {}{held_out}", named.display())
        });
        outln!(
            "training {}{offline} on {} ({} candidates, slate {}): iterations {}..{} of {} steps, run folder {}",
            config.algo(),
            config.env.env,
            config.env.num_candidates,
            config.env.slate_size,
            trainer.algorithm().state().iteration + 1,
            config.iterations,
            config.iteration_steps(),
            trainer.run().path().display()
        );
    }
    let mut shown = Shown::new(&config, trainer.algorithm().state().iteration, args.json);
    let catching = interrupt::catch();
    let report = match (trainer.fit(&mut shown), shown.error.take()) {
        // The run stopped because its output could not be written: that is the error.
        (_, Some(e)) => return Err(e),
        (Err(TrainError::Stopped(iteration)), None) if interrupt::requested() => bail!(
            "interrupted after iteration {iteration}, whose checkpoint is saved: `rlrec train \
             --resume --out {}` continues the run",
            trainer.run().path().display()
        ),
        (report, None) => report?,
    };
    drop(catching);
    print_report(&config, &report, args.json)
}

/// What `rlrec train` shows while it runs: a progress bar on a terminal, else a line per
/// iteration (at most one a second), and `--json`'s iteration lines.
struct Shown<'a> {
    config: &'a TrainConfig,
    json: bool,
    bar: indicatif::ProgressBar,
    eval_bar: Option<indicatif::ProgressBar>,
    last_note: Option<std::time::Instant>,
    /// A line that could not be written, which stops the run.
    error: Option<anyhow::Error>,
}

impl<'a> Shown<'a> {
    fn new(config: &'a TrainConfig, first: u64, json: bool) -> Self {
        let bar = progress::bar(config.iterations, "iterations", json);
        bar.set_position(first);
        Self {
            config,
            json,
            bar,
            eval_bar: None,
            last_note: None,
            error: None,
        }
    }
}

impl FitEvents for Shown<'_> {
    fn iteration(&mut self, result: &IterationResult, last: bool) -> ControlFlow<()> {
        if self.json {
            let line = serde_json::to_string(result).map_err(anyhow::Error::from);
            if let Err(e) = line.and_then(|l| crate::output::line(format_args!("{l}"))) {
                self.error = Some(e);
                return ControlFlow::Break(());
            }
        }
        let mut message = match (result.episode_reward_mean, &self.config.offline) {
            (Some(m), _) => format!("episode_reward_mean {m:.2}"),
            // An offline run plays no episodes: it learns from logged ones.
            (None, Some(_)) => "offline".into(),
            (None, None) => "no episode finished yet".into(),
        };
        if let Some(e) = &result.evaluation {
            message.push_str(&format!(", evaluated {:.2}", e.summary.mean));
        }
        if let Some(h) = &result.held_out {
            message.push_str(&format!(", held-out model return {:.2}", h.value));
        }
        // No terminal: a line per iteration, as RLlib prints, but at most one a second
        // (fast runs would flood the log), and always the last and each evaluation.
        let due = self
            .last_note
            .is_none_or(|t| t.elapsed().as_secs_f64() >= 1.0)
            || last
            || result.evaluation.is_some();
        if self.bar.is_hidden() && due {
            self.last_note = Some(std::time::Instant::now());
            note!(
                "iteration {}/{}: {} steps, {} episodes, {message}, {:.1} s",
                result.training_iteration,
                self.config.iterations,
                result.timesteps_total,
                result.episodes_total,
                result.time_total_s
            );
        }
        self.bar.set_message(message);
        self.bar.set_position(result.training_iteration);
        // Ctrl-C or SIGTERM: the run stops at this iteration, with its checkpoint.
        interrupt::flow()
    }

    fn evaluation_started(&mut self, episodes: usize) {
        self.bar.finish_and_clear();
        self.eval_bar = Some(progress::bar(episodes as u64, "evaluation", self.json));
    }

    fn evaluated(&mut self, episodes: usize) {
        if let Some(bar) = &self.eval_bar {
            bar.set_position(episodes as u64);
        }
    }
}

impl Drop for Shown<'_> {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        if let Some(bar) = &self.eval_bar {
            bar.finish_and_clear();
        }
    }
}

/// The training curve and the closing lines (or `--json`'s last line).
fn print_report(config: &TrainConfig, report: &FitReport, json: bool) -> Result<()> {
    let plot_path = report.run.join(format!("{}-training.png", config.algo()));
    plot::training_curve(
        &plot_path,
        &format!("{} on {}", config.algo(), config.env.env),
        &format!(
            "training iteration ({} {} each)",
            config.iteration_steps(),
            // Offline, an iteration's steps are logged steps taken in (a bandit) or
            // gradient steps on the whole log (SlateQ); no environment is stepped.
            match (&config.offline, config.algo().learns_from_replay()) {
                (Some(_), true) => "gradient steps on the log",
                (Some(_), false) => "logged steps",
                (None, _) => "environment steps",
            }
        ),
        config.algo().name(),
        &report.training(),
        &report.evaluations(),
        &report.references(),
    )
    .with_context(|| format!("writing {}", plot_path.display()))?;

    if json {
        outln!(
            "{}",
            json!({"checkpoint": report.checkpoint, "evaluation": report.evaluation, "selected": report.selected, "random_baseline": report.random_baseline, "plot": plot_path})
        );
    } else {
        if let Some(last) = report.metrics.last() {
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
        print_evaluation("evaluation (no exploration)", &report.evaluation)?;
        outln!("random baseline: {:.2}", report.random_baseline);
        for r in &report.optimum {
            outln!("{} (planner, an oracle): {:.2}", r.label, r.value);
        }
        outln!("checkpoint: {}", report.checkpoint.display());
        if let Some(s) = &report.selected {
            let [low, high] = s.held_out.ci95;
            outln!(
                "chosen without the simulator: {} (iteration {}), model return {:.2} \
                 [{low:.2}, {high:.2}] on {} held-out episodes",
                s.checkpoint.display(),
                s.training_iteration,
                s.held_out.value,
                s.held_out.episodes
            );
            print_evaluation("its evaluation (no exploration)", &s.evaluation)?;
        }
        outln!("training curve: {}", plot_path.display());
    }
    Ok(())
}
