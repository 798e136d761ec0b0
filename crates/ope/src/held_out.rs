//! Choosing among the policies of an offline run without the simulator: each is scored by
//! fitted-Q evaluation on episodes of its log that training never saw (Paine et al. 2020,
//! "Hyperparameter selection for offline reinforcement learning").

use std::path::Path;

use agents::Policy;
use env::{Scenario, SlateEnv};
use logs::{LogError, LoggedEnv, Row, SlateDist};

use crate::estimators::{self, Outcome};
use crate::{expected_features, Context, FeatureMap, FittedQ};

/// The held-out episodes of a log, in memory, and what scoring a policy on them needs.
pub struct HeldOut {
    rows: Vec<Row>,
    view: LoggedEnv,
    features: FeatureMap,
    episodes: u64,
}

impl HeldOut {
    /// The held-out `rows` (whole episodes, in order) of the log in `logs`, of `scenario`.
    pub fn new(logs: &Path, scenario: &Scenario, rows: Vec<Row>) -> Result<Self, LogError> {
        // Cross-fitting values each half of the episodes (by parity) by the other.
        let episodes = rows.iter().filter(|row| row.done()).count() as u64;
        if episodes < 2 {
            return Err(LogError::invalid(
                logs,
                format!(
                    "{episodes} episode(s) held out: fitted-Q evaluation needs at least 2 (hold \
                     out a larger share, or log more episodes)"
                ),
            ));
        }
        let view = LoggedEnv::new(scenario)?;
        let layout = view.layout();
        Ok(Self {
            rows,
            view,
            features: FeatureMap::new(layout.user_dim, layout.doc_dim),
            episodes,
        })
    }

    /// The episodes held out.
    pub fn episodes(&self) -> u64 {
        self.episodes
    }

    /// The return of `policy`, acting without exploration, estimated by fitted-Q
    /// evaluation on the held-out episodes.
    pub fn fitted_q(&mut self, policy: &mut dyn Policy) -> Outcome {
        let layout = self.view.layout();
        let (n, k, q) = (
            layout.num_candidates,
            layout.slate_size,
            self.features.len(),
        );
        let mut fitted = FittedQ::new(k * q);
        let mut target = SlateDist::Epsilon {
            n,
            epsilon: 0.0,
            slate: vec![0; k],
        };
        let mut scores = vec![0.0; n];
        let mut expected = vec![0.0; (k + 1) * k * q];
        for row in &self.rows {
            self.view.show(&row.user, &row.candidates);
            if row.step == 0 {
                policy.begin_episode();
            }
            if let SlateDist::Epsilon { slate, .. } = &mut target {
                policy.act(&self.view, false, slate);
            }
            self.view.myopic_scores(&mut scores);
            let x = Context {
                user: &row.user,
                items: &row.candidates,
                scores: &scores,
            };
            expected_features(&self.features, &x, &target, &row.slate, &mut expected);
            fitted.push(
                row.episode,
                row.reward,
                &expected[k * k * q..],
                &expected[..k * q],
            );
        }
        let (_, v) = fitted.values();
        let episode: Vec<u64> = self.rows.iter().map(|r| r.episode).collect();
        estimators::fitted_q(&episode, &v)
    }
}
