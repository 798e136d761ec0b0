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
//! 0, neither end, no click). With [`Autoreset::Disabled`] (gymnasium's `DISABLED`) an
//! ended slot keeps its last observation until the caller resets it
//! ([`VectorEnv::reset_ended`]), after learning from it: stepping it before is an error.
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

use part::{observe, Dims, Part};
pub use slot::{Autoreset, SlotPolicy, TransitionSink, VectorError};

use crate::{Layout, SlateEnv, Transition};

mod part;
mod slot;

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
                expected: Box::new(layout),
                found: Box::new(found),
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

    /// Every slot's environment, in order: what an agent that acts on all of them at once
    /// reads, and what a checkpoint saves.
    pub fn envs(&self) -> &[Box<dyn SlateEnv>] {
        &self.envs
    }

    /// Starts the next episode of every slot whose episode ended (each continuing its own
    /// streams), under [`Autoreset::Disabled`]; the others are left as they are.
    pub fn reset_ended(&mut self) {
        for i in 0..self.envs.len() {
            if std::mem::take(&mut self.ended[i]) {
                self.envs[i].reset(None);
                self.observe_slot(i);
                self.fresh[i] = true;
            }
        }
    }

    /// Restores every slot's environment to a saved state ([`crate::Simulator::save_state`], one
    /// per slot, each of an episode under way), as if it had been reset and stepped there.
    pub fn load_states(&mut self, states: &[crate::EnvState]) -> Result<(), VectorError> {
        if states.len() != self.envs.len() {
            return Err(VectorError::StatesLength {
                states: states.len(),
                slots: self.envs.len(),
            });
        }
        // Until every slot is restored, the batch is not one to step.
        self.started = false;
        for (i, state) in states.iter().enumerate() {
            self.envs[i]
                .load_state(state)
                .map_err(|source| VectorError::Slot { slot: i, source })?;
            self.observe_slot(i);
        }
        self.after_reset();
        self.fresh.fill(false);
        Ok(())
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
        for i in 0..self.envs.len() {
            self.envs[i].reset(seed.map(|seed| slot_seed(seed, i)));
            self.observe_slot(i);
        }
        self.after_reset();
    }

    /// Copies slot `i`'s current observation into its part of the batch.
    fn observe_slot(&mut self, i: usize) {
        let (ud, id) = (
            self.layout.user_dim,
            self.layout.num_candidates * self.layout.doc_dim,
        );
        observe(
            self.envs[i].as_ref(),
            &mut self.users[i * ud..(i + 1) * ud],
            &mut self.items[i * id..(i + 1) * id],
        );
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
