//! What SlateQ does with each environment step: the state as the agent stores it, the
//! step's `n`-step return ([`agents::nstep`]) stored in the replay once complete, with
//! the state `m ≤ n` steps later, and the gradient steps the count of steps sets off.

use agents::portable::log_time;
use env::{SlateEnv, TimeFeature, Transition};

use agents::nstep::NStepReturns;

use crate::normalize::Normalizer;
use crate::replay::Replay;
use crate::SlateQ;

/// Appends a state as the agent stores it: the user features (the time feature
/// log-scaled, where there is one), then the candidates'.
pub(crate) fn push_state(
    time: Option<TimeFeature>,
    user: &[f32],
    items: &[f32],
    out: &mut Vec<f32>,
) {
    let start = out.len();
    out.extend_from_slice(user);
    if let Some(TimeFeature { index, steps }) = time {
        out[start + index] = log_time(user[index], steps);
    }
    out.extend_from_slice(items);
}

/// Stores environment `slot`'s step (its state as the agent stores it, the slate, the
/// transition and whether the episode ended there, terminally) in the replay once its
/// `n`-step return is complete, with `next_state`, the state after the step.
pub(crate) fn store(
    pending: &mut NStepReturns,
    replay: &mut Replay,
    slot: usize,
    (state, slate, t, end): (&[f32], &[usize], &Transition, Option<bool>),
    next_state: &[f32],
) {
    pending.push(
        slot,
        |s| {
            s.state.extend_from_slice(state);
            s.slate.extend_from_slice(slate);
            (s.click, s.reward) = (t.click.map(|c| c.position), t.reward);
        },
        end,
        |f| {
            // n ≤ 255 (validated), so the count fits.
            let s = f.step;
            replay.push(
                &s.state,
                &s.slate,
                s.click,
                f.ret,
                f.steps as u8,
                f.terminal,
                next_state,
            );
        },
    );
}

impl SlateQ {
    /// Whether `t` ends its episode, and if so whether terminally (no bootstrap).
    pub(crate) fn episode_end(&self, t: &Transition) -> Option<bool> {
        if t.terminated {
            Some(!self.bootstrap_terminated)
        } else if t.truncated {
            Some(!self.bootstrap_truncated)
        } else {
            None
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
            self.policy.layout.time,
            next.user(),
            next.items(),
            &mut next_state,
        );
        let len = self.replay.shape().1;
        let end = self.episode_end(t);
        let state = &self.policy.shown[slot * len..(slot + 1) * len];
        store(
            &mut self.pending,
            &mut self.replay,
            slot,
            (state, slate, t, end),
            &next_state,
        );
        self.next = next_state;
        self.count_step(t.reward);
    }
}
