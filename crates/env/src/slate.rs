//! One object-safe view of any wrapped RecSim environment, for agents and the trainer.

use serde::{Deserialize, Serialize};

use crate::{
    encode_action, Env, EnvError, ModelSpaces, RecSimObs, Simulator, Space, Transition, Value,
};

/// The shape of a slate problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Candidate documents per step (`N`).
    pub num_candidates: usize,
    /// The most documents a slate holds (`K`).
    pub slate_size: usize,
    /// Features per candidate document.
    pub doc_dim: usize,
    /// Length of the user feature vector (0 where the user is hidden).
    pub user_dim: usize,
    /// Where the user features hold the time left in the episode
    /// ([`crate::TimeAwareObservation`]); `None` without it. Logs written before the
    /// layout named it read as `None` ([`serde`]'s default).
    #[serde(default)]
    pub time: Option<TimeFeature>,
}

/// The time feature's slot among the user features: the remaining fraction `(T − t) / T`
/// of a `T`-step episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeFeature {
    /// Its index in the user features.
    pub index: usize,
    /// `T`, the steps of the episode it counts down.
    pub steps: usize,
}

impl TimeFeature {
    /// The slot after `user_dim - 1` other user features, where the time-aware wrapper
    /// puts it, for an observation with `steps` where that wrapper is on.
    pub fn last(user_dim: usize, steps: Option<usize>) -> Option<Self> {
        steps.map(|steps| Self {
            index: user_dim - 1,
            steps,
        })
    }
}

/// An observation an agent can read as user features plus a candidate feature matrix.
pub trait SlateObs {
    /// The user features (empty where the user is hidden).
    fn user(&self) -> &[f32];
    /// `N × item_dim` features, row `i` = candidate position `i`.
    fn items(&self) -> &[f32];
    /// Features per candidate.
    fn item_dim(&self) -> usize;
    /// The score a greedy policy ranks each candidate by.
    fn myopic_scores(&self, out: &mut [f64]);
    /// The whole observation as a point of the observation space.
    fn to_value(&self) -> Value;
    /// Writes the flat encoding of the responses ([`crate::flat`]) into `out`, one equal
    /// share per slate position; nothing where the observation has no responses.
    fn write_response(&self, _out: &mut [f32]) {}
}

impl<M: ModelSpaces> SlateObs for RecSimObs<M> {
    fn user(&self) -> &[f32] {
        &self.user
    }
    fn items(&self) -> &[f32] {
        &self.docs
    }
    fn item_dim(&self) -> usize {
        M::DOC_DIM
    }
    fn myopic_scores(&self, out: &mut [f64]) {
        for (row, score) in self.docs.chunks_exact(M::DOC_DIM).zip(out) {
            *score = M::myopic_score(&self.user, row);
        }
    }
    fn to_value(&self) -> Value {
        RecSimObs::to_value(self)
    }
    fn write_response(&self, out: &mut [f32]) {
        let Some(dim) = out.len().checked_div(self.response.len()) else {
            return;
        };
        for (response, out) in self.response.iter().zip(out.chunks_exact_mut(dim)) {
            M::response_features(response, out);
        }
    }
}

/// An action type that a slate of candidate positions converts to.
pub trait SlateAction {
    /// Calls `f` with the action that shows `slate`.
    fn with_slate<R>(slate: &[usize], num_candidates: usize, f: impl FnOnce(&Self) -> R) -> R;
}

impl SlateAction for [usize] {
    fn with_slate<R>(slate: &[usize], _: usize, f: impl FnOnce(&Self) -> R) -> R {
        f(slate)
    }
}

impl SlateAction for u64 {
    fn with_slate<R>(slate: &[usize], num_candidates: usize, f: impl FnOnce(&Self) -> R) -> R {
        f(&encode_action(slate, num_candidates))
    }
}

/// Any wrapped environment seen as slates of candidate positions in, features out: the
/// object-safe view every agent and the trainer use. Its verbs are [`Env`]'s; the
/// simulator's state and facts come from [`Simulator`].
pub trait SlateEnv: Simulator + Send {
    /// The shape of the problem.
    fn layout(&self) -> Layout;
    /// `(observation space, action space)` of the wrapped environment.
    fn spaces(&self) -> (Space, Space);
    /// Starts an episode ([`Env::reset`]).
    fn reset(&mut self, seed: Option<u64>);
    /// Shows a slate of candidate positions ([`Env::step`], encoding the action as the
    /// wrappers require).
    fn step(&mut self, slate: &[usize]) -> Result<Transition, EnvError>;
    /// The user features of the current observation.
    fn user(&self) -> &[f32];
    /// The `N × doc_dim` candidate features of the current observation.
    fn items(&self) -> &[f32];
    /// The score a greedy policy ranks each candidate by.
    fn myopic_scores(&self, out: &mut [f64]);
    /// The whole observation as a point of the observation space (allocates; for display
    /// and for Python's dict observations).
    fn observation_value(&self) -> Value;
    /// Writes the flat observation ([`crate::flat`]: user ‖ candidates ‖ response) into
    /// `out`, which is [`crate::flat::env_flat_dim`] long; allocates nothing.
    fn write_flat(&self, out: &mut [f32]);
}

impl<E> SlateEnv for E
where
    E: Env + Simulator + Send,
    E::Obs: SlateObs,
    E::Act: SlateAction,
{
    fn layout(&self) -> Layout {
        // From the observation and the simulator, not the action space: agents ask for
        // the layout every step, and building a space allocates.
        let obs = self.observation();
        let (doc_dim, user_dim) = (obs.item_dim(), obs.user().len());
        Layout {
            num_candidates: obs.items().len() / doc_dim,
            slate_size: Simulator::slate_size(self),
            doc_dim,
            user_dim,
            time: TimeFeature::last(user_dim, Simulator::time_steps(self)),
        }
    }
    fn spaces(&self) -> (Space, Space) {
        (Env::observation_space(self), Env::action_space(self))
    }
    fn reset(&mut self, seed: Option<u64>) {
        Env::reset(self, seed);
    }
    fn step(&mut self, slate: &[usize]) -> Result<Transition, EnvError> {
        let n = self.observation().items().len() / self.observation().item_dim();
        E::Act::with_slate(slate, n, |action| {
            Env::step(self, action).map(|s| s.transition)
        })
    }
    fn user(&self) -> &[f32] {
        self.observation().user()
    }
    fn items(&self) -> &[f32] {
        self.observation().items()
    }
    fn myopic_scores(&self, out: &mut [f64]) {
        self.observation().myopic_scores(out)
    }
    fn observation_value(&self) -> Value {
        self.observation().to_value()
    }
    fn write_flat(&self, out: &mut [f32]) {
        let obs = self.observation();
        let (user, rest) = out.split_at_mut(obs.user().len());
        user.copy_from_slice(obs.user());
        let (items, response) = rest.split_at_mut(obs.items().len());
        items.copy_from_slice(obs.items());
        obs.write_response(response);
    }
}
