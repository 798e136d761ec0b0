//! RLlib's `Algorithm`: `train()` runs one iteration of experience and learning and reports
//! RLlib's metrics.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::Instant;

use agents::{Agent, AgentError, Policy};
use env::{Autoreset, EnvError, Execution, Scenario, SlateEnv, VectorEnv, VectorError};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use logs::{LogError, OfflineFeed};
use ope::HeldOut;
use rollout::{evaluate_on, finite, Evaluation, RolloutError, VideoMetrics, VideoReport};

use crate::checkpoint::CheckpointError;
use crate::{build_agent, InvalidConfig, TrainConfig};

/// RLlib smooths episode metrics over the last 100 finished episodes.
pub const SMOOTHING_WINDOW: usize = 100;

/// Why a run cannot start or continue. The cause is kept.
#[derive(Debug, Error)]
pub enum TrainError {
    /// The configuration.
    #[error("invalid configuration")]
    Config(#[from] InvalidConfig),
    /// An environment call.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A vector environment call.
    #[error(transparent)]
    Vector(#[from] env::VectorError),
    /// The agent.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// A checkpoint.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A run folder.
    #[error(transparent)]
    Run(#[from] crate::RunError),
    /// Playing episodes (an evaluation, a baseline).
    #[error(transparent)]
    Rollout(#[from] RolloutError),
    /// A log of interactions.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A run its caller stopped ([`crate::FitEvents::iteration`]).
    #[error("the run was stopped after iteration {0}")]
    Stopped(u64),
    /// An algorithm this build leaves out.
    #[error("{algo} is not available in this build: {why}")]
    Unavailable {
        /// The algorithm.
        algo: &'static str,
        /// What the build lacks.
        why: &'static str,
    },
}

impl From<env::ConfigError> for TrainError {
    fn from(e: env::ConfigError) -> Self {
        TrainError::Config(e.into())
    }
}

/// One iteration's results, under RLlib's names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationResult {
    /// Iterations done, this one included.
    pub training_iteration: u64,
    /// Environment steps since the start.
    pub timesteps_total: u64,
    /// Episodes finished since the start.
    pub episodes_total: u64,
    /// Episodes finished in this iteration.
    pub episodes_this_iter: u64,
    /// Over the last 100 finished episodes; absent until one has finished.
    pub episode_reward_mean: Option<f64>,
    /// The lowest return of the last 100 episodes.
    pub episode_reward_min: Option<f64>,
    /// The highest return of the last 100 episodes.
    pub episode_reward_max: Option<f64>,
    /// The mean length of the last 100 episodes.
    pub episode_len_mean: Option<f64>,
    /// Wall time of this iteration, its evaluation included.
    pub time_this_iter_s: f64,
    /// Wall time since the start (resumed runs add up).
    pub time_total_s: f64,
    /// The wall clock at the iteration's end, in seconds since 1970 (RLlib's
    /// `timestamp`; TensorBoard's `wall_time`).
    #[serde(default)]
    pub timestamp: f64,
    /// The learner's own statistics.
    pub learner: BTreeMap<String, f64>,
    /// RecSim's video-cluster metrics over this iteration's steps, where the environment
    /// has them (written, not read back).
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<VideoReport>,
    /// The policy evaluated without exploration, every `evaluation_interval` iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    /// Offline, with episodes held out of training: the same policy's return estimated
    /// there, at the same iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out: Option<HeldOutScore>,
}

/// A policy's return estimated on the log's held-out episodes, without the simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutScore {
    /// The return that a model of the world fitted to the held-out episodes predicts.
    pub value: f64,
    /// Its 95% interval: the spread of the episodes, not the model's own error.
    pub ci95: [f64; 2],
    /// The held-out episodes.
    pub episodes: u64,
}

/// An offline run's choice among its checkpoints without the simulator (the best
/// held-out score), and the simulator's evaluation of it beside, the truth the choice is
/// measured against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selected {
    /// The chosen checkpoint's iteration.
    pub training_iteration: u64,
    /// Its folder.
    pub checkpoint: PathBuf,
    /// Its held-out score.
    pub held_out: HeldOutScore,
    /// Its evaluation in the simulator, as the final evaluation's.
    pub evaluation: Evaluation,
}

/// The loop's counters and the smoothing window: part of every checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// Iterations done.
    pub iteration: u64,
    /// Environment steps taken.
    pub timesteps_total: u64,
    /// Episodes finished.
    pub episodes_total: u64,
    /// `(return, length)` so far of each training environment's unfinished episode.
    pub open_episodes: Vec<(f64, usize)>,
    /// `(return, length)` of the last finished episodes, oldest first.
    pub window: VecDeque<(f64, usize)>,
    /// Wall time of all iterations.
    pub time_total_s: f64,
    /// Whether the first episode has started.
    pub started: bool,
}

/// An agent, its training environments (or, offline, its log) and the loop state.
pub struct Algorithm {
    config: TrainConfig,
    /// The training environments, `TrainConfig::num_envs` of them, slot `i` seeded with
    /// `slot_seed(seed, i)` (within the configuration's range of seeds), stepped in
    /// lockstep; an ended episode waits for the agent to learn from its last observation
    /// ([`Autoreset::Disabled`]).
    vector: VectorEnv,
    agent: Box<dyn Agent>,
    state: LoopState,
    /// The slates of the environments' current step, `K` each.
    slates: Vec<usize>,
    offline: Option<OfflineFeed>,
    /// The log's episodes held out of an offline run's training.
    held_out: Option<HeldOut>,
}

impl Algorithm {
    /// A fresh run.
    pub fn new(config: TrainConfig) -> Result<Self, TrainError> {
        let spec = config.resolve()?;
        // Within the configuration's range of seeds (slot 0 keeps its own).
        let envs: Vec<_> = (0..config.num_envs())
            .map(|slot| spec.make_seeded(env::slot_seed(config.env.seed, slot) & i64::MAX as u64))
            .collect();
        let agent = build_agent(&config, &spec)?;
        let mut offline = config
            .offline
            .as_ref()
            .map(|source| {
                OfflineFeed::open(&source.logs, &source.checksum, &config.env, source.holdout)
            })
            .transpose()?;
        let held_out = match (&config.offline, offline.as_mut()) {
            (Some(source), Some(feed)) if source.holdout > 0.0 => Some(HeldOut::new(
                &source.logs,
                &config.env,
                feed.take_held_out(),
            )?),
            _ => None,
        };
        let slates = vec![0; envs.len() * envs[0].layout().slate_size];
        let vector =
            VectorEnv::new(envs, Execution::Sequential)?.with_autoreset(Autoreset::Disabled);
        Ok(Self {
            slates,
            config,
            vector,
            agent,
            state: LoopState::default(),
            offline,
            held_out,
        })
    }

    /// A run restored from saved parts (see [`crate::checkpoint`]).
    pub(crate) fn restore(
        config: TrainConfig,
        state: LoopState,
        env_states: &[env::EnvState],
        agent_state: &[u8],
        replay: Option<&[u8]>,
        mismatch: impl Fn(env::EnvError) -> CheckpointError,
    ) -> Result<Self, TrainError> {
        let mut algo = Self::new(config)?;
        // An online run that has started keeps every environment's open episode.
        let b = algo.vector.num_envs();
        let open = if algo.offline.is_none() && state.started {
            b
        } else {
            0
        };
        if env_states.len() != b || state.open_episodes.len() != open {
            return Err(CheckpointError::Decode(format!(
                "{} environment states and {} open episodes for a configuration of {b} \
                 environments",
                env_states.len(),
                state.open_episodes.len(),
            ))
            .into());
        }
        algo.vector.load_states(env_states).map_err(|e| match e {
            VectorError::Slot { source, .. } => TrainError::from(mismatch(source)),
            other => other.into(),
        })?;
        algo.agent.load(agent_state)?;
        if let Some(replay) = replay {
            algo.agent.load_replay(replay)?;
        }
        if let Some(feed) = algo.offline.as_mut() {
            // The steps the agent took in before are in its state (or its replay).
            feed.feed(state.timesteps_total, |_| Ok::<_, TrainError>(()))?;
        }
        algo.state = state;
        Ok(algo)
    }

    /// The run's configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The loop's counters.
    pub fn state(&self) -> &LoopState {
        &self.state
    }

    /// The agent being trained.
    pub fn agent(&self) -> &dyn Agent {
        self.agent.as_ref()
    }

    /// The training environments.
    pub(crate) fn envs(&self) -> &[Box<dyn SlateEnv>] {
        self.vector.envs()
    }

    /// Whether the run has reached its last iteration.
    pub fn is_done(&self) -> bool {
        self.state.iteration >= self.config.iterations
    }

    /// One iteration: a fixed number of environment steps, learning after each; offline,
    /// the log's steps instead (see the `offline` module).
    pub fn train(&mut self) -> Result<IterationResult, TrainError> {
        let start = Instant::now();
        let episodes_before = self.state.episodes_total;
        let interval = self.config.evaluation_interval;
        let due = interval > 0 && (self.state.iteration + 1).is_multiple_of(interval);
        let (metrics, evaluation) = if due && self.config.evaluation_parallel_to_training {
            // A copy of the policy as the iteration starts, evaluated on the second core
            // while the iteration trains: the evaluation has its own policy and
            // environment, so training is the same bit for bit.
            let (config, policy) = (self.config.clone(), self.agent.policy());
            std::thread::scope(|scope| {
                let evaluation = scope
                    .spawn(|| evaluate_copy(&config, policy, config.evaluation_duration, |_| ()));
                let metrics = self.collect_and_learn();
                let evaluation = evaluation
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                Ok::<_, TrainError>((metrics?, Some(evaluation?)))
            })?
        } else {
            let metrics = self.collect_and_learn()?;
            let evaluation = due
                .then(|| self.evaluate(self.config.evaluation_duration, |_| ()))
                .transpose()?;
            (metrics, evaluation)
        };
        let held_out = match self.held_out.as_mut() {
            Some(held_out) if due => held_out_score(held_out, self.agent.policy().as_mut()),
            _ => None,
        };
        Ok(self.finish_iteration(start, episodes_before, metrics, evaluation, held_out))
    }

    /// An iteration's experience and learning, without its evaluation: its video-cluster
    /// metrics, where the environment has them.
    fn collect_and_learn(&mut self) -> Result<Option<VideoReport>, TrainError> {
        if self.offline.is_some() {
            return self.train_offline();
        }
        let s = &mut self.state;
        let b = self.vector.num_envs();
        if !s.started {
            self.vector.reset_unseeded();
            for _ in 0..b {
                self.agent.begin_episode();
            }
            s.open_episodes = vec![(0.0, 0); b];
            s.started = true;
        }
        let mut metrics = VideoMetrics::for_scenario(&self.config.env);
        for _ in 0..self.config.iteration_steps() / b {
            self.agent
                .act_batch(self.vector.envs(), true, &mut self.slates);
            self.vector.step(&self.slates)?;
            let transitions = self.vector.transitions();
            for t in transitions {
                finite(*t)?;
            }
            self.agent
                .observe_batch(&self.slates, transitions, self.vector.envs());
            self.agent.health()?;
            for (t, open) in transitions.iter().zip(&mut s.open_episodes) {
                if let Some(m) = metrics.as_mut() {
                    m.record_transition(t);
                }
                s.timesteps_total += 1;
                open.0 += t.reward;
                open.1 += 1;
                if t.done() {
                    if s.window.len() == SMOOTHING_WINDOW {
                        s.window.pop_front();
                    }
                    s.window.push_back(std::mem::take(open));
                    s.episodes_total += 1;
                    self.agent.begin_episode();
                }
            }
            // After the agent has learned from the ended episodes' last observations.
            self.vector.reset_ended();
        }
        Ok(metrics.map(|m| m.report()))
    }

    /// An offline iteration: a bandit takes in the log's next steps; a replay learner the
    /// whole log at its first iteration; then it learns for the iteration's steps.
    fn train_offline(&mut self) -> Result<Option<VideoReport>, TrainError> {
        let steps = self.config.iteration_steps() as u64;
        let feed = self.offline.as_mut().expect("an offline run");
        let s = &mut self.state;
        let take = match (self.config.algo().learns_from_replay(), s.started) {
            (true, false) => u64::MAX,
            (true, true) => 0,
            (false, _) => steps,
        };
        let agent = self.agent.as_mut();
        let (fed, episodes) = feed.feed(take, |step| {
            agent.add_logged(step).map_err(TrainError::from)
        })?;
        s.started = true;
        s.timesteps_total += fed;
        s.episodes_total += episodes;
        self.agent.learn_offline(steps as usize)?;
        self.agent.health()?;
        Ok(None)
    }

    /// Ends an iteration: its results.
    fn finish_iteration(
        &mut self,
        start: Instant,
        episodes_before: u64,
        metrics: Option<VideoReport>,
        evaluation: Option<Evaluation>,
        held_out: Option<HeldOutScore>,
    ) -> IterationResult {
        let s = &mut self.state;
        s.iteration += 1;
        let elapsed = start.elapsed().as_secs_f64();
        s.time_total_s += elapsed;
        let n = s.window.len() as f64;
        let returns = s.window.iter().map(|w| w.0);
        let (mean, min, max, len) = if s.window.is_empty() {
            (None, None, None, None)
        } else {
            (
                Some(returns.clone().sum::<f64>() / n),
                Some(returns.clone().fold(f64::INFINITY, f64::min)),
                Some(returns.fold(f64::NEG_INFINITY, f64::max)),
                Some(s.window.iter().map(|w| w.1 as f64).sum::<f64>() / n),
            )
        };
        let learner = self
            .agent
            .stats()
            .into_iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        IterationResult {
            training_iteration: s.iteration,
            timesteps_total: s.timesteps_total,
            episodes_total: s.episodes_total,
            episodes_this_iter: s.episodes_total - episodes_before,
            episode_reward_mean: mean,
            episode_reward_min: min,
            episode_reward_max: max,
            episode_len_mean: len,
            time_this_iter_s: elapsed,
            time_total_s: s.time_total_s,
            timestamp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            learner,
            metrics,
            evaluation,
            held_out,
        }
    }

    /// Evaluates a copy of the current policy without exploration on the evaluation
    /// stream; training state is untouched.
    pub fn evaluate(
        &self,
        episodes: usize,
        progress: impl FnMut(usize),
    ) -> Result<Evaluation, TrainError> {
        evaluate_copy(&self.config, self.agent.policy(), episodes, progress)
    }
}

/// `policy`'s return estimated on the held-out episodes, where there is one.
fn held_out_score(held_out: &mut HeldOut, policy: &mut dyn Policy) -> Option<HeldOutScore> {
    let estimate = *held_out.model_return(policy).estimate()?;
    Some(HeldOutScore {
        value: estimate.value,
        ci95: estimate.ci95,
        episodes: held_out.episodes(),
    })
}

/// Evaluates `policy`, a copy of a run's, over `episodes` episodes of the run's
/// evaluation stream.
fn evaluate_copy(
    config: &TrainConfig,
    policy: Box<dyn Policy>,
    episodes: usize,
    progress: impl FnMut(usize),
) -> Result<Evaluation, TrainError> {
    Ok(evaluate_on(
        &config.eval_scenario(),
        policy,
        episodes,
        progress,
    )?)
}

/// Evaluates a saved agent of `config` on `scenario`, which must have the layout the
/// agent was trained on (the seed, say, may differ).
pub fn evaluate_policy_on(
    config: &TrainConfig,
    agent_state: &[u8],
    scenario: &Scenario,
    episodes: usize,
    progress: impl FnMut(usize),
) -> Result<Evaluation, TrainError> {
    let mut agent = build_agent(config, &scenario.resolve()?)?;
    agent.load(agent_state)?;
    Ok(evaluate_on(scenario, agent, episodes, progress)?)
}
