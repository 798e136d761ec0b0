//! RLlib's RecSim wrappers (spec Appendix A): `MultiDiscrete`→`Discrete` actions, the
//! bandit observation, and the user-features observation the tutorial's SlateQ needs;
//! and gymnasium's time limit, for interest exploration, which never ends by itself.

use std::marker::PhantomData;
use std::num::NonZeroUsize;

use recsim_core::{Model, StepError};

use crate::{Env, EnvError, ModelSpaces, RecSimObs, Simulator, SlateObs, Space, Step};

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

impl<E: Env<Act = [usize]>> DiscreteAction<E> {
    pub fn new(inner: E) -> Self {
        let nvec = match inner.action_space() {
            Space::MultiDiscrete(nvec) => nvec,
            other => panic!("DiscreteAction wraps a MultiDiscrete action space, not {other}"),
        };
        Self {
            num_candidates: nvec.first().copied().unwrap_or(0) as usize,
            slate: vec![0; nvec.len()],
            inner,
        }
    }
}

impl<E: Env<Act = [usize]>> Env for DiscreteAction<E> {
    type Obs = E::Obs;
    type Act = u64;

    fn observation_space(&self) -> Space {
        self.inner.observation_space()
    }

    fn action_space(&self) -> Space {
        Space::Discrete((self.num_candidates as u64).pow(self.slate.len() as u32))
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
    pub item: Vec<f32>,
    model: PhantomData<M>,
}

impl<M: Model, E: Env<Obs = RecSimObs<M>>> BanditObservation<E, M> {
    pub fn new(inner: E) -> Self {
        let obs = BanditObs {
            item: inner.observation().docs.clone(),
            model: PhantomData,
        };
        Self { inner, obs }
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
            reward: step.reward,
            terminated: step.terminated,
            truncated: step.truncated,
            info: step.info,
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
    pub fn new(inner: E) -> Self {
        let mut obs = inner.observation().clone();
        obs.user.reserve(inner.user_feature_dim());
        // A clone has no spare capacity; the responses need room for a whole slate.
        obs.response
            .reserve(inner.observation().response.capacity());
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
        self.obs.response.clone_from(&inner.response);
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
        let step = self.inner.step(action)?;
        let (reward, terminated, truncated, info) =
            (step.reward, step.terminated, step.truncated, step.info);
        self.observe();
        Ok(Step {
            obs: &self.obs,
            reward,
            terminated,
            truncated,
            info,
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
/// The step count is part of the saved state, so a checkpoint resumes the episode at the
/// same point of its horizon.
#[derive(Debug, Clone)]
pub struct TimeLimit<E> {
    inner: E,
    max_episode_steps: usize,
    elapsed: usize,
}

impl<E: Env> TimeLimit<E> {
    pub fn new(inner: E, max_episode_steps: NonZeroUsize) -> Self {
        Self {
            inner,
            max_episode_steps: max_episode_steps.get(),
            elapsed: 0,
        }
    }

    pub fn max_episode_steps(&self) -> usize {
        self.max_episode_steps
    }

    /// Steps taken since the last `reset`.
    pub fn elapsed_steps(&self) -> usize {
        self.elapsed
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
        let step = self.inner.step(action)?;
        self.elapsed += 1;
        Ok(Step {
            truncated: step.truncated || self.elapsed >= self.max_episode_steps,
            ..step
        })
    }

    fn observation(&self) -> &E::Obs {
        self.inner.observation()
    }
}

/// The step count follows the wrapped state, as 8 little-endian bytes.
impl<E: Env + Simulator> Simulator for TimeLimit<E> {
    fn user_feature_dim(&self) -> usize {
        self.inner.user_feature_dim()
    }

    fn slate_size(&self) -> usize {
        self.inner.slate_size()
    }

    fn write_user_features(&self, out: &mut [f32]) {
        self.inner.write_user_features(out)
    }

    fn known_choice(&self) -> recsim_core::KnownChoice {
        self.inner.known_choice()
    }

    fn save_state(&self) -> Vec<u8> {
        let mut bytes = self.inner.save_state();
        bytes.extend_from_slice(&(self.elapsed as u64).to_le_bytes());
        bytes
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        let (inner, count) = bytes
            .split_last_chunk::<8>()
            .ok_or_else(|| EnvError::State("no time-limit step count in the state".into()))?;
        let elapsed = u64::from_le_bytes(*count);
        if elapsed > self.max_episode_steps as u64 {
            return Err(EnvError::State(format!(
                "the saved episode has run {elapsed} steps, past this time limit of {}",
                self.max_episode_steps
            )));
        }
        self.inner.load_state(inner)?;
        self.elapsed = elapsed as usize;
        Ok(())
    }
}

/// Wrappers pass the simulator's state through untouched.
macro_rules! forward_simulator {
    ($wrapper:ident < $($p:ident),+ > where $($bounds:tt)*) => {
        impl<$($p),+> Simulator for $wrapper<$($p),+> where $($bounds)* {
            fn user_feature_dim(&self) -> usize {
                self.inner.user_feature_dim()
            }
            fn slate_size(&self) -> usize {
                self.inner.slate_size()
            }
            fn write_user_features(&self, out: &mut [f32]) {
                self.inner.write_user_features(out)
            }
            fn known_choice(&self) -> recsim_core::KnownChoice {
                self.inner.known_choice()
            }
            fn save_state(&self) -> Vec<u8> {
                self.inner.save_state()
            }
            fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
                self.inner.load_state(bytes)?;
                self.resync();
                Ok(())
            }
        }
    };
}

forward_simulator!(DiscreteAction<E> where E: Simulator + Env<Act = [usize]>);
forward_simulator!(BanditObservation<E, M> where M: Model, E: Simulator + Env<Obs = RecSimObs<M>>);
forward_simulator!(UserObservation<E, M> where M: Model, E: Simulator + Env<Obs = RecSimObs<M>>);

impl<E: Env<Act = [usize]>> DiscreteAction<E> {
    fn resync(&mut self) {}
}

/// The wrapped environment (gym's `wrapper.env`).
macro_rules! inner_access {
    ($($wrapper:ident < $($p:ident),+ >),+) => {$(
        impl<$($p),+> $wrapper<$($p),+> where $($p: Sized),+ {
            pub fn inner(&self) -> &E {
                &self.inner
            }
        }
    )+};
}

inner_access!(DiscreteAction<E>, BanditObservation<E, M>, TimeLimit<E>);

impl<E, M: Model> UserObservation<E, M> {
    pub fn inner(&self) -> &E {
        &self.inner
    }
}

impl<M: Model, E: Env<Obs = RecSimObs<M>>> BanditObservation<E, M> {
    fn resync(&mut self) {
        self.obs
            .item
            .copy_from_slice(&self.inner.observation().docs);
    }
}

impl<M: Model, E: Env<Obs = RecSimObs<M>> + Simulator> UserObservation<E, M> {
    fn resync(&mut self) {
        self.observe();
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
}
