//! SlateQ (Ie et al., "SlateQ: A Tractable Decomposition for Reinforcement Learning with
//! Recommendation Sets", IJCAI 2019) on libtorch.
//!
//! The long-term value of a slate decomposes into item-wise values:
//! `Q(s, A) = Σ_{i∈A} P(i|s,A)·Q̄(s,i)` (plus the no-click option), so SlateQ learns the
//! item value `Q̄(s,i)` by TD on the consumed item and builds slates by optimising the
//! decomposed value under a user choice model.
//!
//! ```
//! use agents::{config::SlateQConfig, Agent, Policy};
//! use agents_slateq::{Episodes, SlateQ};
//! use env::{Scenario, Simulator};
//!
//! // SlateQ sees the StrongLTS user's satisfaction.
//! let mut scenario = Scenario::default();
//! scenario.wrappers.user_observation = true;
//! let mut env = scenario.build().unwrap();
//! // One environment, with a gradient step after each of its steps.
//! let config = SlateQConfig {
//!     learning_starts: 10,
//!     num_envs: 1,
//!     train_every: 1,
//!     ..SlateQConfig::default()
//! };
//! let episodes = Episodes {
//!     fixed_length: true,
//!     same_candidates: false,
//! };
//! let mut agent = SlateQ::new(config, env.layout(), env.known_choice(), episodes, 0).unwrap();
//! env.reset(None);
//! let mut slate = [0; 2];
//! for _ in 0..20 {
//!     agent.act(env.as_ref(), true, &mut slate);
//!     let t = env.step(&slate).unwrap();
//!     agent.observe(&slate, &t, env.as_ref());
//! }
//! let stats = agent.stats();
//! let grad_steps = stats.iter().find(|(k, _)| *k == "grad_steps").unwrap().1;
//! assert_eq!(grad_steps, 11.0, "learning starts after the 10 warm-up steps");
//! ```
//!
//! With the time left in the observation (`wrappers.time_aware`, the default of
//! `rlrec train --algo slateq`), every episode's end is terminal and the agent learns the
//! finite-horizon values: it can spend the user's satisfaction when little time is left.

#![warn(missing_docs)]

mod act;
mod adam;
mod choice;
mod collect;
mod learn;
mod net;
mod normalize;
mod policy;
mod replay;
mod schedule;
mod td;
mod tensor;

pub use agents::choice::{best_slate, slate_value, ChoiceRule};
pub use policy::SlateQPolicy;

use std::collections::VecDeque;

use agents::config::{ChoiceModelKind, SlateQConfig};
use agents::nstep::{NStepReturns, OpenStep};
use agents::{check_layout, Agent, AgentError, LoggedStep, Policy};
use env::{Layout, SlateEnv, Transition};
use recsim_core::{stream, KnownChoice, SimRng, StreamId};
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use adam::Adam;
use choice::LogitChoice;
use collect::{push_state, store};
use learn::{Batch, IterStats};
use net::{parameters, snapshot, Mlp, SavedParams};
use normalize::{FeatureScale, Moments, Normalizer};
use replay::Replay;
use tensor::to_vec;

fn invalid(name: &'static str, why: impl Into<String>) -> AgentError {
    AgentError::Config {
        name,
        why: why.into(),
    }
}

/// The device a configuration names, if libtorch sees it.
fn device(config: &SlateQConfig) -> Result<Device, AgentError> {
    match config.device.as_str() {
        "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" => Err(invalid(
            "slateq.device",
            "cuda was requested but libtorch sees no CUDA device (a CPU-only libtorch, or no GPU)",
        )),
        _ => Ok(Device::Cpu),
    }
}

/// The most memory the replay buffer may take: it is held in memory and in the latest
/// checkpoint.
const MAX_REPLAY_BYTES: usize = 8 << 30;

/// Everything a checkpoint holds but the replay buffer.
#[derive(Serialize, Deserialize)]
struct Saved {
    layout: Layout,
    known: KnownChoice,
    online: SavedParams,
    target: Vec<f32>,
    average: Option<Vec<f32>>,
    choice: Option<SavedParams>,
    norm: Option<Normalizer>,
    warm_rewards: Moments,
    pending: Vec<VecDeque<OpenStep>>,
    rng: SimRng,
    env_steps: u64,
    grad_steps: u64,
    stats: IterStats,
}

/// What the agent knows of the episodes it learns from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Episodes {
    /// Every episode has the same length (it settles the unset reward options).
    pub fixed_length: bool,
    /// The candidates stay the same through an episode (SARDINE's catalogue, RecSim's
    /// worlds without resampling): the replay then holds their features once an episode
    /// at most, which its memory bound counts on.
    pub same_candidates: bool,
}

/// The SlateQ agent: TD learning of its policy's item values from a replay of `n`-step
/// returns.
pub struct SlateQ {
    /// What acting needs; learning moves its parameters in place.
    policy: SlateQPolicy,
    /// The optimiser of the policy's parameters.
    adam: Adam,
    /// The optimiser of the policy's learned choice model, where it has one.
    choice_adam: Option<Adam>,
    target: Tensor,
    replay: Replay,
    /// The single-step rewards of the warm-up, which the reward normalisation measures.
    warm_rewards: Moments,
    /// Per environment, the steps whose `n`-step return is still open.
    pending: NStepReturns,
    center_rewards: bool,
    /// Bootstrap through an end by the model / by a time limit.
    bootstrap_terminated: bool,
    bootstrap_truncated: bool,
    grad_steps: u64,
    stats: IterStats,
    /// Set when a loss turned non-finite: training must stop.
    diverged: Option<String>,
    // Scratch, refilled on every call.
    batch: Batch,
    next: Vec<f32>,
    order: Vec<usize>,
    indices: Vec<usize>,
}

impl SlateQ {
    /// Builds an untrained agent for `layout`, with the environment's choice model where
    /// it is known and the configuration asks for it. `episodes` settles the unset reward
    /// options: with episodes of one length and no time in the observation the agent
    /// centres rewards and bootstraps through every end (stationary values); with the time
    /// left in the observation it centres rewards and no end is bootstrapped through.
    pub fn new(
        config: SlateQConfig,
        layout: Layout,
        known: KnownChoice,
        episodes: Episodes,
        seed: u64,
    ) -> Result<Self, AgentError> {
        config.validate()?;
        let device = device(&config)?;
        if device == Device::Cpu {
            tch::set_num_threads(config.threads as i32);
        }
        let known = match (config.choice_model, known) {
            (ChoiceModelKind::Learned, _) => KnownChoice::Unknown,
            (ChoiceModelKind::Known, KnownChoice::Unknown) => {
                return Err(invalid(
                    "slateq.choice_model",
                    "`known` needs an environment whose choice model the observations reveal; use `learned`",
                ))
            }
            (_, known) => known,
        };
        let rule = match known {
            KnownChoice::FirstPosition => ChoiceRule::FirstPosition,
            KnownChoice::Proportional { .. } | KnownChoice::Unknown => ChoiceRule::Weights,
        };
        let choice = (known == KnownChoice::Unknown)
            .then(|| LogitChoice::new(layout.user_dim, layout.doc_dim, device));
        let mut rng = stream(seed, StreamId::SlateQ);
        let mlp = Mlp::new(layout.user_dim + layout.doc_dim + 1, &config.hidden);
        let mut init = mlp.init(&mut rng);
        let state_mlp = layout
            .time
            .map(|_| Mlp::new(layout.user_dim, &config.hidden));
        if let Some(m) = &state_mlp {
            init.extend(m.init(&mut rng));
        }
        let theta = parameters(&init, device);
        let block_len = layout.num_candidates * layout.doc_dim;
        let state_len = layout.user_dim + block_len;
        // Two user feature vectors per transition, as f32, and at most one candidate block
        // per transition (its next state's: its state's is the previous transition's
        // next) where the candidates change, two where several environments interleave.
        let blocks_per = if episodes.same_candidates {
            0
        } else if config.num_envs == 1 {
            1
        } else {
            2
        };
        let replay_bytes = config.buffer_size.saturating_mul(
            (2 * layout.user_dim)
                .saturating_add(blocks_per * block_len)
                .saturating_mul(4),
        );
        if replay_bytes > MAX_REPLAY_BYTES {
            return Err(invalid(
                "slateq.buffer_size",
                format!(
                    "{} transitions of {state_len} features need up to {:.1} GiB of replay; at most {} GiB",
                    config.buffer_size,
                    replay_bytes as f64 / f64::from(1u32 << 30),
                    MAX_REPLAY_BYTES >> 30
                ),
            ));
        }
        // With the time left in view every end is part of what the agent sees, so none
        // is bootstrapped through.
        let time_aware = layout.time.is_some();
        let center_rewards = config
            .center_rewards
            .unwrap_or(episodes.fixed_length || time_aware);
        // A time limit the observation does not show is no part of the problem: bootstrap
        // through it. One it shows (time-aware) ends the problem as the model's own end does.
        let (bootstrap_terminated, bootstrap_truncated) = match config.bootstrap_at_episode_end {
            Some(b) => (b, b),
            None => (episodes.fixed_length && !time_aware, !time_aware),
        };
        if config.gamma >= 1.0 && (bootstrap_terminated || bootstrap_truncated) {
            // Values would grow without bound: nothing ever ends the sum.
            return Err(invalid(
                "slateq.gamma",
                "1 needs episodes that end: set bootstrap_at_episode_end = false",
            ));
        }
        let num_envs = config.num_envs;
        Ok(Self {
            adam: Adam::new(&theta),
            choice_adam: choice.as_ref().map(|c| Adam::new(&c.theta)),
            target: snapshot(&theta),
            warm_rewards: Moments::new(1),
            pending: NStepReturns::new(config.num_envs, config.n_step, config.gamma),
            bootstrap_terminated,
            bootstrap_truncated,
            replay: Replay::new(
                config.buffer_size,
                layout.user_dim,
                block_len,
                layout.slate_size,
            ),
            center_rewards,
            grad_steps: 0,
            stats: IterStats::default(),
            diverged: None,
            batch: Batch::default(),
            next: Vec::with_capacity(state_len),
            order: Vec::new(),
            indices: Vec::new(),
            policy: SlateQPolicy {
                average: (config.average_steps > 0).then(|| snapshot(&theta)),
                shown: Vec::with_capacity(state_len * num_envs),
                explored: Vec::with_capacity(num_envs),
                config,
                layout,
                device,
                known,
                rule,
                mlp,
                state_mlp,
                theta,
                choice,
                norm: None,
                scale: FeatureScale::new(&Normalizer::identity(&layout), device),
                rng,
                env_steps: 0,
                order: Vec::new(),
            },
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &SlateQConfig {
        &self.policy.config
    }
}

impl Policy for SlateQ {
    fn algorithm(&self) -> &'static str {
        self.policy.algorithm()
    }

    fn act(&mut self, env: &dyn SlateEnv, explore: bool, slate: &mut [usize]) {
        self.policy.act(env, explore, slate);
    }

    fn act_batch(&mut self, envs: &[Box<dyn SlateEnv>], explore: bool, slates: &mut [usize]) {
        self.policy.act_batch(envs, explore, slates);
    }

    fn describe(&self) -> String {
        self.policy
            .describe_with(Some((self.grad_steps, self.replay.len())))
    }

    fn portable(&self) -> Result<agents::portable::Portable, AgentError> {
        self.policy.portable()
    }
}

impl Agent for SlateQ {
    fn policy(&self) -> Box<dyn Policy> {
        Box::new(self.policy.clone())
    }

    fn observe(&mut self, slate: &[usize], t: &Transition, next: &dyn SlateEnv) {
        self.observe_slot(0, slate, t, next);
    }

    fn observe_batch(
        &mut self,
        slates: &[usize],
        transitions: &[Transition],
        envs: &[Box<dyn SlateEnv>],
    ) {
        let k = self.policy.layout.slate_size;
        for (slot, (env, t)) in envs.iter().zip(transitions).enumerate() {
            self.observe_slot(slot, &slates[slot * k..(slot + 1) * k], t, env.as_ref());
        }
    }

    /// Stores the logged transition in the replay buffer, as [`Agent::observe`] stores
    /// its own.
    fn add_logged(&mut self, step: &LoggedStep) -> Result<(), AgentError> {
        let Layout {
            num_candidates: n,
            doc_dim: d,
            user_dim: u,
            ..
        } = self.policy.layout;
        let fits = |user: &[f32], items: &[f32]| user.len() == u && items.len() == n * d;
        if !fits(step.user, step.items) || !fits(step.next_user, step.next_items) {
            return Err(AgentError::State(format!(
                "a logged step of {} user and {} candidate features does not fit {:?}",
                step.user.len(),
                step.items.len(),
                self.policy.layout
            )));
        }
        let (mut state, mut next) = (Vec::new(), Vec::new());
        let time = self.policy.layout.time;
        push_state(time, step.user, step.items, &mut state);
        push_state(time, step.next_user, step.next_items, &mut next);
        let t = &step.transition;
        // A log's steps in order, as an environment's: `n`-step returns within episodes.
        let end = self.episode_end(t);
        store(
            &mut self.pending,
            &mut self.replay,
            0,
            (&state, step.slate, t, end),
            &next,
        );
        self.warm_rewards.add(&[t.reward as f32]);
        self.policy.env_steps += 1;
        Ok(())
    }

    /// Gradient steps on the replay buffer, one per `train_every` of `steps` (at least
    /// one); the normalisation is measured on the whole buffer first.
    fn learn_offline(&mut self, steps: usize) -> Result<(), AgentError> {
        if self.replay.len() == 0 {
            return Err(AgentError::Unsupported(
                "SlateQ has no logged steps to learn from".into(),
            ));
        }
        if self.policy.norm.is_none() {
            self.policy.set_norm(Some(Normalizer::measure(
                &self.replay,
                &self.policy.layout,
                &self.warm_rewards,
                self.center_rewards,
            )));
        }
        for _ in 0..(steps / self.policy.config.train_every).max(1) {
            self.learn();
            self.health()?;
        }
        Ok(())
    }

    fn health(&self) -> Result<(), AgentError> {
        match &self.diverged {
            Some(why) => Err(AgentError::Diverged(why.clone())),
            None => Ok(()),
        }
    }

    fn stats(&mut self) -> Vec<(&'static str, f64)> {
        let s = std::mem::take(&mut self.stats);
        let per = |v: f64| {
            if s.count > 0 {
                v / s.count as f64
            } else {
                f64::NAN
            }
        };
        let mut out = vec![
            ("epsilon", self.policy.epsilon()),
            ("lr", self.lr()),
            ("grad_steps", self.grad_steps as f64),
            ("replay_size", self.replay.len() as f64),
            ("td_loss", per(s.loss)),
            ("q_mean", per(s.q)),
            ("grad_norm", per(s.grad_norm)),
        ];
        if self.policy.choice.is_some() {
            out.push(("choice_loss", per(s.choice_loss)));
        }
        out
    }

    fn save(&self) -> Vec<u8> {
        let p = &self.policy;
        let saved = Saved {
            layout: p.layout,
            known: p.known,
            online: SavedParams::new(&p.theta, &self.adam),
            target: to_vec(&self.target),
            average: p.average.as_ref().map(to_vec),
            choice: p
                .choice
                .as_ref()
                .zip(self.choice_adam.as_ref())
                .map(|(c, adam)| SavedParams::new(&c.theta, adam)),
            norm: p.norm.clone(),
            warm_rewards: self.warm_rewards.clone(),
            pending: self.pending.open().to_vec(),
            rng: p.rng.clone(),
            env_steps: p.env_steps,
            grad_steps: self.grad_steps,
            stats: self.stats.clone(),
        };
        bincode::serde::encode_to_vec(&saved, bincode::config::standard())
            .expect("SlateQ state serialises")
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), AgentError> {
        let (saved, _): (Saved, usize) =
            bincode::serde::decode_from_slice(bytes, bincode::config::standard()).map_err(|e| {
                AgentError::Decode {
                    what: "the SlateQ state",
                    source: Box::new(e),
                }
            })?;
        check_layout(&self.policy.layout, &saved.layout)?;
        let len = self.policy.theta.size()[0] as usize;
        let choice_len = self
            .policy
            .choice
            .as_ref()
            .map(|c| c.theta.size()[0] as usize);
        if saved.online.theta.len() != len
            || saved.online.adam.m.len() != len
            || saved.target.len() != len
            || saved.average.as_ref().map(Vec::len) != self.policy.average.as_ref().map(|_| len)
            || saved.known != self.policy.known
            || saved.choice.as_ref().map(|c| c.theta.len()) != choice_len
        {
            return Err(AgentError::State(
                "the saved network or choice model has another shape than the configuration's"
                    .into(),
            ));
        }
        let (state_len, k) = (self.replay.shape().1, self.policy.layout.slate_size);
        self.pending.restore(saved.pending, state_len, k)?;
        let device = self.policy.device;
        (self.policy.theta, self.adam) = saved.online.load(device);
        self.target = Tensor::from_slice(&saved.target).to_device(device);
        self.policy.average = saved
            .average
            .map(|a| Tensor::from_slice(&a).to_device(device));
        let Layout {
            user_dim, doc_dim, ..
        } = self.policy.layout;
        let (choice, choice_adam) = saved
            .choice
            .map(|p| {
                let (theta, adam) = p.load(device);
                (LogitChoice::from_params(theta, user_dim, doc_dim), adam)
            })
            .unzip();
        (self.policy.choice, self.choice_adam) = (choice, choice_adam);
        self.policy.set_norm(saved.norm);
        self.warm_rewards = saved.warm_rewards;
        self.policy.rng = saved.rng;
        self.policy.env_steps = saved.env_steps;
        self.grad_steps = saved.grad_steps;
        self.stats = saved.stats;
        Ok(())
    }

    fn save_replay(&self) -> Option<Vec<u8>> {
        Some(
            bincode::serde::encode_to_vec(&self.replay, bincode::config::standard())
                .expect("a replay buffer serialises"),
        )
    }

    fn load_replay(&mut self, bytes: &[u8]) -> Result<(), AgentError> {
        let (replay, _): (Replay, usize) =
            bincode::serde::decode_from_slice(bytes, bincode::config::standard()).map_err(|e| {
                AgentError::Decode {
                    what: "the SlateQ replay buffer",
                    source: Box::new(e),
                }
            })?;
        if !replay.is_consistent(self.policy.layout.num_candidates) {
            return Err(AgentError::State(
                "the saved replay buffer is inconsistent".into(),
            ));
        }
        if replay.shape() != self.replay.shape() {
            return Err(AgentError::State(format!(
                "the saved replay buffer has the shape {:?} (capacity, state, slate), the \
                 configuration's is {:?}",
                replay.shape(),
                self.replay.shape()
            )));
        }
        self.replay = replay;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
