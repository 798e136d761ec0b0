//! The optimal planner for long-term satisfaction (model §1).
//!
//! Once the user's net positive exposure (NPE) is known, long-term satisfaction is a
//! one-dimensional control problem: the expected reward and the transition depend only on
//! NPE and on the clickbait `c` served in slot 0, and the `N` candidates are fresh i.i.d.
//! `U[0,1)` draws every step. Backward induction over (NPE, remaining budget) therefore
//! gives the optimal value and policy of an agent that sees the true state.
//! [`LtsPlanner`] computes them, [`OptimalPolicy`] follows them, and the same machinery
//! evaluates the best policy that ignores the remaining budget (the long-horizon,
//! stationary one).
//!
//! Numerics: NPE on an evenly spaced grid with linear interpolation; the innovation noise
//! integrated by Gauss–Hermite quadrature; `c` discretised into `M` equal-probability cells
//! whose values, sorted ascending, give the expected best of `N` candidates as
//! `Σ_k q_(k)·((k/M)^N − ((k−1)/M)^N)`.

#![warn(missing_docs)]

mod bellman;
mod grid;
mod policy;
mod quadrature;

use env::Scenario;
use recsim_core::{ConfigError, LtsParams, Params};
use thiserror::Error;

use bellman::{evaluate_stationary, mean_engagement, mean_over, relative_value_iteration, Tables};
use grid::Grid;
pub use policy::{OptimalPolicy, PolicyKind};
use quadrature::{best_of_weights, gauss_hermite};

/// The longest horizon planned for: the planner keeps one value row per remaining step.
pub const MAX_HORIZON: usize = 10_000;

/// The most the log expected engagement may change between neighbouring grid points;
/// linear interpolation then errs by about (0.05)²/8 ≈ 3·10⁻⁴ of a step's reward.
const MAX_LOG_REWARD_PER_CELL: f64 = 0.05;

/// Innovations beyond this many standard deviations are ignored when sizing the grid
/// (probability ~10⁻¹⁵ per step).
const NOISE_REACH: f64 = 8.0;

/// Relative value iteration stops when `T h − h` is flat to this fraction of the gain.
const RVI_TOLERANCE: f64 = 1e-10;
/// The exposure forgets its past like γ^t, so sweeps needed grow like 1/(1−γ); the
/// coarsest grid accepted (γ ≈ 0.99 for StrongLTS) needs a few thousand.
const RVI_MAX_SWEEPS: usize = 20_000;

/// Points of the midpoint rule that averages the value over the initial exposure.
const INITIAL_POINTS: usize = 4096;

/// Why a planner or an optimal policy cannot be built.
#[derive(Debug, Error)]
pub enum PlannerError {
    /// The scenario's options or parameters.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Not long-term satisfaction.
    #[error("the planner models long-term satisfaction; `{0}` is another environment")]
    NotLts(String),
    /// Candidates that are not fresh every step.
    #[error(
        "the planner assumes fresh i.i.d. candidates every step: \
         set resample_documents = true"
    )]
    FixedDocuments,
    /// A horizon that cuts episodes short of the time budget.
    #[error(
        "the planner plans for whole episodes of the time budget ({budget} steps); a \
         horizon of {horizon} steps cuts them short: drop --horizon"
    )]
    CutEpisodes {
        /// The time budget's steps.
        budget: usize,
        /// The scenario's horizon.
        horizon: usize,
    },
    /// An environment that hides the satisfaction or shows more than the policy reads.
    #[error(
        "the optimal policy reads the user's satisfaction: turn on the user-observation \
         wrapper and leave the bandit observation off"
    )]
    HiddenUser,
    /// An unusable [`Resolution`].
    #[error("invalid planner resolution: {0}")]
    Resolution(&'static str),
    /// A budget past [`MAX_HORIZON`].
    #[error("a time budget of {steps} steps is too long for the planner (at most {MAX_HORIZON})")]
    HorizonTooLong {
        /// The budget's steps.
        steps: usize,
    },
    /// Parameters under which the default grid is too coarse.
    #[error(
        "the exposure grid is too coarse for these parameters: expected engagement changes \
         by up to {log_change:.3} (log scale) between grid points, at most \
         {MAX_LOG_REWARD_PER_CELL} is accurate; lower memory_discount or sensitivity"
    )]
    CoarseGrid {
        /// The largest change between neighbouring points.
        log_change: f64,
    },
    /// The long-horizon solver did not converge.
    #[error("relative value iteration did not converge in {RVI_MAX_SWEEPS} sweeps")]
    NotConverged,
}

/// How finely the planner discretises the problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// Points of the NPE grid (at least 2).
    pub grid_points: usize,
    /// Equal-probability cells of the clickbait distribution (at least 1).
    pub clickbait_cells: usize,
    /// Gauss–Hermite nodes for the innovation noise (1 to 64).
    pub quadrature_nodes: usize,
}

impl Default for Resolution {
    /// Within 0.01 of the converged StrongLTS return (see the resolution test), built in
    /// about 0.2 s.
    fn default() -> Self {
        Self {
            grid_points: 401,
            clickbait_cells: 256,
            quadrature_nodes: 12,
        }
    }
}

impl Resolution {
    fn validate(&self) -> Result<(), PlannerError> {
        if self.grid_points < 2 {
            return Err(PlannerError::Resolution("grid_points must be at least 2"));
        }
        if self.clickbait_cells == 0 {
            return Err(PlannerError::Resolution(
                "clickbait_cells must be at least 1",
            ));
        }
        if !(1..=64).contains(&self.quadrature_nodes) {
            return Err(PlannerError::Resolution(
                "quadrature_nodes must be between 1 and 64",
            ));
        }
        Ok(())
    }
}

/// Optimal values and policies of long-term satisfaction for an agent that sees the user's
/// true state.
#[derive(Debug, Clone)]
pub struct LtsPlanner {
    params: LtsParams,
    horizon: usize,
    resolution: Resolution,
    grid: Grid,
    /// `continuation[b] = E_ε V_b(· + σ_I ε)`: what arriving anywhere is worth with `b`
    /// steps left, for `b` in `0..horizon`.
    continuation: Vec<Vec<f64>>,
    /// The same for the long-horizon differential value `h`.
    stationary_continuation: Vec<f64>,
    predicted: f64,
    stationary: f64,
    gain: f64,
}

impl LtsPlanner {
    /// Plans for long-term satisfaction with `params` and `num_candidates` fresh
    /// candidates per step, at the default [`Resolution`].
    pub fn new(params: &LtsParams, num_candidates: usize) -> Result<Self, PlannerError> {
        Self::with_resolution(params, num_candidates, Resolution::default())
    }

    /// Plans for the world of `scenario`: long-term satisfaction with its parameters and
    /// candidates, resampled every step, with whole episodes.
    pub fn for_scenario(scenario: &Scenario) -> Result<Self, PlannerError> {
        let spec = scenario.resolve()?;
        let params = spec
            .lts_params()
            .ok_or_else(|| PlannerError::NotLts(scenario.env.clone()))?;
        if !scenario.resample_documents {
            return Err(PlannerError::FixedDocuments);
        }
        let budget = params.horizon();
        if let Some(horizon) = spec.horizon() {
            if horizon.get() < budget {
                return Err(PlannerError::CutEpisodes {
                    budget,
                    horizon: horizon.get(),
                });
            }
        }
        Self::new(params, scenario.num_candidates)
    }

    /// Plans at the given [`Resolution`].
    pub fn with_resolution(
        params: &LtsParams,
        num_candidates: usize,
        resolution: Resolution,
    ) -> Result<Self, PlannerError> {
        let params = *params;
        params.validate()?;
        if num_candidates == 0 {
            return Err(ConfigError::NoCandidates.into());
        }
        resolution.validate()?;
        let horizon = params.horizon();
        if horizon > MAX_HORIZON {
            return Err(PlannerError::HorizonTooLong { steps: horizon });
        }

        // Without noise NPE stays in ±1/(1−γ) (the initial range is half that); every
        // innovation within NOISE_REACH deviations keeps it in ±half, and the mean next
        // exposure of any grid point stays inside too, so only the noise integration at the
        // very ends is clamped.
        let gamma = params.memory_discount;
        let half = (1.0 + NOISE_REACH * params.innovation_stddev) / (1.0 - gamma);
        let grid = Grid::symmetric(half, resolution.grid_points);
        let top_mean = params.choc_mean.abs().max(params.kale_mean.abs());
        // d loc/d NPE = mean·β·SAT(1−SAT) ≤ |mean|·β/4.
        let log_change = top_mean * params.sensitivity / 4.0 * grid.step;
        if log_change > MAX_LOG_REWARD_PER_CELL {
            return Err(PlannerError::CoarseGrid { log_change });
        }

        let m = resolution.clickbait_cells;
        let cell_c = |j: usize| (j as f64 + 0.5) / m as f64;
        let mut reward = Vec::with_capacity(grid.len * m);
        let mut next = Vec::with_capacity(grid.len * m);
        for i in 0..grid.len {
            let x = grid.point(i);
            for j in 0..m {
                reward.push(mean_engagement(&params, cell_c(j), x));
                next.push(grid.locate(params.next_exposure_mean(x, cell_c(j))));
            }
        }
        let tables = Tables {
            grid,
            cells: m,
            reward,
            next,
            best_of: best_of_weights(m, num_candidates),
            rule: gauss_hermite(resolution.quadrature_nodes),
            innovation: params.innovation_stddev,
        };
        let mut scratch = vec![0.0; m];

        // Backward induction: V_0 = 0, V_b = backup(E V_{b−1}).
        let mut value = vec![0.0; grid.len];
        let mut continuation = Vec::with_capacity(horizon);
        for _ in 0..horizon {
            let cont = tables.expect_noise(&value);
            value = tables.backup(&cont, &mut scratch);
            continuation.push(cont);
        }
        let initial_half = 0.5 / (1.0 - gamma);
        let predicted = mean_over(&grid, &value, initial_half);

        let (gain, h) = relative_value_iteration(&tables, value, &mut scratch)?;
        let stationary_continuation = tables.expect_noise(&h);
        let stationary = evaluate_stationary(&tables, &stationary_continuation, horizon);

        Ok(Self {
            params,
            horizon,
            resolution,
            grid,
            continuation,
            stationary_continuation,
            predicted,
            stationary: mean_over(&grid, &stationary, initial_half),
            gain,
        })
    }

    /// Expected return of the optimal policy over a whole episode: `E[V_B(NPE_0)]`, with
    /// `NPE_0` uniform on its initial range.
    pub fn predicted_value(&self) -> f64 {
        self.predicted
    }

    /// Expected return over a whole episode of the best stationary policy, which knows the
    /// satisfaction but not the remaining budget.
    pub fn stationary_value(&self) -> f64 {
        self.stationary
    }

    /// The long-run reward per step of an optimal policy (the average-reward gain).
    pub fn gain(&self) -> f64 {
        self.gain
    }

    /// Steps per episode.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// The model's parameters.
    pub fn params(&self) -> &LtsParams {
        &self.params
    }

    /// The discretisation.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// The optimal value of serving clickbait `c` at exposure `npe` with `remaining` steps
    /// left, this one included: `r(c, npe) + E[V_{remaining−1}(NPE')]`.
    ///
    /// # Panics
    /// If `remaining` is 0 or above the horizon.
    pub fn q_value(&self, npe: f64, remaining: usize, c: f64) -> f64 {
        assert!(
            (1..=self.horizon).contains(&remaining),
            "remaining steps {remaining} outside 1..={}",
            self.horizon
        );
        self.q_with(&self.continuation[remaining - 1], npe, c)
    }

    /// `r(c, npe) + E[h(NPE')]`, by which the stationary policy ranks candidates. Only
    /// differences between candidates mean anything: `h` is defined up to a constant.
    pub fn stationary_q_value(&self, npe: f64, c: f64) -> f64 {
        self.q_with(&self.stationary_continuation, npe, c)
    }

    /// The exposure behind an observed satisfaction `σ(β·NPE)`, clamped to the grid.
    pub fn exposure(&self, satisfaction: f64) -> f64 {
        let beta = self.params.sensitivity;
        if beta == 0.0 {
            // Satisfaction is then constant and every exposure is worth the same.
            return 0.0;
        }
        self.grid
            .clamp((satisfaction / (1.0 - satisfaction)).ln() / beta)
    }

    fn q_with(&self, continuation: &[f64], npe: f64, c: f64) -> f64 {
        let next = self.params.next_exposure_mean(npe, c);
        mean_engagement(&self.params, c, npe) + self.grid.interpolate(continuation, next)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use agents::{top_k, Agent, Policy};
    use env::Transition;
    use recsim_core::ParamSet;

    use super::*;

    /// StrongLTS 20/2 as an oracle sees it.
    fn strong() -> Scenario {
        let mut s = Scenario::default();
        s.wrappers.user_observation = true;
        s
    }

    fn strong_planner() -> Arc<LtsPlanner> {
        static PLANNER: OnceLock<Arc<LtsPlanner>> = OnceLock::new();
        PLANNER
            .get_or_init(|| Arc::new(LtsPlanner::for_scenario(&strong()).unwrap()))
            .clone()
    }

    fn policy(planner: &Arc<LtsPlanner>, kind: PolicyKind, scenario: &Scenario) -> OptimalPolicy {
        let layout = scenario.build().unwrap().layout();
        OptimalPolicy::new(planner.clone(), kind, &layout).unwrap()
    }

    #[test]
    fn the_last_step_is_myopic() {
        // Kale pays more now (choc_mean 3 < kale_mean 4): the last step must serve the
        // least clickbait, which the greedy baseline would never do.
        let mut scenario = strong();
        scenario.params = ParamSet::from([("choc_mean".into(), 3.0)]);
        let planner = Arc::new(LtsPlanner::for_scenario(&scenario).unwrap());
        let p = *planner.params();
        for npe in [-4.0, -1.0, 0.0, 2.5] {
            for c in [0.0, 0.3, 0.99] {
                assert_eq!(planner.q_value(npe, 1, c), mean_engagement(&p, c, npe));
            }
        }
        let mut agent = policy(&planner, PolicyKind::FiniteHorizon, &scenario);
        let mut env = scenario.build().unwrap();
        env.reset(None);
        let mut slate = [0; 2];
        for _ in 1..planner.horizon() {
            agent.act(&*env, false, &mut slate);
            env.step(&slate).unwrap();
        }
        agent.act(&*env, false, &mut slate);
        let npe = planner.exposure(f64::from(env.user()[0]));
        let myopic: Vec<f64> = env
            .items()
            .iter()
            .map(|&c| mean_engagement(&p, f64::from(c), npe))
            .collect();
        let mut best = [0; 2];
        top_k(&myopic, &mut Vec::new(), &mut best);
        assert_eq!(slate, best);
        assert!(env.step(&slate).unwrap().done());
    }

    #[test]
    fn knowing_the_budget_pays() {
        let planner = strong_planner();
        // The random slate scores ≈ 1157.9 here; knowing when to serve clickbait pays.
        assert!(planner.stationary_value() > 1185.0);
        assert!(planner.predicted_value() > planner.stationary_value());
    }

    #[test]
    fn the_default_resolution_has_converged() {
        let planner = strong_planner();
        let fine = LtsPlanner::with_resolution(
            &LtsParams::strong(),
            20,
            Resolution {
                grid_points: 801,
                clickbait_cells: 512,
                quadrature_nodes: 16,
            },
        )
        .unwrap();
        assert!((planner.predicted_value() - fine.predicted_value()).abs() < 0.02);
        assert!((planner.stationary_value() - fine.stationary_value()).abs() < 0.02);
        assert!((planner.gain() - fine.gain()).abs() < 1e-4);
    }

    #[test]
    fn far_from_the_end_the_optimal_policy_is_the_stationary_one() {
        // With the whole budget left, Q_B and Q_∞ differ by a constant (the effect of the
        // end fades like γ^B), so both rank candidates alike.
        let planner = strong_planner();
        for npe in [-3.0, 0.0, 1.5] {
            let gaps: Vec<f64> = (0..=20)
                .map(|k| {
                    let c = k as f64 / 20.0;
                    planner.q_value(npe, planner.horizon(), c) - planner.stationary_q_value(npe, c)
                })
                .collect();
            let spread = gaps.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                - gaps.iter().copied().fold(f64::INFINITY, f64::min);
            assert!(spread < 1e-6, "npe {npe}: spread {spread}");
        }
        // Near the end clickbait is worth more than in the long run.
        let (npe, c) = (0.0, 0.95);
        let gain_now = planner.q_value(npe, 2, c) - planner.q_value(npe, 2, 0.05);
        let gain_always =
            planner.stationary_q_value(npe, c) - planner.stationary_q_value(npe, 0.05);
        assert!(gain_now > gain_always);
    }

    #[test]
    fn exposure_is_recovered_from_the_observed_satisfaction() {
        let planner = strong_planner();
        let p = planner.params();
        for npe in [-4.0, -1.3, 0.0, 0.7, 3.9] {
            let observed = p.satisfaction(npe) as f32;
            assert!((planner.exposure(f64::from(observed)) - npe).abs() < 1e-4);
        }
        let top = planner.grid.point(planner.grid.len - 1);
        assert_eq!(planner.exposure(1.0), top);
        assert_eq!(planner.exposure(0.0), -top);
        assert_eq!(planner.exposure(f64::NAN), -top);
    }

    #[test]
    fn the_step_count_follows_episodes_and_checkpoints() {
        let planner = strong_planner();
        let scenario = strong();
        let mut agent = policy(&planner, PolicyKind::FiniteHorizon, &scenario);
        let mut env = scenario.build().unwrap();
        let mut slate = [0; 2];
        env.reset(None);
        for _ in 0..5 {
            agent.act(&*env, false, &mut slate);
            env.step(&slate).unwrap();
        }
        let saved = agent.save();
        let mut copy = policy(&planner, PolicyKind::FiniteHorizon, &scenario);
        copy.load(&saved).unwrap();
        assert_eq!(copy.elapsed, 5);
        let (mut a, mut b) = ([0; 2], [0; 2]);
        agent.act(&*env, false, &mut a);
        copy.act(&*env, false, &mut b);
        assert_eq!(a, b);

        // An episode abandoned midway does not leak into the next one.
        env.reset(None);
        copy.begin_episode();
        loop {
            copy.act(&*env, false, &mut b);
            if env.step(&b).unwrap().done() {
                break;
            }
        }
        assert_eq!(copy.elapsed, 0);
        // Nor does one cut short in a training loop, which reports its last transition.
        let end = Transition {
            reward: 0.0,
            terminated: false,
            truncated: true,
            ..Transition::default()
        };
        agent.observe(&a, &end, &*env);
        assert_eq!(agent.elapsed, 0);

        let mut stationary = policy(&planner, PolicyKind::Stationary, &scenario);
        assert!(stationary.load(&saved).is_err());
        assert!(copy.load(&saved[..4]).is_err());
        assert!(copy.load(&[]).is_err());
        let mut beyond = vec![0];
        beyond.extend((planner.horizon() as u64).to_le_bytes());
        assert!(copy.load(&beyond).is_err());
        assert_eq!(copy.algorithm(), "optimal");
        assert_eq!(stationary.algorithm(), "optimal-stationary");
    }

    #[test]
    fn unusable_scenarios_are_refused() {
        let build = |f: fn(&mut Scenario)| {
            let mut s = strong();
            f(&mut s);
            LtsPlanner::for_scenario(&s).map(|_| ())
        };
        assert!(matches!(
            build(|s| s.resample_documents = false),
            Err(PlannerError::FixedDocuments)
        ));
        assert!(matches!(
            build(|s| s.slate_size = 30),
            Err(PlannerError::Config(ConfigError::SlateTooLarge { .. }))
        ));
        assert!(matches!(
            build(|s| s.max_episode_steps = Some(5)),
            Err(PlannerError::CutEpisodes {
                budget: 120,
                horizon: 5
            })
        ));
        assert!(matches!(
            build(|s| s.env = "interest-evolution".into()),
            Err(PlannerError::NotLts(_))
        ));
        assert!(matches!(
            build(|s| s.params = ParamSet::from([("sensitivity".into(), -1.0)])),
            Err(PlannerError::Config(ConfigError::InvalidParam { .. }))
        ));
        assert!(matches!(
            build(|s| s.params = ParamSet::from([("memory_discount".into(), 0.999)])),
            Err(PlannerError::CoarseGrid { .. })
        ));
        assert!(matches!(
            build(|s| s.params = ParamSet::from([("time_budget".into(), 20_000.0)])),
            Err(PlannerError::HorizonTooLong { steps: 20_000 })
        ));
        let coarse = Resolution {
            clickbait_cells: 0,
            ..Resolution::default()
        };
        assert!(matches!(
            LtsPlanner::with_resolution(&LtsParams::strong(), 20, coarse),
            Err(PlannerError::Resolution(_))
        ));

        // The values need no oracle view, the policy does.
        let hidden = Scenario::new("lts");
        let planner = Arc::new(LtsPlanner::for_scenario(&hidden).unwrap());
        let layout = hidden.build().unwrap().layout();
        let refused = OptimalPolicy::new(planner.clone(), PolicyKind::FiniteHorizon, &layout);
        assert!(matches!(refused.err(), Some(PlannerError::HiddenUser)));
        // The bandit observation, which holds no user state (and refuses to drop one).
        let mut bandit = strong();
        bandit.wrappers.user_observation = false;
        bandit.wrappers.bandit_observation = true;
        let layout = bandit.build().unwrap().layout();
        assert!(OptimalPolicy::new(planner, PolicyKind::Stationary, &layout).is_err());
    }

    #[test]
    fn without_sensitivity_the_planner_is_greedy() {
        // β = 0: satisfaction is always ½, so the most clickbait is best at every step.
        let mut scenario = strong();
        scenario.params = ParamSet::from([("sensitivity".into(), 0.0)]);
        let planner = LtsPlanner::for_scenario(&scenario).unwrap();
        assert_eq!(planner.exposure(0.5), 0.0);
        let p = planner.params();
        let best = mean_engagement(p, 1.0, 0.0);
        // Every step the best of 20 uniforms, nearly c = 1.
        let per_step = planner.predicted_value() / planner.horizon() as f64;
        assert!(per_step < best && per_step > mean_engagement(p, 0.95, 0.0));
        assert!((planner.predicted_value() - planner.stationary_value()).abs() < 1e-9);
        assert!(planner.q_value(1.0, 7, 0.9) > planner.q_value(1.0, 7, 0.8));
    }
}
