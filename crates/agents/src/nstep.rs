//! `n`-step returns, built from each environment's steps on their way to a replay buffer:
//! a step is held open until the `n − 1` rewards after it are known (or its episode
//! ends), then handed on with its discounted return and how far ahead to bootstrap.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::AgentError;

/// A step whose return is still open: the state as the learner stores it, what was shown,
/// the response and the step's own reward.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenStep {
    /// The state the slate was chosen for.
    pub state: Vec<f32>,
    /// The slate.
    pub slate: Vec<usize>,
    /// The clicked slate position.
    pub click: Option<usize>,
    /// The step's reward.
    pub reward: f64,
}

/// A step whose return is complete.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finished<'a> {
    /// The step.
    pub step: &'a OpenStep,
    /// `Σ_{j < steps} γ^j r_{t+j}`.
    pub ret: f64,
    /// The rewards in `ret`: `n`, or fewer at an episode's end.
    pub steps: usize,
    /// The episode ended for good after them: no value follows to bootstrap from.
    pub terminal: bool,
}

/// Each environment's open steps, oldest first. Steady-state pushes allocate nothing: a
/// finished step's buffers hold the next step.
#[derive(Debug, Clone)]
pub struct NStepReturns {
    n: usize,
    gamma: f64,
    open: Vec<VecDeque<OpenStep>>,
    spare: Vec<OpenStep>,
}

impl NStepReturns {
    /// No open steps for `slots` environments, returns of `n ≥ 1` rewards discounted by
    /// `gamma`.
    pub fn new(slots: usize, n: usize, gamma: f64) -> Self {
        Self {
            n: n.max(1),
            gamma,
            open: vec![VecDeque::with_capacity(n); slots],
            spare: Vec::new(),
        }
    }

    /// Adds environment `slot`'s step, which `fill` writes into an emptied [`OpenStep`]
    /// (its buffers reused), and hands each return it completes to `finish`, oldest
    /// first: at an episode's end (`end = Some(terminal)`) every open one, else the oldest
    /// once `n` are open.
    ///
    /// # Panics
    /// If `slot` is not one of [`NStepReturns::new`]'s.
    pub fn push(
        &mut self,
        slot: usize,
        fill: impl FnOnce(&mut OpenStep),
        end: Option<bool>,
        mut finish: impl FnMut(Finished<'_>),
    ) {
        let mut step = self.spare.pop().unwrap_or_default();
        step.state.clear();
        step.slate.clear();
        fill(&mut step);
        let open = &mut self.open[slot];
        open.push_back(step);
        while match end {
            Some(_) => !open.is_empty(),
            None => open.len() >= self.n,
        } {
            let steps = open.len().min(self.n);
            let ret = open
                .iter()
                .take(steps)
                .enumerate()
                .map(|(j, s)| self.gamma.powi(j as i32) * s.reward)
                .sum();
            let step = open.pop_front().expect("an open step");
            finish(Finished {
                step: &step,
                ret,
                steps,
                terminal: end == Some(true),
            });
            self.spare.push(step);
        }
    }

    /// Every environment's open steps, oldest first: what a checkpoint saves.
    pub fn open(&self) -> &[VecDeque<OpenStep>] {
        &self.open
    }

    /// Takes the open steps [`NStepReturns::open`] gave, if they fit: as many environments,
    /// fewer than `n` steps each, states of `state_len` and slates of `slate_size`. On
    /// error nothing changes.
    pub fn restore(
        &mut self,
        open: Vec<VecDeque<OpenStep>>,
        state_len: usize,
        slate_size: usize,
    ) -> Result<(), AgentError> {
        let fits = open.len() == self.open.len()
            && open.iter().all(|steps| {
                steps.len() < self.n
                    && steps
                        .iter()
                        .all(|s| s.state.len() == state_len && s.slate.len() == slate_size)
            });
        if !fits {
            return Err(AgentError::State(
                "the saved open n-step returns do not fit the configuration".into(),
            ));
        }
        self.open = open;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every finished return of one environment's rewards `1, 2, 4, …`, as
    /// `(first reward, return, steps, terminal)`.
    fn run(n: usize, rewards: usize, end: Option<bool>) -> Vec<(f64, f64, usize, bool)> {
        let mut returns = NStepReturns::new(1, n, 0.5);
        let mut out = Vec::new();
        for t in 0..rewards {
            let last = t + 1 == rewards;
            let reward = f64::from(1 << t);
            let end = if last { end } else { None };
            let fill = |s: &mut OpenStep| {
                s.state.push(t as f32);
                s.slate.push(t);
                (s.click, s.reward) = (None, reward);
            };
            returns.push(0, fill, end, |f| {
                out.push((f.step.reward, f.ret, f.steps, f.terminal));
            });
        }
        out
    }

    #[test]
    fn returns_discount_the_next_rewards_and_end_with_the_episode() {
        // With γ = ½ and rewards doubling, each of the `m` rewards adds 1: a return of `m`
        // steps is `m · r_t`.
        let open = run(3, 5, None);
        assert_eq!(
            open,
            [
                (1.0, 3.0, 3, false),
                (2.0, 6.0, 3, false),
                (4.0, 12.0, 3, false)
            ]
        );
        for terminal in [true, false] {
            let ended = run(3, 5, Some(terminal));
            assert_eq!(ended[..2], open[..2], "finished before the end");
            assert_eq!(
                ended[2..],
                [
                    (4.0, 12.0, 3, terminal),
                    (8.0, 16.0, 2, terminal),
                    (16.0, 16.0, 1, terminal)
                ],
                "the episode's end closes every open step"
            );
        }
        assert_eq!(
            run(1, 2, None),
            [(1.0, 1.0, 1, false), (2.0, 2.0, 1, false)]
        );
    }

    #[test]
    fn environments_keep_their_own_steps_and_restore_only_what_fits() {
        let mut returns = NStepReturns::new(2, 2, 1.0);
        let mut finished = Vec::new();
        for (slot, reward) in [(0, 1.0), (1, 10.0), (1, 20.0), (0, 2.0)] {
            let fill = |s: &mut OpenStep| {
                s.state.extend([0.0; 3]);
                s.slate.push(0);
                (s.click, s.reward) = (Some(0), reward);
            };
            returns.push(slot, fill, None, |f| finished.push(f.ret));
        }
        assert_eq!(finished, [30.0, 3.0]);
        let saved = returns.open().to_vec();
        assert_eq!(saved.iter().map(VecDeque::len).collect::<Vec<_>>(), [1, 1]);
        let mut restored = NStepReturns::new(2, 2, 1.0);
        restored.restore(saved.clone(), 3, 1).unwrap();
        assert_eq!(restored.open(), returns.open());
        for (state_len, slate_size, slots) in [(4, 1, 2), (3, 2, 2), (3, 1, 1)] {
            let mut other = NStepReturns::new(slots, 2, 1.0);
            let err = other.restore(saved.clone(), state_len, slate_size);
            assert!(matches!(err, Err(AgentError::State(_))));
            assert!(
                other.open().iter().all(VecDeque::is_empty),
                "nothing changed"
            );
        }
        let too_many = vec![VecDeque::from(vec![saved[0][0].clone(); 2]); 2];
        assert!(
            restored.restore(too_many, 3, 1).is_err(),
            "n open steps would have finished"
        );
    }
}
