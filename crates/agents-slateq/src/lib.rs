//! SlateQ (Ie et al., "SlateQ: A Tractable Decomposition for Reinforcement Learning with
//! Recommendation Sets", IJCAI 2019) on libtorch.
//!
//! The long-term value of a slate decomposes into item-wise values:
//! `Q(s, A) = Σ_{i∈A} P(i|s,A)·Q̄(s,i)` (plus the no-click option), so SlateQ learns the
//! item value `Q̄(s,i)` by TD on the consumed item and builds slates by optimising the
//! decomposed value under a user choice model.

mod choice;
mod net;
mod replay;

pub use choice::{best_slate, slate_value, ChoiceModelKind, ChoiceRule, SlateOptimizer};

use agents_bandit::{Agent, AgentError};
use env::{Layout, SlateEnv, Transition};
use rand::Rng;
use recsim_core::{stream, KnownChoice, SimRng};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Reduction, Tensor};

use choice::LogitChoice;
use net::{to_vec, Mlp, Params, SavedParams};
use replay::Replay;

/// SlateQ's hyperparameters (the `[slateq]` table of a run's config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlateQConfig {
    /// Hidden layer widths of the item-value network `Q̄(user, doc)`.
    pub hidden: Vec<usize>,
    /// Adam's learning rate at the start.
    pub lr: f64,
    /// The learning rate falls linearly to `lr_final` over `lr_decay_steps` gradient steps
    /// (0: constant). Decisions here hang on small differences of value, and annealing the
    /// step size stops late updates from flipping them.
    pub lr_final: f64,
    pub lr_decay_steps: usize,
    /// Discount of future value.
    pub gamma: f64,
    pub batch_size: usize,
    pub buffer_size: usize,
    /// Environment steps of uniformly random slates before learning starts; the
    /// feature and reward normalisation is measured on them.
    pub learning_starts: usize,
    /// Environment steps between gradient steps.
    pub train_every: usize,
    /// Gradient steps between copies of the online network into the target network.
    pub target_update_every: usize,
    /// Slate-level ε-greedy: ε falls linearly from `epsilon_start` to `epsilon_end` over
    /// `epsilon_steps` environment steps after learning starts.
    pub epsilon_start: f64,
    pub epsilon_end: f64,
    pub epsilon_steps: usize,
    /// Global gradient-norm clip (0 = none).
    pub grad_clip: f64,
    /// Huber loss threshold, in normalised reward units.
    pub huber_delta: f64,
    /// Choose the next slate with the online network, value it with the target network.
    pub double_q: bool,
    pub choice_model: ChoiceModelKind,
    pub slate_optimizer: SlateOptimizer,
    /// Subtract the warm-up steps' mean reward (rewards and features are always scaled
    /// by the warm-up statistics). Right where every episode has the same length, so a
    /// constant shift cannot favour longer or shorter episodes; unset: exactly then.
    pub center_rewards: Option<bool>,
    /// Treat the end of an episode as a time limit and bootstrap through it: where every
    /// episode has the same length the agent cannot see the remaining budget, so it
    /// learns stationary values; unset: exactly then.
    pub bootstrap_at_episode_end: Option<bool>,
    /// `cpu` or `cuda`.
    pub device: String,
    /// libtorch threads on the CPU; one is fastest for networks this small.
    pub threads: usize,
}

impl Default for SlateQConfig {
    fn default() -> Self {
        Self {
            hidden: vec![32, 32],
            lr: 3e-4,
            lr_final: 3e-5,
            lr_decay_steps: 60_000,
            gamma: 0.98,
            batch_size: 64,
            buffer_size: 100_000,
            learning_starts: 2_000,
            train_every: 1,
            target_update_every: 1_000,
            epsilon_start: 1.0,
            epsilon_end: 0.02,
            epsilon_steps: 30_000,
            grad_clip: 10.0,
            huber_delta: 1.0,
            double_q: true,
            choice_model: ChoiceModelKind::Auto,
            slate_optimizer: SlateOptimizer::Greedy,
            center_rewards: None,
            bootstrap_at_episode_end: None,
            device: "cpu".into(),
            threads: 1,
        }
    }
}

fn invalid(name: &'static str, why: impl Into<String>) -> AgentError {
    AgentError::Config {
        name,
        why: why.into(),
    }
}

impl SlateQConfig {
    pub fn validate(&self) -> Result<(), AgentError> {
        let finite_pos = |name, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(invalid(name, format!("{v} must be finite and positive")))
            }
        };
        finite_pos("slateq.lr", self.lr)?;
        finite_pos("slateq.lr_final", self.lr_final)?;
        finite_pos("slateq.huber_delta", self.huber_delta)?;
        if !(0.0..1.0).contains(&self.gamma) {
            return Err(invalid(
                "slateq.gamma",
                format!("{} must be in [0, 1)", self.gamma),
            ));
        }
        for (name, v) in [
            ("slateq.epsilon_start", self.epsilon_start),
            ("slateq.epsilon_end", self.epsilon_end),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(invalid(name, format!("{v} must be in [0, 1]")));
            }
        }
        if !(self.grad_clip.is_finite() && self.grad_clip >= 0.0) {
            return Err(invalid(
                "slateq.grad_clip",
                "must be finite and non-negative",
            ));
        }
        for (name, v) in [
            ("slateq.batch_size", self.batch_size),
            ("slateq.buffer_size", self.buffer_size),
            ("slateq.train_every", self.train_every),
            ("slateq.target_update_every", self.target_update_every),
            ("slateq.threads", self.threads),
        ] {
            if v == 0 {
                return Err(invalid(name, "must be at least 1"));
            }
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(invalid(
                "slateq.hidden",
                "needs at least one layer, none of width 0",
            ));
        }
        self.device()?;
        Ok(())
    }

    fn device(&self) -> Result<Device, AgentError> {
        match self.device.as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
            "cuda" => Err(invalid(
                "slateq.device",
                "cuda was requested but libtorch sees no CUDA device (a CPU-only libtorch, or no GPU)",
            )),
            other => Err(invalid("slateq.device", format!("`{other}`: expected cpu or cuda"))),
        }
    }
}

/// Feature and reward standardisation, measured on the warm-up steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Normalizer {
    user_mean: Vec<f32>,
    user_sd: Vec<f32>,
    doc_mean: Vec<f32>,
    doc_sd: Vec<f32>,
    reward_mean: f32,
    reward_sd: f32,
}

impl Normalizer {
    fn identity(layout: &Layout) -> Self {
        Self {
            user_mean: vec![0.0; layout.user_dim],
            user_sd: vec![1.0; layout.user_dim],
            doc_mean: vec![0.0; layout.doc_dim],
            doc_sd: vec![1.0; layout.doc_dim],
            reward_mean: 0.0,
            reward_sd: 1.0,
        }
    }

    fn measure(replay: &Replay, layout: &Layout, center: bool) -> Self {
        let (u, d) = (layout.user_dim, layout.doc_dim);
        let mut user = Moments::new(u);
        let mut doc = Moments::new(d);
        let mut reward = Moments::new(1);
        for i in 0..replay.len() {
            let s = replay.get(i);
            user.add(&s.state[..u]);
            for row in s.state[u..].chunks_exact(d) {
                doc.add(row);
            }
            reward.add(&[s.reward]);
        }
        let (reward_mean, reward_sd) = reward.finish();
        let (user_mean, user_sd) = user.finish();
        let (doc_mean, doc_sd) = doc.finish();
        Self {
            user_mean,
            user_sd,
            doc_mean,
            doc_sd,
            reward_mean: if center { reward_mean[0] } else { 0.0 },
            reward_sd: reward_sd[0],
        }
    }
}

/// Running sums for per-dimension mean and standard deviation.
struct Moments {
    n: f64,
    sum: Vec<f64>,
    sq: Vec<f64>,
}

impl Moments {
    fn new(dim: usize) -> Self {
        Self {
            n: 0.0,
            sum: vec![0.0; dim],
            sq: vec![0.0; dim],
        }
    }

    fn add(&mut self, x: &[f32]) {
        self.n += 1.0;
        for ((s, q), &v) in self.sum.iter_mut().zip(&mut self.sq).zip(x) {
            *s += f64::from(v);
            *q += f64::from(v) * f64::from(v);
        }
    }

    /// Means and standard deviations; a constant dimension keeps unit scale.
    fn finish(&self) -> (Vec<f32>, Vec<f32>) {
        let n = self.n.max(1.0);
        self.sum
            .iter()
            .zip(&self.sq)
            .map(|(s, q)| {
                let mean = s / n;
                let sd = (q / n - mean * mean).max(0.0).sqrt();
                (mean as f32, if sd > 1e-6 { sd as f32 } else { 1.0 })
            })
            .unzip()
    }
}

/// Everything a checkpoint holds.
#[derive(Serialize, Deserialize)]
struct Saved {
    config: SlateQConfig,
    layout: Layout,
    known: KnownChoice,
    online: SavedParams,
    target: Vec<f32>,
    choice: Option<SavedParams>,
    replay: Replay,
    norm: Option<Normalizer>,
    rng: SimRng,
    env_steps: u64,
    grad_steps: u64,
    stats: IterStats,
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

/// The SlateQ agent.
pub struct SlateQ {
    config: SlateQConfig,
    layout: Layout,
    device: Device,
    known: KnownChoice,
    rule: ChoiceRule,
    mlp: Mlp,
    online: Params,
    target: Tensor,
    choice: Option<LogitChoice>,
    replay: Replay,
    norm: Option<Normalizer>,
    center_rewards: bool,
    bootstrap_at_end: bool,
    rng: SimRng,
    env_steps: u64,
    grad_steps: u64,
    stats: IterStats,
    // Scratch, refilled on every call.
    shown: Vec<f32>,
    next: Vec<f32>,
    order: Vec<usize>,
    indices: Vec<usize>,
}

impl SlateQ {
    /// Builds an untrained agent for `layout`, with the environment's choice model where
    /// it is known and the configuration asks for it. `fixed_length` says whether every
    /// episode has the same length (it settles the unset reward options).
    pub fn new(
        config: SlateQConfig,
        layout: Layout,
        known: KnownChoice,
        fixed_length: bool,
        seed: u64,
    ) -> Result<Self, AgentError> {
        config.validate()?;
        let device = config.device()?;
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
        let online = Params::new(&mlp.init(&mut rng), device);
        let state_len = layout.user_dim + layout.num_candidates * layout.doc_dim;
        let center_rewards = config.center_rewards.unwrap_or(fixed_length);
        let bootstrap_at_end = config.bootstrap_at_episode_end.unwrap_or(fixed_length);
        Ok(Self {
            target: online.snapshot(),
            replay: Replay::new(config.buffer_size, state_len, layout.slate_size),
            config,
            layout,
            device,
            known,
            rule,
            mlp,
            online,
            choice,
            norm: None,
            center_rewards,
            bootstrap_at_end,
            rng,
            env_steps: 0,
            grad_steps: 0,
            stats: IterStats::default(),
            shown: Vec::with_capacity(state_len),
            next: Vec::with_capacity(state_len),
            order: Vec::new(),
            indices: Vec::new(),
        })
    }

    pub fn config(&self) -> &SlateQConfig {
        &self.config
    }

    fn epsilon(&self) -> f64 {
        let c = &self.config;
        let after = self.env_steps.saturating_sub(c.learning_starts as u64) as f64;
        let frac = (after / c.epsilon_steps.max(1) as f64).min(1.0);
        c.epsilon_start + (c.epsilon_end - c.epsilon_start) * frac
    }

    /// The learning rate of the next gradient step.
    fn lr(&self) -> f64 {
        let c = &self.config;
        if c.lr_decay_steps == 0 {
            return c.lr;
        }
        let frac = (self.grad_steps as f64 / c.lr_decay_steps as f64).min(1.0);
        c.lr + (c.lr_final - c.lr) * frac
    }

    fn norm(&self) -> Normalizer {
        self.norm
            .clone()
            .unwrap_or_else(|| Normalizer::identity(&self.layout))
    }

    /// Standardised `(user [B, u], items [B, N, d])` of flat states `[B, S]`.
    fn split(&self, states: &Tensor, norm: &Normalizer) -> (Tensor, Tensor) {
        let Layout {
            num_candidates: n,
            doc_dim: d,
            user_dim: u,
            ..
        } = self.layout;
        let b = states.size()[0];
        let t = |v: &[f32]| Tensor::from_slice(v).to_device(self.device);
        let user = (states.narrow(1, 0, u as i64) - t(&norm.user_mean)) / t(&norm.user_sd);
        let items = (states
            .narrow(1, u as i64, (n * d) as i64)
            .view([b, n as i64, d as i64])
            - t(&norm.doc_mean))
            / t(&norm.doc_sd);
        (user, items)
    }

    /// `Q̄` of every candidate and of no click: `[B, N + 1]`.
    fn item_values(&self, theta: &Tensor, user: &Tensor, items: &Tensor) -> Tensor {
        let (b, n, d) = {
            let s = items.size();
            (s[0], s[1], s[2])
        };
        let u = user.size()[1];
        let opts = (Kind::Float, self.device);
        let user_rows = user.unsqueeze(1);
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
        self.mlp.forward(theta, &Tensor::cat(&[cand, null], 1))
    }

    /// Choice weights, `N + 1` per state (candidates, then no click), for the `Weights`
    /// rule: the learned logit's from the standardised features, or the known
    /// proportional model's from the raw observations. Empty for `FirstPosition`.
    fn choice_weights(&self, raw: &[f32], user: &Tensor, items: &Tensor) -> Vec<f32> {
        if let Some(c) = &self.choice {
            let (s, s0) = c.scores(user, items);
            return to_vec(&choice::logit_weights(&s, &s0));
        }
        let KnownChoice::Proportional {
            no_click_mass,
            min_normalizer,
        } = self.known
        else {
            return Vec::new();
        };
        let Layout {
            user_dim: u,
            doc_dim: d,
            num_candidates: n,
            ..
        } = self.layout;
        let mut w = Vec::with_capacity(raw.len() / (u + n * d) * (n + 1));
        for state in raw.chunks_exact(u + n * d) {
            let (user, items) = state.split_at(u);
            for doc in items.chunks_exact(d) {
                let score: f64 = user
                    .iter()
                    .zip(doc)
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum();
                w.push((score - min_normalizer).max(0.0) as f32);
            }
            w.push((no_click_mass - min_normalizer) as f32);
        }
        w
    }

    fn tensor(&self, flat: &[f32], rows: usize) -> Tensor {
        Tensor::from_slice(flat)
            .view([rows as i64, -1])
            .to_device(self.device)
    }

    /// One gradient step on a replay minibatch (and one on the choice model if learned).
    fn learn(&mut self) {
        let b = self.config.batch_size;
        let n = self.layout.num_candidates;
        let k = self.layout.slate_size;
        self.replay
            .sample_indices(b, &mut self.rng, &mut self.indices);
        let (mut states, mut nexts) = (Vec::new(), Vec::new());
        let (mut slates, mut chosen, mut slots) = (Vec::new(), Vec::new(), Vec::new());
        let (mut rewards, mut live) = (Vec::new(), Vec::new());
        let norm = self.norm();
        let lr = self.lr();
        for &i in &self.indices {
            let s = self.replay.get(i);
            states.extend_from_slice(s.state);
            nexts.extend_from_slice(s.next_state);
            slates.extend(s.slate.iter().map(|&p| i64::from(p)));
            // The consumed item: the clicked candidate, or the no-click entry N.
            chosen.push(s.click.map_or(n as i64, |p| i64::from(s.slate[p])));
            slots.push(s.click.map_or(k as i64, |p| p as i64));
            rewards.push((s.reward - norm.reward_mean) / norm.reward_sd);
            live.push(if s.done { 0.0f32 } else { 1.0 });
        }
        let (user, items) = self.split(&self.tensor(&states, b), &norm);
        let (next_user, next_items) = self.split(&self.tensor(&nexts, b), &norm);

        if let Some(c) = self.choice.as_mut() {
            let slate_t = Tensor::from_slice(&slates)
                .view([b as i64, k as i64])
                .to_device(self.device);
            let slot_t = Tensor::from_slice(&slots).to_device(self.device);
            let loss = c.loss(&user, &items, &slate_t, &slot_t);
            loss.backward();
            c.params.adam_step(lr, self.config.grad_clip);
            self.stats.choice_loss += loss.double_value(&[]);
        }

        let next_value = tch::no_grad(|| {
            let q_target = to_vec(&self.item_values(&self.target, &next_user, &next_items));
            let q_select = if self.config.double_q {
                to_vec(&self.item_values(&self.online.theta, &next_user, &next_items))
            } else {
                q_target.clone()
            };
            let w = self.choice_weights(&nexts, &next_user, &next_items);
            let mut slate = vec![0; k];
            (0..b)
                .map(|j| {
                    let row = j * (n + 1)..(j + 1) * (n + 1);
                    let wj = if w.is_empty() {
                        &[][..]
                    } else {
                        &w[row.clone()]
                    };
                    best_slate(
                        self.rule,
                        self.config.slate_optimizer,
                        &q_select[row.clone()],
                        wj,
                        &mut slate,
                        &mut self.order,
                    );
                    slate_value(self.rule, &q_target[row], wj, &slate)
                })
                .collect::<Vec<f32>>()
        });
        let gamma = self.config.gamma as f32;
        let targets: Vec<f32> = (0..b)
            .map(|j| rewards[j] + gamma * live[j] * next_value[j])
            .collect();
        let target_t = Tensor::from_slice(&targets).to_device(self.device);
        let chosen_t = Tensor::from_slice(&chosen)
            .view([b as i64, 1])
            .to_device(self.device);
        let q = self
            .item_values(&self.online.theta, &user, &items)
            .gather(1, &chosen_t, false)
            .squeeze_dim(1);
        let loss = q.huber_loss(&target_t, Reduction::Mean, self.config.huber_delta);
        loss.backward();
        let grad_norm = self.online.adam_step(lr, self.config.grad_clip);
        self.grad_steps += 1;
        if self
            .grad_steps
            .is_multiple_of(self.config.target_update_every as u64)
        {
            self.target = self.online.snapshot();
        }
        self.stats.loss += loss.double_value(&[]);
        self.stats.q += q.mean(Kind::Float).double_value(&[]);
        self.stats.grad_norm += grad_norm;
        self.stats.count += 1;
    }

    fn layers_description(&self) -> String {
        let mut parts = Vec::new();
        let last = self.mlp.sizes.len() - 2;
        for (l, (i, o)) in self.mlp.layers().enumerate() {
            parts.push(format!("Linear({i}→{o}, {} params)", i * o + o));
            if l < last {
                parts.push("ReLU".into());
            }
        }
        parts.join(" → ")
    }
}

impl Agent for SlateQ {
    fn algorithm(&self) -> &'static str {
        "slateq"
    }

    fn act(&mut self, env: &dyn SlateEnv, explore: bool, slate: &mut [usize]) {
        self.shown.clear();
        self.shown.extend_from_slice(env.user());
        self.shown.extend_from_slice(env.items());
        let n = self.layout.num_candidates;
        if explore {
            let warming_up = self.env_steps < self.config.learning_starts as u64;
            let eps = self.epsilon();
            if warming_up || self.rng.random::<f64>() < eps {
                for p in slate.iter_mut() {
                    *p = self.rng.random_range(0..n);
                }
                return;
            }
        }
        let norm = self.norm();
        let (q, w) = tch::no_grad(|| {
            let (user, items) = self.split(&self.tensor(&self.shown, 1), &norm);
            let q = to_vec(&self.item_values(&self.online.theta, &user, &items));
            let w = self.choice_weights(&self.shown, &user, &items);
            (q, w)
        });
        best_slate(
            self.rule,
            self.config.slate_optimizer,
            &q,
            &w,
            slate,
            &mut self.order,
        );
    }

    fn observe(&mut self, slate: &[usize], t: &Transition, next: &dyn SlateEnv) {
        self.next.clear();
        self.next.extend_from_slice(next.user());
        self.next.extend_from_slice(next.items());
        let terminal = t.terminated && !self.bootstrap_at_end;
        self.replay.push(
            &self.shown,
            slate,
            t.clicked,
            t.reward,
            terminal,
            &self.next,
        );
        self.env_steps += 1;
        let starts = self.config.learning_starts as u64;
        if self.env_steps == starts.max(1) {
            self.norm = Some(Normalizer::measure(
                &self.replay,
                &self.layout,
                self.center_rewards,
            ));
        }
        if self.env_steps >= starts
            && self
                .env_steps
                .is_multiple_of(self.config.train_every as u64)
        {
            self.learn();
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
        let norm = self.norm();
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
            config: self.config.clone(),
            layout: self.layout,
            known: self.known,
            online: self.online.save(),
            target: to_vec(&self.target),
            choice: self.choice.as_ref().map(|c| c.params.save()),
            replay: self.replay.clone(),
            norm: self.norm.clone(),
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
        agents_bandit::check_layout(&self.layout, &saved.layout)?;
        if saved.online.theta.len() != self.online.len() || saved.known != self.known {
            return Err(AgentError::State(
                "the saved network or choice model has another shape".into(),
            ));
        }
        self.online = Params::load(&saved.online, self.device);
        self.target = Tensor::from_slice(&saved.target).to_device(self.device);
        self.choice = saved.choice.map(|p| {
            LogitChoice::from_params(
                Params::load(&p, self.device),
                self.layout.user_dim,
                self.layout.doc_dim,
            )
        });
        self.replay = saved.replay;
        self.norm = saved.norm;
        self.rng = saved.rng;
        self.env_steps = saved.env_steps;
        self.grad_steps = saved.grad_steps;
        self.stats = saved.stats;
        Ok(())
    }
}
