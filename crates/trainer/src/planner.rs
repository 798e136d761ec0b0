//! The optimal planner for long-term satisfaction (spec §1).
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

use std::sync::Arc;

use agents_bandit::{top_k, Agent, AgentError};
use env::{SlateEnv, Transition};
use recsim_core::{ConfigError, LtsParams};
use thiserror::Error;

use crate::Scenario;

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
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PlannerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the planner models long-term satisfaction; `{0}` is another environment")]
    NotLts(&'static str),
    #[error(
        "the planner assumes fresh i.i.d. candidates every step: \
         set resample_documents = true"
    )]
    FixedDocuments,
    #[error(
        "the optimal policy reads the user's satisfaction: turn on the user-observation \
         wrapper and leave the bandit observation off"
    )]
    HiddenUser,
    #[error("invalid planner resolution: {0}")]
    Resolution(&'static str),
    #[error("a time budget of {steps} steps is too long for the planner (at most {MAX_HORIZON})")]
    HorizonTooLong { steps: usize },
    #[error(
        "the exposure grid is too coarse for these parameters: expected engagement changes \
         by up to {log_change:.3} (log scale) between grid points, at most \
         {MAX_LOG_REWARD_PER_CELL} is accurate; raise grid_points or lower memory_discount \
         or sensitivity"
    )]
    CoarseGrid { log_change: f64 },
    #[error("expected engagement overflows a 64-bit float for these parameters")]
    Overflow,
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

/// An evenly spaced grid over NPE, read by linear interpolation.
#[derive(Debug, Clone, Copy)]
struct Grid {
    lo: f64,
    step: f64,
    len: usize,
}

impl Grid {
    fn symmetric(half: f64, len: usize) -> Self {
        Self {
            lo: -half,
            step: 2.0 * half / (len - 1) as f64,
            len,
        }
    }

    fn point(&self, i: usize) -> f64 {
        self.lo + self.step * i as f64
    }

    /// `x` clamped to the grid; NaN goes to the lower end, as in [`Grid::locate`].
    fn clamp(&self, x: f64) -> f64 {
        x.max(self.lo).min(self.point(self.len - 1))
    }

    /// The interval holding `x` and the position within it, clamped to the grid's ends.
    fn locate(&self, x: f64) -> (usize, f64) {
        let last = (self.len - 1) as f64;
        // `max` before `min` sends NaN to the lower end instead of propagating it.
        let t = ((x - self.lo) / self.step).max(0.0).min(last);
        let i = (t as usize).min(self.len - 2);
        (i, t - i as f64)
    }

    fn lerp(values: &[f64], (i, frac): (usize, f64)) -> f64 {
        values[i] + frac * (values[i + 1] - values[i])
    }

    fn interpolate(&self, values: &[f64], x: f64) -> f64 {
        Self::lerp(values, self.locate(x))
    }
}

/// `(He_n(x), He_{n−1}(x))`, the probabilists' Hermite polynomials.
fn hermite(n: usize, x: f64) -> (f64, f64) {
    let (mut prev, mut cur) = (0.0, 1.0);
    for k in 0..n {
        let next = x * cur - k as f64 * prev;
        prev = cur;
        cur = next;
    }
    (cur, prev)
}

/// The `n`-point Gauss–Hermite rule for the standard normal: `(node, weight)` pairs with
/// `Σ w·f(z) = E[f(Z)]` exactly for polynomials `f` of degree below `2n`.
fn gauss_hermite(n: usize) -> Vec<(f64, f64)> {
    // The roots of He_n are simple, symmetric about 0 and below √(4n+2). Neighbouring roots
    // are at least ~π/√(2n) apart, so a scan with steps of √(4n+2)/(64n) brackets each
    // positive root alone; bisection then finds it to machine precision.
    let bound = ((4 * n + 2) as f64).sqrt();
    let steps = 64 * n;
    let h = bound / steps as f64;
    let value = |x: f64| hermite(n, x).0;
    let mut roots = Vec::with_capacity(n);
    if n % 2 == 1 {
        roots.push(0.0);
    }
    // The scan starts half a step above 0, which is itself a root when n is odd.
    let mut a = 0.5 * h;
    let mut fa = value(a);
    for k in 1..=steps {
        let b = (k as f64 + 0.5) * h;
        let fb = value(b);
        if (fa < 0.0) != (fb < 0.0) {
            let (mut lo, mut hi) = (a, b);
            loop {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                if (value(mid) < 0.0) == (fa < 0.0) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let root = 0.5 * (lo + hi);
            roots.extend([root, -root]);
        }
        (a, fa) = (b, fb);
    }
    debug_assert_eq!(roots.len(), n, "every root of He_{n} bracketed");
    // w_i = (n−1)! / (n·He_{n−1}(z_i)²) for the normalised Gaussian weight.
    let factorial: f64 = (1..n).map(|k| k as f64).product();
    roots
        .into_iter()
        .map(|z| {
            let below = hermite(n, z).1;
            (z, factorial / (n as f64 * below * below))
        })
        .collect()
}

/// `P(the best of n i.i.d. draws lies in cell k)` for the `m` equal-probability cells of
/// its distribution, worst cell first: `(k/m)^n − ((k−1)/m)^n`.
fn best_of_weights(m: usize, n: usize) -> Vec<f64> {
    let cdf = |k: usize| (k as f64 / m as f64).powf(n as f64);
    (1..=m).map(|k| cdf(k) - cdf(k - 1)).collect()
}

/// `E[max of n]` of a quantity whose distribution is the `m` equally likely `values`
/// (sorted in place); `weights` = [`best_of_weights`]`(m, n)`.
fn expected_best(values: &mut [f64], weights: &[f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values.iter().zip(weights).map(|(q, p)| q * p).sum()
}

/// Expected engagement `E[exp(X)] = exp(loc + scale²/2)` of clickbait `c` at exposure `npe`.
fn mean_engagement(p: &LtsParams, c: f64, npe: f64) -> f64 {
    let scale = p.engagement_scale(c);
    (p.engagement_loc(c, p.satisfaction(npe)) + 0.5 * scale * scale).exp()
}

/// The stage-independent pieces of the Bellman operator, one row per grid point and one
/// column per clickbait cell.
struct Tables {
    grid: Grid,
    cells: usize,
    reward: Vec<f64>,
    /// Where `next_exposure_mean(x_i, c_j)` falls on the grid.
    next: Vec<(usize, f64)>,
    best_of: Vec<f64>,
    rule: Vec<(f64, f64)>,
    innovation: f64,
}

impl Tables {
    /// `E_ε v(x + σ_I·ε)` at every grid point: the value of arriving at `x` before the
    /// innovation noise.
    fn expect_noise(&self, v: &[f64]) -> Vec<f64> {
        (0..self.grid.len)
            .map(|i| {
                let x = self.grid.point(i);
                self.rule
                    .iter()
                    .map(|&(z, w)| w * self.grid.interpolate(v, x + self.innovation * z))
                    .sum()
            })
            .collect()
    }

    /// `Q(c_j) = r(c_j, x_i) + cont(next)` for every cell of grid point `i`.
    fn q_row(&self, i: usize, cont: &[f64], out: &mut [f64]) {
        let row = i * self.cells..(i + 1) * self.cells;
        for ((q, r), &at) in out
            .iter_mut()
            .zip(&self.reward[row.clone()])
            .zip(&self.next[row])
        {
            *q = r + Grid::lerp(cont, at);
        }
    }

    /// One optimal Bellman backup: `V(x_i) = E[max over the N candidates of Q(c)]`.
    fn backup(&self, cont: &[f64], scratch: &mut [f64]) -> Vec<f64> {
        (0..self.grid.len)
            .map(|i| {
                self.q_row(i, cont, scratch);
                expected_best(scratch, &self.best_of)
            })
            .collect()
    }
}

/// Optimal values and policies of long-term satisfaction for an agent that sees the user's
/// true state.
#[derive(Debug, Clone)]
pub struct LtsPlanner {
    params: LtsParams,
    horizon: usize,
    reveals_user: bool,
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
    /// Plans for `scenario` at the default [`Resolution`].
    pub fn new(scenario: &Scenario) -> Result<Self, PlannerError> {
        Self::with_resolution(scenario, Resolution::default())
    }

    /// Plans for `scenario` at the given [`Resolution`].
    pub fn with_resolution(
        scenario: &Scenario,
        resolution: Resolution,
    ) -> Result<Self, PlannerError> {
        let params = scenario
            .lts_params()?
            .ok_or(PlannerError::NotLts(scenario.env.name()))?;
        scenario.env_config().validate()?;
        if !scenario.resample_documents {
            return Err(PlannerError::FixedDocuments);
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
        // Values never exceed horizon × the largest reward, so this bounds them all.
        let top_reward = reward.iter().copied().fold(0.0, f64::max);
        if !(top_reward * horizon as f64).is_finite() {
            return Err(PlannerError::Overflow);
        }
        let tables = Tables {
            grid,
            cells: m,
            reward,
            next,
            best_of: best_of_weights(m, scenario.num_candidates),
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
            reveals_user: scenario.wrappers.user_observation
                && !scenario.wrappers.bandit_observation,
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

    pub fn params(&self) -> &LtsParams {
        &self.params
    }

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

/// The long-horizon limit by relative value iteration from `start`: the gain `g` and the
/// differential values `h` (pinned to 0 at the grid's middle) with `g + h = T h`.
fn relative_value_iteration(
    tables: &Tables,
    start: Vec<f64>,
    scratch: &mut [f64],
) -> Result<(f64, Vec<f64>), PlannerError> {
    let pin = tables.grid.len / 2;
    let base = start[pin];
    let mut h: Vec<f64> = start.into_iter().map(|v| v - base).collect();
    for _ in 0..RVI_MAX_SWEEPS {
        let next = tables.backup(&tables.expect_noise(&h), scratch);
        let (lo, hi) = next
            .iter()
            .zip(&h)
            .map(|(t, v)| t - v)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), d| {
                (lo.min(d), hi.max(d))
            });
        // h[pin] = 0, so (T h − h)[pin] is T h[pin].
        let gain = next[pin];
        h = next.into_iter().map(|v| v - gain).collect();
        if hi - lo <= RVI_TOLERANCE * (1.0 + gain.abs()) {
            return Ok((gain, h));
        }
    }
    Err(PlannerError::NotConverged)
}

/// `U_B` on the grid: the expected return over `horizon` steps of the policy that serves
/// the candidate with the best `r + stationary(next)`, whatever the budget left.
fn evaluate_stationary(tables: &Tables, stationary: &[f64], horizon: usize) -> Vec<f64> {
    let (len, m) = (tables.grid.len, tables.cells);
    // The stationary choice at x_i depends only on how it ranks the cells: the chosen
    // candidate lies in the k-th best-ranked cell with probability best_of[k], whatever
    // the budget, so these probabilities weight the b-step values at every stage.
    let mut chosen = vec![0.0; len * m];
    let mut q = vec![0.0; m];
    let mut order: Vec<usize> = Vec::with_capacity(m);
    for i in 0..len {
        tables.q_row(i, stationary, &mut q);
        order.clear();
        order.extend(0..m);
        order.sort_unstable_by(|&a, &b| q[a].total_cmp(&q[b]));
        for (&j, &p) in order.iter().zip(&tables.best_of) {
            chosen[i * m + j] = p;
        }
    }
    let mut value = vec![0.0; len];
    for _ in 0..horizon {
        let cont = tables.expect_noise(&value);
        value = (0..len)
            .map(|i| {
                tables.q_row(i, &cont, &mut q);
                q.iter()
                    .zip(&chosen[i * m..(i + 1) * m])
                    .map(|(q, p)| q * p)
                    .sum()
            })
            .collect();
    }
    value
}

/// The mean of the interpolated `values` over `U[−half, half)`, by the midpoint rule.
fn mean_over(grid: &Grid, values: &[f64], half: f64) -> f64 {
    let width = 2.0 * half / INITIAL_POINTS as f64;
    let total: f64 = (0..INITIAL_POINTS)
        .map(|k| grid.interpolate(values, -half + (k as f64 + 0.5) * width))
        .sum();
    total / INITIAL_POINTS as f64
}

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
/// count restarts at [`Agent::begin_episode`], which the evaluator calls after every
/// reset, and at [`Agent::observe`] of an episode's last transition (terminated or
/// truncated), for training loops. Every `act` is one step, and the count also wraps at
/// the horizon, because every LTS episode lasts exactly that many steps: a driver that
/// plays whole episodes keeps it right with neither call.
#[derive(Debug, Clone)]
pub struct OptimalPolicy {
    planner: Arc<LtsPlanner>,
    kind: PolicyKind,
    /// Steps taken in the current episode, in `0..horizon`.
    elapsed: usize,
    scores: Vec<f64>,
    order: Vec<usize>,
}

impl OptimalPolicy {
    /// Fails if the planner's scenario hides the user's satisfaction from agents.
    pub fn new(planner: Arc<LtsPlanner>, kind: PolicyKind) -> Result<Self, PlannerError> {
        if !planner.reveals_user {
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

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    pub fn planner(&self) -> &LtsPlanner {
        &self.planner
    }
}

impl Agent for OptimalPolicy {
    fn algorithm(&self) -> &'static str {
        self.kind.name()
    }

    /// # Panics
    /// If the environment hides the user's satisfaction, which [`OptimalPolicy::new`]
    /// rules out for the planner's own scenario.
    fn act(&mut self, env: &dyn SlateEnv, _explore: bool, slate: &mut [usize]) {
        let satisfaction = env
            .user()
            .first()
            .copied()
            .expect("the optimal policy needs the user-observation wrapper's satisfaction");
        let planner = &self.planner;
        let npe = planner.exposure(f64::from(satisfaction));
        let remaining = planner.horizon - self.elapsed;
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
        self.elapsed = (self.elapsed + 1) % planner.horizon;
    }

    fn begin_episode(&mut self) {
        self.elapsed = 0;
    }

    fn observe(&mut self, _slate: &[usize], transition: &Transition, _next: &dyn SlateEnv) {
        if transition.done() {
            self.elapsed = 0;
        }
    }

    fn describe(&self) -> String {
        let p = &self.planner;
        let r = p.resolution;
        format!(
            "{} policy of the LTS planner ({} exposure points × {} clickbait cells, {} \
             Gauss–Hermite nodes): predicted return {:.2} over {} steps, stationary {:.2}, \
             long-run gain {:.4} per step",
            self.kind.name(),
            r.grid_points,
            r.clickbait_cells,
            r.quadrature_nodes,
            p.predicted,
            p.horizon,
            p.stationary,
            p.gain
        )
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
        if elapsed >= self.planner.horizon as u64 {
            return Err(AgentError::State(format!(
                "step count {elapsed} is beyond the horizon {}",
                self.planner.horizon
            )));
        }
        self.elapsed = elapsed as usize;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::{evaluate, EnvKind};

    /// StrongLTS 20/2 as an oracle sees it.
    fn strong() -> Scenario {
        let mut s = Scenario::default();
        s.wrappers.user_observation = true;
        s
    }

    fn strong_planner() -> Arc<LtsPlanner> {
        static PLANNER: OnceLock<Arc<LtsPlanner>> = OnceLock::new();
        PLANNER
            .get_or_init(|| Arc::new(LtsPlanner::new(&strong()).unwrap()))
            .clone()
    }

    #[test]
    fn expected_best_of_n_matches_closed_forms() {
        let m = 256;
        let cells: Vec<f64> = (0..m).map(|j| (j as f64 + 0.5) / m as f64).collect();
        for n in [1, 2, 5, 20] {
            let weights = best_of_weights(m, n);
            assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            // The best of n uniforms has mean n/(n+1). Cell midpoints err by about
            // n/(12m²) for a linear quantity, hence the n/(6m²) allowance.
            let tolerance = n as f64 / (6.0 * (m * m) as f64);
            let mut q = cells.clone();
            let exact = n as f64 / (n as f64 + 1.0);
            assert!((expected_best(&mut q, &weights) - exact).abs() < tolerance);
            // |c − ½| is uniform on [0, ½) but not monotone in c: the sort must rank it.
            let mut q: Vec<f64> = cells.iter().map(|c| (c - 0.5).abs()).collect();
            assert!((expected_best(&mut q, &weights) - 0.5 * exact).abs() < tolerance);
        }
    }

    #[test]
    fn gauss_hermite_integrates_polynomials_exactly() {
        for n in 1..=12 {
            let rule = gauss_hermite(n);
            assert_eq!(rule.len(), n);
            // E[Z^k] = 0 for odd k and (k−1)!! for even k; exact up to degree 2n−1.
            let mut double_factorial = 1.0;
            for k in 0..2 * n {
                let moment: f64 = rule.iter().map(|&(z, w)| w * z.powi(k as i32)).sum();
                let exact = if k % 2 == 1 { 0.0 } else { double_factorial };
                if k % 2 == 1 {
                    double_factorial *= k as f64;
                }
                assert!(
                    (moment - exact).abs() < 1e-10 * exact.max(1.0),
                    "n={n}, k={k}: {moment} vs {exact}"
                );
            }
            let sigma = 0.05;
            let variance: f64 = rule.iter().map(|&(z, w)| w * (sigma * z).powi(2)).sum();
            if n >= 2 {
                assert!((variance - sigma * sigma).abs() < 1e-15);
            }
        }
        let widest = gauss_hermite(64);
        assert_eq!(widest.len(), 64);
        assert!((widest.iter().map(|&(_, w)| w).sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_last_step_is_myopic() {
        // Kale pays more now (choc_mean 3 < kale_mean 4): the last step must serve the
        // least clickbait, which the greedy baseline would never do.
        let mut scenario = strong();
        scenario.params = vec![("choc_mean".into(), 3.0)];
        let planner = Arc::new(LtsPlanner::new(&scenario).unwrap());
        let p = *planner.params();
        for npe in [-4.0, -1.0, 0.0, 2.5] {
            for c in [0.0, 0.3, 0.99] {
                assert_eq!(planner.q_value(npe, 1, c), mean_engagement(&p, c, npe));
            }
        }
        let mut agent = OptimalPolicy::new(planner.clone(), PolicyKind::FiniteHorizon).unwrap();
        let mut env = scenario.build().unwrap();
        env.start(None);
        let mut slate = [0; 2];
        for _ in 1..planner.horizon() {
            agent.act(&*env, false, &mut slate);
            env.recommend(&slate).unwrap();
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
        assert!(env.recommend(&slate).unwrap().done());
    }

    #[test]
    fn simulated_returns_match_the_predictions() {
        let planner = strong_planner();
        let mut scenario = strong();
        scenario.seed = 7;
        let episodes = 1000;
        for (kind, predicted) in [
            (PolicyKind::FiniteHorizon, planner.predicted_value()),
            (PolicyKind::Stationary, planner.stationary_value()),
        ] {
            let mut agent = OptimalPolicy::new(planner.clone(), kind).unwrap();
            let mut env = scenario.build().unwrap();
            let s = evaluate(&mut *env, &mut agent, episodes, false, |_| {}).unwrap();
            // Returns have sd ≈ 11.7, so the standard error over 1000 episodes is ≈ 0.37.
            // Four standard errors (a false alarm for about one seed in 16,000) plus 0.05
            // for the discretisation (the resolution test bounds it by 0.02).
            let tolerance = 4.0 * s.std / (episodes as f64).sqrt() + 0.05;
            assert!(
                (s.mean - predicted).abs() < tolerance,
                "{}: simulated {} vs predicted {predicted} (± {tolerance})",
                kind.name(),
                s.mean
            );
            assert_eq!(s.mean_length, planner.horizon() as f64);
        }
        // The random slate scores ≈ 1157.9 here; knowing when to serve clickbait pays.
        assert!(planner.stationary_value() > 1185.0);
        assert!(planner.predicted_value() > planner.stationary_value());
    }

    #[test]
    fn the_default_resolution_has_converged() {
        let planner = strong_planner();
        let fine = LtsPlanner::with_resolution(
            &strong(),
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
        let mut agent = OptimalPolicy::new(planner.clone(), PolicyKind::FiniteHorizon).unwrap();
        let mut env = scenario.build().unwrap();
        let mut slate = [0; 2];
        env.start(None);
        for _ in 0..5 {
            agent.act(&*env, false, &mut slate);
            env.recommend(&slate).unwrap();
        }
        let saved = agent.save();
        let mut copy = OptimalPolicy::new(planner.clone(), PolicyKind::FiniteHorizon).unwrap();
        copy.load(&saved).unwrap();
        assert_eq!(copy.elapsed, 5);
        let (mut a, mut b) = ([0; 2], [0; 2]);
        agent.act(&*env, false, &mut a);
        copy.act(&*env, false, &mut b);
        assert_eq!(a, b);

        // An episode abandoned midway does not leak into the next one.
        crate::play_episode(&mut *env, &mut copy, false).unwrap();
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

        let mut stationary = OptimalPolicy::new(planner.clone(), PolicyKind::Stationary).unwrap();
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
            LtsPlanner::new(&s).map(|_| ())
        };
        assert_eq!(
            build(|s| s.resample_documents = false),
            Err(PlannerError::FixedDocuments)
        );
        assert!(matches!(
            build(|s| s.slate_size = 30),
            Err(PlannerError::Config(ConfigError::SlateTooLarge { .. }))
        ));
        assert!(matches!(
            build(|s| s.params = vec![("sensitivity".into(), -1.0)]),
            Err(PlannerError::Config(ConfigError::InvalidParam { .. }))
        ));
        assert!(matches!(
            build(|s| s.params = vec![("memory_discount".into(), 0.999)]),
            Err(PlannerError::CoarseGrid { .. })
        ));
        assert_eq!(
            build(|s| s.params = vec![("time_budget".into(), 20_000.0)]),
            Err(PlannerError::HorizonTooLong { steps: 20_000 })
        );
        assert_eq!(
            build(|s| s.params = vec![("choc_stddev".into(), 40.0)]),
            Err(PlannerError::Overflow)
        );
        let coarse = Resolution {
            clickbait_cells: 0,
            ..Resolution::default()
        };
        assert!(matches!(
            LtsPlanner::with_resolution(&strong(), coarse),
            Err(PlannerError::Resolution(_))
        ));

        // The values need no oracle view, the policy does.
        let hidden = Scenario {
            env: EnvKind::Lts,
            ..Scenario::default()
        };
        let planner = Arc::new(LtsPlanner::new(&hidden).unwrap());
        let refused = OptimalPolicy::new(planner, PolicyKind::FiniteHorizon);
        assert_eq!(refused.err(), Some(PlannerError::HiddenUser));
        let mut bandit = strong();
        bandit.wrappers.bandit_observation = true;
        let planner = Arc::new(LtsPlanner::new(&bandit).unwrap());
        assert!(OptimalPolicy::new(planner, PolicyKind::Stationary).is_err());
    }

    #[test]
    fn without_sensitivity_the_planner_is_greedy() {
        // β = 0: satisfaction is always ½, so the most clickbait is best at every step.
        let mut scenario = strong();
        scenario.params = vec![("sensitivity".into(), 0.0)];
        let planner = LtsPlanner::new(&scenario).unwrap();
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
