//! SlateQ's TD learning: a minibatch from the replay, the next slates' values under the
//! choice model with the online and the target network, and an Adam step on the Huber
//! loss of the consumed item's value.

use serde::{Deserialize, Serialize};
use tch::{Kind, Reduction, Tensor};

use crate::net::snapshot;
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
        let c = &self.policy.config;
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

    /// One gradient step on a replay minibatch (and one on the choice model if learned).
    pub(crate) fn learn(&mut self) {
        let p = &mut self.policy;
        let b = p.config.batch_size;
        let n = p.layout.num_candidates;
        let k = p.layout.slate_size;
        self.replay.sample_indices(b, &mut p.rng, &mut self.indices);
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
        let gamma = self.policy.config.gamma;
        for &i in &self.indices {
            let s = self.replay.get(i);
            s.push_state(states);
            s.push_next_state(nexts);
            slates.extend(s.slate.iter().map(|&p| i64::from(p)));
            // The consumed item: the clicked candidate, or the no-click entry N.
            chosen.push(s.click.map_or(n as i64, |p| i64::from(s.slate[p])));
            slots.push(s.click.map_or(k as i64, |p| p as i64));
            // Learning starts once the normalisation is measured.
            rewards.push(
                self.policy
                    .norm
                    .as_ref()
                    .map_or(s.reward, |norm| norm.reward(s.reward, s.steps, gamma)),
            );
            discounts.push(if s.done {
                0.0
            } else {
                gamma.powi(i32::from(s.steps)) as f32
            });
        }
        let p = &mut self.policy;
        let (user, items) = p.split(states, b);
        let (next_user, next_items) = p.split(nexts, b);

        if let (Some(c), Some(adam)) = (p.choice.as_mut(), self.choice_adam.as_mut()) {
            let slate_t = Tensor::from_slice(slates)
                .view([b as i64, k as i64])
                .to_device(p.device);
            let slot_t = Tensor::from_slice(slots).to_device(p.device);
            let loss = c.loss(&user, &items, &slate_t, &slot_t);
            loss.backward();
            adam.step(&mut c.theta, lr, p.config.grad_clip);
            self.stats.choice_loss += loss.double_value(&[]);
        }

        let targets = tch::no_grad(|| {
            let q_target = to_vec(&p.item_values(&self.target, &next_user, &next_items));
            let q_select = if p.config.double_q {
                to_vec(&p.item_values(&p.theta, &next_user, &next_items))
            } else {
                q_target.clone()
            };
            let weights = p.choice_weights(nexts, &next_user, &next_items);
            let next = td::NextValues {
                select: &q_select,
                target: &q_target,
                weights: &weights,
            };
            td::targets(
                p.rule,
                p.config.slate_optimizer,
                rewards,
                discounts,
                &next,
                k,
                &mut self.order,
            )
        });
        let target_t = Tensor::from_slice(&targets).to_device(p.device);
        let chosen_t = Tensor::from_slice(chosen)
            .view([b as i64, 1])
            .to_device(p.device);
        self.batch = batch;
        let q = p
            .item_values(&p.theta, &user, &items)
            .gather(1, &chosen_t, false)
            .squeeze_dim(1);
        let loss = q.huber_loss(&target_t, Reduction::Mean, p.config.huber_delta);
        loss.backward();
        let grad_norm = self.adam.step(&mut p.theta, lr, p.config.grad_clip);
        self.grad_steps += 1;
        if let Some(average) = p.average.as_mut() {
            let window = (p.config.average_steps as u64).min(self.grad_steps / 10);
            let weight = 1.0 / window.max(1) as f64;
            let _ = tch::no_grad(|| average.lerp_(&p.theta, weight));
        }
        if self
            .grad_steps
            .is_multiple_of(p.config.target_update_every as u64)
        {
            self.target = snapshot(&p.theta);
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
