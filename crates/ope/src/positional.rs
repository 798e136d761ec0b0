//! Off-policy evaluation on imported logs ([`crate::imported`]), position by position as
//! the Open Bandit Pipeline's benchmark does it: every row is one item shown at one
//! position, and the target is a distribution over items per position, `π(a | k)` (the
//! same in every context, as the dataset's policies are). The estimand is the target's
//! expected reward per row at the log's positions.
//!
//! With `w_i = π(a_i | k_i) / p_i`:
//!
//! * IPS: `(1/n) Σ_i w_i r_i`; SNIPS: `Σ_i w_i r_i / Σ_i w_i`;
//! * DM: `(1/n) Σ_i Σ_a π(a | k_i) r̂(x_i, a, k_i)`;
//! * DR: DM's term plus `w_i (r_i − r̂(x_i, a_i, k_i))`.
//!
//! The reward model `r̂` is one ridge regression per position on `[1, the item one-hot,
//! the item's features, the context]`, cross-fitted over two folds of impressions; it is
//! linear, so its expectation under `π` needs only `π`'s marginals. Intervals treat
//! impressions as the independent units.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use serde::Serialize;

use logs::{ImportedLog, LogError};

use crate::catalogue::{Estimator, Line, PER_STEP};
use crate::estimators::{self, Outcome, Weighted};
use crate::model::RewardFit;

/// The estimators on an imported log, in report order.
pub const POSITIONAL: [Estimator; 4] = [
    PER_STEP[0],
    PER_STEP[1],
    PER_STEP[2],
    Estimator {
        id: "dr",
        short: "DR",
        name: "doubly robust",
        assumes: "nothing but support (the model only lowers the variance)",
    },
];

/// How far a column of an action distribution may sum from 1.
const SUM_TOLERANCE: f64 = 1e-6;

/// A target policy on imported logs: per position, a distribution over the items.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionDist {
    /// Its name, for reports.
    pub name: String,
    items: usize,
    slate_size: usize,
    /// `p[a · K + k]`: the probability that item `a` is at position `k`.
    p: Vec<f64>,
}

impl ActionDist {
    /// Every item equally likely at every position.
    pub fn uniform(items: usize, slate_size: usize) -> Self {
        Self {
            name: "uniform".into(),
            items,
            slate_size,
            p: vec![1.0 / items as f64; items * slate_size],
        }
    }

    /// `p[a · K + k]`, each position's column a distribution.
    pub fn new(name: &str, items: usize, slate_size: usize, p: Vec<f64>) -> Result<Self, String> {
        if p.len() != items * slate_size {
            return Err(format!(
                "{} probabilities, where {items} items × {slate_size} positions need {}",
                p.len(),
                items * slate_size
            ));
        }
        if let Some(x) = p
            .iter()
            .find(|x| !(x.is_finite() && (0.0..=1.0).contains(*x)))
        {
            return Err(format!("{x} is not a probability"));
        }
        for k in 0..slate_size {
            let sum: f64 = (0..items).map(|a| p[a * slate_size + k]).sum();
            if (sum - 1.0).abs() > SUM_TOLERANCE {
                return Err(format!("position {k}'s probabilities sum to {sum}, not 1"));
            }
        }
        Ok(Self {
            name: name.into(),
            items,
            slate_size,
            p,
        })
    }

    /// Reads a CSV of one row per item and one column per position, without a header.
    pub fn read_csv(path: &Path, items: usize, slate_size: usize) -> Result<Self, LogError> {
        let text = std::fs::read_to_string(path).map_err(LogError::io(path))?;
        let mut p = Vec::with_capacity(items * slate_size);
        for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let row: Result<Vec<f64>, _> =
                line.split(',').map(|x| x.trim().parse::<f64>()).collect();
            match row {
                Ok(row) if row.len() == slate_size => p.extend(row),
                Ok(row) => {
                    return Err(LogError::invalid(
                        path,
                        format!("line {} has {} probabilities, where the log's slates have {slate_size} positions", i + 1, row.len()),
                    ))
                }
                Err(_) => return Err(LogError::invalid(path, format!("line {} holds something other than numbers", i + 1))),
            }
        }
        let name = path.display().to_string();
        Self::new(&name, items, slate_size, p).map_err(|why| LogError::invalid(path, why))
    }

    /// Bernoulli Thompson sampling's distribution: per draw, every item's click rate is
    /// drawn from its `Beta(alpha, beta)` and the `K` highest are shown, best first; the
    /// frequencies over `draws` draws (seeded) estimate the probabilities.
    pub fn thompson(
        alpha: &[f64],
        beta: &[f64],
        slate_size: usize,
        draws: u64,
        seed: u64,
    ) -> Result<Self, String> {
        let items = alpha.len();
        if beta.len() != items || items < slate_size {
            return Err(format!(
                "{} alphas and {} betas for slates of {slate_size}",
                items,
                beta.len()
            ));
        }
        let betas = alpha
            .iter()
            .zip(beta)
            .map(|(&a, &b)| Beta::new(a, b).map_err(|e| format!("Beta({a}, {b}): {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut counts = vec![0u64; items * slate_size];
        let mut theta = vec![0.0; items];
        let mut order: Vec<usize> = (0..items).collect();
        for _ in 0..draws {
            for (t, b) in theta.iter_mut().zip(&betas) {
                *t = b.sample(&mut rng);
            }
            order.sort_unstable_by(|&x, &y| theta[y].total_cmp(&theta[x]).then(x.cmp(&y)));
            for (k, &a) in order[..slate_size].iter().enumerate() {
                counts[a * slate_size + k] += 1;
            }
        }
        let p = counts.iter().map(|&c| c as f64 / draws as f64).collect();
        Self::new("Bernoulli Thompson sampling", items, slate_size, p)
    }

    /// `π(a | k)`.
    pub fn prob(&self, item: usize, position: usize) -> f64 {
        self.p[item * self.slate_size + position]
    }

    /// Items.
    pub fn items(&self) -> usize {
        self.items
    }

    /// Positions.
    pub fn slate_size(&self) -> usize {
        self.slate_size
    }

    /// Writes it as [`Self::read_csv`] reads it (every digit, so that a peer reads the
    /// same numbers).
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        for a in 0..self.items {
            let row: Vec<String> = (0..self.slate_size)
                .map(|k| format!("{:?}", self.prob(a, k)))
                .collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }
}

/// What [`evaluate_imported`] found.
#[derive(Debug, Clone, Serialize)]
pub struct PositionalReport {
    /// The log folder.
    pub logs: PathBuf,
    /// The target.
    pub target: String,
    /// The logging policy.
    pub logging: String,
    /// Rows.
    pub rows: u64,
    /// Impressions.
    pub impressions: u64,
    /// Per estimator, the target's reward per row.
    pub estimates: Vec<Line>,
    /// The logging policy's own reward per row, with its interval.
    pub logged: Outcome,
    /// Kish's effective number of rows behind IPS's weights.
    pub ess: f64,
    /// The largest weight.
    pub max_weight: f64,
}

impl PositionalReport {
    /// The line of estimator `id`.
    pub fn line(&self, id: &str) -> Option<&Line> {
        self.estimates.iter().find(|l| l.estimator.id == id)
    }
}

/// A mean over rows with its interval, impressions the independent units: what a log
/// says of its own logging policy (the on-policy value).
pub fn on_policy(log: &ImportedLog) -> Outcome {
    estimators::clustered_mean(&log.steps.impression, &log.steps.reward)
}

/// The estimates of `target`'s reward per row from `log`.
pub fn evaluate_imported(
    log: &ImportedLog,
    target: &ActionDist,
) -> Result<PositionalReport, String> {
    let (meta, s) = (&log.meta, &log.steps);
    if target.items != meta.items || target.slate_size != meta.slate_size {
        return Err(format!(
            "the target covers {} items × {} positions, the log {} × {}",
            target.items, target.slate_size, meta.items, meta.slate_size
        ));
    }
    let (n, k) = (s.len(), meta.slate_size);
    let weight: Vec<f64> = (0..n)
        .map(|i| target.prob(s.item[i] as usize, s.position[i] as usize) / s.propensity[i])
        .collect();
    // Features: [1, item one-hot, item features, context].
    let item_dim = meta.item_features.first().map_or(0, Vec::len);
    let q = 1 + meta.items + item_dim + s.dim;
    let features = |i: usize, p: &dyn Fn(usize) -> f64, out: &mut [f64]| {
        out.fill(0.0);
        out[0] = 1.0;
        for a in 0..meta.items {
            let pa = p(a);
            if pa == 0.0 {
                continue;
            }
            out[1 + a] = pa;
            if let Some(f) = meta.item_features.get(a) {
                for (o, x) in out[1 + meta.items..1 + meta.items + item_dim]
                    .iter_mut()
                    .zip(f)
                {
                    *o += pa * f64::from(*x);
                }
            }
        }
        for (o, x) in out[1 + meta.items + item_dim..]
            .iter_mut()
            .zip(s.context(i))
        {
            *o = f64::from(*x);
        }
    };
    let fold = |i: usize| (s.impression[i] % 2) as usize;
    let mut fit = RewardFit::new(k, q, 2);
    let mut phi = vec![0.0; q];
    for i in 0..n {
        let logged = s.item[i] as usize;
        features(i, &|a| f64::from(u8::from(a == logged)), &mut phi);
        fit.add(fold(i), s.position[i] as usize, &phi, s.reward[i]);
    }
    // Each fold's rows predicted by the model fitted on the other.
    let models = [fit.fit(Some(0)), fit.fit(Some(1))];
    let (mut dm, mut dr) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let (model, pos, logged) = (&models[fold(i)], s.position[i] as usize, s.item[i] as usize);
        features(i, &|a| target.prob(a, pos), &mut phi);
        let v = model.predict(pos, &phi);
        features(i, &|a| f64::from(u8::from(a == logged)), &mut phi);
        let q_logged = model.predict(pos, &phi);
        dm.push(v);
        dr.push(v + weight[i] * (s.reward[i] - q_logged));
    }
    let columns = Weighted {
        episode: &s.impression,
        k: 1,
        reward: &s.reward,
        position_reward: &s.reward,
        slate_weight: &weight,
        position_weight: &weight,
        prefix_weight: &weight,
    };
    let outcomes = [
        estimators::direct(&s.impression, &dm),
        estimators::ips(&columns),
        estimators::snips(&columns),
        estimators::clustered_mean(&s.impression, &dr),
    ];
    Ok(PositionalReport {
        logs: log.path.clone(),
        target: target.name.clone(),
        logging: meta.policy.clone(),
        rows: meta.rows,
        impressions: meta.impressions,
        estimates: POSITIONAL
            .iter()
            .zip(outcomes)
            .map(|(e, outcome)| Line {
                estimator: *e,
                outcome,
            })
            .collect(),
        logged: on_policy(log),
        ess: estimators::effective_sample_size(&weight),
        max_weight: weight.iter().copied().fold(0.0, f64::max),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thompson_sampling_ranks_by_the_drawn_rates() {
        // A sure winner and a sure loser: the order is fixed.
        let d =
            ActionDist::thompson(&[1000.0, 1.0, 50.0], &[1.0, 1000.0, 50.0], 2, 2000, 1).unwrap();
        assert_eq!(
            (d.prob(0, 0), d.prob(2, 1), d.prob(1, 0), d.prob(1, 1)),
            (1.0, 1.0, 0.0, 0.0)
        );
        // Equal priors: every item equally likely everywhere. 30,000 draws give each
        // frequency a standard deviation of 0.0027; 0.015 is over five of them.
        let d = ActionDist::thompson(&[2.0; 3], &[5.0; 3], 3, 30_000, 7).unwrap();
        for a in 0..3 {
            for k in 0..3 {
                assert!(
                    (d.prob(a, k) - 1.0 / 3.0).abs() < 0.015,
                    "{a} at {k}: {}",
                    d.prob(a, k)
                );
            }
        }
        assert!(ActionDist::thompson(&[1.0, 1.0], &[1.0], 1, 10, 0).is_err());
        assert!(ActionDist::thompson(&[0.0, 1.0], &[1.0, 1.0], 1, 10, 0).is_err());
    }

    #[test]
    fn a_distribution_must_be_one_per_position() {
        assert!(ActionDist::new("x", 2, 1, vec![0.5, 0.5]).is_ok());
        assert!(ActionDist::new("x", 2, 1, vec![0.5, 0.6])
            .unwrap_err()
            .contains("sum to"));
        assert!(ActionDist::new("x", 2, 1, vec![1.5, -0.5])
            .unwrap_err()
            .contains("not a probability"));
        assert!(ActionDist::new("x", 2, 2, vec![0.5, 0.5])
            .unwrap_err()
            .contains("need 4"));
        let u = ActionDist::uniform(4, 2);
        let back = u.to_csv();
        assert_eq!(back.lines().count(), 4);
        assert_eq!(back.lines().next(), Some("0.25,0.25"));
    }
}
