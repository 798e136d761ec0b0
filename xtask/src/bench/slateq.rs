//! SlateQ training through the built `rlrec` binary (`rlrec train --algo slateq --json`).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;

use super::process;

/// The returns the default SlateQ is timed to on StrongLTS 20/2: RecSim's random baseline
/// is 1158, the planner's best stationary policy 1191.0 and its optimum 1195.0.
pub const LEVELS: [f64; 2] = [1180.0, 1190.0];

/// SlateQ's configuration with one environment and one-step targets, from the root.
pub const ONE_ENV_CONFIG: &str = "examples/configs/slateq-1-env.toml";

/// The flag that runs the periodic evaluations beside training.
pub const PARALLEL: &str = "--evaluation-parallel-to-training";

/// How the tables name the default run, with [`PARALLEL`].
pub const DEFAULT_LABEL: &str = "default";
/// How the tables name the default run without [`PARALLEL`].
pub const SERIAL_LABEL: &str = "default, evaluations in line";
/// How the tables name a run with [`ONE_ENV_CONFIG`] and [`PARALLEL`].
pub const ONE_ENV_LABEL: &str = "1 environment";

/// When a mean first went above a level.
#[derive(Debug, Clone, Serialize)]
pub struct Crossing {
    /// `training` (episode_reward_mean, exploring) or `evaluated` (no exploration).
    pub metric: &'static str,
    pub level: f64,
    /// Environment steps trained when the iteration that passed it ended; `None`: never.
    pub timesteps: Option<u64>,
    /// Seconds from the start of the process to that iteration's output line.
    pub wall_s: Option<f64>,
}

/// One training run's speed and progress.
#[derive(Debug, Clone, Serialize)]
pub struct SlateQRun {
    /// The run's name in the tables: [`DEFAULT_LABEL`], [`SERIAL_LABEL`] or
    /// [`ONE_ENV_LABEL`].
    pub label: &'static str,
    pub args: Vec<String>,
    pub iterations: u64,
    pub timesteps: u64,
    pub grad_steps: u64,
    /// Seconds inside the training iterations (RLlib's `time_total_s`, which includes the
    /// periodic evaluations).
    pub train_s: f64,
    /// The whole process: start-up, training, checkpoints, final evaluation, plot.
    pub wall_s: f64,
    pub steps_per_s: f64,
    pub grad_steps_per_s: f64,
    /// The same over the iterations that learned (past the warm-up) and ran no
    /// evaluation: the training loop's own speed. `None` when there were none.
    pub learning_steps_per_s: Option<f64>,
    pub learning_grad_steps_per_s: Option<f64>,
    pub crossings: Vec<Crossing>,
    pub final_training_mean: Option<f64>,
    pub final_evaluation_mean: Option<f64>,
    pub peak_rss_kib: u64,
}

/// Runs `rlrec train --algo slateq --json --out OUT ARGS…` and reads its iteration lines;
/// `label` names the run in the tables.
pub fn measure(rlrec: &Path, out: &Path, label: &'static str, args: &[&str]) -> Result<SlateQRun> {
    let mut command = Command::new(rlrec);
    command
        .args(["train", "--algo", "slateq", "--json", "--out"])
        .arg(out)
        .args(args);
    let mut lines: Vec<(Value, f64)> = Vec::new();
    let finished = process::run(&mut command, |line, at| {
        if let Ok(value) = serde_json::from_str(line) {
            lines.push((value, at));
        }
    })?;
    let iterations: Vec<&(Value, f64)> = lines
        .iter()
        .filter(|(v, _)| v.get("training_iteration").is_some())
        .collect();
    let Some((last, _)) = iterations.last() else {
        bail!("rlrec train printed no iteration:\n{}", finished.stdout);
    };
    let int = |v: &Value| v.as_f64().map_or(0, |x| x as u64);
    let (timesteps, train_s) = (
        int(&last["timesteps_total"]),
        last["time_total_s"].as_f64().context("time_total_s")?,
    );
    let grad_steps = int(&last["learner"]["grad_steps"]);
    let training = |v: &Value| v["episode_reward_mean"].as_f64();
    let evaluated = |v: &Value| v["evaluation"]["mean"].as_f64();
    let mut crossings = Vec::new();
    for (metric, mean) in [
        ("training", &training as &dyn Fn(&Value) -> Option<f64>),
        ("evaluated", &evaluated),
    ] {
        for level in LEVELS {
            let first = iterations
                .iter()
                .find(|(v, _)| mean(v).is_some_and(|m| m > level));
            crossings.push(Crossing {
                metric,
                level,
                timesteps: first.map(|(v, _)| int(&v["timesteps_total"])),
                wall_s: first.map(|(_, at)| *at),
            });
        }
    }
    let (mut steps, mut grads, mut seconds) = (0, 0, 0.0);
    for pair in iterations.windows(2) {
        let (before, v) = (&pair[0].0, &pair[1].0);
        let learned = int(&v["learner"]["grad_steps"]) - int(&before["learner"]["grad_steps"]);
        if learned > 0 && v.get("evaluation").is_none() {
            steps += int(&v["timesteps_total"]) - int(&before["timesteps_total"]);
            grads += learned;
            seconds += v["time_this_iter_s"].as_f64().unwrap_or(f64::NAN);
        }
    }
    let learning = |count: u64| (seconds > 0.0).then(|| count as f64 / seconds);
    let summary = lines
        .iter()
        .rev()
        .find(|(v, _)| v.get("checkpoint").is_some());
    Ok(SlateQRun {
        label,
        args: args.iter().map(|a| a.to_string()).collect(),
        iterations: int(&last["training_iteration"]),
        timesteps,
        grad_steps,
        train_s,
        wall_s: finished.wall_s,
        steps_per_s: timesteps as f64 / train_s,
        grad_steps_per_s: grad_steps as f64 / train_s,
        learning_steps_per_s: learning(steps),
        learning_grad_steps_per_s: learning(grads),
        crossings,
        final_training_mean: training(last),
        final_evaluation_mean: summary.and_then(|(v, _)| evaluated(v)),
        peak_rss_kib: finished.peak_rss_kib,
    })
}
