//! The agent interface: the [`Policy`] that recommends slates and the [`Agent`] that is a
//! policy learning from what follows (baselines, the linear bandits, SlateQ, the planner's
//! optimal policy implement both), their errors, and the
//! hyperparameters of the learning algorithms ([`config`]), which need no backend: a
//! configuration written by a build with SlateQ reads in a build without it.
//!
//! ```
//! use agents::{top_k, Policy};
//! use env::SlateEnv;
//!
//! /// Always the `K` candidates with the highest first feature, best first.
//! struct Highest { scores: Vec<f64>, order: Vec<usize> }
//!
//! impl Policy for Highest {
//!     fn algorithm(&self) -> &'static str { "highest" }
//!     fn act(&mut self, env: &dyn SlateEnv, _explore: bool, slate: &mut [usize]) {
//!         let d = env.layout().doc_dim;
//!         self.scores.clear();
//!         self.scores.extend(env.items().chunks_exact(d).map(|row| f64::from(row[0])));
//!         top_k(&self.scores, &mut self.order, slate);
//!     }
//!     fn describe(&self) -> String { "the highest first feature first".into() }
//! }
//!
//! let mut env = env::make("strong-lts").unwrap();
//! env.reset(None);
//! let mut agent = Highest { scores: Vec::new(), order: Vec::new() };
//! let mut slate = [0; 2];
//! agent.act(env.as_ref(), false, &mut slate);
//! let clickbait = |i: usize| env.items()[i];
//! assert!(clickbait(slate[0]) >= clickbait(slate[1]));
//! assert!(env.items().iter().all(|&c| c <= clickbait(slate[0])));
//! ```

#![warn(missing_docs)]

pub mod choice;
pub mod config;
pub mod nstep;
pub mod portable;

use env::{Layout, SlateEnv, Transition};
use thiserror::Error;

/// An agent that cannot be built or restored.
#[derive(Debug, Error)]
pub enum AgentError {
    /// A saved agent state that is corrupt or of another shape.
    #[error("agent state is corrupt or of another layout: {0}")]
    State(String),
    /// Saved bytes that do not decode as what they should hold (the decoder's error is
    /// the source).
    #[error("{what} is corrupt or of another layout")]
    Decode {
        /// What the bytes should hold.
        what: &'static str,
        /// The decoder's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A hyperparameter out of its range.
    #[error("invalid {name}: {why}")]
    Config {
        /// The hyperparameter, by its configuration path (`slateq.lr`).
        name: &'static str,
        /// What its value must be.
        why: String,
    },
    /// The agent needs something this environment does not offer.
    #[error("{0}")]
    Unsupported(String),
    /// Learning diverged: a loss or weight is no longer finite.
    #[error("learning diverged: {0}")]
    Diverged(String),
}

/// One logged step to learn from without acting: the observation the slate was chosen
/// for, the slate, what followed, and the observation after it.
#[derive(Debug, Clone, Copy)]
pub struct LoggedStep<'a> {
    /// The user features the slate was chosen for.
    pub user: &'a [f32],
    /// The `N × d` candidate features the slate was chosen for.
    pub items: &'a [f32],
    /// The candidate positions shown.
    pub slate: &'a [usize],
    /// What followed.
    pub transition: Transition,
    /// The user features after the step.
    pub next_user: &'a [f32],
    /// The candidate features after the step.
    pub next_items: &'a [f32],
}

/// Something that recommends slates: what evaluation, inference and off-policy
/// estimates need of an agent. A [`Policy`] learns nothing; an [`Agent`] is one that
/// learns, and [`Agent::policy`] copies out its policy as it stands.
pub trait Policy: Send {
    /// The algorithm's command-line name.
    fn algorithm(&self) -> &'static str;
    /// Fills `slate` (one candidate position per slot) for the environment's current
    /// observation; `explore` is false for evaluation.
    fn act(&mut self, env: &dyn SlateEnv, explore: bool, slate: &mut [usize]);
    /// The score it ranks each candidate by when it acts without exploring (its slate is
    /// the best-scoring candidates, best first), for the current observation: what a
    /// softmax over its choices draws from. `Unsupported` for a policy that ranks no
    /// candidates by a score of its own.
    fn scores(&mut self, _env: &dyn SlateEnv, _out: &mut [f64]) -> Result<(), AgentError> {
        Err(AgentError::Unsupported(format!(
            "{} ranks no candidates by a score of its own",
            self.algorithm()
        )))
    }
    /// Called when an episode has just started, before its first [`Policy::act`], for
    /// policies that keep per-episode state.
    fn begin_episode(&mut self) {}
    /// Fills the slates of several environments at once, `slates[i·K..(i+1)·K]` for
    /// `envs[i]`; [`Agent::observe_batch`] then takes their steps. By default
    /// [`Policy::act`] for each: right for one environment, and for agents that remember
    /// nothing from `act` to `observe`. The trainer gives several only to an agent whose
    /// configuration asks for them (SlateQ's `num_envs`, one forward pass for all).
    fn act_batch(&mut self, envs: &[Box<dyn SlateEnv>], explore: bool, slates: &mut [usize]) {
        let Some(first) = envs.first() else { return };
        let k = first.layout().slate_size;
        for (env, slate) in envs.iter().zip(slates.chunks_exact_mut(k)) {
            self.act(env.as_ref(), explore, slate);
        }
    }
    /// A human-readable summary of the learned parameters.
    fn describe(&self) -> String;
    /// The policy without exploration as plain numbers ([`portable`]): what
    /// `rlrec export` writes. `Unsupported` for a policy that has none.
    fn portable(&self) -> Result<portable::Portable, AgentError> {
        Err(AgentError::Unsupported(format!(
            "{} has no portable form: it is not a scoring of the observation alone",
            self.algorithm()
        )))
    }
}

/// A policy as the policy of one slot of a [`env::VectorEnv`]: it acts without
/// exploring, and hears of every episode's start ([`Policy::begin_episode`]).
impl env::SlotPolicy for Box<dyn Policy> {
    fn episode_started(&mut self) {
        self.begin_episode();
    }
    fn act(&mut self, env: &dyn SlateEnv, slate: &mut [usize]) {
        Policy::act(self.as_mut(), env, false, slate);
    }
}

/// A policy that learns from what follows its slates.
///
/// An agent owns its random stream (seeded when it is built), so that saving and loading
/// it continues a run exactly.
pub trait Agent: Policy {
    /// A copy of the policy as it stands, which acts as this agent would now (exploring
    /// too, on its own copy of the random stream) and learns nothing: what an evaluation
    /// plays while the agent trains on.
    fn policy(&self) -> Box<dyn Policy>;
    /// Learns from one step: the slate shown, its transition, and the environment after it.
    fn observe(&mut self, _slate: &[usize], _transition: &Transition, _next: &dyn SlateEnv) {}
    /// Learns from one step of each environment of the last [`Policy::act_batch`], in its
    /// order: the slates shown, their transitions and the environments after them. By
    /// default [`Agent::observe`] for each.
    fn observe_batch(
        &mut self,
        slates: &[usize],
        transitions: &[Transition],
        envs: &[Box<dyn SlateEnv>],
    ) {
        let Some(first) = envs.first() else { return };
        let k = first.layout().slate_size;
        for ((env, t), slate) in envs.iter().zip(transitions).zip(slates.chunks_exact(k)) {
            self.observe(slate, t, env.as_ref());
        }
    }
    /// Takes in one logged step, without acting (offline learning): a bandit learns from it
    /// at once, SlateQ keeps it in its replay buffer. `Unsupported` for agents that do not
    /// learn from logs.
    fn add_logged(&mut self, _step: &LoggedStep) -> Result<(), AgentError> {
        Err(AgentError::Unsupported(format!(
            "{} does not learn from logs",
            self.algorithm()
        )))
    }
    /// Learns from the logged steps taken in so far, for as long as `steps` environment
    /// steps would have let it online (SlateQ: one gradient step every `train_every`);
    /// nothing for agents that learn as each step comes in.
    fn learn_offline(&mut self, _steps: usize) -> Result<(), AgentError> {
        Ok(())
    }
    /// Whether learning is still sound: a learner whose loss or weights stopped being
    /// finite says so here, and training stops before it saves a broken policy.
    fn health(&self) -> Result<(), AgentError> {
        Ok(())
    }
    /// Learner statistics for the iteration results; per-iteration figures restart.
    fn stats(&mut self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
    /// The complete state but for a replay buffer, random stream included: enough to act
    /// as the agent did, and with [`Agent::save_replay`], to continue learning exactly.
    fn save(&self) -> Vec<u8>;
    /// Restores what [`Agent::save`] wrote; on error the agent is unchanged.
    fn load(&mut self, bytes: &[u8]) -> Result<(), AgentError>;
    /// The replay buffer, for agents that keep one: saved apart, since it can be large
    /// and only continuing needs it.
    fn save_replay(&self) -> Option<Vec<u8>> {
        None
    }
    /// Restores what [`Agent::save_replay`] wrote; on error the agent is unchanged.
    fn load_replay(&mut self, _bytes: &[u8]) -> Result<(), AgentError> {
        Err(AgentError::Unsupported(format!(
            "{} keeps no replay buffer",
            self.algorithm()
        )))
    }
}

/// Checks that a layout suits an agent built for `expected`.
pub fn check_layout(expected: &Layout, actual: &Layout) -> Result<(), AgentError> {
    if expected == actual {
        Ok(())
    } else {
        Err(AgentError::State(format!(
            "the agent was built for {expected:?}, the environment is {actual:?}"
        )))
    }
}

/// Writes the indices of the `slate.len()` best `scores` into `slate`, best first; ties
/// keep the lower index first. `order` is scratch space.
pub fn top_k(scores: &[f64], order: &mut Vec<usize>, slate: &mut [usize]) {
    top_k_ties(scores, order, slate, false);
}

/// [`top_k`], ties keeping the higher index first where `higher_first` (the order numpy's
/// `argsort` then `flip` leaves them in, as SARDINE's oracle ranks).
pub fn top_k_ties(scores: &[f64], order: &mut Vec<usize>, slate: &mut [usize], higher_first: bool) {
    order.clear();
    order.extend(0..scores.len());
    let k = slate.len().min(scores.len());
    let by_score = |a: &usize, b: &usize| {
        let ties = if higher_first { b.cmp(a) } else { a.cmp(b) };
        scores[*b].total_cmp(&scores[*a]).then(ties)
    };
    if k < order.len() {
        order.select_nth_unstable_by(k, by_score);
    }
    order[..k].sort_unstable_by(by_score);
    slate[..k].copy_from_slice(&order[..k]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_best_first_with_stable_ties() {
        let mut order = Vec::new();
        let mut slate = [0; 3];
        top_k(&[0.2, 0.9, 0.5, 0.9, 0.1], &mut order, &mut slate);
        assert_eq!(slate, [1, 3, 2]);
        top_k_ties(&[0.2, 0.9, 0.5, 0.9, 0.1], &mut order, &mut slate, true);
        assert_eq!(slate, [3, 1, 2]);
        let mut one = [0; 1];
        top_k(&[0.3], &mut order, &mut one);
        assert_eq!(one, [0]);
    }

    #[test]
    fn layouts_must_match() {
        let a = Layout {
            num_candidates: 3,
            slate_size: 2,
            doc_dim: 1,
            user_dim: 0,
            time: None,
        };
        assert!(check_layout(&a, &a).is_ok());
        let b = Layout { user_dim: 1, ..a };
        assert!(matches!(check_layout(&a, &b), Err(AgentError::State(_))));
    }
}
