//! The benchmark's measurements, one row type per table.

use anyhow::{Context, Result};
use serde::Serialize;

use super::scenarios::SimScenario;

/// Steps per second over timed rounds.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    /// The headline figure: the median round.
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub rounds: Vec<f64>,
}

impl Rate {
    pub fn of(mut rounds: Vec<f64>) -> Self {
        rounds.sort_by(f64::total_cmp);
        let n = rounds.len();
        let median = match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => rounds[n / 2],
            _ => (rounds[n / 2 - 1] + rounds[n / 2]) / 2.0,
        };
        Self {
            median,
            min: rounds.first().copied().unwrap_or(f64::NAN),
            max: rounds.last().copied().unwrap_or(f64::NAN),
            rounds,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RecSimRow {
    pub rate: Rate,
    pub peak_rss_kib: u64,
}

/// One simulator scenario on one core, rlrec and (with `--vs-recsim`) RecSim.
#[derive(Debug, Clone, Serialize)]
pub struct SimRow {
    pub scenario: &'static str,
    pub label: &'static str,
    pub rlrec: Rate,
    pub rlrec_peak_rss_kib: u64,
    pub recsim: Option<RecSimRow>,
    /// rlrec / RecSim, both measured in this run.
    pub ratio: Option<f64>,
    /// RecSim's figure in the reference figures, and rlrec's ratio to it.
    pub recsim_reference: Option<f64>,
    pub reference_ratio: Option<f64>,
    /// Criterion's mean time of the step alone (no policy), ns; full runs only.
    pub criterion_step_ns: Option<f64>,
}

impl SimRow {
    pub fn new(s: &SimScenario, rlrec: Rate, peak: u64, recsim: Option<RecSimRow>) -> Self {
        Self {
            scenario: s.name,
            label: s.label,
            ratio: recsim.as_ref().map(|r| rlrec.median / r.rate.median),
            reference_ratio: s.recsim_reference.map(|r| rlrec.median / r),
            recsim_reference: s.recsim_reference,
            rlrec,
            rlrec_peak_rss_kib: peak,
            recsim,
            criterion_step_ns: None,
        }
    }
}

/// The vector environment of one scenario on some threads.
#[derive(Debug, Clone, Serialize)]
pub struct VectorRow {
    pub scenario: &'static str,
    pub num_envs: usize,
    /// Steps per slot per call: 1 is `step_with` (the threads meet every step), more is
    /// `rollout`.
    pub fragment: usize,
    pub threads: usize,
    pub rate: Rate,
    pub peak_rss_kib: u64,
}

/// One single-environment process alone, then two at once (the sum of their rates), in
/// alternating rounds.
#[derive(Debug, Clone, Serialize)]
pub struct PairRow {
    pub scenario: &'static str,
    pub alone: Rate,
    pub both: Rate,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinUcbRow {
    pub iterations: u64,
    pub timesteps: u64,
    pub seconds: f64,
    pub iterations_per_s: f64,
    pub steps_per_s: f64,
    pub episode_reward_mean: Option<f64>,
    pub peak_rss_kib: u64,
}

impl LinUcbRow {
    /// The row of `rlrec train --json`'s output: its last iteration's line.
    pub fn parse(stdout: &str, peak_rss_kib: u64) -> Result<Self> {
        let last = stdout
            .lines()
            .rfind(|l| l.contains("\"training_iteration\""))
            .context("LinUCB's run printed no iteration")?;
        let v: serde_json::Value = serde_json::from_str(last).context("LinUCB's last iteration")?;
        let number = |key: &str| v[key].as_f64().with_context(|| format!("LinUCB's {key}"));
        let (iterations, timesteps, seconds) = (
            number("training_iteration")?,
            number("timesteps_total")?,
            number("time_total_s")?,
        );
        Ok(Self {
            iterations: iterations as u64,
            timesteps: timesteps as u64,
            seconds,
            iterations_per_s: iterations / seconds,
            steps_per_s: timesteps / seconds,
            episode_reward_mean: v["episode_reward_mean"].as_f64(),
            peak_rss_kib,
        })
    }
}

/// Logging a million steps to Parquet, then every estimator over them.
#[derive(Debug, Clone, Serialize)]
pub struct LogRow {
    pub case: &'static str,
    pub steps: u64,
    pub log_seconds: f64,
    pub log_steps_per_s: f64,
    pub bytes: u64,
    pub log_peak_rss_kib: u64,
    pub ope_seconds: f64,
    pub ope_steps_per_s: f64,
    pub ope_peak_rss_kib: u64,
}

impl LogRow {
    pub fn parse(
        case: &str,
        logged: &serde_json::Value,
        log_peak_rss_kib: u64,
        evaluated: &serde_json::Value,
        ope_peak_rss_kib: u64,
    ) -> Result<Self> {
        let number = |v: &serde_json::Value, key: &str| {
            v[key]
                .as_f64()
                .with_context(|| format!("the logging measurement's {key}"))
        };
        let (steps, log_seconds, ope_seconds) = (
            number(logged, "steps")?,
            number(logged, "seconds")?,
            number(evaluated, "seconds")?,
        );
        Ok(Self {
            case: match case {
                "strong-lts" => "StrongLTS 20/2: random logging, greedy target",
                _ => "interest evolution 10/2: ε-greedy logging (ε = 0.3), softmax target",
            },
            steps: steps as u64,
            log_seconds,
            log_steps_per_s: steps / log_seconds,
            bytes: number(logged, "bytes")? as u64,
            log_peak_rss_kib,
            ope_seconds,
            ope_steps_per_s: steps / ope_seconds,
            ope_peak_rss_kib,
        })
    }
}

/// One measurement of the Python package.
#[derive(Debug, Clone, Serialize)]
pub struct PythonRow {
    pub scenario: &'static str,
    /// `flat` or `dict` (one environment), `vector` (flat, `num_envs` environments).
    pub layout: &'static str,
    pub num_envs: usize,
    pub threads: usize,
    pub rate: Rate,
    pub peak_rss_kib: u64,
    /// The vector environment's Rust part alone, same batch and threads.
    pub native: Option<Rate>,
}
