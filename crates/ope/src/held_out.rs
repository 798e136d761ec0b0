//! Choosing among the policies of an offline run without the simulator: each is scored on
//! episodes of its log that training never saw (Paine et al. 2020, "Hyperparameter
//! selection for offline reinforcement learning"), by a model of the world fitted to them.
//!
//! The model is linear in the reward model's features `φ` of the slate's positions (see
//! [`crate::FeatureMap`]): each position's reward, as the direct method fits it, and the
//! user's next features. A policy is scored by playing it in the model from each held-out
//! episode's first user, on the candidates the log showed at each step, for as many steps
//! as the logged episode lasted. Fitted-Q evaluation, a value model linear in the same
//! features, ranked threshold policies wrongly where they take the user where the log
//! never goes (docs/logs.md): a policy's value there is the sum of rewards along the
//! states it leads to, which the model follows step by step.

use std::path::Path;

use agents::Policy;
use env::{Scenario, SlateEnv};
use logs::{LogError, LoggedEnv, Row, SlateDist};
use nalgebra::{DMatrix, DVector};

use crate::estimators::{self, Outcome};
use crate::model::ridge;
use crate::{expected_features, Context, FeatureMap, RewardFit, RewardModel};

/// The held-out episodes of a log, in memory, and the model of the world fitted to them.
pub struct HeldOut {
    rows: Vec<Row>,
    view: LoggedEnv,
    features: FeatureMap,
    episodes: u64,
    reward: RewardModel,
    /// Per user feature, its next value's weights on the slate's features.
    dynamics: Vec<DVector<f64>>,
    /// Per user feature, the range the model keeps it in: the held-out episodes', widened
    /// by its width on either side.
    bounds: Vec<(f32, f32)>,
}

/// What computing a slate's features needs, kept between steps.
struct Scratch {
    scores: Vec<f64>,
    expected: Vec<f64>,
    /// The slate, as a distribution that always shows it.
    pi: SlateDist,
}

impl Scratch {
    fn new(n: usize, k: usize, q: usize) -> Self {
        Self {
            scores: vec![0.0; n],
            expected: vec![0.0; (k + 1) * k * q],
            pi: SlateDist::Epsilon {
                n,
                epsilon: 0.0,
                slate: vec![0; k],
            },
        }
    }

    /// The features of `slate`'s positions, end to end, into `out`, for the user and
    /// the candidates `view` shows.
    fn slate_features(
        &mut self,
        features: &FeatureMap,
        view: &LoggedEnv,
        slate: &[usize],
        out: &mut [f64],
    ) {
        view.myopic_scores(&mut self.scores);
        let x = Context {
            user: view.user(),
            items: view.items(),
            scores: &self.scores,
        };
        if let SlateDist::Epsilon { slate: s, .. } = &mut self.pi {
            s.copy_from_slice(slate);
        }
        expected_features(features, &x, &self.pi, slate, &mut self.expected);
        let k = slate.len();
        out.copy_from_slice(&self.expected[k * k * features.len()..]);
    }
}

impl HeldOut {
    /// The held-out `rows` (whole episodes, in order) of the log in `logs`, of `scenario`,
    /// and the model fitted to them.
    pub fn new(logs: &Path, scenario: &Scenario, rows: Vec<Row>) -> Result<Self, LogError> {
        let episodes = rows.iter().filter(|row| row.done()).count() as u64;
        if episodes < 2 {
            return Err(LogError::invalid(
                logs,
                format!(
                    "{episodes} episode(s) held out: scoring needs at least 2 (hold out a larger \
                     share, or log more episodes)"
                ),
            ));
        }
        let mut view = LoggedEnv::new(scenario)?;
        let layout = view.layout();
        let features = FeatureMap::new(layout.user_dim, layout.doc_dim);
        let (n, k, q, u) = (
            layout.num_candidates,
            layout.slate_size,
            features.len(),
            layout.user_dim,
        );
        let mut reward = RewardFit::new(k, q, 1);
        let mut gram = DMatrix::<f64>::zeros(k * q, k * q);
        let mut next = vec![DVector::<f64>::zeros(k * q); u];
        let mut scratch = Scratch::new(n, k, q);
        let mut phi = DVector::zeros(k * q);
        for (i, row) in rows.iter().enumerate() {
            view.show(&row.user, &row.candidates);
            scratch.slate_features(&features, &view, &row.slate, phi.as_mut_slice());
            for (l, &r) in row.position_reward.iter().enumerate() {
                reward.add(0, l, &phi.as_slice()[l * q..(l + 1) * q], r);
            }
            // The user the next step of the episode shows.
            if let Some(after) = rows
                .get(i + 1)
                .filter(|after| !row.done() && after.episode == row.episode)
            {
                gram.syger(1.0, &phi, &phi, 1.0);
                for (b, &x) in next.iter_mut().zip(&after.user) {
                    b.axpy(f64::from(x), &phi, 1.0);
                }
            }
        }
        let solve = ridge(gram);
        // A linear model followed for a whole episode can run away where its fit is loose
        // (few episodes, many features): it may go past the states seen, not without bound.
        let bounds = (0..u)
            .map(|j| {
                let (lo, hi) = rows
                    .iter()
                    .map(|row| row.user[j])
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| {
                        (lo.min(x), hi.max(x))
                    });
                (lo - (hi - lo), hi + (hi - lo))
            })
            .collect();
        Ok(Self {
            bounds,
            reward: reward.fit(None),
            dynamics: next.iter().map(&solve).collect(),
            rows,
            view,
            features,
            episodes,
        })
    }

    /// The episodes held out.
    pub fn episodes(&self) -> u64 {
        self.episodes
    }

    /// The return of `policy`, acting without exploration, estimated by playing it in the
    /// model from each held-out episode's first user (the time left, where the user's
    /// features show it, is the logged episode's).
    pub fn model_return(&mut self, policy: &mut dyn Policy) -> Outcome {
        let layout = self.view.layout();
        let (n, k, q) = (
            layout.num_candidates,
            layout.slate_size,
            self.features.len(),
        );
        let mut scratch = Scratch::new(n, k, q);
        let mut phi = DVector::zeros(k * q);
        let mut slate = vec![0; k];
        let mut user = Vec::new();
        let mut predicted = Vec::with_capacity(self.rows.len());
        for row in &self.rows {
            if row.step == 0 {
                policy.begin_episode();
                user.clone_from(&row.user);
            }
            // The episode keeps the logged one's clock.
            if let Some(time) = layout.time {
                user[time.index] = row.user[time.index];
            }
            self.view.show(&user, &row.candidates);
            policy.act(&self.view, false, &mut slate);
            scratch.slate_features(&self.features, &self.view, &slate, phi.as_mut_slice());
            predicted.push(
                (0..k)
                    .map(|l| self.reward.predict(l, &phi.as_slice()[l * q..(l + 1) * q]))
                    .sum(),
            );
            for ((x, w), &(lo, hi)) in user.iter_mut().zip(&self.dynamics).zip(&self.bounds) {
                let next = w.dot(&phi) as f32;
                if !next.is_nan() {
                    *x = next.clamp(lo, hi);
                }
            }
        }
        let episode: Vec<u64> = self.rows.iter().map(|r| r.episode).collect();
        estimators::model_return(&episode, &predicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logs::{write_log, LogReader, NoCheckpoints, PolicySpec};

    /// StrongLTS's decision: below `threshold` satisfaction the least clickbait on offer
    /// first, else the most (greedy's); `f32::MIN` is greedy, `f32::MAX` kale.
    struct Threshold(f32);

    impl Policy for Threshold {
        fn algorithm(&self) -> &'static str {
            "threshold"
        }
        fn act(&mut self, env: &dyn SlateEnv, _explore: bool, slate: &mut [usize]) {
            let items = env.items();
            let mut order: Vec<usize> = (0..items.len()).collect();
            order.sort_by(|&a, &b| items[b].total_cmp(&items[a]));
            if env.user()[0] < self.0 {
                order.reverse();
            }
            slate.copy_from_slice(&order[..slate.len()]);
        }
        fn describe(&self) -> String {
            format!("threshold {}", self.0)
        }
    }

    /// A random StrongLTS log (user observed) of `episodes` episodes, all held out.
    fn held_out(dir: &Path, episodes: u64) -> HeldOut {
        let scenario = Scenario {
            wrappers: env::Wrappers {
                user_observation: true,
                ..Default::default()
            },
            seed: 5,
            ..Scenario::default()
        };
        let logs = dir.join("log");
        write_log(
            &scenario,
            &PolicySpec::Random,
            &NoCheckpoints,
            episodes,
            &logs,
            |_| std::ops::ControlFlow::Continue(()),
        )
        .unwrap();
        let mut rows = Vec::new();
        let mut reader = LogReader::open(&logs).unwrap().rows().unwrap();
        while let Some(row) = reader.next_row().unwrap() {
            rows.push(row.clone());
        }
        HeldOut::new(&logs, &scenario, rows).unwrap()
    }

    /// Scored on 40 episodes of a random log, the policies come in their true order:
    /// the best threshold (about 1190 in the simulator) above greedy (1155) above kale
    /// (1090). Greedy leads its users to a satisfaction (0.455) that a random log never
    /// reaches (it keeps within 0.477–0.523), which the model follows step by step. It
    /// reads the two that leave the log's states low (1114 and 1054 at this seed, the
    /// threshold 1184), so the bounds are on the order, half or less of the gaps read.
    #[test]
    fn the_model_ranks_policies_that_lead_the_user_where_the_log_never_goes() {
        let dir = tempfile::tempdir().unwrap();
        let mut held_out = held_out(dir.path(), 40);
        assert_eq!(held_out.episodes(), 40);
        let mut score = |threshold: f32| {
            *held_out
                .model_return(&mut Threshold(threshold))
                .estimate()
                .unwrap()
        };
        let (best, greedy, kale) = (score(0.49), score(f32::MIN), score(f32::MAX));
        assert!(best.value > greedy.value + 20.0, "{best:?} {greedy:?}");
        assert!(greedy.value > kale.value + 30.0, "{greedy:?} {kale:?}");
    }

    /// A linear model followed for a whole episode can run away where its fit is loose
    /// (interest evolution's 20 user features from a few episodes did, and SlateQ, shown
    /// the non-finite user, panicked). Here dynamics that multiply the satisfaction
    /// tenfold a step: the user stays within the held-out range widened by its width on
    /// either side, and the score is a number.
    #[test]
    fn a_runaway_model_stays_within_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let mut held_out = held_out(dir.path(), 3);
        let (lo, hi) = held_out.bounds[0];
        assert!(lo < 0.46 && hi > 0.54 && hi - lo < 0.5, "{lo} {hi}");
        // The features' user term (see `FeatureMap`): position 0's `u`, after the
        // constant, the score terms and the item's features.
        let q = held_out.features.len();
        let mut runaway = DVector::zeros(2 * q);
        runaway[q - 2] = 10.0;
        held_out.dynamics = vec![runaway];
        let score = held_out.model_return(&mut Threshold(0.49));
        assert!(
            score.estimate().is_some_and(|e| e.value.is_finite()),
            "{score:?}"
        );
    }
}
