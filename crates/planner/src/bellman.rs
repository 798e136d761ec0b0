//! The Bellman operator of long-term satisfaction on the grid, and its solvers: backward
//! induction (in the planner), relative value iteration for the long-horizon limit, and
//! the evaluation of the stationary policy over a finite horizon.

use recsim_core::LtsParams;

use super::grid::Grid;
use super::quadrature::expected_best;
use super::{PlannerError, INITIAL_POINTS, RVI_MAX_SWEEPS, RVI_TOLERANCE};

/// Expected engagement `E[exp(X)] = exp(loc + scale²/2)` of clickbait `c` at exposure `npe`.
pub(super) fn mean_engagement(p: &LtsParams, c: f64, npe: f64) -> f64 {
    let scale = p.engagement_scale(c);
    (p.engagement_loc(c, p.satisfaction(npe)) + 0.5 * scale * scale).exp()
}

/// The stage-independent pieces of the Bellman operator, one row per grid point and one
/// column per clickbait cell.
pub(super) struct Tables {
    pub grid: Grid,
    pub cells: usize,
    pub reward: Vec<f64>,
    /// Where `next_exposure_mean(x_i, c_j)` falls on the grid.
    pub next: Vec<(usize, f64)>,
    pub best_of: Vec<f64>,
    pub rule: Vec<(f64, f64)>,
    pub innovation: f64,
}

impl Tables {
    /// `E_ε v(x + σ_I·ε)` at every grid point: the value of arriving at `x` before the
    /// innovation noise.
    pub fn expect_noise(&self, v: &[f64]) -> Vec<f64> {
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
    pub fn q_row(&self, i: usize, cont: &[f64], out: &mut [f64]) {
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
    pub fn backup(&self, cont: &[f64], scratch: &mut [f64]) -> Vec<f64> {
        (0..self.grid.len)
            .map(|i| {
                self.q_row(i, cont, scratch);
                expected_best(scratch, &self.best_of)
            })
            .collect()
    }
}

/// The long-horizon limit by relative value iteration from `start`: the gain `g` and the
/// differential values `h` (pinned to 0 at the grid's middle) with `g + h = T h`.
pub(super) fn relative_value_iteration(
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
pub(super) fn evaluate_stationary(tables: &Tables, stationary: &[f64], horizon: usize) -> Vec<f64> {
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
pub(super) fn mean_over(grid: &Grid, values: &[f64], half: f64) -> f64 {
    let width = 2.0 * half / INITIAL_POINTS as f64;
    let total: f64 = (0..INITIAL_POINTS)
        .map(|k| grid.interpolate(values, -half + (k as f64 + 0.5) * width))
        .sum();
    total / INITIAL_POINTS as f64
}
