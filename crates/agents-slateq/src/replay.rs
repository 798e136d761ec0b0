//! A fixed-capacity replay buffer of slate transitions, stored flat.

use rand::Rng;
use serde::{Deserialize, Serialize};

use recsim_core::SimRng;

/// Transitions `(s, slate, click, R, m, done, s')`: `R` is the discounted sum of the `m`
/// rewards from `s` on (an `m`-step return, `m` ≥ 1) and `s'` the state `m` steps later; a
/// state is the user features followed by the candidates' features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replay {
    capacity: usize,
    state_len: usize,
    slate_len: usize,
    len: usize,
    next: usize,
    states: Vec<f32>,
    next_states: Vec<f32>,
    slates: Vec<u16>,
    /// Clicked slate position, or −1 for no click.
    clicks: Vec<i16>,
    rewards: Vec<f32>,
    /// Rewards summed in each return.
    steps: Vec<u8>,
    dones: Vec<bool>,
}

/// One transition, borrowed.
pub struct Sample<'a> {
    pub state: &'a [f32],
    pub next_state: &'a [f32],
    pub slate: &'a [u16],
    pub click: Option<usize>,
    pub reward: f32,
    /// Rewards summed in `reward`; `next_state` is this many steps later.
    pub steps: u8,
    pub done: bool,
}

impl Replay {
    pub fn new(capacity: usize, state_len: usize, slate_len: usize) -> Self {
        Self {
            capacity,
            state_len,
            slate_len,
            len: 0,
            next: 0,
            states: Vec::new(),
            next_states: Vec::new(),
            slates: Vec::new(),
            clicks: Vec::new(),
            rewards: Vec::new(),
            steps: Vec::new(),
            dones: Vec::new(),
        }
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// `(capacity, state length, slate length)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.capacity, self.state_len, self.slate_len)
    }

    /// Whether the stored arrays agree with the counts and every slate position is below
    /// `num_candidates` (a decoded buffer may not).
    pub fn is_consistent(&self, num_candidates: usize) -> bool {
        let n = self.len;
        n <= self.capacity
            && (self.next < self.capacity.max(1))
            && self.states.len() == n * self.state_len
            && self.next_states.len() == n * self.state_len
            && self.slates.len() == n * self.slate_len
            && self.clicks.len() == n
            && self.rewards.len() == n
            && self.steps.len() == n
            && self.steps.iter().all(|&m| m >= 1)
            && self.dones.len() == n
            && self
                .clicks
                .iter()
                .all(|&c| c < 0 || (c as usize) < self.slate_len)
            && self.slates.iter().all(|&p| usize::from(p) < num_candidates)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        state: &[f32],
        slate: &[usize],
        click: Option<usize>,
        reward: f64,
        steps: u8,
        done: bool,
        next_state: &[f32],
    ) {
        debug_assert!(steps >= 1);
        debug_assert_eq!(state.len(), self.state_len);
        let i = self.next;
        if self.len < self.capacity {
            // Grow until full, then overwrite the oldest.
            self.states.extend_from_slice(state);
            self.next_states.extend_from_slice(next_state);
            self.slates.extend(slate.iter().map(|&p| p as u16));
            self.clicks.push(click.map_or(-1, |p| p as i16));
            self.rewards.push(reward as f32);
            self.steps.push(steps);
            self.dones.push(done);
            self.len += 1;
        } else {
            let (s, k) = (self.state_len, self.slate_len);
            self.states[i * s..(i + 1) * s].copy_from_slice(state);
            self.next_states[i * s..(i + 1) * s].copy_from_slice(next_state);
            for (dst, &p) in self.slates[i * k..(i + 1) * k].iter_mut().zip(slate) {
                *dst = p as u16;
            }
            self.clicks[i] = click.map_or(-1, |p| p as i16);
            self.rewards[i] = reward as f32;
            self.steps[i] = steps;
            self.dones[i] = done;
        }
        self.next = (i + 1) % self.capacity;
    }

    pub fn get(&self, i: usize) -> Sample<'_> {
        let (s, k) = (self.state_len, self.slate_len);
        Sample {
            state: &self.states[i * s..(i + 1) * s],
            next_state: &self.next_states[i * s..(i + 1) * s],
            slate: &self.slates[i * k..(i + 1) * k],
            click: usize::try_from(self.clicks[i]).ok(),
            reward: self.rewards[i],
            steps: self.steps[i],
            done: self.dones[i],
        }
    }

    /// `n` indices drawn uniformly with replacement.
    pub fn sample_indices(&self, n: usize, rng: &mut SimRng, out: &mut Vec<usize>) {
        out.clear();
        out.extend((0..n).map(|_| rng.random_range(0..self.len)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrites_the_oldest_when_full() {
        let mut r = Replay::new(2, 1, 1);
        for t in 0..3 {
            r.push(
                &[t as f32],
                &[t],
                Some(0),
                t as f64,
                1,
                false,
                &[t as f32 + 0.5],
            );
        }
        assert_eq!(r.len(), 2);
        assert_eq!(r.get(0).state, &[2.0]);
        assert_eq!(r.get(1).state, &[1.0]);
        assert_eq!(r.get(0).next_state, &[2.5]);
        r.push(&[9.0], &[0], None, 0.0, 3, true, &[0.0]);
        assert_eq!(r.get(1).click, None);
        assert_eq!(r.get(1).steps, 3);
        assert!(r.get(1).done);
    }
}
