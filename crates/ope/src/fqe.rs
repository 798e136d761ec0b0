//! Fitted-Q evaluation (Le, Voloshin and Yue, ICML 2019): the target policy's value to go,
//! learnt from the logged steps by repeated regression, for the doubly robust estimators
//! of the return.
//!
//! `Q̂(s, a) = θ·Φ(s, a)`, with `Φ` the reward model's features of every position of the
//! slate, end to end. Iteration `j + 1` regresses `r_t + V̂_j(s_{t+1})` on the logged
//! `Φ(s_t, a_t)` (`V̂_j(s) = θ_j·E_π[Φ(s, ·)]`, 0 after an episode's last step), as many
//! times as the longest episode has steps: the finite-horizon value. Each fold of episodes
//! (even, odd) is valued by the model fitted on the other, so that no step's own reward
//! enters its baseline.

use nalgebra::{DMatrix, DVector};

use crate::model::ridge;

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

    /// `θ` fitted on the steps of `fold`'s complement.
    fn fit(&self, fold: u64) -> DVector<f64> {
        let (d, n) = (self.d, self.episode.len());
        let train: Vec<usize> = (0..n).filter(|&i| self.episode[i] % 2 != fold).collect();
        let mut a = DMatrix::<f64>::zeros(d, d);
        for &i in &train {
            let x = DVector::from_column_slice(self.row(&self.logged, i));
            a.syger(1.0, &x, &x, 1.0);
        }
        // Factorised once: every iteration solves with the same matrix.
        let solve = ridge(a);
        let horizon = {
            let (mut longest, mut run) = (0, 0);
            for i in 0..n {
                run = if i > 0 && self.episode[i] == self.episode[i - 1] {
                    run + 1
                } else {
                    1
                };
                longest = longest.max(run);
            }
            longest
        };
        let mut theta = DVector::zeros(d);
        for _ in 0..horizon {
            let mut b = DVector::zeros(d);
            for &i in &train {
                let next = if self.continues(i) {
                    dot(theta.as_slice(), self.row(&self.target, i + 1))
                } else {
                    0.0
                };
                let y = self.reward[i] + next;
                for (bj, x) in b.iter_mut().zip(self.row(&self.logged, i)) {
                    *bj += x * y;
                }
            }
            theta = solve(&b);
        }
        theta
    }

    /// Per step, `Q̂(s_t, a_t)` and `V̂(s_t)`, cross-fitted.
    pub fn values(&self) -> (Vec<f64>, Vec<f64>) {
        let thetas = [self.fit(0), self.fit(1)];
        (0..self.episode.len())
            .map(|i| {
                let theta = thetas[(self.episode[i] % 2) as usize].as_slice();
                (
                    dot(theta, self.row(&self.logged, i)),
                    dot(theta, self.row(&self.target, i)),
                )
            })
            .unzip()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_to_go_of_a_constant_reward() {
        // Episodes of 3 steps earning 2 each, one constant feature: each iteration is
        // θ ← 2 + θ·(2/3) (two steps of three have a next), so after the horizon's 3,
        // 2 + 4/3 + 8/9 = 38/9: without the time left, FQE cannot tell the steps apart.
        let mut f = FittedQ::new(1);
        for e in 0..10 {
            for _ in 0..3 {
                f.push(e, 2.0, &[1.0], &[1.0]);
            }
        }
        let (q, v) = f.values();
        // (The ridge, a millionth of the features' mean square, shrinks it by about 2e-6.)
        assert!(
            q.iter().chain(&v).all(|x| (x - 38.0 / 9.0).abs() < 1e-4),
            "{q:?}"
        );
        // With the time left as a feature (one-hot), it is exact: 6, 4, 2.
        let mut f = FittedQ::new(3);
        for e in 0..10 {
            for t in 0..3 {
                let mut x = [0.0; 3];
                x[t] = 1.0;
                f.push(e, 2.0, &x, &x);
            }
        }
        let (q, _) = f.values();
        for (i, q) in q.iter().enumerate() {
            assert!((q - [6.0, 4.0, 2.0][i % 3]).abs() < 1e-4, "{i}: {q}");
        }
    }
}
