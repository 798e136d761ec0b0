//! A fixed-capacity replay buffer of slate transitions, stored flat, each distinct set of
//! candidates once.

use rand::Rng;
use serde::{Deserialize, Serialize};

use recsim_core::SimRng;

/// Transitions `(s, slate, click, R, m, done, s')`: `R` is the discounted sum of the `m`
/// rewards from `s` on (an `m`-step return, `m` ≥ 1) and `s'` the state `m` steps later; a
/// state is the user features followed by the candidates' features.
///
/// The candidates' features are most of a state and repeat: a transition's next state
/// shows the candidates of the next transition, and a fixed catalogue (SARDINE's 1,000
/// items) is the same every step. So the user features are stored per transition and the
/// candidates' features in a pool of blocks, each distinct block once while some
/// transition refers to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replay {
    capacity: usize,
    user_len: usize,
    block_len: usize,
    slate_len: usize,
    len: usize,
    next: usize,
    users: Vec<f32>,
    next_users: Vec<f32>,
    /// Each transition's state's and next state's candidate block.
    blocks: Vec<u32>,
    next_blocks: Vec<u32>,
    pool: Pool,
    slates: Vec<u16>,
    /// Clicked slate position, or −1 for no click.
    clicks: Vec<i16>,
    rewards: Vec<f32>,
    /// Rewards summed in each return.
    steps: Vec<u8>,
    dones: Vec<bool>,
}

/// Candidate blocks with their reference counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pool {
    data: Vec<f32>,
    refs: Vec<u32>,
    /// Blocks no transition refers to, to be written over.
    free: Vec<u32>,
    /// The blocks stored last, newest last: a new block is looked for among these.
    recent: Vec<u32>,
}

/// How many recent blocks a new one is compared with: enough for a few environments'
/// steps interleaved.
const RECENT: usize = 16;

impl Pool {
    fn block(&self, id: u32, len: usize) -> &[f32] {
        let i = id as usize;
        &self.data[i * len..(i + 1) * len]
    }

    /// The id of a block equal to `block` (bit for bit), stored anew if none is.
    fn intern(&mut self, block: &[f32]) -> u32 {
        let len = block.len();
        let same = |a: &[f32]| a.iter().zip(block).all(|(x, y)| x.to_bits() == y.to_bits());
        if let Some(&id) = self
            .recent
            .iter()
            .rev()
            .find(|&&id| same(self.block(id, len)))
        {
            self.refs[id as usize] += 1;
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                let i = id as usize;
                self.data[i * len..(i + 1) * len].copy_from_slice(block);
                id
            }
            None => {
                self.data.extend_from_slice(block);
                self.refs.push(0);
                (self.refs.len() - 1) as u32
            }
        };
        self.refs[id as usize] = 1;
        if self.recent.len() == RECENT {
            self.recent.remove(0);
        }
        self.recent.push(id);
        id
    }

    fn release(&mut self, id: u32) {
        let r = &mut self.refs[id as usize];
        *r -= 1;
        if *r == 0 {
            self.free.push(id);
            self.recent.retain(|&x| x != id);
        }
    }
}

/// One transition, borrowed.
pub struct Sample<'a> {
    pub user: &'a [f32],
    pub items: &'a [f32],
    pub next_user: &'a [f32],
    pub next_items: &'a [f32],
    pub slate: &'a [u16],
    pub click: Option<usize>,
    pub reward: f32,
    /// Rewards summed in `reward`; `next_state` is this many steps later.
    pub steps: u8,
    pub done: bool,
}

impl Sample<'_> {
    /// The state as one flat vector, user features first, appended to `out`.
    pub fn push_state(&self, out: &mut Vec<f32>) {
        out.extend_from_slice(self.user);
        out.extend_from_slice(self.items);
    }

    /// The next state likewise.
    pub fn push_next_state(&self, out: &mut Vec<f32>) {
        out.extend_from_slice(self.next_user);
        out.extend_from_slice(self.next_items);
    }
}

impl Replay {
    /// A buffer of `capacity` transitions whose states hold `user_len` user features, then
    /// `block_len` candidate features.
    pub fn new(capacity: usize, user_len: usize, block_len: usize, slate_len: usize) -> Self {
        Self {
            capacity,
            user_len,
            block_len,
            slate_len,
            len: 0,
            next: 0,
            users: Vec::new(),
            next_users: Vec::new(),
            blocks: Vec::new(),
            next_blocks: Vec::new(),
            pool: Pool {
                data: Vec::new(),
                refs: Vec::new(),
                free: Vec::new(),
                recent: Vec::new(),
            },
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
        (
            self.capacity,
            self.user_len + self.block_len,
            self.slate_len,
        )
    }

    /// Distinct candidate blocks held.
    #[cfg(test)]
    pub fn blocks_held(&self) -> usize {
        self.pool.refs.len() - self.pool.free.len()
    }

    /// Whether the stored arrays agree with the counts, every block reference with the
    /// pool's counts, and every slate position is below `num_candidates` (a decoded buffer
    /// may not).
    pub fn is_consistent(&self, num_candidates: usize) -> bool {
        let n = self.len;
        let pool = &self.pool;
        let blocks = pool.refs.len();
        let mut refs = vec![0u32; blocks];
        let counted = self.blocks.iter().chain(&self.next_blocks).all(|&id| {
            match refs.get_mut(id as usize) {
                Some(r) => {
                    *r += 1;
                    true
                }
                None => false,
            }
        });
        n <= self.capacity
            && (self.next < self.capacity.max(1))
            && self.users.len() == n * self.user_len
            && self.next_users.len() == n * self.user_len
            && self.blocks.len() == n
            && self.next_blocks.len() == n
            && counted
            && refs == pool.refs
            && pool.data.len() == blocks * self.block_len
            && pool
                .free
                .iter()
                .all(|&id| refs.get(id as usize) == Some(&0))
            && refs.iter().filter(|&&r| r == 0).count() == pool.free.len()
            && pool
                .recent
                .iter()
                .all(|&id| refs.get(id as usize) > Some(&0))
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
        debug_assert_eq!(state.len(), self.user_len + self.block_len);
        let u = self.user_len;
        let (user, items) = state.split_at(u);
        let (next_user, next_items) = next_state.split_at(u);
        let i = self.next;
        if self.len == self.capacity {
            // Full: the oldest goes, and with it its hold on its blocks.
            self.pool.release(self.blocks[i]);
            self.pool.release(self.next_blocks[i]);
        }
        let block = self.pool.intern(items);
        let next_block = self.pool.intern(next_items);
        if self.len < self.capacity {
            // Grow until full, then overwrite the oldest.
            self.users.extend_from_slice(user);
            self.next_users.extend_from_slice(next_user);
            self.blocks.push(block);
            self.next_blocks.push(next_block);
            self.slates.extend(slate.iter().map(|&p| p as u16));
            self.clicks.push(click.map_or(-1, |p| p as i16));
            self.rewards.push(reward as f32);
            self.steps.push(steps);
            self.dones.push(done);
            self.len += 1;
        } else {
            let k = self.slate_len;
            self.users[i * u..(i + 1) * u].copy_from_slice(user);
            self.next_users[i * u..(i + 1) * u].copy_from_slice(next_user);
            self.blocks[i] = block;
            self.next_blocks[i] = next_block;
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
        let (u, b, k) = (self.user_len, self.block_len, self.slate_len);
        Sample {
            user: &self.users[i * u..(i + 1) * u],
            items: self.pool.block(self.blocks[i], b),
            next_user: &self.next_users[i * u..(i + 1) * u],
            next_items: self.pool.block(self.next_blocks[i], b),
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

    fn state(sample: &Sample) -> Vec<f32> {
        let mut out = Vec::new();
        sample.push_state(&mut out);
        out
    }

    #[test]
    fn overwrites_the_oldest_when_full() {
        let mut r = Replay::new(2, 1, 1, 1);
        for t in 0..3 {
            r.push(
                &[t as f32, 10.0 + t as f32],
                &[t],
                Some(0),
                t as f64,
                1,
                false,
                &[t as f32 + 0.5, 11.0 + t as f32],
            );
        }
        assert_eq!(r.len(), 2);
        assert_eq!(state(&r.get(0)), [2.0, 12.0]);
        assert_eq!(state(&r.get(1)), [1.0, 11.0]);
        assert_eq!(
            (r.get(0).next_user, r.get(0).next_items),
            (&[2.5][..], &[13.0][..])
        );
        r.push(&[9.0, 0.0], &[0], None, 0.0, 3, true, &[0.0, 0.0]);
        assert_eq!(r.get(1).click, None);
        assert_eq!(r.get(1).steps, 3);
        assert!(r.get(1).done);
        assert!(r.is_consistent(3));
    }

    /// One environment's steps: a transition's next candidates are the next transition's
    /// candidates, held once; a fixed catalogue is held once in all. Blocks no transition
    /// refers to any more are written over, not added.
    #[test]
    fn each_distinct_candidate_block_is_held_once() {
        let catalogue = [0.25f32, 0.5, 0.75];
        let mut fixed = Replay::new(4, 1, 3, 1);
        let mut resampled = Replay::new(4, 1, 3, 1);
        for t in 0..10 {
            let with = |user: f32, items: [f32; 3]| [user, items[0], items[1], items[2]];
            fixed.push(
                &with(t as f32, catalogue),
                &[0],
                None,
                0.0,
                1,
                false,
                &with(t as f32 + 1.0, catalogue),
            );
            let docs = |t: usize| [t as f32, 1.0, 2.0];
            resampled.push(
                &with(0.0, docs(t)),
                &[1],
                Some(0),
                1.0,
                1,
                false,
                &with(0.0, docs(t + 1)),
            );
            assert_eq!(fixed.blocks_held(), 1);
            // Steps t−3..=t+1 of the last four transitions.
            assert_eq!(resampled.blocks_held(), (t + 2).min(5));
            assert!(fixed.is_consistent(1) && resampled.is_consistent(2));
        }
        let s = resampled.get(9 % 4);
        assert_eq!(
            (s.items, s.next_items),
            (&[9.0, 1.0, 2.0][..], &[10.0, 1.0, 2.0][..])
        );
        assert_eq!(
            resampled.pool.data.len(),
            5 * 3,
            "freed blocks are written over"
        );
        // A damaged reference count is found.
        let mut bad = fixed.clone();
        bad.pool.refs[0] += 1;
        assert!(!bad.is_consistent(1));
    }
}
