//! Vector environments: `B` independent environments stepped in lockstep, with one batch
//! of observations, transitions and end flags, on the calling thread or across cores.
//!
//! **Autoreset** ([`Autoreset`]): by default gymnasium's *same-step* convention. When a
//! slot's episode ends, the slot starts its next episode within the same step: the
//! transition reports the step that ended the episode (its reward, `terminated`,
//! `truncated`), and the slot's batch observation is already the first one of the next
//! episode. The last observation of the ended episode is not kept. With
//! [`Autoreset::NextStep`] (gymnasium's default, which RLlib's env runners assume) the
//! batch keeps the ended episode's last observation, and the slot's next step resets it
//! instead of stepping: that step's slate is ignored, and its transition is empty (reward
//! 0, neither end, no click).
//!
//! **Seeds**: [`VectorEnv::reset`] seeds slot `i` with [`slot_seed`]`(seed, i)`; after that
//! each slot runs on its own streams, and autoresets continue them. A run is reproducible
//! bit for bit for a given seed and `B`, whatever the execution (sequential or any number
//! of threads), because no slot ever reads another's state; a different `B` gives
//! different (equally valid) figures.
//!
//! **Fragments**: [`VectorEnv::rollout`] runs several steps per call, each slot its steps
//! in a row, as RLlib's rollout workers collect fragments. A slot's trajectory is the same
//! as with one [`VectorEnv::step_with`] per step, but the threads meet once per fragment
//! instead of once per step, and a slot's state stays in the core's cache for its steps.

use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};

use thiserror::Error;

use crate::{EnvError, Layout, SlateEnv, Transition};

/// What went wrong in a vector environment call.
#[derive(Debug, Error)]
pub enum VectorError {
    /// No environments were given.
    #[error("a vector environment needs at least one environment")]
    Empty,
    /// The environments do not share one layout.
    #[error("environment {slot} has the layout {found:?}, environment 0 {expected:?}")]
    MixedLayouts {
        /// The first slot that differs.
        slot: usize,
        /// Slot 0's layout.
        expected: Layout,
        /// The differing slot's.
        found: Layout,
    },
    /// A batch of slates of the wrong length.
    #[error("{len} slate positions for {slots} environments with slates of {slate_size}")]
    SlatesLength {
        /// Positions given.
        len: usize,
        /// Environments.
        slots: usize,
        /// Positions per slate.
        slate_size: usize,
    },
    /// A policy count that is not the environment count.
    #[error("{policies} policies for {slots} environments")]
    PoliciesLength {
        /// Policies given.
        policies: usize,
        /// Environments.
        slots: usize,
    },
    /// `step` before `reset`, or after a failed step.
    #[error("step() called before reset(), or after a failed step")]
    NotReset,
    /// One environment's step failed.
    #[error("environment {slot}")]
    Slot {
        /// The environment.
        slot: usize,
        /// Its error.
        #[source]
        source: EnvError,
    },
    /// A flat observation buffer that is not `B` equal shares.
    #[error("a flat observation buffer of {len} values for a batch of {expected}")]
    FlatLength {
        /// Values given.
        len: usize,
        /// `B` times the flat observation's length.
        expected: usize,
    },
    /// The thread pool could not start.
    #[error("cannot start the worker threads")]
    Threads(#[source] rayon::ThreadPoolBuildError),
}

/// When a slot whose episode ended starts the next one (gymnasium's `AutoresetMode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Autoreset {
    /// Within the step that ended the episode.
    #[default]
    SameStep,
    /// At the slot's next step, which only resets it.
    NextStep,
}

/// The most environments a [`VectorEnv`] is built with, in the CLI and in Python: far
/// past what pays on any machine, and refused before anything is allocated.
pub const MAX_ENVS: usize = 65_536;

/// Where the slots of a [`VectorEnv`] are stepped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// One slot after the other on the calling thread.
    Sequential,
    /// Chunks of slots claimed by `n` threads: the calling thread and a pool of `n − 1`
    /// threads.
    Parallel(NonZeroUsize),
}

impl Execution {
    /// Parallel on up to `threads` threads, but never more threads than slots; sequential
    /// where that leaves one (a pool of one thread only adds hand-over costs).
    pub fn for_slots(threads: usize, slots: usize) -> Self {
        match NonZeroUsize::new(threads.min(slots)) {
            Some(n) if n.get() > 1 => Execution::Parallel(n),
            _ => Execution::Sequential,
        }
    }
}

/// Chooses the slates of one slot in [`VectorEnv::step_with`] and [`VectorEnv::rollout`],
/// on the thread that steps the slot.
pub trait SlotPolicy: Send {
    /// Called before the first [`SlotPolicy::act`] of each episode of the slot (after the
    /// reset and every autoreset; a [`VectorEnv::step`] with the caller's slates counts as
    /// the episode's first act).
    fn episode_started(&mut self) {}
    /// Writes a slate of candidate positions for the slot's current observation.
    fn act(&mut self, env: &dyn SlateEnv, slate: &mut [usize]);
}

/// Receives each slot's transition in [`VectorEnv::step_flat_to`], on the thread that
/// steps the slot: a caller's per-slot arrays are then filled in parallel, from the core
/// whose cache holds the transition, instead of in a second pass on the calling thread.
pub trait TransitionSink: Send + Sized {
    /// The sinks of this sink's slots `..mid` and `mid..` (`mid` counted from its first).
    fn split_at(self, mid: usize) -> (Self, Self);
    /// Takes the transition of this sink's slot `slot` (counted from its first).
    fn write(&mut self, slot: usize, transition: &Transition);
}

/// No sink: the transitions stay in [`VectorEnv::transitions`] only.
impl TransitionSink for () {
    fn split_at(self, _mid: usize) -> (Self, Self) {
        ((), ())
    }
    fn write(&mut self, _slot: usize, _transition: &Transition) {}
}

/// The policy of [`VectorEnv::step`]: the caller has written the slates already.
#[derive(Clone, Copy)]
struct Given;

impl SlotPolicy for Given {
    fn act(&mut self, _env: &dyn SlateEnv, _slate: &mut [usize]) {}
}

/// The seed of slot `slot` under the vector seed `seed`. Slot 0 keeps `seed`, so a vector
/// of one environment is the plain environment; the others get a SplitMix64 mix of both,
/// so that nearby seeds do not share slots (as `seed + slot` would: seed 1's slot 0 would
/// be seed 0's slot 1).
pub fn slot_seed(seed: u64, slot: usize) -> u64 {
    if slot == 0 {
        seed
    } else {
        splitmix64(seed ^ splitmix64(slot as u64))
    }
}

/// The output function of SplitMix64 (Steele, Lea and Flood 2014): a bijection of `u64`
/// that scatters nearby inputs.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `B` environments of one layout stepped in lockstep.
///
/// The batch buffers hold slot `i`'s part at `i × size`: [`VectorEnv::users`] `B × user_dim`,
/// [`VectorEnv::items`] `B × N × doc_dim`, [`VectorEnv::slates`] `B × K`. They are
/// allocated once (the transitions grow to the longest fragment asked for); the
/// sequential execution then steps without allocating.
pub struct VectorEnv {
    envs: Vec<Box<dyn SlateEnv>>,
    layout: Layout,
    pool: Option<rayon::ThreadPool>,
    started: bool,
    users: Vec<f32>,
    items: Vec<f32>,
    slates: Vec<usize>,
    /// The last call's transitions, slot-major: slot `i`'s at `i·steps..(i+1)·steps`.
    transitions: Vec<Transition>,
    /// Steps per slot of the last call.
    steps: usize,
    /// Slots whose episode has started since their policy last acted.
    fresh: Vec<bool>,
    autoreset: Autoreset,
    /// The length of one slot's flat observation.
    flat_dim: usize,
    /// Slots whose episode ended and that reset at their next step ([`Autoreset::NextStep`]).
    ended: Vec<bool>,
}

impl std::fmt::Debug for VectorEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorEnv")
            .field("num_envs", &self.envs.len())
            .field("layout", &self.layout)
            .field("threads", &self.threads())
            .finish_non_exhaustive()
    }
}

impl VectorEnv {
    /// Takes environments of one layout; the first [`VectorEnv::reset`] seeds them.
    pub fn new(envs: Vec<Box<dyn SlateEnv>>, execution: Execution) -> Result<Self, VectorError> {
        let layout = envs.first().ok_or(VectorError::Empty)?.layout();
        if let Some((slot, found)) = envs
            .iter()
            .map(|e| e.layout())
            .enumerate()
            .find(|(_, l)| *l != layout)
        {
            return Err(VectorError::MixedLayouts {
                slot,
                expected: layout,
                found,
            });
        }
        let pool = match execution {
            Execution::Parallel(threads) if threads.get() > 1 => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads.get() - 1)
                    .thread_name(|i| format!("rlrec-vector-{i}"))
                    .build()
                    .map_err(VectorError::Threads)?,
            ),
            _ => None,
        };
        let b = envs.len();
        Ok(Self {
            users: vec![0.0; b * layout.user_dim],
            items: vec![0.0; b * layout.num_candidates * layout.doc_dim],
            slates: vec![0; b * layout.slate_size],
            transitions: vec![Transition::default(); b],
            steps: 1,
            fresh: vec![true; b],
            autoreset: Autoreset::SameStep,
            flat_dim: crate::flat::env_flat_dim(envs[0].as_ref()),
            ended: vec![false; b],
            envs,
            layout,
            pool,
            started: false,
        })
    }

    /// Sets when slots whose episode ended start the next one.
    pub fn with_autoreset(mut self, autoreset: Autoreset) -> Self {
        self.autoreset = autoreset;
        self
    }

    /// When slots whose episode ended start the next one.
    pub fn autoreset(&self) -> Autoreset {
        self.autoreset
    }

    /// The length of one slot's flat observation ([`VectorEnv::step_flat`]).
    pub fn flat_dim(&self) -> usize {
        self.flat_dim
    }

    /// The number of environments (`B`).
    pub fn num_envs(&self) -> usize {
        self.envs.len()
    }

    /// The layout every slot shares.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Threads that step the slots (1 for the sequential execution).
    pub fn threads(&self) -> usize {
        self.pool
            .as_ref()
            .map_or(1, |pool| pool.current_num_threads() + 1)
    }

    /// Slot `slot`'s environment, for agents that read one observation at a time.
    pub fn env(&self, slot: usize) -> Option<&dyn SlateEnv> {
        self.envs.get(slot).map(AsRef::as_ref)
    }

    /// `B × user_dim` user features.
    pub fn users(&self) -> &[f32] {
        &self.users
    }

    /// `B × N × doc_dim` candidate features.
    pub fn items(&self) -> &[f32] {
        &self.items
    }

    /// `B × K` slate positions shown at the last step of the last call.
    pub fn slates(&self) -> &[usize] {
        &self.slates
    }

    /// The transitions of the last call: one per slot after [`VectorEnv::step`] and
    /// [`VectorEnv::step_with`]; after [`VectorEnv::rollout`] of `steps` steps, slot `i`'s
    /// in order at `i·steps..(i+1)·steps`.
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// Steps per slot of the last call (1 after a reset).
    pub fn fragment_steps(&self) -> usize {
        self.steps
    }

    /// Starts an episode in every slot, slot `i` seeded with [`slot_seed`]`(seed, i)`.
    pub fn reset(&mut self, seed: u64) {
        self.reset_slots(Some(seed));
    }

    /// Starts an episode in every slot, each continuing its own random streams (gym's
    /// `reset()` without a seed). Before the first seeded [`VectorEnv::reset`], every slot
    /// runs on the streams it was built with.
    pub fn reset_unseeded(&mut self) {
        self.reset_slots(None);
    }

    fn reset_slots(&mut self, seed: Option<u64>) {
        let (ud, id) = (
            self.layout.user_dim,
            self.layout.num_candidates * self.layout.doc_dim,
        );
        for (i, env) in self.envs.iter_mut().enumerate() {
            env.reset(seed.map(|seed| slot_seed(seed, i)));
            observe(
                env.as_ref(),
                &mut self.users[i * ud..(i + 1) * ud],
                &mut self.items[i * id..(i + 1) * id],
            );
        }
        self.after_reset();
    }

    fn after_reset(&mut self) {
        self.transitions.truncate(self.envs.len());
        self.transitions.fill(Transition::default());
        self.steps = 1;
        self.fresh.fill(true);
        self.ended.fill(false);
        self.started = true;
    }

    /// Shows every slot `i` the slate `slates[i·K..(i+1)·K]`. Every position is checked
    /// first: on error nothing has changed.
    pub fn step(&mut self, slates: &[usize]) -> Result<(), VectorError> {
        self.check_slates(slates)?;
        self.slates.copy_from_slice(slates);
        // A vector of a zero-sized type never allocates.
        self.run(&mut vec![Given; self.envs.len()], 1, &mut [], ())
    }

    /// [`VectorEnv::step`], writing each slot's flat observation ([`SlateEnv::write_flat`])
    /// into `flat` (slot `i`'s at `i·D..(i+1)·D`, `D` = [`VectorEnv::flat_dim`]) instead of
    /// [`VectorEnv::users`] and [`VectorEnv::items`], which are left as they were: one
    /// copy of the batch instead of two, straight into the caller's array.
    pub fn step_flat(&mut self, slates: &[usize], flat: &mut [f32]) -> Result<(), VectorError> {
        self.step_flat_to(slates, flat, ())
    }

    /// [`VectorEnv::step_flat`], handing each slot's transition to `sink` as well, on the
    /// thread that steps the slot.
    pub fn step_flat_to<S: TransitionSink>(
        &mut self,
        slates: &[usize],
        flat: &mut [f32],
        sink: S,
    ) -> Result<(), VectorError> {
        self.check_slates(slates)?;
        if flat.len() != self.envs.len() * self.flat_dim {
            return Err(VectorError::FlatLength {
                len: flat.len(),
                expected: self.envs.len() * self.flat_dim,
            });
        }
        self.slates.copy_from_slice(slates);
        self.run(&mut vec![Given; self.envs.len()], 1, flat, sink)
    }

    fn check_slates(&self, slates: &[usize]) -> Result<(), VectorError> {
        let (b, k, n) = (
            self.envs.len(),
            self.layout.slate_size,
            self.layout.num_candidates,
        );
        if slates.len() != b * k {
            return Err(VectorError::SlatesLength {
                len: slates.len(),
                slots: b,
                slate_size: k,
            });
        }
        if !self.started {
            return Err(VectorError::NotReset);
        }
        if let Some(at) = slates.iter().position(|&p| p >= n) {
            return Err(VectorError::Slot {
                slot: at / k,
                source: recsim_core::StepError::PositionOutOfRange {
                    position: slates[at],
                    num_candidates: n,
                }
                .into(),
            });
        }
        Ok(())
    }

    /// Lets each slot's policy choose its slate (on the thread that steps the slot), then
    /// steps every slot. `policies[i]` serves slot `i`.
    ///
    /// A policy that writes an invalid slate is a bug in the policy: its slot refuses the
    /// slate and is unchanged, but other slots may have stepped, so the error leaves the
    /// batch needing a [`VectorEnv::reset`].
    pub fn step_with<P: SlotPolicy>(&mut self, policies: &mut [P]) -> Result<(), VectorError> {
        self.rollout(policies, 1)
    }

    /// [`VectorEnv::step_with`] `steps` times, each slot its steps in a row; every
    /// transition is kept ([`VectorEnv::transitions`]), the observations and slates are the
    /// last step's. Errors as [`VectorEnv::step_with`].
    pub fn rollout<P: SlotPolicy>(
        &mut self,
        policies: &mut [P],
        steps: usize,
    ) -> Result<(), VectorError> {
        self.run(policies, steps, &mut [], ())
    }

    /// Runs `steps` steps of every slot; writes the observations into `flat` where it is
    /// not empty, else into the batch buffers; hands `sink` each slot's last transition.
    fn run<P: SlotPolicy, S: TransitionSink>(
        &mut self,
        policies: &mut [P],
        steps: usize,
        flat: &mut [f32],
        sink: S,
    ) -> Result<(), VectorError> {
        if !self.started {
            return Err(VectorError::NotReset);
        }
        if policies.len() != self.envs.len() {
            return Err(VectorError::PoliciesLength {
                policies: policies.len(),
                slots: self.envs.len(),
            });
        }
        self.transitions
            .resize(self.envs.len() * steps, Transition::default());
        self.steps = steps;
        let dims = Dims {
            user: self.layout.user_dim,
            items: self.layout.num_candidates * self.layout.doc_dim,
            slate: self.layout.slate_size,
            steps,
            flat: flat.len() / self.envs.len(),
            autoreset: self.autoreset,
        };
        let part = Part {
            first: 0,
            envs: &mut self.envs,
            policies,
            users: &mut self.users,
            items: &mut self.items,
            slates: &mut self.slates,
            transitions: &mut self.transitions,
            fresh: &mut self.fresh,
            ended: &mut self.ended,
            flat,
            sink,
        };
        let result = match &self.pool {
            None => part.run(dims),
            Some(pool) => part.run_parallel(pool, dims),
        };
        if result.is_err() {
            self.started = false;
        }
        result
    }
}

/// Copies a slot's observation into its part of the batch.
fn observe(env: &dyn SlateEnv, user: &mut [f32], items: &mut [f32]) {
    user.copy_from_slice(env.user());
    items.copy_from_slice(env.items());
}

/// Per-slot lengths of the batch buffers, and the steps of the call.
#[derive(Clone, Copy)]
struct Dims {
    user: usize,
    items: usize,
    slate: usize,
    steps: usize,
    /// The flat observation's length, where the call writes flat observations; else 0.
    flat: usize,
    autoreset: Autoreset,
}

/// A contiguous range of slots with their policies, their parts of the batch buffers and
/// their sink.
struct Part<'a, P, S> {
    /// Index of the first slot, for errors.
    first: usize,
    envs: &'a mut [Box<dyn SlateEnv>],
    policies: &'a mut [P],
    users: &'a mut [f32],
    items: &'a mut [f32],
    slates: &'a mut [usize],
    transitions: &'a mut [Transition],
    fresh: &'a mut [bool],
    ended: &'a mut [bool],
    flat: &'a mut [f32],
    sink: S,
}

impl<P: SlotPolicy, S: TransitionSink> Part<'_, P, S> {
    /// Runs every slot of the part for its steps, stopping at the first error.
    fn run(mut self, d: Dims) -> Result<(), VectorError> {
        for (i, env) in self.envs.iter_mut().enumerate() {
            let policy = &mut self.policies[i];
            let slate = &mut self.slates[i * d.slate..(i + 1) * d.slate];
            // A local for the slot's steps: neighbouring slots' flags share a cache line,
            // which two threads would otherwise pass back and forth at every step.
            let (mut fresh, mut ended) = (self.fresh[i], self.ended[i]);
            for t in &mut self.transitions[i * d.steps..(i + 1) * d.steps] {
                if std::mem::take(&mut ended) {
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
                        Autoreset::NextStep => ended = true,
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
    fn run_parallel(self, pool: &rayon::ThreadPool, d: Dims) -> Result<(), VectorError> {
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
