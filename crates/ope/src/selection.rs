//! Choosing among candidate policies by their estimates, scored against their true
//! values as SCOPE-RL reports it (Kiyohara et al., 2023): how well an estimator ranks the
//! candidates and how good the one it would deploy is, not only how close each estimate
//! is.
//!
//! For candidates with estimates `V̂_c` and true values `V_c`, and a threshold `τ` (the
//! logging policy's own value: a candidate is worth deploying if it beats it):
//!
//! * relative error: the mean of `|V̂_c − V_c| / |V_c|`;
//! * Spearman's rank correlation of `V̂` with `V` (ties ranked by their mean rank);
//! * regret@k: the best true value, less the best true value among the `k` candidates of
//!   the highest estimates;
//! * Type I error rate: of the candidates truly below `τ`, the share estimated at or above
//!   it; Type II: of those truly at or above it, the share estimated below;
//! * SharpeRatio@k: among the `k` of the highest estimates, the best true value's gain
//!   over `τ`, over the spread (standard deviation) of their true values.

use serde::Serialize;

/// The scores of one estimator on one set of candidates; `None` where undefined (no
/// candidate on one side of the threshold, no spread, fewer candidates than needed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Selection {
    /// Mean relative estimation error.
    pub relative_error: Option<f64>,
    /// Spearman's rank correlation with the truth.
    pub spearman: Option<f64>,
    /// regret@1.
    pub regret_1: f64,
    /// regret@3.
    pub regret_3: f64,
    /// Type I error rate of the threshold test.
    pub type_1: Option<f64>,
    /// Type II error rate of the threshold test.
    pub type_2: Option<f64>,
    /// SharpeRatio@3.
    pub sharpe_3: Option<f64>,
}

/// Ranks from 1, ties sharing their mean rank.
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        for &o in &order[i..=j] {
            r[o] = (i + j) as f64 / 2.0 + 1.0;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation: Pearson's of the ranks; `None` where either is constant.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    let (rx, ry) = (ranks(x), ranks(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// The scores of `estimates` against `truths` (one per candidate, in the same order), at
/// threshold `tau`.
pub fn score(estimates: &[f64], truths: &[f64], tau: f64) -> Selection {
    let m = estimates.len();
    let mut by_estimate: Vec<usize> = (0..m).collect();
    by_estimate.sort_by(|&a, &b| estimates[b].total_cmp(&estimates[a]).then(a.cmp(&b)));
    let best = truths.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let top = |k: usize| by_estimate[..k.min(m)].iter().map(|&c| truths[c]);
    let regret = |k: usize| best - top(k).fold(f64::NEG_INFINITY, f64::max);
    let rate = |truly_good: bool| {
        let group: Vec<usize> = (0..m)
            .filter(|&c| (truths[c] >= tau) == truly_good)
            .collect();
        let wrong = group
            .iter()
            .filter(|&&c| (estimates[c] >= tau) != truly_good)
            .count();
        (!group.is_empty()).then(|| wrong as f64 / group.len() as f64)
    };
    let top3: Vec<f64> = top(3).collect();
    let mean = top3.iter().sum::<f64>() / top3.len() as f64;
    let sd = (top3.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / top3.len() as f64).sqrt();
    let relative: Vec<f64> = estimates
        .iter()
        .zip(truths)
        .filter(|(_, t)| **t != 0.0)
        .map(|(e, t)| (e - t).abs() / t.abs())
        .collect();
    Selection {
        relative_error: (!relative.is_empty())
            .then(|| relative.iter().sum::<f64>() / relative.len() as f64),
        spearman: spearman(estimates, truths),
        regret_1: regret(1),
        regret_3: regret(3),
        type_1: rate(false),
        type_2: rate(true),
        sharpe_3: (sd > 0.0).then(|| (top(3).fold(f64::NEG_INFINITY, f64::max) - tau) / sd),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scores_by_hand() {
        // Truths 1, 2, 3, 4; the estimator swaps the two best and overrates the worst.
        let truths = [1.0, 2.0, 3.0, 4.0];
        let estimates = [2.5, 2.0, 4.5, 4.0];
        let s = score(&estimates, &truths, 2.5);
        // Ranks 2, 1, 4, 3 against 1, 2, 3, 4: Σd² = 4, ρ = 1 − 6·4/(4·15) = 0.6.
        assert!((s.spearman.unwrap() - 0.6).abs() < 1e-12);
        assert_eq!(s.regret_1, 1.0, "it deploys the candidate worth 3, not 4");
        assert_eq!(s.regret_3, 0.0);
        // Below 2.5: 1 and 2, of which 1 is estimated at 2.5 (≥ τ): Type I 1/2. At or
        // above: 3 and 4, both estimated above: Type II 0.
        assert_eq!((s.type_1, s.type_2), (Some(0.5), Some(0.0)));
        // Top 3 by estimate: 3, 4, 1 → best 4, mean 8/3, sd √(14/9 − …).
        let sd = ((1.0f64 - 8.0 / 3.0).powi(2)
            + (3.0f64 - 8.0 / 3.0).powi(2)
            + (4.0f64 - 8.0 / 3.0).powi(2))
            / 3.0;
        assert!((s.sharpe_3.unwrap() - (4.0 - 2.5) / sd.sqrt()).abs() < 1e-12);
        let rel = (1.5 / 1.0 + 0.0 + 1.5 / 3.0 + 0.0) / 4.0;
        assert!((s.relative_error.unwrap() - rel).abs() < 1e-12);
        // A perfect ranking, ties in the estimates, a threshold no candidate reaches.
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), Some(1.0));
        assert_eq!(ranks(&[5.0, 1.0, 5.0]), [2.5, 1.0, 2.5]);
        assert_eq!(score(&truths, &truths, 10.0).type_2, None);
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
    }
}
