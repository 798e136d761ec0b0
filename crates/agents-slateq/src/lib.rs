//! SlateQ (Ie et al., "SlateQ: A Tractable Decomposition for Reinforcement Learning with
//! Recommendation Sets", IJCAI 2019) on libtorch.
//!
//! The long-term value of a slate decomposes into item-wise values:
//! `Q(s, A) = Σ_{i∈A} P(i|s,A)·Q̄(s,i)` (plus the no-click option), so SlateQ learns the
//! item value `Q̄(s,i)` by TD on the consumed item and builds slates by optimising the
//! decomposed value under a user choice model.
//!
//! ```
//! use agents::{config::SlateQConfig, Agent};
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
//! let episodes = Episodes { fixed_length: true, time_aware_steps: None };
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

mod adam;
mod choice;
mod net;
mod normalize;
mod replay;
mod schedule;
mod td;

pub use choice::{best_slate, slate_value, ChoiceRule};

use std::collections::VecDeque;

use agents::config::{ChoiceModelKind, SlateQConfig};
use agents::{check_layout, Agent, AgentError, LoggedStep};
use env::{Layout, SlateEnv, Transition};
use rand::Rng;
use recsim_core::{stream, KnownChoice, SimRng};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Reduction, Tensor};

use choice::{proportional_weights, LogitChoice};
use net::{to_vec, Mlp, Params, SavedParams};
use normalize::{FeatureScale, Moments, Normalizer};
use replay::Replay;
use schedule::Linear;

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
    pending: Vec<VecDeque<Pending>>,
    rng: SimRng,
    env_steps: u64,
    grad_steps: u64,
    stats: IterStats,
}

/// Appends a state as the agent stores it: the user features (the time feature of a
/// `time_steps`-step episode log-scaled), then the candidates'.
fn push_state(time_steps: Option<usize>, user: &[f32], items: &[f32], out: &mut Vec<f32>) {
    out.extend_from_slice(user);
    if let (Some(steps), Some(time)) = (time_steps, out.last_mut()) {
        *time = log_time(*time, steps);
    }
    out.extend_from_slice(items);
}

/// The time feature as the agent sees it, `ln(1 + f·T) / ln(1 + T)` of the remaining
/// fraction `f` of a `T`-step episode: the last steps of an episode, where the best action
/// changes fastest, spread over the input range instead of crowding near 0. A plain
/// fraction learned the end markedly worse.
fn log_time(fraction: f32, steps: usize) -> f32 {
    let t = steps as f32;
    (1.0 + fraction * t).ln() / (1.0 + t).ln()
}

/// A step whose `n`-step return is still open: its later rewards are yet to come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pending {
    state: Vec<f32>,
    slate: Vec<usize>,
    click: Option<usize>,
    reward: f64,
}

/// What the agent knows of the episodes it learns from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Episodes {
    /// Every episode has the same length (it settles the unset reward options).
    pub fixed_length: bool,
    /// `T`, where the last user feature is the remaining fraction of a `T`-step episode
    /// (`env::TimeAwareObservation`): every end is then part of what the agent sees, so
    /// none is bootstrapped through.
    pub time_aware_steps: Option<usize>,
}

/// Per-iteration learner statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct IterStats {
    loss: f64,
    q: f64,
    grad_norm: f64,
    choice_loss: f64,
    count: u64,
}

/// A replay minibatch, flat, as the tensors of a gradient step take it in.
#[derive(Debug, Default)]
struct Batch {
    states: Vec<f32>,
    nexts: Vec<f32>,
    slates: Vec<i64>,
    chosen: Vec<i64>,
    slots: Vec<i64>,
    rewards: Vec<f32>,
    discounts: Vec<f32>,
}

impl Batch {
    fn clear(&mut self) {
        self.states.clear();
        self.nexts.clear();
        self.slates.clear();
        self.chosen.clear();
        self.slots.clear();
        self.rewards.clear();
        self.discounts.clear();
    }
}

/// The SlateQ agent.
pub struct SlateQ {
    config: SlateQConfig,
    layout: Layout,
    device: Device,
    known: KnownChoice,
    rule: ChoiceRule,
    /// `Q̄` of a candidate or of no click, from the user's features (the time left capped
    /// at `time_window` steps) and the candidate's; its parameters come first in `online`.
    mlp: Mlp,
    /// With the time left in view, the value of the user's state, which sees all of it:
    /// `Q̄` is the sum of both networks' outputs. Its parameters follow `mlp`'s.
    state_mlp: Option<Mlp>,
    online: Params,
    target: Tensor,
    /// The moving average of `online`'s parameters that acting without exploration uses.
    average: Option<Tensor>,
    choice: Option<LogitChoice>,
    replay: Replay,
    norm: Option<Normalizer>,
    /// `norm`'s feature statistics (the identity's before it is measured).
    scale: FeatureScale,
    /// The single-step rewards of the warm-up, which the reward normalisation measures.
    warm_rewards: Moments,
    /// Per environment, the steps whose `n`-step return is still open, oldest first.
    pending: Vec<VecDeque<Pending>>,
    center_rewards: bool,
    /// Bootstrap through an end by the model / by a time limit.
    bootstrap_terminated: bool,
    bootstrap_truncated: bool,
    /// `T` of the time feature, which the agent sees log-scaled.
    time_steps: Option<usize>,
    rng: SimRng,
    env_steps: u64,
    grad_steps: u64,
    stats: IterStats,
    /// Set when a loss turned non-finite: training must stop.
    diverged: Option<String>,
    /// The states the last slates were chosen for, one per environment.
    shown: Vec<f32>,
    // Scratch, refilled on every call.
    batch: Batch,
    next: Vec<f32>,
    explored: Vec<bool>,
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
        // Stream 5 of the seed: disjoint from the environment's (0–2) and baselines' (3–4).
        let mut rng = stream(seed, 5);
        let mlp = Mlp::new(layout.user_dim + layout.doc_dim + 1, &config.hidden);
        let mut init = mlp.init(&mut rng);
        let state_mlp = episodes
            .time_aware_steps
            .map(|_| Mlp::new(layout.user_dim, &config.hidden));
        if let Some(m) = &state_mlp {
            init.extend(m.init(&mut rng));
        }
        let online = Params::new(&init, device);
        let state_len = layout.user_dim + layout.num_candidates * layout.doc_dim;
        // Two states per transition, as f32.
        let replay_bytes = config
            .buffer_size
            .saturating_mul(state_len)
            .saturating_mul(8);
        if replay_bytes > MAX_REPLAY_BYTES {
            return Err(invalid(
                "slateq.buffer_size",
                format!(
                    "{} transitions of {state_len} features need {:.1} GiB of replay; at most {} GiB",
                    config.buffer_size,
                    replay_bytes as f64 / f64::from(1u32 << 30),
                    MAX_REPLAY_BYTES >> 30
                ),
            ));
        }
        let time_aware = episodes.time_aware_steps.is_some();
        if time_aware && layout.user_dim == 0 {
            return Err(invalid(
                "env.wrappers.time_aware",
                "the observation has no user features, so no time feature either (the bandit observation drops them)",
            ));
        }
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
            target: online.snapshot(),
            average: (config.average_steps > 0).then(|| online.snapshot()),
            warm_rewards: Moments::new(1),
            pending: vec![VecDeque::with_capacity(config.n_step); config.num_envs],
            bootstrap_terminated,
            bootstrap_truncated,
            time_steps: episodes.time_aware_steps,
            replay: Replay::new(config.buffer_size, state_len, layout.slate_size),
            config,
            layout,
            device,
            known,
            rule,
            mlp,
            state_mlp,
            online,
            choice,
            norm: None,
            scale: FeatureScale::new(&Normalizer::identity(&layout), device),
            center_rewards,
            rng,
            env_steps: 0,
            grad_steps: 0,
            stats: IterStats::default(),
            diverged: None,
            batch: Batch::default(),
            shown: Vec::with_capacity(state_len * num_envs),
            next: Vec::with_capacity(state_len),
            explored: Vec::with_capacity(num_envs),
            order: Vec::new(),
            indices: Vec::new(),
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &SlateQConfig {
        &self.config
    }

    /// Moves environment `slot`'s finished `n`-step returns into the replay buffer: every
    /// open one at an episode's end (`end = Some(terminal)`), else the oldest once `n` are
    /// open. `next` is the state after the latest step.
    fn flush(&mut self, slot: usize, next: &[f32], end: Option<bool>) {
        let n = self.config.n_step;
        let gamma = self.config.gamma;
        let pending = &mut self.pending[slot];
        while match end {
            Some(_) => !pending.is_empty(),
            None => pending.len() >= n,
        } {
            let steps = pending.len().min(n);
            let ret: f64 = pending
                .iter()
                .take(steps)
                .enumerate()
                .map(|(j, p)| gamma.powi(j as i32) * p.reward)
                .sum();
            let p = pending.pop_front().expect("an open step");
            // n ≤ 255 (validated), so the count fits.
            self.replay.push(
                &p.state,
                &p.slate,
                p.click,
                ret,
                steps as u8,
                end == Some(true),
                next,
            );
        }
    }

    /// Counts one environment step: the warm-up's rewards, the normalisation at its end,
    /// and a gradient step every `train_every` steps after it.
    fn count_step(&mut self, reward: f64) {
        self.env_steps += 1;
        let starts = (self.config.learning_starts as u64).max(1);
        if self.env_steps <= starts {
            self.warm_rewards.add(&[reward as f32]);
        }
        if self.env_steps == starts {
            self.set_norm(Some(Normalizer::measure(
                &self.replay,
                &self.layout,
                &self.warm_rewards,
                self.center_rewards,
            )));
        }
        if self.env_steps >= starts
            && self.replay.len() > 0
            && self
                .env_steps
                .is_multiple_of(self.config.train_every as u64)
        {
            self.learn();
        }
    }

    /// ε of the next exploring step: it falls once learning has started.
    fn epsilon(&self) -> f64 {
        let c = &self.config;
        let schedule = Linear {
            start: c.epsilon_start,
            end: c.epsilon_end,
            // At least one step, so that ε starts at epsilon_start.
            steps: c.epsilon_steps.max(1) as u64,
        };
        schedule.at(self.env_steps.saturating_sub(c.learning_starts as u64))
    }

    /// The learning rate of the next gradient step.
    fn lr(&self) -> f64 {
        let c = &self.config;
        let schedule = Linear {
            start: c.lr,
            end: if c.lr_decay_steps == 0 {
                c.lr
            } else {
                c.lr_final
            },
            steps: c.lr_decay_steps as u64,
        };
        schedule.at(self.grad_steps)
    }

    /// Sets the normalisation, and the tensors every forward pass standardises with.
    fn set_norm(&mut self, norm: Option<Normalizer>) {
        self.scale = FeatureScale::new(
            norm.as_ref().unwrap_or(&Normalizer::identity(&self.layout)),
            self.device,
        );
        self.norm = norm;
    }

    /// Standardised `(user [B, u], items [B, N, d])` of `rows` flat states.
    fn split(&self, flat: &[f32], rows: usize) -> (Tensor, Tensor) {
        let states = Tensor::from_slice(flat)
            .view([rows as i64, -1])
            .to_device(self.device);
        self.scale.split(&states, &self.layout)
    }

    /// The standardised time feature of `time_window` steps left, above which the
    /// candidates' values do not see it; `None` without the time in view.
    fn time_ceiling(&self) -> Option<f64> {
        let steps = self.time_steps?;
        let window = self.config.time_window.min(steps);
        let feature = f64::from(log_time(window as f32 / steps as f32, steps));
        let (mean, sd) = self.norm.as_ref().map_or((0.0, 1.0), |n| {
            let last = n.user_mean.len() - 1;
            (f64::from(n.user_mean[last]), f64::from(n.user_sd[last]))
        });
        Some((feature - mean) / sd)
    }

    /// `Q̄` of every candidate and of no click: `[B, N + 1]`.
    fn item_values(&self, theta: &Tensor, user: &Tensor, items: &Tensor) -> Tensor {
        let (b, n, d) = {
            let s = items.size();
            (s[0], s[1], s[2])
        };
        let u = user.size()[1];
        let opts = (Kind::Float, self.device);
        let capped = self.time_ceiling().map(|ceiling| {
            let time = user.narrow(1, u - 1, 1).clamp_max(ceiling);
            Tensor::cat(&[user.narrow(1, 0, u - 1), time], 1)
        });
        let user_rows = capped.as_ref().unwrap_or(user).unsqueeze(1);
        let cand = Tensor::cat(
            &[
                user_rows.expand([b, n, u], false),
                items.shallow_clone(),
                Tensor::zeros([b, n, 1], opts),
            ],
            2,
        );
        let null = Tensor::cat(
            &[
                user_rows,
                Tensor::zeros([b, 1, d], opts),
                Tensor::ones([b, 1, 1], opts),
            ],
            2,
        );
        let inputs = Tensor::cat(&[cand, null], 1);
        match &self.state_mlp {
            None => self.mlp.forward(theta, &inputs),
            Some(state) => {
                let split = self.mlp.num_params() as i64;
                let items = self.mlp.forward(&theta.narrow(0, 0, split), &inputs);
                let rest = theta.narrow(0, split, state.num_params() as i64);
                items + state.forward(&rest, user).unsqueeze(1)
            }
        }
    }

    /// Choice weights, `N + 1` per state (candidates, then no click), for the `Weights`
    /// rule: the learned logit's from the standardised features, or the known
    /// proportional model's from the raw observations. Empty for `FirstPosition`.
    fn choice_weights(&self, raw: &[f32], user: &Tensor, items: &Tensor) -> Vec<f32> {
        if let Some(c) = &self.choice {
            let (s, s0) = c.scores(user, items);
            return to_vec(&choice::logit_weights(&s, &s0));
        }
        let mut w = Vec::new();
        if let KnownChoice::Proportional {
            no_click_mass,
            min_normalizer,
        } = self.known
        {
            proportional_weights(raw, &self.layout, no_click_mass, min_normalizer, &mut w);
        }
        w
    }

    /// One gradient step on a replay minibatch (and one on the choice model if learned).
    fn learn(&mut self) {
        let b = self.config.batch_size;
        let n = self.layout.num_candidates;
        let k = self.layout.slate_size;
        self.replay
            .sample_indices(b, &mut self.rng, &mut self.indices);
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        let Batch {
            states,
            nexts,
            slates,
            chosen,
            slots,
            rewards,
            discounts,
        } = &mut batch;
        let lr = self.lr();
        let gamma = self.config.gamma;
        for &i in &self.indices {
            let s = self.replay.get(i);
            states.extend_from_slice(s.state);
            nexts.extend_from_slice(s.next_state);
            slates.extend(s.slate.iter().map(|&p| i64::from(p)));
            // The consumed item: the clicked candidate, or the no-click entry N.
            chosen.push(s.click.map_or(n as i64, |p| i64::from(s.slate[p])));
            slots.push(s.click.map_or(k as i64, |p| p as i64));
            // Learning starts once the normalisation is measured.
            rewards.push(
                self.norm
                    .as_ref()
                    .map_or(s.reward, |norm| norm.reward(s.reward, s.steps, gamma)),
            );
            discounts.push(if s.done {
                0.0
            } else {
                gamma.powi(i32::from(s.steps)) as f32
            });
        }
        let (user, items) = self.split(states, b);
        let (next_user, next_items) = self.split(nexts, b);

        if let Some(c) = self.choice.as_mut() {
            let slate_t = Tensor::from_slice(slates)
                .view([b as i64, k as i64])
                .to_device(self.device);
            let slot_t = Tensor::from_slice(slots).to_device(self.device);
            let loss = c.loss(&user, &items, &slate_t, &slot_t);
            loss.backward();
            c.params.adam_step(lr, self.config.grad_clip);
            self.stats.choice_loss += loss.double_value(&[]);
        }

        let targets = tch::no_grad(|| {
            let q_target = to_vec(&self.item_values(&self.target, &next_user, &next_items));
            let q_select = if self.config.double_q {
                to_vec(&self.item_values(&self.online.theta, &next_user, &next_items))
            } else {
                q_target.clone()
            };
            let weights = self.choice_weights(nexts, &next_user, &next_items);
            let next = td::NextValues {
                select: &q_select,
                target: &q_target,
                weights: &weights,
            };
            td::targets(
                self.rule,
                self.config.slate_optimizer,
                rewards,
                discounts,
                &next,
                k,
                &mut self.order,
            )
        });
        let target_t = Tensor::from_slice(&targets).to_device(self.device);
        let chosen_t = Tensor::from_slice(chosen)
            .view([b as i64, 1])
            .to_device(self.device);
        self.batch = batch;
        let q = self
            .item_values(&self.online.theta, &user, &items)
            .gather(1, &chosen_t, false)
            .squeeze_dim(1);
        let loss = q.huber_loss(&target_t, Reduction::Mean, self.config.huber_delta);
        loss.backward();
        let grad_norm = self.online.adam_step(lr, self.config.grad_clip);
        self.grad_steps += 1;
        if let Some(average) = self.average.as_mut() {
            let window = (self.config.average_steps as u64).min(self.grad_steps / 10);
            let weight = 1.0 / window.max(1) as f64;
            let _ = tch::no_grad(|| average.lerp_(&self.online.theta, weight));
        }
        if self
            .grad_steps
            .is_multiple_of(self.config.target_update_every as u64)
        {
            self.target = self.online.snapshot();
        }
        let loss = loss.double_value(&[]);
        if !loss.is_finite() || !grad_norm.is_finite() {
            self.diverged = Some(format!(
                "SlateQ's TD loss is {loss} (gradient norm {grad_norm}) after {} gradient steps; \
                 lower slateq.lr or raise slateq.huber_delta",
                self.grad_steps
            ));
        }
        self.stats.loss += loss;
        self.stats.q += q.mean(Kind::Float).double_value(&[]);
        self.stats.grad_norm += grad_norm;
        self.stats.count += 1;
    }

    /// Fills one slate per state in `shown` (`slates[i·K..(i+1)·K]` for state `i`):
    /// exploring ones at random, the others from one forward pass over every state.
    fn choose(&mut self, explore: bool, slates: &mut [usize]) {
        let Layout {
            num_candidates: n,
            slate_size: k,
            ..
        } = self.layout;
        let warming_up = self.env_steps < self.config.learning_starts as u64;
        let eps = self.epsilon();
        self.explored.clear();
        for slate in slates.chunks_exact_mut(k) {
            let random = explore && (warming_up || self.rng.random::<f64>() < eps);
            if random {
                for p in slate.iter_mut() {
                    *p = self.rng.random_range(0..n);
                }
            }
            self.explored.push(random);
        }
        if self.explored.iter().all(|&e| e) {
            return;
        }
        let rows = self.explored.len();
        let (q, w) = tch::no_grad(|| {
            let (user, items) = self.split(&self.shown, rows);
            let theta = match &self.average {
                Some(average) if !explore => average,
                _ => &self.online.theta,
            };
            let q = to_vec(&self.item_values(theta, &user, &items));
            let w = self.choice_weights(&self.shown, &user, &items);
            (q, w)
        });
        for (i, slate) in slates.chunks_exact_mut(k).enumerate() {
            if self.explored[i] {
                continue;
            }
            let row = i * (n + 1)..(i + 1) * (n + 1);
            // No weights under the first-position rule.
            let w = w.get(row.clone()).unwrap_or(&[]);
            best_slate(
                self.rule,
                self.config.slate_optimizer,
                &q[row],
                w,
                slate,
                &mut self.order,
            );
        }
    }

    /// Learns from environment `slot`'s step: its state was the `slot`-th of the last
    /// [`Agent::act`] or [`Agent::act_batch`].
    fn observe_slot(&mut self, slot: usize, slate: &[usize], t: &Transition, next: &dyn SlateEnv) {
        let mut next_state = std::mem::take(&mut self.next);
        next_state.clear();
        push_state(self.time_steps, next.user(), next.items(), &mut next_state);
        let len = self.replay.shape().1;
        self.pending[slot].push_back(Pending {
            state: self.shown[slot * len..(slot + 1) * len].to_vec(),
            slate: slate.to_vec(),
            click: t.click.map(|c| c.position),
            reward: t.reward,
        });
        let end = if t.terminated {
            Some(!self.bootstrap_terminated)
        } else if t.truncated {
            Some(!self.bootstrap_truncated)
        } else {
            None
        };
        self.flush(slot, &next_state, end);
        self.next = next_state;
        self.count_step(t.reward);
    }

    /// The networks' layers, and what of the time the candidates' values see.
    fn layers_description(&self) -> String {
        let layers = |mlp: &Mlp| {
            let mut parts = Vec::new();
            let last = mlp.sizes.len() - 2;
            for (l, (i, o)) in mlp.layers().enumerate() {
                parts.push(format!("Linear({i}→{o}, {} params)", i * o + o));
                if l < last {
                    parts.push("ReLU".into());
                }
            }
            parts.join(" → ")
        };
        let mut out = layers(&self.mlp);
        if let Some(state) = &self.state_mlp {
            out += &format!(
                " (the time left capped at {} steps)\n  plus the state's value V(user): {}",
                self.config.time_window,
                layers(state)
            );
        }
        if self.average.is_some() {
            out += &format!(
                "\n  acting without exploration: the parameters averaged over about {} gradient steps",
                self.config.average_steps
            );
        }
        out
    }
}

impl Agent for SlateQ {
    fn algorithm(&self) -> &'static str {
        "slateq"
    }

    fn act(&mut self, env: &dyn SlateEnv, explore: bool, slate: &mut [usize]) {
        self.shown.clear();
        push_state(self.time_steps, env.user(), env.items(), &mut self.shown);
        self.choose(explore, slate);
    }

    /// Every environment's slate from one forward pass of the network.
    fn act_batch(&mut self, envs: &[Box<dyn SlateEnv>], explore: bool, slates: &mut [usize]) {
        self.shown.clear();
        for env in envs {
            push_state(self.time_steps, env.user(), env.items(), &mut self.shown);
        }
        self.choose(explore, slates);
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
        let k = self.layout.slate_size;
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
        } = self.layout;
        let fits = |user: &[f32], items: &[f32]| user.len() == u && items.len() == n * d;
        if !fits(step.user, step.items) || !fits(step.next_user, step.next_items) {
            return Err(AgentError::State(format!(
                "a logged step of {} user and {} candidate features does not fit {:?}",
                step.user.len(),
                step.items.len(),
                self.layout
            )));
        }
        let (mut state, mut next) = (Vec::new(), Vec::new());
        push_state(self.time_steps, step.user, step.items, &mut state);
        push_state(self.time_steps, step.next_user, step.next_items, &mut next);
        let t = &step.transition;
        // A log's steps are learned from one at a time: one-step returns.
        let terminal = (t.terminated && !self.bootstrap_terminated)
            || (t.truncated && !self.bootstrap_truncated);
        self.replay.push(
            &state,
            step.slate,
            t.click.map(|c| c.position),
            t.reward,
            1,
            terminal,
            &next,
        );
        self.warm_rewards.add(&[t.reward as f32]);
        self.env_steps += 1;
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
        if self.norm.is_none() {
            self.set_norm(Some(Normalizer::measure(
                &self.replay,
                &self.layout,
                &self.warm_rewards,
                self.center_rewards,
            )));
        }
        for _ in 0..(steps / self.config.train_every).max(1) {
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
            ("epsilon", self.epsilon()),
            ("lr", self.lr()),
            ("grad_steps", self.grad_steps as f64),
            ("replay_size", self.replay.len() as f64),
            ("td_loss", per(s.loss)),
            ("q_mean", per(s.q)),
            ("grad_norm", per(s.grad_norm)),
        ];
        if self.choice.is_some() {
            out.push(("choice_loss", per(s.choice_loss)));
        }
        out
    }

    fn describe(&self) -> String {
        let norm = self
            .norm
            .clone()
            .unwrap_or_else(|| Normalizer::identity(&self.layout));
        let choice = match (&self.choice, self.known) {
            (Some(c), _) => c.summary(),
            (None, KnownChoice::FirstPosition) => "the environment's own: the user always consumes slate position 0".into(),
            (None, KnownChoice::Proportional { no_click_mass, min_normalizer }) => format!(
                "the environment's own: multinomial proportional on ⟨user, doc⟩ (no-click mass {no_click_mass}, min normaliser {min_normalizer})"
            ),
            (None, KnownChoice::Unknown) => "none".into(),
        };
        format!(
            "slateq on {device:?}\n  item value network Q̄(user, doc, no-click flag): {layers}\n  parameters: {params}\n  choice model: {choice}\n  slate optimiser: {opt:?}\n  normalisation: user mean {um:?} sd {us:?}; doc mean {dm:?} sd {ds:?}; reward mean {rm:.4} sd {rs:.4}\n  environment steps {steps}, gradient steps {grads}, replay {replay}/{cap}, epsilon {eps:.3}",
            device = self.device,
            layers = self.layers_description(),
            params = self.online.len(),
            opt = self.config.slate_optimizer,
            um = norm.user_mean,
            us = norm.user_sd,
            dm = norm.doc_mean,
            ds = norm.doc_sd,
            rm = norm.reward_mean,
            rs = norm.reward_sd,
            steps = self.env_steps,
            grads = self.grad_steps,
            replay = self.replay.len(),
            cap = self.config.buffer_size,
            eps = self.epsilon(),
        )
    }

    fn save(&self) -> Vec<u8> {
        let saved = Saved {
            layout: self.layout,
            known: self.known,
            online: self.online.save(),
            target: to_vec(&self.target),
            average: self.average.as_ref().map(to_vec),
            choice: self.choice.as_ref().map(|c| c.params.save()),
            norm: self.norm.clone(),
            warm_rewards: self.warm_rewards.clone(),
            pending: self.pending.clone(),
            rng: self.rng.clone(),
            env_steps: self.env_steps,
            grad_steps: self.grad_steps,
            stats: self.stats.clone(),
        };
        bincode::serde::encode_to_vec(&saved, bincode::config::standard())
            .expect("SlateQ state serialises")
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), AgentError> {
        let (saved, _): (Saved, usize) =
            bincode::serde::decode_from_slice(bytes, bincode::config::standard())
                .map_err(|e| AgentError::State(format!("not a SlateQ state: {e}")))?;
        check_layout(&self.layout, &saved.layout)?;
        let choice_len = self.choice.as_ref().map(|c| c.params.len());
        if saved.online.theta.len() != self.online.len()
            || saved.online.adam.m.len() != self.online.len()
            || saved.target.len() != self.online.len()
            || saved.average.as_ref().map(Vec::len)
                != self.average.as_ref().map(|_| self.online.len())
            || saved.known != self.known
            || saved.choice.as_ref().map(|c| c.theta.len()) != choice_len
        {
            return Err(AgentError::State(
                "the saved network or choice model has another shape than the configuration's"
                    .into(),
            ));
        }
        self.online = Params::load(&saved.online, self.device);
        self.target = Tensor::from_slice(&saved.target).to_device(self.device);
        self.average = saved
            .average
            .map(|a| Tensor::from_slice(&a).to_device(self.device));
        self.choice = saved.choice.map(|p| {
            LogitChoice::from_params(
                Params::load(&p, self.device),
                self.layout.user_dim,
                self.layout.doc_dim,
            )
        });
        if saved.pending.len() != self.config.num_envs
            || saved.pending.iter().any(|open| {
                open.len() >= self.config.n_step.max(1)
                    || open.iter().any(|p| {
                        p.state.len() != self.replay.shape().1
                            || p.slate.len() != self.layout.slate_size
                    })
            })
        {
            return Err(AgentError::State(
                "the saved open n-step returns do not fit the configuration".into(),
            ));
        }
        self.set_norm(saved.norm);
        self.warm_rewards = saved.warm_rewards;
        self.pending = saved.pending;
        self.rng = saved.rng;
        self.env_steps = saved.env_steps;
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
            bincode::serde::decode_from_slice(bytes, bincode::config::standard())
                .map_err(|e| AgentError::State(format!("not a SlateQ replay buffer: {e}")))?;
        if !replay.is_consistent(self.layout.num_candidates) {
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
mod tests {
    use super::*;
    use env::Scenario;

    /// StrongLTS environments seeded 0, 1, … with the user's satisfaction in view, reset,
    /// and an agent for them.
    fn agent_and_envs(config: SlateQConfig) -> (SlateQ, Vec<Box<dyn SlateEnv>>) {
        let envs: Vec<_> = (0..config.num_envs as u64)
            .map(|seed| {
                let mut scenario = Scenario::default();
                scenario.wrappers.user_observation = true;
                scenario.seed = seed;
                let mut env = scenario.build().unwrap();
                env.reset(None);
                env
            })
            .collect();
        let episodes = Episodes {
            fixed_length: true,
            time_aware_steps: None,
        };
        let (layout, known) = (envs[0].layout(), envs[0].known_choice());
        let agent = SlateQ::new(config, layout, known, episodes, 0).unwrap();
        (agent, envs)
    }

    #[test]
    fn each_environment_keeps_its_own_n_step_returns() {
        let config = SlateQConfig {
            num_envs: 2,
            n_step: 3,
            learning_starts: 1000,
            ..SlateQConfig::default()
        };
        let (mut agent, mut envs) = agent_and_envs(config);
        let (mut slates, mut transitions) = ([0; 4], [Transition::default(); 2]);
        // Per environment: each step's state and reward.
        let mut seen: [Vec<(Vec<f32>, f64)>; 2] = Default::default();
        for _ in 0..10 {
            agent.act_batch(&envs, true, &mut slates);
            for (i, env) in envs.iter_mut().enumerate() {
                let mut state = Vec::new();
                push_state(None, env.user(), env.items(), &mut state);
                transitions[i] = env.step(&slates[2 * i..2 * i + 2]).unwrap();
                seen[i].push((state, transitions[i].reward));
            }
            agent.observe_batch(&slates, &transitions, &envs);
        }
        // Eight steps of each have a closed 3-step return, stored as they close: entry
        // 2t + i is environment i's step t.
        assert_eq!(agent.replay.len(), 16);
        let gamma = agent.config.gamma;
        for t in 0..8 {
            for (i, seen) in seen.iter().enumerate() {
                let s = agent.replay.get(2 * t + i);
                assert_eq!(s.state, seen[t].0.as_slice(), "step {t} of environment {i}");
                let ret: f64 = (0..3).map(|j| gamma.powi(j) * seen[t + j as usize].1).sum();
                assert_eq!(s.reward, ret as f32, "step {t} of environment {i}");
                if let Some((next, _)) = seen.get(t + 3) {
                    assert_eq!(s.next_state, next.as_slice());
                }
            }
        }
    }

    #[test]
    fn the_candidates_values_see_the_time_left_only_within_the_window() {
        let mut scenario = Scenario::default();
        scenario.wrappers.user_observation = true;
        scenario.wrappers.time_aware = true;
        let mut env = scenario.build().unwrap();
        env.reset(None);
        let episodes = Episodes {
            fixed_length: true,
            time_aware_steps: scenario.time_aware_steps().unwrap(),
        };
        let config = SlateQConfig::default();
        let window = config.time_window;
        let agent = SlateQ::new(config, env.layout(), env.known_choice(), episodes, 0).unwrap();
        let steps = agent.time_steps.unwrap();
        // The values of the same user and candidates with `left` steps to go, and each
        // candidate's value less the first's.
        let values = |left: usize| {
            let mut user = env.user().to_vec();
            *user.last_mut().unwrap() = left as f32 / steps as f32;
            let mut state = Vec::new();
            push_state(agent.time_steps, &user, env.items(), &mut state);
            let (user, items) = agent.split(&state, 1);
            to_vec(&agent.item_values(&agent.online.theta, &user, &items))
        };
        let gaps = |q: &[f32]| q.iter().map(|v| v - q[0]).collect::<Vec<_>>();
        let whole = values(steps);
        for left in [steps / 2, window + 1, window] {
            let q = values(left);
            assert_ne!(q[0], whole[0], "the state's value sees {left} steps left");
            for (a, b) in gaps(&q).iter().zip(gaps(&whole)) {
                assert!((a - b).abs() < 1e-5, "{left} steps left: {a} against {b}");
            }
        }
        let near = gaps(&values(window / 4));
        let moved = near
            .iter()
            .zip(gaps(&whole))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            moved > 1e-3,
            "inside the window the candidates' values move: {moved}"
        );
    }

    #[test]
    fn acting_without_exploration_follows_the_averaged_parameters() {
        let train = |average_steps| {
            let config = SlateQConfig {
                learning_starts: 10,
                average_steps,
                ..SlateQConfig::default()
            };
            let (mut agent, mut envs) = agent_and_envs(config);
            let env = envs[0].as_mut();
            let mut slate = [0; 2];
            for _ in 0..300 {
                agent.act(env, true, &mut slate);
                let t = env.step(&slate).unwrap();
                agent.observe(&slate, &t, env);
                if t.done() {
                    env.reset(None);
                }
            }
            agent
        };
        let (plain, averaged, one) = (train(0), train(1000), train(1));
        let online = to_vec(&plain.online.theta);
        // Averaging changes nothing of training.
        assert_eq!(to_vec(&averaged.online.theta), online);
        assert!(plain.average.is_none());
        // A window of one step is the online network itself; a longer one lags it.
        assert_eq!(to_vec(one.average.as_ref().unwrap()), online);
        let average = to_vec(averaged.average.as_ref().unwrap());
        assert_ne!(average, online);
        // The average is part of the agent's state.
        let (mut restored, envs) = agent_and_envs(averaged.config.clone());
        restored.load(&averaged.save()).unwrap();
        assert_eq!(to_vec(restored.average.as_ref().unwrap()), average);
        // Acting without exploration values the candidates with the average.
        let mut slate = [0; 2];
        restored.average = Some(restored.online.theta.zeros_like());
        restored.act(envs[0].as_ref(), false, &mut slate);
        assert_eq!(slate, [0, 1], "equal values: the first candidates");
    }

    /// Parameters gone non-finite make the next gradient step's loss non-finite: training
    /// stops with a clear error instead of acting on a NaN network for ever.
    #[test]
    fn a_diverged_network_stops_training() {
        // One environment with a gradient step after every step, so that the next step
        // learns.
        let config = SlateQConfig {
            learning_starts: 10,
            num_envs: 1,
            train_every: 1,
            ..SlateQConfig::default()
        };
        let (mut agent, mut envs) = agent_and_envs(config);
        let env = envs[0].as_mut();
        let mut slate = [0; 2];
        let mut step = |agent: &mut SlateQ, env: &mut dyn SlateEnv| {
            agent.act(env, true, &mut slate);
            let t = env.step(&slate).unwrap();
            agent.observe(&slate, &t, env);
        };
        for _ in 0..20 {
            step(&mut agent, env);
        }
        assert!(agent.health().is_ok());
        let _ = tch::no_grad(|| agent.online.theta.fill_(f64::NAN));
        step(&mut agent, env);
        match agent.health() {
            Err(AgentError::Diverged(why)) => assert!(why.contains("lower slateq.lr"), "{why}"),
            other => panic!("expected a divergence, got {other:?}"),
        }
    }

    #[test]
    fn one_forward_pass_chooses_what_one_pass_per_environment_would() {
        let config = SlateQConfig {
            num_envs: 3,
            ..SlateQConfig::default()
        };
        let (mut agent, envs) = agent_and_envs(config);
        let mut batch = [0; 6];
        agent.act_batch(&envs, false, &mut batch);
        let mut each = [0; 6];
        for (env, slate) in envs.iter().zip(each.chunks_exact_mut(2)) {
            agent.act(env.as_ref(), false, slate);
        }
        assert_eq!(batch, each);
    }
}
