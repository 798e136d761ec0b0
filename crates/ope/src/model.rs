//! The reward model of the direct method and of cascade doubly robust: one ridge
//! regression per slate position of the reward it earned on features of the context and
//! the items up to it (the cascade's view of a slate).
//!
//! For position `k` holding item `a_k`, with `m(i)` the world's myopic score of item `i`
//! (what greedy ranks by), `d(i)` its features and `u` the user's:
//! `φ_k = [1, m(a_k), m(a_k)², Σ_{l<k} m(a_l), d(a_k), u, m(a_k)·u]`. The model is linear
//! in `φ`, so its expectation under a policy needs only the policy's position marginals.

use nalgebra::{DMatrix, DVector};

/// Rows gathered before they are added to the normal equations in one product.
const BATCH: usize = 512;

/// The features of one position.
#[derive(Debug, Clone, Copy)]
pub struct FeatureMap {
    user_dim: usize,
    doc_dim: usize,
}

/// One observation, as the features read it.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The user features.
    pub user: &'a [f32],
    /// The `N × d` candidate features.
    pub items: &'a [f32],
    /// The myopic score of each candidate.
    pub scores: &'a [f64],
}

impl FeatureMap {
    /// The features for observations of `user_dim` user and `doc_dim` item features.
    pub fn new(user_dim: usize, doc_dim: usize) -> Self {
        Self { user_dim, doc_dim }
    }

    /// Features per position.
    pub fn len(&self) -> usize {
        4 + self.doc_dim + 2 * self.user_dim
    }

    /// Never: there are always the constant and the score terms.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `E[φ]` when the position holds candidate `i` with probability `p[i]` and the
    /// scores before it sum to `prefix` (in expectation); with `p` an indicator, `φ`.
    pub fn expected(&self, x: &Context, p: &[f64], prefix: f64, out: &mut [f64]) {
        let (u, d) = (self.user_dim, self.doc_dim);
        out.fill(0.0);
        let (mut m, mut m2) = (0.0, 0.0);
        let doc = &mut out[4..4 + d];
        for (i, &pi) in p.iter().enumerate() {
            if pi == 0.0 {
                continue;
            }
            let s = x.scores[i];
            m += pi * s;
            m2 += pi * s * s;
            for (o, &f) in doc.iter_mut().zip(&x.items[i * d..(i + 1) * d]) {
                *o += pi * f64::from(f);
            }
        }
        out[0] = 1.0;
        out[1] = m;
        out[2] = m2;
        out[3] = prefix;
        for (j, &uj) in x.user.iter().enumerate() {
            out[4 + d + j] = f64::from(uj);
            out[4 + d + u + j] = m * f64::from(uj);
        }
    }
}

/// One position's normal equations in one fold: `ΦᵀΦ`, `Φᵀr`, and the features and
/// rewards of rows waiting to be added.
type Normal = (DMatrix<f64>, DVector<f64>, Vec<f64>, Vec<f64>);

/// Normal equations, per fold and position, for fitting the model.
pub struct RewardFit {
    k: usize,
    q: usize,
    /// `[fold][position]`.
    normal: Vec<Vec<Normal>>,
}

impl RewardFit {
    /// Empty equations for `k` positions of `q` features, in `folds` folds.
    pub fn new(k: usize, q: usize, folds: usize) -> Self {
        let empty = || {
            (
                DMatrix::zeros(q, q),
                DVector::zeros(q),
                Vec::new(),
                Vec::new(),
            )
        };
        Self {
            k,
            q,
            normal: (0..folds)
                .map(|_| (0..k).map(|_| empty()).collect())
                .collect(),
        }
    }

    /// Adds one observation: position `k`'s features and the reward it earned, in `fold`.
    pub fn add(&mut self, fold: usize, k: usize, phi: &[f64], reward: f64) {
        let q = self.q;
        let entry = &mut self.normal[fold][k];
        entry.2.extend_from_slice(phi);
        entry.3.push(reward);
        if entry.3.len() == BATCH {
            flush(entry, q);
        }
    }

    /// The model fitted on every fold but `leave_out` (all folds with `None`): per
    /// position, `θ = (ΦᵀΦ + λI)⁻¹ Φᵀr` with a ridge `λ` a millionth of the features'
    /// mean square, which only matters where features are collinear or constant.
    pub fn fit(&mut self, leave_out: Option<usize>) -> RewardModel {
        let q = self.q;
        for fold in &mut self.normal {
            for entry in fold.iter_mut() {
                flush(entry, q);
            }
        }
        let theta = (0..self.k)
            .map(|k| {
                let mut a = DMatrix::zeros(q, q);
                let mut b = DVector::zeros(q);
                for (f, fold) in self.normal.iter().enumerate() {
                    if Some(f) != leave_out {
                        a += &fold[k].0;
                        b += &fold[k].1;
                    }
                }
                ridge(a)(&b)
            })
            .collect();
        RewardModel { theta }
    }
}

/// The solver of `(ΦᵀΦ + λI) θ = b` for the normal matrix `a = ΦᵀΦ`, factorised once
/// for any number of right-hand sides: a ridge `λ` a millionth of the features' mean
/// square, which only matters where features are collinear or constant; Cholesky, or the
/// SVD's least squares where even that fails.
pub(crate) fn ridge(mut a: DMatrix<f64>) -> impl Fn(&DVector<f64>) -> DVector<f64> {
    let q = a.nrows();
    let lambda = ridge_lambda(&a);
    for i in 0..q {
        a[(i, i)] += lambda;
    }
    let cholesky = a.clone().cholesky();
    let svd = cholesky.is_none().then(|| a.svd(true, true));
    move |b| match (&cholesky, &svd) {
        (Some(c), _) => c.solve(b),
        (None, Some(svd)) => svd.solve(b, 1e-12).unwrap_or_else(|_| DVector::zeros(q)),
        (None, None) => DVector::zeros(q),
    }
}

/// The ridge for the normal matrix `a = ΦᵀΦ`: a millionth of the features' mean square.
pub(crate) fn ridge_lambda(a: &DMatrix<f64>) -> f64 {
    1e-6 * a.trace() / a.nrows().max(1) as f64 + 1e-12
}

/// Adds the waiting rows to the normal equations.
fn flush(entry: &mut Normal, q: usize) {
    let rows = entry.3.len();
    if rows == 0 {
        return;
    }
    // Row-major rows are the columns of Φᵀ.
    let phi_t = DMatrix::from_column_slice(q, rows, &entry.2);
    let r = DVector::from_column_slice(&entry.3);
    entry.0.gemm(1.0, &phi_t, &phi_t.transpose(), 1.0);
    entry.1.gemv(1.0, &phi_t, &r, 1.0);
    entry.2.clear();
    entry.3.clear();
}

/// A fitted model: one weight vector per position.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardModel {
    theta: Vec<DVector<f64>>,
}

impl RewardModel {
    /// The predicted reward of position `k` for features `phi`.
    pub fn predict(&self, k: usize, phi: &[f64]) -> f64 {
        self.theta[k].iter().zip(phi).map(|(t, f)| t * f).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_by_hand_and_their_expectation() {
        let map = FeatureMap::new(1, 2);
        assert_eq!(map.len(), 8);
        let x = Context {
            user: &[0.5],
            items: &[1.0, 0.0, 0.0, 2.0],
            scores: &[3.0, -1.0],
        };
        let mut phi = vec![0.0; 8];
        map.expected(&x, &[0.0, 1.0], 4.0, &mut phi);
        assert_eq!(phi, [1.0, -1.0, 1.0, 4.0, 0.0, 2.0, 0.5, -0.5]);
        map.expected(&x, &[0.25, 0.75], 0.0, &mut phi);
        assert_eq!(phi, [1.0, 0.0, 3.0, 0.0, 0.25, 1.5, 0.5, 0.0]);
    }

    #[test]
    fn recovers_a_linear_reward_and_leaves_a_fold_out() {
        // r = 2 + 3·φ1 on position 0, −φ3 on position 1; fold 1 holds other data.
        let mut fit = RewardFit::new(2, 3, 2);
        for i in 0..2000 {
            let (a, b) = ((i % 7) as f64, ((i * 13) % 5) as f64);
            fit.add(0, 0, &[1.0, a, b], 2.0 + 3.0 * a);
            fit.add(0, 1, &[1.0, a, b], -b);
            fit.add(1, 0, &[1.0, a, b], 100.0);
        }
        let model = fit.fit(Some(1));
        assert!((model.predict(0, &[1.0, 5.0, 1.0]) - 17.0).abs() < 1e-3);
        assert!((model.predict(1, &[1.0, 5.0, 4.0]) + 4.0).abs() < 1e-3);
        let other = fit.fit(Some(0));
        assert!((other.predict(0, &[1.0, 2.0, 3.0]) - 100.0).abs() < 1e-2);
    }
}
