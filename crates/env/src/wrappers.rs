//! RLlib's RecSim wrappers (spec Appendix A): `MultiDiscrete`→`Discrete` actions, the
//! bandit observation, and the user-features observation the tutorial's SlateQ needs;
//! gymnasium's time limit, for interest exploration, which never ends by itself, and its
//! time-aware observation, which shows how much of the episode is left.

use std::marker::PhantomData;
use std::num::NonZeroUsize;

use recsim_core::{Model, StepError};
use serde::{Deserialize, Serialize};

use crate::{
    Env, EnvError, EnvState, ModelSpaces, RecSimObs, Simulator, SlateObs, Space, Step, Value,
    Wrapper,
};

/// RLlib's optional wrappers, in the order they are applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Wrappers {
    /// Add the user's true state to the observation (LTS: satisfaction; interest
    /// evolution: remaining budget; interest exploration: topic affinities).
    pub user_observation: bool,
    /// Replace the observation by the `item` matrix of document features.
    pub bandit_observation: bool,
    /// `Discrete(N^K)` actions instead of `MultiDiscrete([N]*K)`.
    pub discrete_action: bool,
    /// Add the remaining fraction of the episode to the user observation (gymnasium's
    /// `TimeAwareObservation`; [`crate::EnvSpec::time_aware_steps`]). The bandit observation
    /// drops the user observation, so it refuses this and `user_observation`.
    pub time_aware: bool,
}

/// Encodes a slate as RLlib's `Discrete(N^K)` action: little-endian in base `N`
/// (`a = s_0 + s_1·N + s_2·N² + …`).
#[inline]
pub fn encode_action(slate: &[usize], n: usize) -> u64 {
    slate
        .iter()
        .rev()
        .fold(0u64, |acc, &s| acc * n as u64 + s as u64)
}

/// Decodes a `Discrete(N^K)` action into `out` (`K` positions), or refuses it.
#[inline]
pub fn decode_action(action: u64, n: usize, out: &mut [usize]) -> Result<(), StepError> {
    let size = (n as u64).checked_pow(out.len() as u32).unwrap_or(u64::MAX);
    if action >= size {
        return Err(StepError::ActionOutOfRange { action, n: size });
    }
    let mut rest = action;
    for slot in out.iter_mut() {
        *slot = (rest % n as u64) as usize;
        rest /= n as u64;
    }
    Ok(())
}

/// Turns the `MultiDiscrete([N]*K)` action space into `Discrete(N^K)`.
#[derive(Debug, Clone)]
pub struct DiscreteAction<E> {
    inner: E,
    num_candidates: usize,
    slate: Vec<usize>,
}

impl<E: Env<Act = [usize]> + Simulator> DiscreteAction<E> {
    /// Wraps `inner`, whose action space is `MultiDiscrete([N]*K)`.
    pub fn new(inner: E) -> Self {
        let num_candidates = match inner.action_space() {
            Space::MultiDiscrete(nvec) => nvec.first().copied().unwrap_or(0) as usize,
            other => panic!("DiscreteAction wraps a MultiDiscrete action space, not {other}"),
        };
        Self {
            num_candidates,
            slate: vec![0; inner.slate_size()],
            inner,
        }
    }
}

impl<E: Simulator> Wrapper for DiscreteAction<E> {
    type Inner = E;
    fn inner(&self) -> &E {
        &self.inner
    }
    fn inner_mut(&mut self) -> &mut E {
        &mut self.inner
    }
}

impl<E: Env<Act = [usize]>> Env for DiscreteAction<E> {
    type Obs = E::Obs;
    type Act = u64;

    fn observation_space(&self) -> Space {
        self.inner.observation_space()
    }

    fn action_space(&self) -> Space {
        // A size past u64 is refused when the scenario is built (`Scenario::validate`).
        Space::Discrete((self.num_candidates as u64).saturating_pow(self.slate.len() as u32))
    }

    fn reset(&mut self, seed: Option<u64>) -> &E::Obs {
        self.inner.reset(seed)
    }

    fn step(&mut self, action: &u64) -> Result<Step<'_, E::Obs>, EnvError> {
        decode_action(*action, self.num_candidates, &mut self.slate)?;
        self.inner.step(&self.slate)
    }

    fn observation(&self) -> &E::Obs {
        self.inner.observation()
    }
}

/// The bandit observation: `{'item': N × d}` document features; user and responses are
/// dropped, as RLlib's `RecSimObservationBanditWrapper` does.
#[derive(Debug, Clone)]
pub struct BanditObservation<E, M> {
    inner: E,
    obs: BanditObs<M>,
}

/// The `item` matrix, row `i` = candidate position `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct BanditObs<M> {
    /// `N × DOC_DIM` document features.
    pub item: Vec<f32>,
    model: PhantomData<M>,
}

impl<M: Model, E: Env<Obs = RecSimObs<M>>> BanditObservation<E, M> {
    /// Wraps `inner`, keeping only its document features.
    pub fn new(inner: E) -> Self {
        let obs = BanditObs {
            item: inner.observation().docs.clone(),
            model: PhantomData,
        };
        Self { inner, obs }
    }
}

impl<M: Model, E: Env<Obs = RecSimObs<M>> + Simulator> Wrapper for BanditObservation<E, M> {
    type Inner = E;
    fn inner(&self) -> &E {
        &self.inner
    }
    fn inner_mut(&mut self) -> &mut E {
        &mut self.inner
    }
    fn after_load(&mut self) {
        self.obs
            .item
            .copy_from_slice(&self.inner.observation().docs);
    }
}

impl<M: ModelSpaces, E: Env<Obs = RecSimObs<M>>> Env for BanditObservation<E, M> {
    type Obs = BanditObs<M>;
    type Act = E::Act;

    fn observation_space(&self) -> Space {
        let n = self.obs.item.len() / M::DOC_DIM;
        let (low, high) = M::item_bounds();
        Space::dict(vec![("item", Space::boxed(low, high, &[n, M::DOC_DIM]))])
    }

    fn action_space(&self) -> Space {
        self.inner.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> &BanditObs<M> {
        let inner = self.inner.reset(seed);
        self.obs.item.copy_from_slice(&inner.docs);
        &self.obs
    }

    fn step(&mut self, action: &E::Act) -> Result<Step<'_, BanditObs<M>>, EnvError> {
        let step = self.inner.step(action)?;
        self.obs.item.copy_from_slice(&step.obs.docs);
        Ok(Step {
            obs: &self.obs,
            transition: step.transition,
        })
    }

    fn observation(&self) -> &BanditObs<M> {
        &self.obs
    }
}

/// Adds the user's true state after the user observation ([`Model::user_features`]: for
/// long-term satisfaction the satisfaction, for interest evolution the remaining budget,
/// for interest exploration the topic affinities). An oracle view: RecSim hides this
/// state from agents.
#[derive(Debug, Clone)]
pub struct UserObservation<E, M: Model> {
    inner: E,
    obs: RecSimObs<M>,
}

impl<M: Model, E: Env<Obs = RecSimObs<M>> + Simulator> UserObservation<E, M> {
    /// Wraps `inner`, appending the true user features to its user observation.
    pub fn new(inner: E) -> Self {
        let mut obs = inner.observation().clone();
        obs.user.reserve(inner.user_feature_dim());
        let mut env = Self { inner, obs };
        env.observe();
        env
    }

    fn observe(&mut self) {
        let inner = self.inner.observation();
        let base = inner.user.len();
        self.obs.user.clear();
        self.obs.user.extend_from_slice(&inner.user);
        self.obs
            .user
            .resize(base + self.inner.user_feature_dim(), 0.0);
        self.inner.write_user_features(&mut self.obs.user[base..]);
        self.obs.docs.copy_from_slice(&inner.docs);
        self.obs.response.copy_from_slice(&inner.response);
    }
}

impl<M: Model, E: Env<Obs = RecSimObs<M>> + Simulator> Wrapper for UserObservation<E, M> {
    type Inner = E;
    fn inner(&self) -> &E {
        &self.inner
    }
    fn inner_mut(&mut self) -> &mut E {
        &mut self.inner
    }
    fn after_load(&mut self) {
        self.observe();
    }
}

impl<M: ModelSpaces, E: Env<Obs = RecSimObs<M>> + Simulator> Env for UserObservation<E, M> {
    type Obs = RecSimObs<M>;
    type Act = E::Act;

    fn observation_space(&self) -> Space {
        let mut space = self.inner.observation_space();
        if let Space::Dict(entries) = &mut space {
            let dim = self.obs.user.len();
            let (low, high) = M::user_bounds();
            let user = Space::boxed(low, high, &[dim]);
            for (key, sub) in entries.iter_mut() {
                if key == "user" {
                    *sub = user.clone();
                }
            }
        }
        space
    }

    fn action_space(&self) -> Space {
        self.inner.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> &RecSimObs<M> {
        self.inner.reset(seed);
        self.observe();
        &self.obs
    }

    fn step(&mut self, action: &E::Act) -> Result<Step<'_, RecSimObs<M>>, EnvError> {
        let transition = self.inner.step(action)?.transition;
        self.observe();
        Ok(Step {
            obs: &self.obs,
            transition,
        })
    }

    fn observation(&self) -> &RecSimObs<M> {
        &self.obs
    }
}

/// Gymnasium's `TimeAwareObservation`: appends the remaining fraction of the episode,
/// `(T − t) / T` after `t` of its `T` steps (1 at reset, 0 after the last step), to the
/// user observation. `T` is the length every episode has (long-term satisfaction's time
/// budget, a horizon that ends an endless world) or the horizon that cuts episodes of
/// varying length (interest evolution's): [`crate::EnvSpec::time_aware_steps`].
///
/// Without it a policy cannot tell the start of an episode from its end, where the best
/// finite-horizon policy acts differently (it spends the user's satisfaction when little
/// time is left). The step count is part of the saved state
/// ([`EnvState::elapsed_steps`], which a [`TimeLimit`] below counts the same way), so a
/// checkpoint resumes at the same point of the episode.
#[derive(Debug, Clone)]
pub struct TimeAwareObservation<E, M: Model> {
    inner: E,
    obs: RecSimObs<M>,
    episode_steps: usize,
    elapsed: usize,
}

impl<M: Model, E: Env<Obs = RecSimObs<M>> + Simulator> TimeAwareObservation<E, M> {
    /// Wraps `inner`, whose episodes last (or are cut at) `episode_steps` steps.
    pub fn new(inner: E, episode_steps: NonZeroUsize) -> Self {
        let mut obs = inner.observation().clone();
        obs.user.reserve(1);
        let mut env = Self {
            inner,
            obs,
            episode_steps: episode_steps.get(),
            elapsed: 0,
        };
        env.observe();
        env
    }

    /// The fraction of the episode still to run, as the observation shows it.
    pub fn remaining_fraction(&self) -> f32 {
        self.episode_steps.saturating_sub(self.elapsed) as f32 / self.episode_steps as f32
    }

    fn observe(&mut self) {
        let inner = self.inner.observation();
        self.obs.user.clear();
        self.obs.user.extend_from_slice(&inner.user);
        let remaining = self.remaining_fraction();
        self.obs.user.push(remaining);
        self.obs.docs.copy_from_slice(&inner.docs);
        self.obs.response.copy_from_slice(&inner.response);
    }
}

impl<M: Model, E: Env<Obs = RecSimObs<M>> + Simulator> Wrapper for TimeAwareObservation<E, M> {
    type Inner = E;
    fn inner(&self) -> &E {
        &self.inner
    }
    fn inner_mut(&mut self) -> &mut E {
        &mut self.inner
    }
    fn after_load(&mut self) {
        self.observe();
    }
    fn save_own(&self, state: &mut EnvState) {
        state.elapsed_steps = Some(self.elapsed as u64);
    }
    fn check_own(&self, state: &EnvState) -> Result<(), EnvError> {
        match state.elapsed_steps {
            None => Err(EnvError::State(
                "the saved environment does not count its steps; this time-aware one does".into(),
            )),
            Some(elapsed) if elapsed > self.episode_steps as u64 => Err(EnvError::State(format!(
                "the saved episode has run {elapsed} steps, past this time-aware \
                     observation's {}",
                self.episode_steps
            ))),
            Some(_) => Ok(()),
        }
    }
    fn load_own(&mut self, state: &EnvState) {
        self.elapsed = state.elapsed_steps.map_or(0, |e| e as usize);
    }
    fn own_time_steps(&self) -> Option<usize> {
        Some(self.episode_steps)
    }
}

impl<M: ModelSpaces, E: Env<Obs = RecSimObs<M>> + Simulator> Env for TimeAwareObservation<E, M> {
    type Obs = RecSimObs<M>;
    type Act = E::Act;

    fn observation_space(&self) -> Space {
        let mut space = self.inner.observation_space();
        if let Space::Dict(entries) = &mut space {
            let dim = self.obs.user.len();
            let (low, high) = M::user_bounds();
            let user = Space::boxed(low.min(0.0), high.max(1.0), &[dim]);
            for (key, sub) in entries.iter_mut() {
                if key == "user" {
                    *sub = user.clone();
                }
            }
        }
        space
    }

    fn action_space(&self) -> Space {
        self.inner.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> &RecSimObs<M> {
        self.inner.reset(seed);
        self.elapsed = 0;
        self.observe();
        &self.obs
    }

    fn step(&mut self, action: &E::Act) -> Result<Step<'_, RecSimObs<M>>, EnvError> {
        let transition = self.inner.step(action)?.transition;
        self.elapsed += 1;
        self.observe();
        Ok(Step {
            obs: &self.obs,
            transition,
        })
    }

    fn observation(&self) -> &RecSimObs<M> {
        &self.obs
    }
}

/// Ends an episode as truncated once it has run `max_episode_steps` steps, as gymnasium's
/// `TimeLimit` does (`truncated = elapsed ≥ max_episode_steps`); the model's own
/// `terminated` passes through unchanged. A step after the cut is refused until `reset`.
///
/// The step count is part of the saved state ([`EnvState::elapsed_steps`]), so a
/// checkpoint resumes the episode at the same point of its horizon.
#[derive(Debug, Clone)]
pub struct TimeLimit<E> {
    inner: E,
    max_episode_steps: usize,
    elapsed: usize,
}

impl<E: Env> TimeLimit<E> {
    /// Wraps `inner`, cutting its episodes after `max_episode_steps` steps.
    pub fn new(inner: E, max_episode_steps: NonZeroUsize) -> Self {
        Self {
            inner,
            max_episode_steps: max_episode_steps.get(),
            elapsed: 0,
        }
    }

    /// The horizon.
    pub fn max_episode_steps(&self) -> usize {
        self.max_episode_steps
    }

    /// Steps taken since the last `reset`.
    pub fn elapsed_steps(&self) -> usize {
        self.elapsed
    }
}

impl<E: Simulator> Wrapper for TimeLimit<E> {
    type Inner = E;
    fn inner(&self) -> &E {
        &self.inner
    }
    fn inner_mut(&mut self) -> &mut E {
        &mut self.inner
    }
    fn save_own(&self, state: &mut EnvState) {
        state.elapsed_steps = Some(self.elapsed as u64);
    }
    fn check_own(&self, state: &EnvState) -> Result<(), EnvError> {
        match state.elapsed_steps {
            None => Err(EnvError::State(
                "the saved environment has no time limit; this one has".into(),
            )),
            Some(elapsed) if elapsed > self.max_episode_steps as u64 => {
                Err(EnvError::State(format!(
                    "the saved episode has run {elapsed} steps, past this time limit of {}",
                    self.max_episode_steps
                )))
            }
            Some(_) => Ok(()),
        }
    }
    fn load_own(&mut self, state: &EnvState) {
        self.elapsed = state.elapsed_steps.map_or(0, |e| e as usize);
    }
}

impl<E: Env> Env for TimeLimit<E> {
    type Obs = E::Obs;
    type Act = E::Act;

    fn observation_space(&self) -> Space {
        self.inner.observation_space()
    }

    fn action_space(&self) -> Space {
        self.inner.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> &E::Obs {
        self.elapsed = 0;
        self.inner.reset(seed)
    }

    fn step(&mut self, action: &E::Act) -> Result<Step<'_, E::Obs>, EnvError> {
        if self.elapsed >= self.max_episode_steps {
            return Err(StepError::EpisodeOver.into());
        }
        let mut step = self.inner.step(action)?;
        self.elapsed += 1;
        step.transition.truncated |= self.elapsed >= self.max_episode_steps;
        Ok(step)
    }

    fn observation(&self) -> &E::Obs {
        self.inner.observation()
    }
}

impl<M: Model> BanditObs<M> {
    /// The observation as a point of the observation space: `{item: N × d}`.
    pub fn to_value(&self) -> Value {
        Value::Dict(vec![(
            "item".into(),
            Value::Array(self.item.iter().map(|&x| f64::from(x)).collect()),
        )])
    }
}

impl<M: Model> SlateObs for BanditObs<M> {
    fn user(&self) -> &[f32] {
        &[]
    }
    fn items(&self) -> &[f32] {
        &self.item
    }
    fn item_dim(&self) -> usize {
        M::DOC_DIM
    }
    fn myopic_scores(&self, out: &mut [f64]) {
        for (row, score) in self.item.chunks_exact(M::DOC_DIM).zip(out) {
            *score = M::myopic_score(&[], row);
        }
    }
    fn to_value(&self) -> Value {
        BanditObs::to_value(self)
    }
}
