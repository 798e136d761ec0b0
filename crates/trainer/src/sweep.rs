//! Sweeps (`rlrec tune`): a base configuration, axes over any of its keys, and seeds per
//! configuration, expanded into trials. Every trial is a whole [`TrainConfig`], merged and
//! checked as `rlrec train --config` checks one, before any trial runs.
//!
//! ```toml
//! [sweep]
//! iterations = 20            # every trial stops there (RLlib's training_iteration)
//! seeds = 3                  # runs per configuration: env.seed, env.seed + 1, …
//! metric = "evaluation/episode_reward_mean"
//! mode = "max"
//! samples = 1                # draws of the random axes per grid point
//! sample_seed = 0            # the stream those draws come from
//!
//! [base]                     # anything `rlrec train --config` takes
//! algo = "slateq"
//! steps_per_iteration = 500
//!
//! [axes]
//! "slateq.lr" = { grid = [1e-3, 3e-4] }
//! "slateq.gamma" = { uniform = [0.9, 0.99] }
//! ```
//!
//! Axes are `grid` (every value), `choice` (one value drawn per trial configuration),
//! `uniform` and `loguniform` (`[lo, hi]`, one number drawn per configuration). For each
//! of the `samples` draws, every combination of the grid axes is one configuration, and
//! each random axis gets a fresh value from a ChaCha stream seeded by `sample_seed`: the
//! same file always gives the same trials. Axes are taken in the order of their keys.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use thiserror::Error;

use crate::tables::set_path;
use crate::{Algo, InvalidConfig, TrainConfig};

/// A sweep file that cannot be used; nothing has run.
#[derive(Debug, Error)]
pub enum SweepError {
    /// Not TOML (boxed: the parser's error is large).
    #[error(transparent)]
    Toml(Box<toml::de::Error>),
    /// A key the sweep file does not have, or a value of the wrong type.
    #[error("{}: {}", .0.path(), .0.inner().message())]
    Key(Box<serde_path_to_error::Error<toml::de::Error>>),
    /// An axis that cannot be expanded.
    #[error("axis `{axis}`: {why}")]
    Axis {
        /// The axis' key.
        axis: String,
        /// What is wrong.
        why: String,
    },
    /// A `[sweep]` setting out of its range.
    #[error("[sweep] {name}: {why}")]
    Setting {
        /// The key.
        name: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A configuration that `rlrec train` would refuse.
    #[error("configuration {configuration} ({label})")]
    Trial {
        /// The configuration's index (`c3`).
        configuration: String,
        /// Its configuration's axis values.
        label: String,
        /// Why the configuration is refused (boxed: it is large).
        source: Box<InvalidConfig>,
    },
}

impl From<toml::de::Error> for SweepError {
    fn from(e: toml::de::Error) -> Self {
        SweepError::Toml(Box::new(e))
    }
}

impl From<serde_path_to_error::Error<toml::de::Error>> for SweepError {
    fn from(e: serde_path_to_error::Error<toml::de::Error>) -> Self {
        SweepError::Key(Box::new(e))
    }
}

/// The number a sweep ranks its configurations by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum Metric {
    /// The final evaluation's mean return (no exploration, `eval_episodes` episodes).
    #[default]
    #[serde(rename = "evaluation/episode_reward_mean")]
    Evaluation,
    /// The last iteration's `episode_reward_mean` (the last 100 training episodes).
    #[serde(rename = "episode_reward_mean")]
    EpisodeRewardMean,
}

impl Metric {
    /// Its name in the sweep file and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Evaluation => "evaluation/episode_reward_mean",
            Metric::EpisodeRewardMean => "episode_reward_mean",
        }
    }
}

/// Whether the best configuration has the highest or the lowest metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Higher is better.
    #[default]
    Max,
    /// Lower is better.
    Min,
}

impl Mode {
    /// Its name in the sweep file.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Max => "max",
            Mode::Min => "min",
        }
    }
}

/// The `[sweep]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    iterations: Option<u64>,
    #[serde(default = "default_seeds")]
    seeds: u64,
    #[serde(default)]
    metric: Metric,
    #[serde(default)]
    mode: Mode,
    #[serde(default = "default_samples")]
    samples: u64,
    #[serde(default)]
    sample_seed: u64,
}

fn default_seeds() -> u64 {
    3
}

fn default_samples() -> u64 {
    1
}

/// One axis as written: exactly one of its kinds.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AxisSpec {
    grid: Option<Vec<toml::Value>>,
    choice: Option<Vec<toml::Value>>,
    uniform: Option<Vec<f64>>,
    loguniform: Option<Vec<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    sweep: Option<Settings>,
    #[serde(default)]
    base: toml::Table,
    #[serde(default)]
    axes: BTreeMap<String, AxisSpec>,
}

/// An axis, checked.
enum Axis {
    Grid(Vec<toml::Value>),
    Choice(Vec<toml::Value>),
    Uniform(f64, f64),
    LogUniform(f64, f64),
}

impl Axis {
    fn new(key: &str, spec: AxisSpec) -> Result<Self, SweepError> {
        let bad = |why: String| SweepError::Axis {
            axis: key.to_string(),
            why,
        };
        let kinds = [
            spec.grid.is_some(),
            spec.choice.is_some(),
            spec.uniform.is_some(),
            spec.loguniform.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(bad(
                "give exactly one of grid = [...], choice = [...], uniform = [lo, hi], \
                 loguniform = [lo, hi]"
                    .into(),
            ));
        }
        let bounds = |kind: &str, v: Vec<f64>, positive: bool| match *v.as_slice() {
            [lo, hi] if !(lo.is_finite() && hi.is_finite()) => {
                Err(bad(format!("{kind} bounds must be finite numbers")))
            }
            [lo, hi] if lo > hi => Err(bad(format!(
                "{kind} = [{lo}, {hi}]: the low bound is above the high one"
            ))),
            [lo, _] if positive && lo <= 0.0 => Err(bad(format!(
                "{kind} = [{lo}, …]: a log-uniform range must lie above 0"
            ))),
            [lo, hi] => Ok((lo, hi)),
            _ => Err(bad(format!("{kind} takes [lo, hi], two numbers"))),
        };
        let values = |kind: &str, v: Vec<toml::Value>| {
            if v.is_empty() {
                Err(bad(format!("{kind} is empty: give at least one value")))
            } else {
                Ok(v)
            }
        };
        Ok(match spec {
            AxisSpec { grid: Some(v), .. } => Axis::Grid(values("grid", v)?),
            AxisSpec {
                choice: Some(v), ..
            } => Axis::Choice(values("choice", v)?),
            AxisSpec {
                uniform: Some(v), ..
            } => {
                let (lo, hi) = bounds("uniform", v, false)?;
                Axis::Uniform(lo, hi)
            }
            AxisSpec {
                loguniform: Some(v),
                ..
            } => {
                let (lo, hi) = bounds("loguniform", v, true)?;
                Axis::LogUniform(lo, hi)
            }
            _ => unreachable!("exactly one kind was checked"),
        })
    }

    /// Draws a value of a random axis.
    fn draw(&self, rng: &mut ChaCha8Rng) -> toml::Value {
        match self {
            Axis::Grid(_) => unreachable!("grid axes are combined, not drawn"),
            Axis::Choice(values) => values[rng.random_range(0..values.len())].clone(),
            Axis::Uniform(lo, hi) => toml::Value::Float(lo + (hi - lo) * rng.random::<f64>()),
            Axis::LogUniform(lo, hi) => {
                let (a, b) = (lo.ln(), hi.ln());
                toml::Value::Float((a + (b - a) * rng.random::<f64>()).exp())
            }
        }
    }

    /// The values a configuration can take at the ends of its range, to check before
    /// drawing: a bound the trainer refuses is an error even if no draw lands near it.
    fn extremes(&self) -> Vec<toml::Value> {
        match self {
            Axis::Grid(v) | Axis::Choice(v) => v.clone(),
            Axis::Uniform(lo, hi) | Axis::LogUniform(lo, hi) => {
                vec![toml::Value::Float(*lo), toml::Value::Float(*hi)]
            }
        }
    }
}

/// One configuration of the sweep: the base with these axis values.
#[derive(Debug, Clone, PartialEq)]
pub struct Configuration {
    /// The axis values, by dotted key, in axis order.
    pub overrides: Vec<(String, toml::Value)>,
}

impl Configuration {
    /// `slateq.lr=0.001, slateq.gamma=0.9512` (drawn numbers to four significant
    /// digits); `base` where the sweep has no axes.
    pub fn label(&self) -> String {
        if self.overrides.is_empty() {
            return "base".into();
        }
        self.overrides
            .iter()
            .map(|(k, v)| format!("{k}={}", short(v)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A value as a label shows it.
fn short(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(x) => {
            let rounded: f64 = format!("{x:.3e}").parse().unwrap_or(*x);
            format!("{rounded}")
        }
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One run of a sweep: a configuration on one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Its name, and its run folder's: `c<configuration>-seed<seed>`.
    pub name: String,
    /// The index of its configuration.
    pub configuration: usize,
    /// Its `env.seed`.
    pub seed: u64,
    /// The whole configuration, as `rlrec train --config` reads it.
    pub config: TrainConfig,
}

/// A sweep file, expanded and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// What ranks the configurations.
    pub metric: Metric,
    /// Which end of it is best.
    pub mode: Mode,
    /// Runs per configuration.
    pub seeds: u64,
    /// Every configuration, in expansion order.
    pub configurations: Vec<Configuration>,
    /// Every trial: the configurations in order, each over its seeds.
    pub trials: Vec<Trial>,
}

/// The most trials one sweep may hold: each is a process and a run folder.
pub const MAX_TRIALS: u64 = 10_000;

impl Sweep {
    /// Parses, expands and checks a sweep file's text.
    pub fn parse(text: &str) -> Result<Self, SweepError> {
        // Syntax first: the parser's own error shows the line and column with a caret.
        toml::from_str::<toml::Table>(text)?;
        let file: SweepFile = serde_path_to_error::deserialize(toml::de::Deserializer::new(text))?;
        let settings = file.sweep.unwrap_or(Settings {
            iterations: None,
            seeds: default_seeds(),
            metric: Metric::default(),
            mode: Mode::default(),
            samples: default_samples(),
            sample_seed: 0,
        });
        let setting = |name, why: String| SweepError::Setting { name, why };
        if settings.seeds == 0 {
            return Err(setting("seeds", "must be at least 1".into()));
        }
        if settings.samples == 0 {
            return Err(setting("samples", "must be at least 1".into()));
        }
        let mut grid = Vec::new();
        let mut random = Vec::new();
        for (key, spec) in file.axes {
            let path = match key.as_str() {
                "seed" => "env.seed".to_string(),
                _ => key.clone(),
            };
            if path == "iterations" {
                return Err(SweepError::Axis {
                    axis: key,
                    why: "every trial stops at [sweep] iterations; sweep it in separate sweeps"
                        .into(),
                });
            }
            let axis = Axis::new(&key, spec)?;
            match axis {
                Axis::Grid(_) => grid.push((path, axis)),
                _ => random.push((path, axis)),
            }
        }
        if random.is_empty() && settings.samples > 1 {
            return Err(setting(
                "samples",
                format!(
                    "{} draws, but no axis is random (choice, uniform, loguniform): every \
                     draw would repeat the same configurations",
                    settings.samples
                ),
            ));
        }
        let combinations = grid.iter().try_fold(1u64, |n, (_, axis)| match axis {
            Axis::Grid(v) => n.checked_mul(v.len() as u64),
            _ => Some(n),
        });
        let total = combinations
            .and_then(|n| n.checked_mul(settings.samples))
            .and_then(|n| n.checked_mul(settings.seeds))
            .filter(|n| *n <= MAX_TRIALS);
        let Some(total) = total else {
            return Err(setting(
                "seeds",
                format!("the axes, samples and seeds make more than {MAX_TRIALS} trials"),
            ));
        };
        // An offline run's environment is its log's, seed included: other seeds would
        // need other logs.
        let offline = file.base.contains_key("offline");
        if offline
            && (settings.seeds > 1 || grid.iter().chain(&random).any(|(p, _)| p == "env.seed"))
        {
            let why = "an offline run learns from one log, recorded on one seed: set seeds = 1 \
                       and no seed axis, and sweep over logs in separate sweeps";
            return Err(setting("seeds", why.into()));
        }
        let mut base = file.base;
        if let Some(iterations) = settings.iterations {
            base.insert(
                "iterations".into(),
                toml::Value::Integer(i64::try_from(iterations).unwrap_or(i64::MAX)),
            );
        }
        let resolve = |overrides: &[(String, toml::Value)]| -> Result<TrainConfig, SweepError> {
            let mut table = base.clone();
            for (path, value) in overrides {
                set_path(&mut table, path, value.clone()).map_err(|why| SweepError::Axis {
                    axis: path.clone(),
                    why,
                })?;
            }
            let algo = match table.get("algo") {
                Some(v) => Algo::deserialize(v.clone()).map_err(InvalidConfig::from)?,
                None => Algo::Slateq,
            };
            let mut start = TrainConfig::new(algo);
            if offline {
                // As `train --offline`: the log's environment, without the wrappers the
                // algorithm turns on to act.
                start.env.wrappers = env::Wrappers::default();
            }
            let mut config = start.merged_table(table)?;
            if !offline {
                config
                    .algo()
                    .required_wrappers(&mut config.env)
                    .map_err(InvalidConfig::from)?;
            }
            config.validate()?;
            Ok(config)
        };
        let label_of = |overrides: &[(String, toml::Value)]| {
            Configuration {
                overrides: overrides.to_vec(),
            }
            .label()
        };
        // Each value an axis can take, with the others at their first, must make a valid
        // configuration (a range's bounds included).
        let firsts: Vec<(String, toml::Value)> = grid
            .iter()
            .chain(&random)
            .map(|(path, axis)| (path.clone(), axis.extremes()[0].clone()))
            .collect();
        for (k, (path, axis)) in grid.iter().chain(&random).enumerate() {
            for value in axis.extremes() {
                let mut overrides = firsts.clone();
                overrides[k] = (path.clone(), value);
                resolve(&overrides).map_err(|e| at_axis(e, path, &label_of(&overrides)))?;
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(settings.sample_seed);
        let mut configurations = Vec::new();
        for _ in 0..settings.samples {
            for combination in product(&grid) {
                let mut overrides = combination;
                for (path, axis) in &random {
                    overrides.push((path.clone(), axis.draw(&mut rng)));
                }
                configurations.push(Configuration { overrides });
            }
        }
        let width = (configurations.len() - 1).to_string().len();
        let mut trials = Vec::with_capacity(total as usize);
        for (index, configuration) in configurations.iter().enumerate() {
            let name = |seed: u64| format!("c{index:0width$}-seed{seed}");
            let config = resolve(&configuration.overrides).map_err(|e| match e {
                SweepError::Trial { source, .. } => SweepError::Trial {
                    configuration: format!("c{index:0width$}"),
                    label: configuration.label(),
                    source,
                },
                other => other,
            })?;
            // Refused before any trial trains, not after all of them.
            if settings.metric == Metric::EpisodeRewardMean && !config.ends_a_training_episode() {
                return Err(setting(
                    "metric",
                    format!(
                        "configuration c{index:0width$} ({}) ends no training episode, so it \
                         has no episode_reward_mean: use evaluation/episode_reward_mean, or more \
                         iterations",
                        configuration.label()
                    ),
                ));
            }
            for k in 0..settings.seeds {
                let seed = config
                    .env
                    .seed
                    .checked_add(k)
                    .filter(|s| *s <= i64::MAX as u64)
                    .ok_or_else(|| {
                        setting(
                            "seeds",
                            format!("env.seed {} + {k} is beyond 2^63 − 1", config.env.seed),
                        )
                    })?;
                let mut config = config.clone();
                config.env.seed = seed;
                trials.push(Trial {
                    name: name(seed),
                    configuration: index,
                    seed,
                    config,
                });
            }
        }
        Ok(Self {
            metric: settings.metric,
            mode: settings.mode,
            seeds: settings.seeds,
            configurations,
            trials,
        })
    }
}

/// A configuration error found while checking the values of `axis`, with the axis
/// values it arose under.
fn at_axis(e: SweepError, axis: &str, label: &str) -> SweepError {
    match e {
        SweepError::Trial { source, .. } => SweepError::Axis {
            axis: axis.to_string(),
            why: format!("with {label}: {source}"),
        },
        other => other,
    }
}

impl From<InvalidConfig> for SweepError {
    fn from(source: InvalidConfig) -> Self {
        SweepError::Trial {
            configuration: String::new(),
            label: String::new(),
            source: Box::new(source),
        }
    }
}

/// Every combination of the grid axes' values, the last axis varying fastest.
fn product(grid: &[(String, Axis)]) -> Vec<Vec<(String, toml::Value)>> {
    let mut out = vec![Vec::new()];
    for (path, axis) in grid {
        let Axis::Grid(values) = axis else {
            unreachable!("only grid axes are combined")
        };
        out = out
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push((path.clone(), v.clone()));
                    next
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AlgoConfig;

    const FILE: &str = r#"
[sweep]
iterations = 4
seeds = 2
samples = 3
sample_seed = 11

[base]
algo = "slateq"
steps_per_iteration = 100
[base.env]
num_candidates = 5

[axes]
"slateq.lr" = { grid = [1e-3, 1e-4] }
"slateq.gamma" = { uniform = [0.9, 0.99] }
"slateq.batch_size" = { choice = [16, 32] }
seed = { grid = [0, 100] }
"#;

    fn lr(t: &Trial) -> f64 {
        match &t.config.agent {
            AlgoConfig::Slateq(c) => c.lr,
            _ => panic!("SlateQ"),
        }
    }

    #[test]
    fn expands_grid_times_samples_times_seeds_deterministically() {
        let sweep = Sweep::parse(FILE).unwrap();
        // 2 lr × 2 seeds (grid) × 3 samples = 12 configurations, each on 2 seeds.
        assert_eq!(sweep.configurations.len(), 12);
        assert_eq!(sweep.trials.len(), 24);
        assert_eq!(sweep, Sweep::parse(FILE).unwrap());
        let t = &sweep.trials;
        assert_eq!(t[0].name, "c00-seed0");
        assert_eq!(t[1].name, "c00-seed1");
        // Axes in key order (env.seed, then slateq.lr), the last fastest; then the
        // random axes.
        assert_eq!((t[2].seed, lr(&t[2])), (0, 1e-4));
        assert_eq!((t[4].seed, t[5].seed, lr(&t[4])), (100, 101, 1e-3));
        for trial in t {
            assert_eq!(trial.config.iterations, 4);
            assert_eq!(trial.config.steps_per_iteration, 100);
            assert_eq!(trial.config.env.num_candidates, 5);
            let AlgoConfig::Slateq(c) = &trial.config.agent else {
                panic!()
            };
            assert!((0.9..=0.99).contains(&c.gamma));
            assert!([16, 32].contains(&c.batch_size));
        }
        // Each configuration draws its own γ; its seeds share it.
        let gammas: Vec<String> = sweep.configurations.iter().map(|c| c.label()).collect();
        assert!(gammas.windows(2).all(|w| w[0] != w[1]), "{gammas:?}");
        let other = Sweep::parse(&FILE.replace("sample_seed = 11", "sample_seed = 12")).unwrap();
        assert_ne!(other.configurations, sweep.configurations);
        assert!(sweep.configurations[0]
            .label()
            .starts_with("env.seed=0, slateq.lr=0.001, "));
    }

    #[test]
    fn bad_files_are_refused_with_the_key_at_fault() {
        let bad = |edit: &str, expected: &str| {
            let err =
                recsim_core::error_chain(&Sweep::parse(&format!("{FILE}{edit}")).unwrap_err());
            assert!(err.contains(expected), "{edit}: {err}");
        };
        bad(
            "\"slateq.learnin_rate\" = { grid = [0.1] }",
            "unknown field `learnin_rate`",
        );
        bad("\"slateq.tau\" = { grid = [] }", "grid is empty");
        bad(
            "\"slateq.epsilon_end\" = { uniform = [0.5, 0.1] }",
            "low bound is above",
        );
        bad(
            "\"slateq.lr_final\" = { loguniform = [0.0, 0.1] }",
            "above 0",
        );
        bad(
            "\"slateq.huber_delta\" = { grid = [1.0], uniform = [1, 2] }",
            "exactly one",
        );
        // The trainer's own range check, at a bound no draw may come near.
        bad(
            "\"slateq.epsilon_start\" = { uniform = [0.5, 1.5] }",
            "slateq.epsilon_start",
        );
        bad("\"slateq.threads\" = { grid = [1, 0] }", "slateq.threads");
        bad(
            "\"env.num_candidates\" = { grid = [1.5] }",
            "env.num_candidates",
        );
        bad("iterations = { grid = [1, 2] }", "[sweep] iterations");
        let settings = |text: &str, expected: &str| {
            let err = recsim_core::error_chain(&Sweep::parse(text).unwrap_err());
            assert!(err.contains(expected), "{text}: {err}");
        };
        settings("[sweep]\nseeds = 0", "seeds: must be at least 1");
        settings("[sweep]\nsamples = 2", "no axis is random");
        settings("[sweep]\nmetric = \"reward\"", "sweep.metric");
        settings("[sweep]\nseed = 3", "unknown field `seed`");
        settings("[sweeps]\nseeds = 3", "unknown field `sweeps`");
        settings("[base]\nsteps_per_iteration = 1e12", "steps_per_iteration");
        settings("[sweep]\nseeds = 100000", "more than 10000 trials");
        // Not TOML: where, with the parser's caret (issue 27, finding 13).
        settings("[sweep]\nseeds = 3\n[axes\n", "line 3, column");
        // A metric that cannot exist, before anything trains (issue 27, finding 10): 52
        // steps, 13 for each of four environments, of an episode of 120.
        settings(
            "[sweep]\nmetric = \"episode_reward_mean\"\niterations = 1\n[base]\nsteps_per_iteration = 52",
            "ends no training episode",
        );
        // Offline, one log (issue 27, finding 9).
        let offline = "[base]\nalgo = \"linucb\"\n[base.offline]\nlogs = \"log\"\n\
                       checksum = \"x\"\nsteps = 1000\n";
        settings(offline, "an offline run learns from one log");
        settings(
            &format!("{offline}[sweep]\nseeds = 1\nmetric = \"episode_reward_mean\""),
            "ends no training episode",
        );
        // The log's environment, without the wrappers the bandit acts through.
        let trial = &Sweep::parse(&format!("{offline}[sweep]\nseeds = 1"))
            .unwrap()
            .trials[0];
        assert_eq!(trial.config.env.wrappers, env::Wrappers::default());
    }

    #[test]
    fn an_empty_sweep_is_one_configuration_of_the_defaults() {
        let sweep = Sweep::parse("").unwrap();
        assert_eq!(sweep.trials.len(), 3);
        assert_eq!(sweep.configurations[0].label(), "base");
        assert_eq!(sweep.trials[2].config.env.seed, 2);
        assert_eq!(sweep.trials[0].config.algo(), Algo::Slateq);
    }
}
