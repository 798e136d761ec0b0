//! The configuration of a training run (`config.toml`): typed, strict (an unknown key
//! anywhere is an error), and merged over the algorithm's defaults, so a file may hold
//! any part of it.

use std::path::PathBuf;

use agents::config::{EsConfig, LinTsConfig, LinUcbConfig, SlateQConfig};
use agents::AgentError;
use env::{EnvSpec, Scenario};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::tables::{diff, merge};
use crate::{Algo, AlgoConfig};

/// The log an offline run learns from, instead of an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineSource {
    /// The log folder (`rlrec log`).
    pub logs: PathBuf,
    /// The log's checksum: a run continues only from the same log.
    pub checksum: String,
    /// Its steps.
    pub steps: u64,
    /// The share of the log's episodes, its last, held out of training: each evaluated
    /// policy is scored there by the return a model of the world fitted to them predicts,
    /// and the best scored is the run's choice without the simulator (0: none held out).
    #[serde(default)]
    pub holdout: f64,
}

/// Everything a run needs; written as `config.toml` and stored in each checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// The algorithm and its hyperparameters.
    pub agent: AlgoConfig,
    /// The iteration count the run stops at (RLlib's `training_iteration` stop).
    pub iterations: u64,
    /// Environment steps per iteration; 0 means one episode where every episode has the
    /// same length, else 1000 steps.
    pub steps_per_iteration: usize,
    /// Checkpoint every this many iterations (and always at the end); 0 = only at the end.
    pub checkpoint_every: u64,
    /// Episodes of the final evaluation (no exploration, a separate environment stream).
    pub eval_episodes: usize,
    /// Evaluate every this many iterations during training (0 = never), as RLlib's
    /// `evaluation_interval`; the results join the iteration's.
    pub evaluation_interval: u64,
    /// Episodes of each evaluation during training.
    pub evaluation_duration: usize,
    /// Run each evaluation on another thread while its iteration trains, as RLlib's
    /// `evaluation_parallel_to_training`: it evaluates the policy as the iteration
    /// starts, one iteration older than a serial evaluation's, and costs the iteration
    /// nothing where a core is free. Training is the same either way.
    pub evaluation_parallel_to_training: bool,
    /// Keep only this many of the newest checkpoints, and the best evaluated one (0: all),
    /// as RLlib's `num_to_keep`.
    pub keep_checkpoints: u64,
    /// The environment.
    pub env: Scenario,
    /// The log an offline run learns from (it never acts in `env`, where it is evaluated).
    pub offline: Option<OfflineSource>,
}

/// `config.toml` as written and read: the algorithm's own table only.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    algo: Algo,
    iterations: u64,
    steps_per_iteration: usize,
    checkpoint_every: u64,
    eval_episodes: usize,
    evaluation_interval: u64,
    evaluation_duration: usize,
    #[serde(default)]
    evaluation_parallel_to_training: bool,
    keep_checkpoints: u64,
    env: Scenario,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    offline: Option<OfflineSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    linucb: Option<LinUcbConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lints: Option<LinTsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slateq: Option<SlateQConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    es: Option<EsConfig>,
}

/// A configuration that cannot be used: the cause is kept.
#[derive(Debug, Error)]
pub enum InvalidConfig {
    /// Not TOML (boxed: the parser's error is large).
    #[error(transparent)]
    Toml(Box<toml::de::Error>),
    /// A key the configuration does not have, or a value of the wrong type.
    #[error("{}{}", key_prefix(.0.path()), .0.inner().message())]
    Key(Box<serde_path_to_error::Error<toml::de::Error>>),
    /// The environment's options.
    #[error(transparent)]
    Env(#[from] env::ConfigError),
    /// The algorithm's hyperparameters.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// Another algorithm's table.
    #[error("[{section}] configures --algo {section}, but this run's algorithm is {algo}")]
    ForeignSection {
        /// The table found.
        section: &'static str,
        /// The run's algorithm.
        algo: Algo,
    },
    /// Settings that cannot go together.
    #[error("{0}")]
    Combination(&'static str),
    /// A dotted key (`--set slateq.lr=…`) that cannot be set.
    #[error("{key}: {why}")]
    DottedKey {
        /// The key.
        key: String,
        /// Why not.
        why: String,
    },
    /// A run setting out of its range.
    #[error("{name} = {value} is invalid: {why}")]
    Setting {
        /// The key.
        name: &'static str,
        /// The value given.
        value: u64,
        /// Its range.
        why: &'static str,
    },
}

/// The default SlateQ run: 180,000 steps, over which its learning rate decays; on the
/// tutorial's scenario it ends within about 1.5 of the optimum (docs/slateq.md).
pub const SLATEQ_ITERATIONS: u64 = 180;

/// Offline SlateQ's minibatch, where a run's configuration leaves `slateq.batch_size`
/// unset. Online, SlateQ's own later data sits where its policy acts; a log of random
/// slates spreads the same number of steps over every item, so the few items a policy
/// chooses between (the most and the least clickbait) are seen far less often, and a
/// minibatch of 64 leaves their values too noisy to rank: on StrongLTS 20/2, 100,000
/// random steps and the online defaults give greedy's 1155 (clickbait always); 256 passes
/// 1180 (docs/logs.md).
pub const OFFLINE_SLATEQ_BATCH_SIZE: usize = 256;

/// Offline SlateQ's held-out share of its log (`offline.holdout`): a fifth of 834
/// episodes leaves 167 to score policies on, and 667 to learn from.
pub const OFFLINE_SLATEQ_HOLDOUT: f64 = 0.2;

/// Offline SlateQ's iterations (of `steps_per_iteration` gradient steps each): on the
/// logs of docs/logs.md, the best policies came as late as iteration 60 and, on one log,
/// only once, at 42 of 100.
pub const OFFLINE_SLATEQ_ITERATIONS: u64 = 100;

/// Offline SlateQ's iterations between evaluations, each scored on the held-out episodes
/// and checkpointed for the choice: a run's best policies can last one evaluation only.
pub const OFFLINE_SLATEQ_EVALUATION_INTERVAL: u64 = 6;

/// Steps per iteration when episodes have no fixed length.
pub const FALLBACK_STEPS_PER_ITERATION: usize = 1000;

/// The keys a resumed run may change: when to stop, evaluate and checkpoint, and where
/// SlateQ computes. Everything else would make the continued run another run.
pub const RESUMABLE_KEYS: [&str; 9] = [
    "iterations",
    "checkpoint_every",
    "eval_episodes",
    "evaluation_interval",
    "evaluation_duration",
    "evaluation_parallel_to_training",
    "keep_checkpoints",
    "slateq.device",
    "slateq.threads",
];

/// Limits that keep every run finite: beyond them a run cannot finish in any useful time.
const MAX_ITERATIONS: u64 = 10_000_000;
const MAX_STEPS_PER_ITERATION: u64 = 100_000_000;
const MAX_EPISODES: u64 = 10_000_000;
/// The most environment steps a run trains for, or one evaluation plays: about three
/// hours of the fastest simulator on one core.
pub const MAX_RUN_STEPS: u64 = 10_000_000_000;

impl TrainConfig {
    /// The defaults for `algo` on the tutorial's scenario.
    pub fn new(algo: Algo) -> Self {
        let mut env = Scenario::default();
        algo.required_wrappers(&mut env)
            .expect("the default environment is registered");
        // SlateQ sees the time left by default: the best policy of a finite episode spends
        // the user's satisfaction at its end, which a policy blind to time cannot (1195.0
        // against 1191.0 on StrongLTS 20/2). A file may turn it off.
        env.wrappers.time_aware = algo == Algo::Slateq;
        // SlateQ's iteration is RLlib's DQN default of 1000 environment steps.
        let (iterations, steps_per_iteration) = match algo {
            Algo::Slateq => (SLATEQ_ITERATIONS, 1000),
            _ => (100, 0),
        };
        Self {
            agent: AlgoConfig::new(algo),
            iterations,
            steps_per_iteration,
            checkpoint_every: 10,
            eval_episodes: 1000,
            evaluation_interval: 0,
            evaluation_duration: 100,
            evaluation_parallel_to_training: false,
            keep_checkpoints: 0,
            env,
            offline: None,
        }
    }

    /// The defaults of a new offline run of `algo` on the log `source` of `scenario`: the
    /// log's environment; for SlateQ, the whole log in its replay buffer,
    /// [`OFFLINE_SLATEQ_BATCH_SIZE`] and an evaluation every
    /// [`OFFLINE_SLATEQ_EVALUATION_INTERVAL`] iterations; for a bandit, one pass over the
    /// log and an evaluation every tenth of the run (an offline run plays no training
    /// episodes to plot). A configuration file and flags go over these.
    pub fn offline(algo: Algo, scenario: Scenario, mut source: OfflineSource) -> Self {
        let mut base = TrainConfig::new(algo);
        base.env = scenario;
        match &mut base.agent {
            AlgoConfig::Slateq(c) => {
                // Not the online recipe (docs/logs.md measures each choice): a log
                // without `--time-aware` holds no time feature to learn the finite horizon
                // from; 3-step returns, whose two later rewards show what a slate did to
                // the user's satisfaction without bootstrapping through the maximum of
                // noisy values (one-step targets stayed at greedy's value for the whole
                // run on 2 of 10 random logs); one gradient step per step of the
                // iteration, the learning rate decayed over all of them, with the online
                // network acting; it collects from no environment. A wider network and a
                // target network held twice as long as online: with the online [32, 32]
                // and 1000 steps, the policy swung by ±5 between evaluations and stayed
                // greedy for half the run on some logs. The online discount, 0.995: at
                // 0.98, what the least clickbait gains over the most below the best
                // policy's threshold is a third smaller (0.12 against 0.18 at a satisfaction
                // of 0.47), and one random log of ten stayed greedy all run.
                *c = SlateQConfig {
                    lr: 3e-4,
                    lr_decay_steps: OFFLINE_SLATEQ_ITERATIONS as usize * base.steps_per_iteration,
                    n_step: 3,
                    train_every: 1,
                    num_envs: 1,
                    average_steps: 0,
                    huber_delta: 1.0,
                    hidden: vec![64, 64],
                    target_update_every: 2_000,
                    batch_size: OFFLINE_SLATEQ_BATCH_SIZE,
                    // The whole log, and no more.
                    buffer_size: usize::try_from(source.steps).unwrap_or(usize::MAX),
                    ..c.clone()
                };
                base.iterations = OFFLINE_SLATEQ_ITERATIONS;
                base.evaluation_interval = OFFLINE_SLATEQ_EVALUATION_INTERVAL;
                source.holdout = OFFLINE_SLATEQ_HOLDOUT;
            }
            _ => {
                base.iterations = source.steps.div_ceil(base.iteration_steps() as u64);
                base.evaluation_interval = (base.iterations / 10).max(1);
            }
        }
        base.offline = Some(source);
        base
    }

    /// The algorithm.
    pub fn algo(&self) -> Algo {
        self.agent.algo()
    }

    /// Reads TOML holding any part of a configuration over `self`: the tables merge key
    /// by key; a file that names another algorithm starts from that algorithm's defaults
    /// instead. Nothing is validated but the keys and their types.
    pub fn merged(&self, text: &str) -> Result<Self, InvalidConfig> {
        self.merged_table(toml::from_str(text)?)
    }

    /// [`TrainConfig::merged`] of a parsed table.
    pub fn merged_table(&self, overlay: toml::Table) -> Result<Self, InvalidConfig> {
        let base = match overlay.get("algo") {
            Some(algo) => match Algo::deserialize(algo.clone())? {
                algo if algo == self.algo() => self.clone(),
                algo => TrainConfig::new(algo),
            },
            None => self.clone(),
        };
        let mut table = base.to_table();
        merge(&mut table, overlay);
        Self::from_table(table)
    }

    /// Reads a whole configuration (a checkpoint's, a run's `config.toml`), merged over
    /// its algorithm's defaults so that keys added since it was written get them.
    pub fn from_toml(text: &str) -> Result<Self, InvalidConfig> {
        let table: toml::Table = toml::from_str(text)?;
        match table.get("algo") {
            Some(algo) => TrainConfig::new(Algo::deserialize(algo.clone())?).merged(text),
            // The strict reading names the missing key.
            None => Self::from_table(table),
        }
    }

    fn from_table(table: toml::Table) -> Result<Self, InvalidConfig> {
        let stored: Stored = serde_path_to_error::deserialize(table)?;
        let algo = stored.algo;
        let foreign = [
            ("linucb", stored.linucb.is_some() && algo != Algo::Linucb),
            ("lints", stored.lints.is_some() && algo != Algo::Lints),
            ("slateq", stored.slateq.is_some() && algo != Algo::Slateq),
            ("es", stored.es.is_some() && algo != Algo::Es),
        ];
        if let Some((section, _)) = foreign.into_iter().find(|(_, bad)| *bad) {
            return Err(InvalidConfig::ForeignSection { section, algo });
        }
        let agent = match algo {
            Algo::Random => AlgoConfig::Random,
            Algo::Greedy => AlgoConfig::Greedy,
            Algo::Linucb => AlgoConfig::Linucb(stored.linucb.unwrap_or_default()),
            Algo::Lints => AlgoConfig::Lints(stored.lints.unwrap_or_default()),
            Algo::Slateq => AlgoConfig::Slateq(stored.slateq.unwrap_or_default()),
            Algo::Es => AlgoConfig::Es(stored.es.unwrap_or_default()),
        };
        Ok(Self {
            agent,
            iterations: stored.iterations,
            steps_per_iteration: stored.steps_per_iteration,
            checkpoint_every: stored.checkpoint_every,
            eval_episodes: stored.eval_episodes,
            evaluation_interval: stored.evaluation_interval,
            evaluation_duration: stored.evaluation_duration,
            evaluation_parallel_to_training: stored.evaluation_parallel_to_training,
            keep_checkpoints: stored.keep_checkpoints,
            env: stored.env,
            offline: stored.offline,
        })
    }

    fn stored(&self) -> Stored {
        let (mut linucb, mut lints, mut slateq, mut es) = (None, None, None, None);
        match &self.agent {
            AlgoConfig::Random | AlgoConfig::Greedy => {}
            AlgoConfig::Linucb(c) => linucb = Some(*c),
            AlgoConfig::Lints(c) => lints = Some(*c),
            AlgoConfig::Slateq(c) => slateq = Some(c.clone()),
            AlgoConfig::Es(c) => es = Some(*c),
        }
        Stored {
            algo: self.algo(),
            iterations: self.iterations,
            steps_per_iteration: self.steps_per_iteration,
            checkpoint_every: self.checkpoint_every,
            eval_episodes: self.eval_episodes,
            evaluation_interval: self.evaluation_interval,
            evaluation_duration: self.evaluation_duration,
            evaluation_parallel_to_training: self.evaluation_parallel_to_training,
            keep_checkpoints: self.keep_checkpoints,
            env: self.env.clone(),
            offline: self.offline.clone(),
            linucb,
            lints,
            slateq,
            es,
        }
    }

    /// The configuration as a TOML table.
    pub fn to_table(&self) -> toml::Table {
        toml::Table::try_from(self.stored())
            .expect("a validated configuration holds only numbers TOML can store")
    }

    /// `config.toml`'s text. The configuration must have passed
    /// [`TrainConfig::validate`] (TOML stores integers below 2^63 only).
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.stored())
            .expect("a validated configuration holds only numbers TOML can store")
    }

    /// Every key whose value differs from `other`'s, by dotted path
    /// (`env.seed`), with both values as TOML prints them (`(unset)` where absent).
    pub fn differences(&self, other: &TrainConfig) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        diff("", &self.to_table(), &other.to_table(), &mut out);
        out
    }

    /// The environments training collects from at once ([`AlgoConfig::num_envs`]).
    pub fn num_envs(&self) -> usize {
        self.agent.num_envs()
    }

    /// The steps of one iteration, resolving 0 to whole episodes (one; es: a generation).
    pub fn iteration_steps(&self) -> usize {
        self.iteration_steps_of(self.episode_length())
    }

    /// [`TrainConfig::iteration_steps`] for an environment whose episodes last
    /// `episode_length` steps, where that is fixed.
    fn iteration_steps_of(&self, episode_length: Option<usize>) -> usize {
        match self.steps_per_iteration {
            0 => episode_length.map_or(FALLBACK_STEPS_PER_ITERATION, |length| {
                length.saturating_mul(self.agent.episodes_per_iteration())
            }),
            n => n,
        }
    }

    /// Whether some training episode ends within the run, so that it has an
    /// `episode_reward_mean`: never offline (no episode is played), never where each
    /// environment's share of the run's steps is shorter than an episode of fixed length.
    pub fn ends_a_training_episode(&self) -> bool {
        if self.offline.is_some() {
            return false;
        }
        match self.episode_length() {
            Some(length) => {
                let per_env = (self.iteration_steps() / self.num_envs()) as u64;
                per_env.saturating_mul(self.iterations) >= length as u64
            }
            _ => true,
        }
    }

    /// The length of every episode of the environment, where it is fixed and the
    /// environment valid.
    fn episode_length(&self) -> Option<usize> {
        self.env.resolve().ok()?.episode_length()
    }

    /// The scenario evaluation runs on.
    pub fn eval_scenario(&self) -> Scenario {
        let mut s = self.env.clone();
        s.seed = rollout::eval_seed(s.seed);
        s
    }

    /// Checks every part, naming the field at fault.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        self.resolve().map(drop)
    }

    /// Checks every part, naming the field at fault, and returns the environment resolved
    /// once on the way ([`Scenario::resolve`]).
    pub fn resolve(&self) -> Result<EnvSpec, InvalidConfig> {
        let w = &self.env.wrappers;
        if self.algo() == Algo::Slateq && w.bandit_observation {
            return Err(InvalidConfig::Combination(
                "SlateQ needs the user features, which the bandit observation drops: leave \
                 --bandit-observation off",
            ));
        }
        // Offline, the environment is the log's, and the bandits read its item features.
        if matches!(self.algo(), Algo::Linucb | Algo::Lints)
            && self.offline.is_none()
            && (w.user_observation || w.time_aware)
        {
            return Err(InvalidConfig::Combination(
                "LinUCB and LinTS read only the item features (the bandit observation), so the \
                 user's state and the time feature would be dropped: leave --user-observation \
                 and --time-aware off",
            ));
        }
        let spec = self.env.resolve()?;
        let setting = |name, value: u64, lo: u64, hi: u64, why| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(InvalidConfig::Setting { name, value, why })
            }
        };
        setting(
            "iterations",
            self.iterations,
            1,
            MAX_ITERATIONS,
            "between 1 and 10,000,000",
        )?;
        setting(
            "steps_per_iteration",
            self.steps_per_iteration as u64,
            0,
            MAX_STEPS_PER_ITERATION,
            "at most 100,000,000 (0: one episode)",
        )?;
        setting(
            "checkpoint_every",
            self.checkpoint_every,
            0,
            MAX_ITERATIONS,
            "at most 10,000,000 (0: only at the end)",
        )?;
        setting(
            "eval_episodes",
            self.eval_episodes as u64,
            1,
            MAX_EPISODES,
            "between 1 and 10,000,000",
        )?;
        setting(
            "evaluation_interval",
            self.evaluation_interval,
            0,
            MAX_ITERATIONS,
            "at most 10,000,000 (0: never)",
        )?;
        setting(
            "keep_checkpoints",
            self.keep_checkpoints,
            0,
            MAX_ITERATIONS,
            "at most 10,000,000 (0: all)",
        )?;
        setting(
            "evaluation_duration",
            self.evaluation_duration as u64,
            1,
            MAX_EPISODES,
            "between 1 and 10,000,000",
        )?;
        let total = |name, value: u64| {
            setting(
                name,
                value,
                0,
                MAX_RUN_STEPS,
                "at most 10,000,000,000 environment steps, more than a run can finish",
            )
        };
        let steps = self.iteration_steps_of(spec.episode_length());
        total(
            "iterations × steps per iteration",
            self.iterations.saturating_mul(steps as u64),
        )?;
        if let Some(length) = spec.episode_length() {
            let length = length as u64;
            total(
                "eval_episodes × episode length",
                (self.eval_episodes as u64).saturating_mul(length),
            )?;
            total(
                "evaluation_duration × episode length",
                (self.evaluation_duration as u64).saturating_mul(length),
            )?;
        }
        self.agent.validate()?;
        if let Some(source) = &self.offline {
            match &self.agent {
                AlgoConfig::Random | AlgoConfig::Greedy | AlgoConfig::Es(_) => {
                    return Err(InvalidConfig::Combination(
                        "offline training is for linucb, lints and slateq: random and greedy \
                         learn nothing, es learns from the returns of the episodes it plays",
                    ))
                }
                _ if !(0.0..=0.9).contains(&source.holdout) => {
                    return Err(InvalidConfig::Combination(
                        "offline.holdout is the share of the log's episodes held out of \
                         training: from 0 to 0.9",
                    ))
                }
                AlgoConfig::Linucb(_) | AlgoConfig::Lints(_) if source.holdout > 0.0 => {
                    return Err(InvalidConfig::Combination(
                        "offline.holdout is for slateq, whose checkpoints it chooses among: a \
                         bandit takes in each logged step once, and its last policy is the one",
                    ))
                }
                AlgoConfig::Slateq(c) if (c.buffer_size as u64) < source.steps => {
                    return Err(InvalidConfig::Setting {
                        name: "slateq.buffer_size",
                        value: c.buffer_size as u64,
                        why: "offline SlateQ holds the whole log in its replay buffer: raise it \
                              to the log's steps",
                    })
                }
                _ => {}
            }
        }
        if !steps.is_multiple_of(self.num_envs()) {
            return Err(InvalidConfig::Setting {
                name: "slateq.num_envs",
                value: self.num_envs() as u64,
                why: "an iteration's environment steps must divide evenly among the \
                      environments: choose a divisor of steps_per_iteration",
            });
        }
        Ok(spec)
    }
}

impl From<serde_path_to_error::Error<toml::de::Error>> for InvalidConfig {
    fn from(e: serde_path_to_error::Error<toml::de::Error>) -> Self {
        InvalidConfig::Key(Box::new(e))
    }
}

impl From<toml::de::Error> for InvalidConfig {
    fn from(e: toml::de::Error) -> Self {
        InvalidConfig::Toml(Box::new(e))
    }
}

/// `"env.params: "` for an error at that key; nothing at the top.
fn key_prefix(path: &serde_path_to_error::Path) -> String {
    let path = path.to_string();
    if path == "." {
        String::new()
    } else {
        format!("{path}: ")
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
