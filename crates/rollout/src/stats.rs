//! Summary statistics: of episode returns ([`Summary`]), and of several runs' final
//! scores with honest intervals ([`RunStats`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
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

/// A statistic of several runs' scores with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The statistic.
    pub value: f64,
    /// Its 95% interval; `None` from a single run, where there is no spread to measure.
    pub ci95: Option<[f64; 2]>,
}

/// The interval statistics of one configuration's runs (one final score per seed): the
/// mean with Student's t interval, and the interquartile mean with a percentile
/// bootstrap interval, as Agarwal et al. recommend ("Deep RL at the Edge of the
/// Statistical Precipice", NeurIPS 2021).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStats {
    /// The runs' scores, in run order.
    pub scores: Vec<f64>,
    /// Their mean, with `mean ± t(0.975, n−1)·sd/√n`.
    pub mean: Interval,
    /// Their interquartile mean, with a bootstrap interval over the runs.
    pub iqm: Interval,
}

/// Bootstrap resamples of every interval: rliable's default.
pub const BOOTSTRAP_REPS: usize = 50_000;
/// The bootstrap's seed: the same scores always give the same interval.
pub const BOOTSTRAP_SEED: u64 = 0;

impl RunStats {
    /// The statistics of `scores` (at least one), with [`BOOTSTRAP_REPS`] resamples drawn
    /// from [`BOOTSTRAP_SEED`].
    pub fn new(scores: &[f64]) -> Self {
        assert!(!scores.is_empty(), "statistics of no runs");
        let several = scores.len() > 1;
        Self {
            scores: scores.to_vec(),
            mean: Interval {
                value: mean(scores),
                ci95: several.then(|| t_interval(scores)),
            },
            iqm: Interval {
                value: iqm(scores),
                ci95: several
                    .then(|| bootstrap_interval(scores, iqm, BOOTSTRAP_REPS, BOOTSTRAP_SEED)),
            },
        }
    }
}

/// The arithmetic mean.
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The interquartile mean: the mean of the scores left after dropping the lowest and the
/// highest quarter, ⌊n/4⌋ each (`scipy.stats.trim_mean(x, 0.25)`, which rliable's
/// `aggregate_iqm` uses). Below four runs nothing is dropped: it is the mean.
pub fn iqm(xs: &[f64]) -> f64 {
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let cut = sorted.len() / 4;
    mean(&sorted[cut..sorted.len() - cut])
}

/// `mean ± t·sd/√n` with Student's t quantile for 95% and n − 1 degrees of freedom (at
/// least two scores): with few seeds the normal's 1.96 would claim too much.
pub fn t_interval(xs: &[f64]) -> [f64; 2] {
    let n = xs.len();
    assert!(n > 1, "an interval needs two scores");
    let m = mean(xs);
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile_975(n as u64 - 1) * (var / n as f64).sqrt();
    [m - half, m + half]
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (≥ 1), by bisection on
/// its distribution function.
pub fn t_quantile_975(df: u64) -> f64 {
    assert!(df >= 1, "Student's t needs a degree of freedom");
    // P(|T| ≤ t) = 0.95; the quantile lies below 13 (df = 1: 12.71).
    let (mut lo, mut hi) = (0.0f64, 64.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_central_mass(mid, df) < 0.95 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// `P(|T| ≤ t)` for Student's t with an integer `df`, by the finite series of
/// Abramowitz and Stegun 26.7.3 (odd `df`) and 26.7.4 (even), in θ = atan(t/√df).
fn t_central_mass(t: f64, df: u64) -> f64 {
    let theta = (t / (df as f64).sqrt()).atan();
    let (s, c2) = (theta.sin(), theta.cos().powi(2));
    // 1 + a₁c² + a₂c⁴ + …, each term the last times c²·(k)/(k+1) for k = 2, 4, … (odd
    // df) or k = 1, 3, … (even df), up to the power df − 3 (odd) or df − 2 (even).
    let series = |first: u64, last_power: u64| {
        let (mut term, mut sum, mut k) = (1.0, 1.0, first);
        while k < last_power + first {
            term *= c2 * k as f64 / (k + 1) as f64;
            sum += term;
            k += 2;
        }
        sum
    };
    if df % 2 == 1 {
        let tail = if df == 1 {
            0.0
        } else {
            s * theta.cos() * series(2, df - 3)
        };
        2.0 / std::f64::consts::PI * (theta + tail)
    } else {
        s * series(1, df - 2)
    }
}

/// The 95% percentile bootstrap interval of `statistic` over `runs`: `reps` resamples of
/// the runs with replacement, drawn from `seed`, and the 2.5% and 97.5% quantiles of the
/// statistic over them (interpolated linearly, as numpy's `percentile`). This is the
/// stratified bootstrap of Agarwal et al. (and rliable's `get_interval_estimates`) for
/// one task: rlrec scores each configuration on one environment, so the runs are the
/// only stratum.
pub fn bootstrap_interval(
    runs: &[f64],
    statistic: fn(&[f64]) -> f64,
    reps: usize,
    seed: u64,
) -> [f64; 2] {
    assert!(
        !runs.is_empty() && reps > 0,
        "a bootstrap needs runs and resamples"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sample = vec![0.0; runs.len()];
    let mut values: Vec<f64> = (0..reps)
        .map(|_| {
            for x in sample.iter_mut() {
                *x = runs[rng.random_range(0..runs.len())];
            }
            statistic(&sample)
        })
        .collect();
    values.sort_by(f64::total_cmp);
    [percentile(&values, 2.5), percentile(&values, 97.5)]
}

/// The `p`-th percentile of sorted values, interpolated linearly between the order
/// statistics at rank `p/100·(n−1)` (numpy's default).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let (below, frac) = (rank.floor() as usize, rank.fract());
    match sorted.get(below + 1) {
        Some(&next) => sorted[below] + frac * (next - sorted[below]),
        None => sorted[below],
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

    #[test]
    fn t_quantiles_match_the_tables() {
        // Student's t, 97.5%, from scipy.stats.t.ppf(0.975, df) (scipy 1.x).
        for (df, q) in [
            (1, 12.706204736174694),
            (2, 4.302652729749462),
            (3, 3.1824463052837078),
            (4, 2.7764451051977934),
            (9, 2.262157162798205),
            (30, 2.0422724563012378),
        ] {
            assert!((t_quantile_975(df) - q).abs() < 1e-9, "df {df}");
        }
        let i = t_interval(&[1.0, 2.0, 3.0]);
        // mean 2, sd 1, n 3.
        assert!((i[1] - 2.0 - 4.302652729749462 / 3f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn iqm_trims_a_quarter_each_side() {
        assert_eq!(iqm(&[5.0, 1.0, 3.0]), 3.0);
        // Eight runs: the two lowest and two highest go.
        assert_eq!(iqm(&[100.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -50.0]), 3.5);
    }

    #[test]
    fn bootstrap_intervals_are_seeded_and_cover_the_statistic() {
        let runs: Vec<f64> = (1..=8).map(|k| f64::from(k * 37 % 11).sqrt()).collect();
        let a = bootstrap_interval(&runs, iqm, 2000, 7);
        assert_eq!(a, bootstrap_interval(&runs, iqm, 2000, 7));
        assert_ne!(a, bootstrap_interval(&runs, iqm, 2000, 8));
        assert!(a[0] < iqm(&runs) && iqm(&runs) < a[1], "{a:?}");
        // Every resample of one value is that value.
        assert_eq!(bootstrap_interval(&[2.5], mean, 10, 0), [2.5, 2.5]);
        let stats = RunStats::new(&[7.0]);
        assert_eq!((stats.mean.ci95, stats.iqm.ci95), (None, None));
    }

    #[test]
    fn percentiles_interpolate_as_numpy() {
        // numpy.percentile([1, 2, 3, 4], [2.5, 97.5]) = [1.075, 3.925].
        let p = [
            percentile(&[1.0, 2.0, 3.0, 4.0], 2.5),
            percentile(&[1.0, 2.0, 3.0, 4.0], 97.5),
        ];
        assert!(
            (p[0] - 1.075).abs() < 1e-12 && (p[1] - 3.925).abs() < 1e-12,
            "{p:?}"
        );
    }
}
