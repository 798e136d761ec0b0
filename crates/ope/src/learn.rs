//! Bandits learned offline from an imported log's rows, as distributions over items per
//! position ([`ActionDist`]) that the position-wise estimators evaluate on other rows.
//!
//! Each item's click rate gets a Beta posterior from the rows: the uniform prior
//! `Beta(1, 1)` and, per row that showed it, its click and non-click weighted by
//! `1 / (items · propensity)`, so that a log of a non-uniform policy counts every item as
//! a uniform log of the same size would (under a uniform logger the weights are 1).
//! Positions share an item's posterior, as the dataset's BTS does.

use logs::ImportedLog;

use crate::ActionDist;

/// How a policy is made from the posteriors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learner {
    /// Thompson sampling from the posteriors (randomised: every item keeps a chance).
    Thompson,
    /// The items of the highest posterior means, best first (deterministic).
    Greedy,
}

impl Learner {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Learner::Thompson => "thompson",
            Learner::Greedy => "greedy",
        }
    }
}

/// Each item's posterior `(alpha, beta)` from `log`'s rows.
fn posteriors(log: &ImportedLog) -> (Vec<f64>, Vec<f64>) {
    let (items, s) = (log.meta.items, &log.steps);
    let (mut alpha, mut beta) = (vec![1.0; items], vec![1.0; items]);
    for i in 0..s.len() {
        // The uniform policy's probability of the item at the position over the logging
        // policy's: its showings count as a uniform policy's would.
        let w = 1.0 / (items as f64 * s.propensity[i]);
        let a = s.item[i] as usize;
        let click = s.reward[i].clamp(0.0, 1.0);
        alpha[a] += w * click;
        beta[a] += w * (1.0 - click);
    }
    (alpha, beta)
}

/// The policy `learner` makes from `log`'s rows; `draws` and `seed` are Thompson
/// sampling's.
pub fn learn(
    log: &ImportedLog,
    learner: Learner,
    draws: u64,
    seed: u64,
) -> Result<ActionDist, String> {
    let (items, k) = (log.meta.items, log.meta.slate_size);
    if items < k {
        return Err(format!("{items} items cannot fill {k} positions"));
    }
    let (alpha, beta) = posteriors(log);
    let mut dist = match learner {
        Learner::Thompson => ActionDist::thompson(&alpha, &beta, k, draws, seed)?,
        Learner::Greedy => {
            let mean: Vec<f64> = alpha.iter().zip(&beta).map(|(a, b)| a / (a + b)).collect();
            let mut order: Vec<usize> = (0..items).collect();
            order.sort_by(|&x, &y| mean[y].total_cmp(&mean[x]).then(x.cmp(&y)));
            let mut p = vec![0.0; items * k];
            for (position, &a) in order[..k].iter().enumerate() {
                p[a * k + position] = 1.0;
            }
            ActionDist::new("greedy", items, k, p)?
        }
    };
    dist.name = format!("{} learned from {} rows", learner.name(), log.meta.rows);
    Ok(dist)
}
