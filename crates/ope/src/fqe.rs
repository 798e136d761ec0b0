//! Fitted-Q evaluation (Le, Voloshin and Yue, ICML 2019): the target policy's value to go,
//! learnt from the logged steps by repeated regression, for the doubly robust estimators
//! of the return.
//!
//! `Q̂(s, a, τ) = θ·[Φ(s, a), (τ/H)·Φ(s, a)]`, with `Φ` the reward model's features of
//! every position of the slate, end to end, `τ` the steps left in the episode (this one
//! included) and `H` the longest episode's: the value to go of a long episode grows with
//! the time left at a rate the state sets (its gain), plus what the state itself is worth,
//! and without `τ` every step of an episode would get the same value. Fitted-Q iteration
//! regresses `r_t + V̂_j(s_{t+1})` on the logged features again and again
//! (`V̂_j(s) = θ_j·E_π[Φ(s, ·)]` at the next step's `τ`, 0 after an episode's last
//! step); its fixed point is solved for directly. Each fold of episodes (even, odd) is
//! valued by the model fitted on the other, so that no step's own reward enters its
//! baseline.

use nalgebra::{DMatrix, DVector};

use crate::model::ridge_lambda;

/// The logged steps, as the regression reads them.
pub struct FittedQ {
    d: usize,
    /// `Φ(s_t, a_t)`, `d` per step.
    logged: Vec<f64>,
    /// `E_π[Φ(s_t, ·)]`, `d` per step.
    target: Vec<f64>,
    reward: Vec<f64>,
    episode: Vec<u64>,
}

impl FittedQ {
    /// No steps yet, of `d` features each.
    pub fn new(d: usize) -> Self {
        Self {
            d,
            logged: Vec::new(),
            target: Vec::new(),
            reward: Vec::new(),
            episode: Vec::new(),
        }
    }

    /// Adds a step: its episode (steps of an episode in order), its reward, the features
    /// of the logged slate and their expectation under the target.
    pub fn push(&mut self, episode: u64, reward: f64, logged: &[f64], target: &[f64]) {
        self.episode.push(episode);
        self.reward.push(reward);
        self.logged.extend_from_slice(logged);
        self.target.extend_from_slice(target);
    }

    fn row<'a>(&self, x: &'a [f64], i: usize) -> &'a [f64] {
        &x[i * self.d..(i + 1) * self.d]
    }

    /// Whether step `i + 1` continues step `i`'s episode.
    fn continues(&self, i: usize) -> bool {
        i + 1 < self.episode.len() && self.episode[i + 1] == self.episode[i]
    }

    /// Per step, the steps left in its episode (itself included), and the longest
    /// episode's length.
    fn time_left(&self) -> (Vec<f64>, f64) {
        let n = self.episode.len();
        let mut left = vec![0.0; n];
        for i in (0..n).rev() {
            left[i] = if self.continues(i) {
                left[i + 1] + 1.0
            } else {
                1.0
            };
        }
        let longest = left.iter().copied().fold(1.0, f64::max);
        (left, longest)
    }

    /// `[x, (τ/H)·x]` of row `i` of `x`.
    fn features(&self, x: &[f64], i: usize, time: &(Vec<f64>, f64), out: &mut DVector<f64>) {
        let row = self.row(x, i);
        let scale = time.0[i] / time.1;
        for (j, &v) in row.iter().enumerate() {
            out[j] = v;
            out[self.d + j] = v * scale;
        }
    }

    /// `θ` fitted on the steps of `fold`'s complement: the fixed point of the iteration,
    /// `Σ x_t (x_t − x'_t)ᵀ θ = Σ x_t r_t` (least-squares temporal differences, Lagoudakis
    /// and Parr 2003), with `x'_t` the target's features at the next step (0 after an
    /// episode's last), and the reward model's ridge.
    fn fit(&self, fold: u64, time: &(Vec<f64>, f64)) -> DVector<f64> {
        let (d, n) = (2 * self.d, self.episode.len());
        let mut gram = DMatrix::<f64>::zeros(d, d);
        let mut a = DMatrix::<f64>::zeros(d, d);
        let mut b = DVector::zeros(d);
        let (mut x, mut next) = (DVector::zeros(d), DVector::zeros(d));
        for i in (0..n).filter(|&i| self.episode[i] % 2 != fold) {
            self.features(&self.logged, i, time, &mut x);
            if self.continues(i) {
                self.features(&self.target, i + 1, time, &mut next);
            } else {
                next.fill(0.0);
            }
            gram.syger(1.0, &x, &x, 1.0);
            next.axpy(1.0, &x, -1.0);
            a.ger(1.0, &x, &next, 1.0);
            b.axpy(self.reward[i], &x, 1.0);
        }
        let lambda = ridge_lambda(&gram);
        for i in 0..d {
            a[(i, i)] += lambda;
        }
        match a.clone().lu().solve(&b) {
            Some(theta) => theta,
            None => a
                .svd(true, true)
                .solve(&b, 1e-12)
                .unwrap_or_else(|_| DVector::zeros(d)),
        }
    }

    /// Per step, `Q̂(s_t, a_t)` and `V̂(s_t)`, cross-fitted.
    pub fn values(&self) -> (Vec<f64>, Vec<f64>) {
        let time = self.time_left();
        let thetas = [self.fit(0, &time), self.fit(1, &time)];
        let mut x = DVector::zeros(2 * self.d);
        (0..self.episode.len())
            .map(|i| {
                let theta = &thetas[(self.episode[i] % 2) as usize];
                self.features(&self.logged, i, &time, &mut x);
                let q = theta.dot(&x);
                self.features(&self.target, i, &time, &mut x);
                (q, theta.dot(&x))
            })
            .unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_to_go_of_a_constant_reward() {
        // Episodes of 3 steps earning 2 each, one constant feature: the value to go is
        // 2τ, which the time-left feature holds exactly: 6, 4, 2.
        let mut f = FittedQ::new(1);
        for e in 0..10 {
            for _ in 0..3 {
                f.push(e, 2.0, &[1.0], &[1.0]);
            }
        }
        let (q, v) = f.values();
        // (The ridge, a millionth of the features' mean square, shrinks it by about 2e-6.)
        for (i, (q, v)) in q.iter().zip(&v).enumerate() {
            let want = [6.0, 4.0, 2.0][i % 3];
            assert!(
                (q - want).abs() < 1e-4 && (v - want).abs() < 1e-4,
                "{i}: {q} {v}"
            );
        }
        // Slates of two kinds: kind 1 earns 3, kind 0 nothing; the target always shows
        // kind 1. From the first step: 3 + 3 + 3 = 9 under the target; the logged
        // slate's own Q where it showed kind 0: 0 + 6.
        let mut f = FittedQ::new(2);
        for e in 0..40 {
            for t in 0..3 {
                // The logging policy alternates, so that each fold (by the episode's
                // parity) sees both kinds at every step.
                let logged = if (e / 2 + t) % 2 == 0 {
                    [1.0, 0.0]
                } else {
                    [0.0, 1.0]
                };
                f.push(e as u64, 3.0 * logged[1], &logged, &[0.0, 1.0]);
            }
        }
        let (q, v) = f.values();
        assert!((v[0] - 9.0).abs() < 1e-3, "{v:?}");
        assert!((q[0] - 6.0).abs() < 1e-3, "{q:?}");
    }
}
