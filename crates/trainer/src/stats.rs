//! Summary statistics of episode returns.

use serde::{Deserialize, Serialize};

/// Mean, spread and a normal-approximation 95% interval of episode returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Episodes summarised.
    pub episodes: usize,
    /// Mean return.
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub std: f64,
    /// `mean ± 1.96·std/√n`.
    pub ci95: [f64; 2],
    /// Lowest return.
    pub min: f64,
    /// Highest return.
    pub max: f64,
    /// Mean episode length in steps.
    pub mean_length: f64,
}

impl Summary {
    /// Summarises returns and episode lengths (same count, at least one episode).
    pub fn new(returns: &[f64], lengths: &[usize]) -> Self {
        let n = returns.len();
        assert!(n > 0 && lengths.len() == n, "summary of no episodes");
        let mean = returns.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        let std = var.sqrt();
        let half = 1.96 * std / (n as f64).sqrt();
        Self {
            episodes: n,
            mean,
            std,
            ci95: [mean - half, mean + half],
            min: returns.iter().copied().fold(f64::INFINITY, f64::min),
            max: returns.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            mean_length: lengths.iter().sum::<usize>() as f64 / n as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computation() {
        let s = Summary::new(&[1.0, 2.0, 3.0, 6.0], &[2, 2, 4, 4]);
        assert_eq!(s.mean, 3.0);
        // Squared deviations 4+1+0+9 = 14 over n−1 = 3.
        assert!((s.std - (14.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((s.ci95[1] - s.mean - 1.96 * s.std / 2.0).abs() < 1e-12);
        assert_eq!((s.min, s.max, s.mean_length), (1.0, 6.0, 3.0));
    }
}
