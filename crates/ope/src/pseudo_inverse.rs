//! The pseudo-inverse estimator's per-step weight `qᵀ Γ⁺ 1_s`: `q` is the target's
//! position-item marginals, `Γ` the logging policy's pair marginals (`KN × KN`), `1_s` the
//! logged slate's indicator.
//!
//! `Γ⁺` is computed once for the random policy, once per pattern of repeats for
//! ε-greedy (relabelling the candidates maps every deterministic slate of one pattern onto
//! one matrix: `Γ(d) = P Γ(c) Pᵀ` for a permutation `P`), and at every step for a softmax.

use std::collections::HashMap;

use nalgebra::{DMatrix, DVector, SymmetricEigen};

use logs::SlateDist;

/// Eigenvalues below this share of the largest are taken for zero.
const RANK_TOLERANCE: f64 = 1e-10;

/// Computes the weights, caching what can be cached.
#[derive(Default)]
pub struct PseudoInverse {
    cache: HashMap<(Vec<usize>, u64), DMatrix<f64>>,
    gamma: DMatrix<f64>,
    to_canon: Vec<usize>,
}

impl PseudoInverse {
    /// `qᵀ Γ(μ)⁺ 1_slate`, or `None` where `q` lies outside the range of `Γ(μ)`: the
    /// logging policy's slates cannot express the target's marginals, so the estimator
    /// is not identified. `q` is `K × N`, row-major.
    pub fn weight(&mut self, mu: &SlateDist, q: &[f64], slate: &[usize]) -> Option<f64> {
        let (n, k) = (mu.num_candidates(), mu.slate_size());
        if let SlateDist::PlackettLuce { .. } = mu {
            mu.pair_marginals(&mut self.gamma);
            let eig = SymmetricEigen::new(self.gamma.clone());
            let qv = DVector::from_column_slice(q);
            let mut z = DVector::zeros(k * n);
            for_range(&eig, |u, l| z.axpy(u.dot(&qv) / l, &u, 1.0));
            return self.checked(mu, q, z, slate);
        }
        // The random policy's Γ, or ε-greedy's with the candidates relabelled: the
        // deterministic slate's in order of first appearance, then the rest.
        let to_canon = &mut self.to_canon;
        to_canon.clear();
        to_canon.resize(n, usize::MAX);
        let (key, canon) = match mu {
            SlateDist::Epsilon {
                epsilon, slate: d, ..
            } => {
                let mut pattern = Vec::with_capacity(k);
                let mut next = 0;
                for &i in d {
                    if to_canon[i] == usize::MAX {
                        to_canon[i] = next;
                        next += 1;
                    }
                    pattern.push(to_canon[i]);
                }
                for c in to_canon.iter_mut().filter(|c| **c == usize::MAX) {
                    *c = next;
                    next += 1;
                }
                let canon = SlateDist::Epsilon {
                    n,
                    epsilon: *epsilon,
                    slate: pattern.clone(),
                };
                ((pattern, epsilon.to_bits()), canon)
            }
            _ => {
                to_canon.iter_mut().enumerate().for_each(|(i, c)| *c = i);
                ((Vec::new(), 0), mu.clone())
            }
        };
        let pinv = self.cache.entry(key).or_insert_with(|| pinv_of(&canon));
        let col = |i: usize| (i / n) * n + to_canon[i % n];
        if mu.covers_everything() {
            // Only the slate's K rows of Γ⁺ matter, and only q's non-zero entries: Γ⁺ is
            // symmetric, so its rows are its (contiguous) columns.
            let mut theta = 0.0;
            for (a, &i) in slate.iter().enumerate() {
                let row = pinv.column(a * n + to_canon[i]);
                for (j, &qj) in q.iter().enumerate() {
                    if qj != 0.0 {
                        theta += row[col(j)] * qj;
                    }
                }
            }
            return Some(theta);
        }
        let mut qc = DVector::zeros(k * n);
        for (j, &qj) in q.iter().enumerate() {
            qc[col(j)] = qj;
        }
        let y = &*pinv * qc;
        let z = DVector::from_fn(k * n, |j, _| y[col(j)]);
        self.checked(mu, q, z, slate)
    }

    /// `zᵀ1_slate` for `z = Γ⁺q`, if `Γz = q`: a logging policy that misses slates may
    /// leave `q` outside `Γ`'s range.
    fn checked(
        &mut self,
        mu: &SlateDist,
        q: &[f64],
        z: DVector<f64>,
        slate: &[usize],
    ) -> Option<f64> {
        let n = mu.num_candidates();
        mu.pair_marginals(&mut self.gamma);
        let residual = (&self.gamma * &z - DVector::from_column_slice(q)).norm();
        // Rounding leaves about 1e-14; a target outside the range leaves a share of q.
        if residual > 1e-6 * (1.0 + q.iter().map(|x| x * x).sum::<f64>().sqrt()) {
            return None;
        }
        Some(slate.iter().enumerate().map(|(a, &i)| z[a * n + i]).sum())
    }
}

fn pinv_of(mu: &SlateDist) -> DMatrix<f64> {
    let mut gamma = DMatrix::zeros(1, 1);
    mu.pair_marginals(&mut gamma);
    pinv(gamma)
}

/// The pseudo-inverse of a symmetric positive semi-definite matrix, from its eigenvectors:
/// more accurate for `Γ` than the general SVD's, whose null directions come out rough.
fn pinv(gamma: DMatrix<f64>) -> DMatrix<f64> {
    let eig = SymmetricEigen::new(gamma);
    let n = eig.eigenvalues.len();
    let mut out = DMatrix::zeros(n, n);
    for_range(&eig, |u, l| out.ger(1.0 / l, &u, &u, 1.0));
    out
}

/// Calls `f(u, λ)` for every eigenvector `u` whose eigenvalue `λ` is not taken for zero.
fn for_range(eig: &SymmetricEigen<f64, nalgebra::Dyn>, mut f: impl FnMut(DVector<f64>, f64)) {
    let top = eig.eigenvalues.max();
    for (i, &l) in eig.eigenvalues.iter().enumerate() {
        if l > RANK_TOLERANCE * top {
            f(eig.eigenvectors.column(i).into_owned(), l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weights are unbiased for a linear reward: `E_μ[θ r] = E_π[r]`.
    fn check_unbiased(mu: &SlateDist, target: &SlateDist) {
        let (n, k) = (mu.num_candidates(), mu.slate_size());
        let phi: Vec<f64> = (0..k * n).map(|j| ((j * 7) % 5) as f64 - 1.5).collect();
        let reward =
            |s: &[usize]| -> f64 { s.iter().enumerate().map(|(a, &i)| phi[a * n + i]).sum() };
        let mut q = vec![0.0; k * n];
        target.marginals(&[], &mut q);
        let truth: f64 = (0..k)
            .map(|a| (0..n).map(|i| q[a * n + i] * phi[a * n + i]).sum::<f64>())
            .sum();
        let mut pi = PseudoInverse::default();
        let mut estimate = 0.0;
        for code in 0..n.pow(k as u32) {
            let s: Vec<usize> = (0..k).map(|a| (code / n.pow(a as u32)) % n).collect();
            let p = mu.slate_prob(&s);
            if p > 0.0 {
                estimate += p * pi.weight(mu, &q, &s).expect("supported") * reward(&s);
            }
        }
        assert!(
            (estimate - truth).abs() < 1e-9,
            "{mu:?} → {target:?}: {estimate} vs {truth}"
        );
    }

    #[test]
    fn unbiased_for_additive_rewards() {
        let greedy = SlateDist::Epsilon {
            n: 4,
            epsilon: 0.0,
            slate: vec![2, 0],
        };
        let softmax = SlateDist::PlackettLuce {
            weights: vec![1.0, 0.5, 2.0, 1.5],
            k: 2,
        };
        let uniform = SlateDist::Uniform { n: 4, k: 2 };
        let loggers = [
            uniform.clone(),
            SlateDist::Epsilon {
                n: 4,
                epsilon: 0.3,
                slate: vec![1, 3],
            },
            SlateDist::Epsilon {
                n: 4,
                epsilon: 0.3,
                slate: vec![1, 1],
            },
            softmax.clone(),
        ];
        for mu in &loggers {
            for target in [&greedy, &softmax, &uniform] {
                check_unbiased(mu, target);
            }
        }
        // Deterministic logging identifies nothing but itself.
        let mut pi = PseudoInverse::default();
        let mut q = vec![0.0; 8];
        softmax.marginals(&[], &mut q);
        assert_eq!(pi.weight(&greedy, &q, &[2, 0]), None);
        greedy.marginals(&[], &mut q);
        assert!((pi.weight(&greedy, &q, &[2, 0]).unwrap() - 1.0).abs() < 1e-9);
    }
}
