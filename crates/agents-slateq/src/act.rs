//! Acting: ε-greedy slates from one forward pass over every environment's candidates, and
//! the forward pass itself (the item values and the choice weights), which TD learning uses
//! too.

use env::{Layout, TimeFeature};
use rand::Rng;
use recsim_core::KnownChoice;
use tch::{Kind, Tensor};

use agents::choice::proportional_weights;
use agents::portable::log_time;

use crate::choice;
use crate::schedule::Linear;
use crate::tensor::to_vec;
use crate::{best_slate, SlateQPolicy};

impl SlateQPolicy {
    /// ε of the next exploring step: it falls once learning has started.
    pub(crate) fn epsilon(&self) -> f64 {
        let c = &self.config;
        let schedule = Linear {
            start: c.epsilon_start,
            end: c.epsilon_end,
            // At least one step, so that ε starts at epsilon_start.
            steps: c.epsilon_steps.max(1) as u64,
        };
        schedule.at(self.env_steps.saturating_sub(c.learning_starts as u64))
    }

    /// Fills one slate per state in `shown` (`slates[i·K..(i+1)·K]` for state `i`):
    /// exploring ones at random, the others from one forward pass over every state.
    pub(crate) fn choose(&mut self, explore: bool, slates: &mut [usize]) {
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
                _ => &self.theta,
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

    /// Standardised `(user [B, u], items [B, N, d])` of `rows` flat states.
    pub(crate) fn split(&self, flat: &[f32], rows: usize) -> (Tensor, Tensor) {
        let states = Tensor::from_slice(flat)
            .view([rows as i64, -1])
            .to_device(self.device);
        self.scale.split(&states, &self.layout)
    }

    /// The time feature's index and its standardised value at `time_window` steps left,
    /// above which the candidates' values do not see it; `None` without the time in view.
    pub(crate) fn time_ceiling(&self) -> Option<(usize, f64)> {
        let TimeFeature { index, steps } = self.layout.time?;
        let window = self.config.time_window.min(steps);
        let feature = f64::from(log_time(window as f32 / steps as f32, steps));
        let (mean, sd) = self.norm.as_ref().map_or((0.0, 1.0), |n| {
            (f64::from(n.user_mean[index]), f64::from(n.user_sd[index]))
        });
        Some((index, (feature - mean) / sd))
    }

    /// `Q̄` of every candidate and of no click: `[B, N + 1]`.
    pub(crate) fn item_values(&self, theta: &Tensor, user: &Tensor, items: &Tensor) -> Tensor {
        let (b, n, d) = {
            let s = items.size();
            (s[0], s[1], s[2])
        };
        let u = user.size()[1];
        let opts = (Kind::Float, self.device);
        let capped = self.time_ceiling().map(|(index, ceiling)| {
            let i = index as i64;
            let time = user.narrow(1, i, 1).clamp_max(ceiling);
            Tensor::cat(
                &[user.narrow(1, 0, i), time, user.narrow(1, i + 1, u - i - 1)],
                1,
            )
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
}
