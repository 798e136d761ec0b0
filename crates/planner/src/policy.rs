//! The planner's policies as an [`Agent`].

use std::sync::Arc;

use agents::{top_k, Agent, AgentError, Policy};
use env::{Layout, SlateEnv, Transition};

use super::{LtsPlanner, PlannerError};

/// Which of the planner's policies an [`OptimalPolicy`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Optimal for the budget left, which the policy counts itself.
    FiniteHorizon,
    /// The best policy that ignores the budget left.
    Stationary,
}

impl PolicyKind {
    /// The algorithm's name.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::FiniteHorizon => "optimal",
            PolicyKind::Stationary => "optimal-stationary",
        }
    }

    fn tag(self) -> u8 {
        match self {
            PolicyKind::FiniteHorizon => 0,
            PolicyKind::Stationary => 1,
        }
    }
}

/// An oracle that follows an [`LtsPlanner`]: it reads the user's true satisfaction (the
/// feature the user-observation wrapper adds), serves the candidate of highest value in
/// slot 0, and fills the other slots with the next best, for display.
///
/// The environment does not show the budget left, so the policy counts steps itself: the
/// count restarts at [`Policy::begin_episode`], which the evaluator calls after every
/// reset, and at [`Agent::observe`] of an episode's last transition (terminated or
/// truncated), for training loops. Every `act` is one step, and the count also wraps at
/// the horizon, because every LTS episode lasts exactly that many steps: a driver that
/// plays whole episodes keeps it right with neither call.
#[derive(Debug, Clone)]
pub struct OptimalPolicy {
    planner: Arc<LtsPlanner>,
    kind: PolicyKind,
    /// Steps taken in the current episode, in `0..horizon`.
    pub(super) elapsed: usize,
    scores: Vec<f64>,
    order: Vec<usize>,
}

impl OptimalPolicy {
    /// The policy for environments of `layout`; fails unless the environment shows the
    /// user's satisfaction and each candidate's clickbait, and nothing else (long-term
    /// satisfaction with the user-observation wrapper).
    pub fn new(
        planner: Arc<LtsPlanner>,
        kind: PolicyKind,
        layout: &Layout,
    ) -> Result<Self, PlannerError> {
        // The satisfaction comes first; a time-aware observation adds the time left after
        // it, which the policy counts itself.
        if layout.user_dim == 0 || layout.doc_dim != 1 {
            return Err(PlannerError::HiddenUser);
        }
        Ok(Self {
            planner,
            kind,
            elapsed: 0,
            scores: Vec::new(),
            order: Vec::new(),
        })
    }

    /// Which policy it follows.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The planner.
    pub fn planner(&self) -> &LtsPlanner {
        &self.planner
    }
}

impl Policy for OptimalPolicy {
    fn algorithm(&self) -> &'static str {
        self.kind.name()
    }

    /// # Panics
    /// If the environment hides the user's satisfaction, which [`OptimalPolicy::new`]
    /// rules out for its layout.
    fn act(&mut self, env: &dyn SlateEnv, _explore: bool, slate: &mut [usize]) {
        let satisfaction = env
            .user()
            .first()
            .copied()
            .expect("the optimal policy needs the user-observation wrapper's satisfaction");
        let planner = &self.planner;
        let npe = planner.exposure(f64::from(satisfaction));
        let remaining = planner.horizon() - self.elapsed;
        let kind = self.kind;
        self.scores.clear();
        self.scores.extend(env.items().iter().map(|&c| {
            let c = f64::from(c);
            match kind {
                PolicyKind::FiniteHorizon => planner.q_value(npe, remaining, c),
                PolicyKind::Stationary => planner.stationary_q_value(npe, c),
            }
        }));
        top_k(&self.scores, &mut self.order, slate);
        self.elapsed = (self.elapsed + 1) % planner.horizon();
    }

    fn begin_episode(&mut self) {
        self.elapsed = 0;
    }

    fn describe(&self) -> String {
        let p = &self.planner;
        let r = p.resolution();
        format!(
            "{} policy of the LTS planner ({} exposure points × {} clickbait cells, {} \
             Gauss–Hermite nodes): predicted return {:.2} over {} steps, stationary {:.2}, \
             long-run gain {:.4} per step",
            self.kind.name(),
            r.grid_points,
            r.clickbait_cells,
            r.quadrature_nodes,
            p.predicted_value(),
            p.horizon(),
            p.stationary_value(),
            p.gain()
        )
    }
}

impl Agent for OptimalPolicy {
    fn policy(&self) -> Box<dyn Policy> {
        Box::new(self.clone())
    }

    fn observe(&mut self, _slate: &[usize], transition: &Transition, _next: &dyn SlateEnv) {
        if transition.done() {
            self.elapsed = 0;
        }
    }

    /// The policy kind and the step count; the planner is rebuilt from the scenario.
    fn save(&self) -> Vec<u8> {
        let mut bytes = vec![self.kind.tag()];
        bytes.extend((self.elapsed as u64).to_le_bytes());
        bytes
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), AgentError> {
        let (&tag, count) = bytes
            .split_first()
            .ok_or_else(|| AgentError::State("empty optimal-policy state".into()))?;
        if tag != self.kind.tag() {
            return Err(AgentError::State(format!(
                "saved state is not the {} policy's",
                self.kind.name()
            )));
        }
        let count: [u8; 8] = count.try_into().map_err(|_| {
            AgentError::State(format!(
                "optimal-policy state of {} bytes, expected 9",
                bytes.len()
            ))
        })?;
        let elapsed = u64::from_le_bytes(count);
        if elapsed >= self.planner.horizon() as u64 {
            return Err(AgentError::State(format!(
                "step count {elapsed} is beyond the horizon {}",
                self.planner.horizon()
            )));
        }
        self.elapsed = elapsed as usize;
        Ok(())
    }
}
