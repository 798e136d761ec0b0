//! SlateQ's TD learning: a minibatch from the replay, the next slates' values under the
//! choice model with the online and the target network, and an Adam step on the Huber
//! loss of the consumed item's value.

use recsim_core::KnownChoice;
use serde::{Deserialize, Serialize};
use tch::{Kind, Reduction, Tensor};

use crate::choice::{self, proportional_weights};
use crate::collect::log_time;
use crate::normalize::{FeatureScale, Normalizer};
use crate::schedule::Linear;
use crate::tensor::to_vec;
use crate::{td, SlateQ};

/// Per-iteration learner statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct IterStats {
    pub(crate) loss: f64,
    pub(crate) q: f64,
    pub(crate) grad_norm: f64,
    pub(crate) choice_loss: f64,
    pub(crate) count: u64,
}

/// A replay minibatch, flat, as the tensors of a gradient step take it in.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) states: Vec<f32>,
    pub(crate) nexts: Vec<f32>,
    pub(crate) slates: Vec<i64>,
    pub(crate) chosen: Vec<i64>,
    pub(crate) slots: Vec<i64>,
    pub(crate) rewards: Vec<f32>,
    pub(crate) discounts: Vec<f32>,
}

impl Batch {
    pub(crate) fn clear(&mut self) {
        self.states.clear();
        self.nexts.clear();
        self.slates.clear();
        self.chosen.clear();
        self.slots.clear();
        self.rewards.clear();
        self.discounts.clear();
    }
}

impl SlateQ {
    /// The learning rate of the next gradient step.
    pub(crate) fn lr(&self) -> f64 {
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
    pub(crate) fn set_norm(&mut self, norm: Option<Normalizer>) {
        self.scale = FeatureScale::new(
            norm.as_ref().unwrap_or(&Normalizer::identity(&self.layout)),
            self.device,
        );
        self.norm = norm;
    }

    /// Standardised `(user [B, u], items [B, N, d])` of `rows` flat states.
    pub(crate) fn split(&self, flat: &[f32], rows: usize) -> (Tensor, Tensor) {
        let states = Tensor::from_slice(flat)
            .view([rows as i64, -1])
            .to_device(self.device);
        self.scale.split(&states, &self.layout)
    }

    /// The standardised time feature of `time_window` steps left, above which the
    /// candidates' values do not see it; `None` without the time in view.
    pub(crate) fn time_ceiling(&self) -> Option<f64> {
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
    pub(crate) fn item_values(&self, theta: &Tensor, user: &Tensor, items: &Tensor) -> Tensor {
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
    pub(crate) fn choice_weights(&self, raw: &[f32], user: &Tensor, items: &Tensor) -> Vec<f32> {
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
    pub(crate) fn learn(&mut self) {
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
}
