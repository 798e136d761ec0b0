//! One object-safe view of any wrapped RecSim environment, for agents and the trainer.

use recsim_core::{KnownChoice, Model};
use serde::{Deserialize, Serialize};

use crate::{encode_action, Env, EnvError, RecSimObs, Simulator, Space};

/// The shape of a slate problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub num_candidates: usize,
    pub slate_size: usize,
    /// Features per candidate document.
    pub doc_dim: usize,
    /// Length of the user feature vector (0 where the user is hidden).
    pub user_dim: usize,
}

/// An observation an agent can read as user features plus a candidate feature matrix.
pub trait SlateObs {
    fn user(&self) -> &[f32];
    /// `N × item_dim` features, row `i` = candidate position `i`.
    fn items(&self) -> &[f32];
    fn item_dim(&self) -> usize;
    /// The score a greedy policy ranks each candidate by.
    fn myopic_scores(&self, out: &mut [f64]);
}

impl<M: Model> SlateObs for RecSimObs<M> {
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
}

/// An action type that a slate of candidate positions converts to.
pub trait SlateAction {
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

/// A step's scalar results.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Transition {
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
    pub clicked: Option<usize>,
    /// [`crate::StepInfo::clicked_quality`].
    pub clicked_quality: Option<f64>,
    /// [`crate::StepInfo::clicked_cluster`].
    pub clicked_cluster: Option<usize>,
}

impl Transition {
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// Any wrapped environment seen as slates of candidate positions in, features out.
pub trait SlateEnv: Send {
    fn layout(&self) -> Layout;
    /// `(observation space, action space)` of the wrapped environment.
    fn spaces(&self) -> (Space, Space);
    /// Starts an episode ([`Env::reset`]).
    fn start(&mut self, seed: Option<u64>);
    /// Shows a slate of candidate positions ([`Env::step`], encoding the action as the
    /// wrappers require).
    fn recommend(&mut self, slate: &[usize]) -> Result<Transition, EnvError>;
    fn user(&self) -> &[f32];
    fn items(&self) -> &[f32];
    fn myopic_scores(&self, out: &mut [f64]);
    /// [`Simulator::known_choice`].
    fn known_choice(&self) -> KnownChoice;
    /// [`Simulator::save_state`].
    fn snapshot(&self) -> Vec<u8>;
    /// [`Simulator::load_state`].
    fn restore(&mut self, bytes: &[u8]) -> Result<(), EnvError>;
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
        let doc_dim = obs.item_dim();
        Layout {
            num_candidates: obs.items().len() / doc_dim,
            slate_size: Simulator::slate_size(self),
            doc_dim,
            user_dim: obs.user().len(),
        }
    }
    fn spaces(&self) -> (Space, Space) {
        (Env::observation_space(self), Env::action_space(self))
    }
    fn start(&mut self, seed: Option<u64>) {
        Env::reset(self, seed);
    }
    fn recommend(&mut self, slate: &[usize]) -> Result<Transition, EnvError> {
        let n = self.observation().items().len() / self.observation().item_dim();
        E::Act::with_slate(slate, n, |action| {
            Env::step(self, action).map(|s| Transition {
                reward: s.reward,
                terminated: s.terminated,
                truncated: s.truncated,
                clicked: s.info.clicked,
                clicked_quality: s.info.clicked_quality,
                clicked_cluster: s.info.clicked_cluster,
            })
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
    fn known_choice(&self) -> KnownChoice {
        Simulator::known_choice(self)
    }
    fn snapshot(&self) -> Vec<u8> {
        self.save_state()
    }
    fn restore(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        self.load_state(bytes)
    }
}
