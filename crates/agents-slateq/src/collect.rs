//! The collector's half of SlateQ: each environment's steps held open until their
//! `n`-step return is complete, then stored in the replay with the state `m ≤ n` steps
//! later; the states as the agent stores them.

use env::{SlateEnv, Transition};
use serde::{Deserialize, Serialize};

use crate::normalize::Normalizer;
use crate::SlateQ;

/// Appends a state as the agent stores it: the user features (the time feature of a
/// `time_steps`-step episode log-scaled), then the candidates'.
pub(crate) fn push_state(
    time_steps: Option<usize>,
    user: &[f32],
    items: &[f32],
    out: &mut Vec<f32>,
) {
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
pub(crate) fn log_time(fraction: f32, steps: usize) -> f32 {
    let t = steps as f32;
    (1.0 + fraction * t).ln() / (1.0 + t).ln()
}

/// A step whose `n`-step return is still open: its later rewards are yet to come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub(crate) state: Vec<f32>,
    pub(crate) slate: Vec<usize>,
    pub(crate) click: Option<usize>,
    pub(crate) reward: f64,
}

impl SlateQ {
    /// Moves environment `slot`'s finished `n`-step returns into the replay buffer: every
    /// open one at an episode's end (`end = Some(terminal)`), else the oldest once `n` are
    /// open. `next` is the state after the latest step.
    pub(crate) fn flush(&mut self, slot: usize, next: &[f32], end: Option<bool>) {
        let n = self.policy.config.n_step;
        let gamma = self.policy.config.gamma;
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
    pub(crate) fn count_step(&mut self, reward: f64) {
        self.policy.env_steps += 1;
        let starts = (self.policy.config.learning_starts as u64).max(1);
        if self.policy.env_steps <= starts {
            self.warm_rewards.add(&[reward as f32]);
        }
        if self.policy.env_steps == starts {
            self.policy.set_norm(Some(Normalizer::measure(
                &self.replay,
                &self.policy.layout,
                &self.warm_rewards,
                self.center_rewards,
            )));
        }
        if self.policy.env_steps >= starts
            && self.replay.len() > 0
            && self
                .policy
                .env_steps
                .is_multiple_of(self.policy.config.train_every as u64)
        {
            self.learn();
        }
    }

    /// Learns from environment `slot`'s step: its state was the `slot`-th of the last
    /// [`agents::Policy::act`] or [`agents::Policy::act_batch`].
    pub(crate) fn observe_slot(
        &mut self,
        slot: usize,
        slate: &[usize],
        t: &Transition,
        next: &dyn SlateEnv,
    ) {
        let mut next_state = std::mem::take(&mut self.next);
        next_state.clear();
        push_state(
            self.policy.time_steps,
            next.user(),
            next.items(),
            &mut next_state,
        );
        let len = self.replay.shape().1;
        self.pending[slot].push_back(Pending {
            state: self.policy.shown[slot * len..(slot + 1) * len].to_vec(),
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
}
