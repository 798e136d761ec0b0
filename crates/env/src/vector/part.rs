//! The stepping of a [`super::VectorEnv`]: a contiguous range of slots with their parts of
//! the batch buffers ([`Part`]), run on the calling thread or on it and a pool's threads.

use std::sync::{Mutex, PoisonError};

use super::slot::{Autoreset, SlotPolicy, TransitionSink, VectorError};
use crate::{SlateEnv, Transition};

/// Copies a slot's observation into its part of the batch.
pub(super) fn observe(env: &dyn SlateEnv, user: &mut [f32], items: &mut [f32]) {
    user.copy_from_slice(env.user());
    items.copy_from_slice(env.items());
}

/// Per-slot lengths of the batch buffers, and the steps of the call.
#[derive(Clone, Copy)]
pub(super) struct Dims {
    pub(super) user: usize,
    pub(super) items: usize,
    pub(super) slate: usize,
    pub(super) steps: usize,
    /// The flat observation's length, where the call writes flat observations; else 0.
    pub(super) flat: usize,
    pub(super) autoreset: Autoreset,
}

/// A contiguous range of slots with their policies, their parts of the batch buffers and
/// their sink.
pub(super) struct Part<'a, P, S> {
    /// Index of the first slot, for errors.
    pub(super) first: usize,
    pub(super) envs: &'a mut [Box<dyn SlateEnv>],
    pub(super) policies: &'a mut [P],
    pub(super) users: &'a mut [f32],
    pub(super) items: &'a mut [f32],
    pub(super) slates: &'a mut [usize],
    pub(super) transitions: &'a mut [Transition],
    pub(super) fresh: &'a mut [bool],
    pub(super) ended: &'a mut [bool],
    pub(super) flat: &'a mut [f32],
    pub(super) sink: S,
}

impl<P: SlotPolicy, S: TransitionSink> Part<'_, P, S> {
    /// Runs every slot of the part for its steps, stopping at the first error.
    pub(super) fn run(mut self, d: Dims) -> Result<(), VectorError> {
        for (i, env) in self.envs.iter_mut().enumerate() {
            let policy = &mut self.policies[i];
            let slate = &mut self.slates[i * d.slate..(i + 1) * d.slate];
            // A local for the slot's steps: neighbouring slots' flags share a cache line,
            // which two threads would otherwise pass back and forth at every step.
            let (mut fresh, mut ended) = (self.fresh[i], self.ended[i]);
            for t in &mut self.transitions[i * d.steps..(i + 1) * d.steps] {
                if std::mem::take(&mut ended) {
                    if d.autoreset == Autoreset::Disabled {
                        return Err(VectorError::Ended(self.first + i));
                    }
                    env.reset(None);
                    *t = Transition::default();
                    fresh = true;
                    continue;
                }
                if std::mem::take(&mut fresh) {
                    policy.episode_started();
                }
                policy.act(env.as_ref(), slate);
                *t = env.step(slate).map_err(|source| VectorError::Slot {
                    slot: self.first + i,
                    source,
                })?;
                if t.done() {
                    match d.autoreset {
                        Autoreset::SameStep => {
                            env.reset(None);
                            fresh = true;
                        }
                        Autoreset::NextStep | Autoreset::Disabled => ended = true,
                    }
                }
            }
            (self.fresh[i], self.ended[i]) = (fresh, ended);
            if let Some(last) = self.transitions[i * d.steps..(i + 1) * d.steps].last() {
                self.sink.write(i, last);
            }
            if d.flat > 0 {
                env.write_flat(&mut self.flat[i * d.flat..(i + 1) * d.flat]);
            } else {
                observe(
                    env.as_ref(),
                    &mut self.users[i * d.user..(i + 1) * d.user],
                    &mut self.items[i * d.items..(i + 1) * d.items],
                );
            }
        }
        Ok(())
    }

    /// Runs the part on the calling thread and the pool's, which claim chunks of slots
    /// until none is left: the caller from the front, the pool from the back. A thread
    /// that starts late (a pool thread waking up) or runs slowly (a core shared with
    /// another process) then leaves its share to the others instead of holding up the
    /// step, and the claims meet near the middle, so most slots stay on the core that
    /// stepped them last. Which thread steps a slot never changes its figures. The error
    /// of the lowest slot wins, as in [`Part::run`] over the whole part.
    pub(super) fn run_parallel(self, pool: &rayon::ThreadPool, d: Dims) -> Result<(), VectorError> {
        let helpers = pool.current_num_threads();
        let grain = self
            .envs
            .len()
            .div_ceil((helpers + 1) * CHUNKS_PER_THREAD)
            .max(1);
        let queue = Mutex::new(Some(self));
        let error = Mutex::new(None);
        pool.in_place_scope(|scope| {
            for _ in 0..helpers {
                scope.spawn(|_| drain(&queue, End::Back, grain, d, &error));
            }
            drain(&queue, End::Front, grain, d, &error);
        });
        error
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .map_or(Ok(()), |(_, e)| Err(e))
    }

    fn split_at(self, mid: usize, d: Dims) -> (Self, Self) {
        let (envs_a, envs_b) = self.envs.split_at_mut(mid);
        let (policies_a, policies_b) = self.policies.split_at_mut(mid);
        let (users_a, users_b) = self.users.split_at_mut(mid * d.user);
        let (items_a, items_b) = self.items.split_at_mut(mid * d.items);
        let (slates_a, slates_b) = self.slates.split_at_mut(mid * d.slate);
        let (transitions_a, transitions_b) = self.transitions.split_at_mut(mid * d.steps);
        let (fresh_a, fresh_b) = self.fresh.split_at_mut(mid);
        let (ended_a, ended_b) = self.ended.split_at_mut(mid);
        let (flat_a, flat_b) = self.flat.split_at_mut(mid * d.flat);
        let (sink_a, sink_b) = self.sink.split_at(mid);
        (
            Part {
                first: self.first,
                envs: envs_a,
                policies: policies_a,
                users: users_a,
                items: items_a,
                slates: slates_a,
                transitions: transitions_a,
                fresh: fresh_a,
                ended: ended_a,
                flat: flat_a,
                sink: sink_a,
            },
            Part {
                first: self.first + mid,
                envs: envs_b,
                policies: policies_b,
                users: users_b,
                items: items_b,
                slates: slates_b,
                transitions: transitions_b,
                fresh: fresh_b,
                ended: ended_b,
                flat: flat_b,
                sink: sink_b,
            },
        )
    }
}

/// Chunks per thread in [`Part::run_parallel`]: enough that a thread left without work
/// waits for at most one short chunk, few enough that claiming costs nothing.
const CHUNKS_PER_THREAD: usize = 8;

/// The end of the remaining slots a thread claims its chunks from.
#[derive(Clone, Copy)]
enum End {
    Front,
    Back,
}

/// Claims chunks of `grain` slots from `end` of the remaining part and runs them until
/// none is left; keeps the error of the lowest slot.
fn drain<P: SlotPolicy, S: TransitionSink>(
    queue: &Mutex<Option<Part<'_, P, S>>>,
    end: End,
    grain: usize,
    d: Dims,
    error: &Mutex<Option<(usize, VectorError)>>,
) {
    loop {
        let chunk = {
            let mut rest = queue.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(part) = rest.take() else { return };
            let len = part.envs.len();
            if len <= grain {
                part
            } else {
                let (front, back) = part.split_at(
                    match end {
                        End::Front => grain,
                        End::Back => len - grain,
                    },
                    d,
                );
                let (chunk, left) = match end {
                    End::Front => (front, back),
                    End::Back => (back, front),
                };
                *rest = Some(left);
                chunk
            }
        };
        // Chunks are disjoint ranges and each stops at its first error, so the chunk
        // that starts lowest holds the lowest slot's error.
        let first = chunk.first;
        if let Err(e) = chunk.run(d) {
            let mut kept = error.lock().unwrap_or_else(PoisonError::into_inner);
            if kept.as_ref().is_none_or(|(at, _)| first < *at) {
                *kept = Some((first, e));
            }
        }
    }
}
