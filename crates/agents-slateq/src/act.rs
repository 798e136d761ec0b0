//! Acting: ε-greedy slates from one forward pass over every environment's candidates.

use env::Layout;
use rand::Rng;

use crate::schedule::Linear;
use crate::tensor::to_vec;
use crate::{best_slate, SlateQ};

impl SlateQ {
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
}
