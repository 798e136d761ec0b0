//! What a slot of a [`super::VectorEnv`] is driven by and reports: the autoreset mode,
//! the slot policy, the transition sink, and the errors.

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
        /// Slot 0's layout (boxed: errors stay small).
        expected: Box<Layout>,
        /// The differing slot's.
        found: Box<Layout>,
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
    /// Saved states for another number of environments.
    #[error("{states} saved environment states for {slots} environments")]
    StatesLength {
        /// The states given.
        states: usize,
        /// The environments.
        slots: usize,
    },
    /// A slot whose episode ended was stepped without [`super::VectorEnv::reset_ended`]
    /// ([`Autoreset::Disabled`]).
    #[error("environment {0}'s episode has ended: reset it first (reset_ended)")]
    Ended(usize),
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
    /// When the caller says so ([`super::VectorEnv::reset_ended`]).
    Disabled,
}

/// Chooses the slates of one slot in [`super::VectorEnv::step_with`] and [`super::VectorEnv::rollout`],
/// on the thread that steps the slot.
pub trait SlotPolicy: Send {
    /// Called before the first [`SlotPolicy::act`] of each episode of the slot (after the
    /// reset and every autoreset; a [`super::VectorEnv::step`] with the caller's slates counts as
    /// the episode's first act).
    fn episode_started(&mut self) {}
    /// Writes a slate of candidate positions for the slot's current observation.
    fn act(&mut self, env: &dyn SlateEnv, slate: &mut [usize]);
}

/// Receives each slot's transition in [`super::VectorEnv::step_flat_to`], on the thread that
/// steps the slot: a caller's per-slot arrays are then filled in parallel, from the core
/// whose cache holds the transition, instead of in a second pass on the calling thread.
pub trait TransitionSink: Send + Sized {
    /// The sinks of this sink's slots `..mid` and `mid..` (`mid` counted from its first).
    fn split_at(self, mid: usize) -> (Self, Self);
    /// Takes the transition of this sink's slot `slot` (counted from its first).
    fn write(&mut self, slot: usize, transition: &Transition);
}

/// No sink: the transitions stay in [`super::VectorEnv::transitions`] only.
impl TransitionSink for () {
    fn split_at(self, _mid: usize) -> (Self, Self) {
        ((), ())
    }
    fn write(&mut self, _slot: usize, _transition: &Transition) {}
}
