//! Off-policy evaluation: what a target policy would earn, estimated from logs written by
//! another (a [`crate::LogReader`]).
//!
//! Two views of the value:
//!
//! * **per step** (the bandit view): the target's expected reward at the contexts the
//!   logging policy met, by the direct method, standard, independent and
//!   reward-interaction IPS and their self-normalised forms, cascade doubly robust and the
//!   pseudo-inverse estimator;
//! * **per episode**: the target's expected return when it runs whole episodes, by
//!   per-decision and weighted importance sampling over each episode's product of weights.
//!
//! [`evaluate`] reads a log twice: once to fit the reward model (two folds of episodes,
//! for cross-fitting), once with the target policy acting on every logged observation.
//! [`estimators`] holds the formulas; [`simulate_truth`] measures the true values in the
//! simulator.

mod catalogue;
pub mod estimators;
mod fqe;
mod held_out;
mod learn;
mod model;
mod positional;
mod pseudo_inverse;
pub mod selection;
mod target;
mod truth;

pub use catalogue::{Estimator, Line, MIN_EPISODE_ESS, PER_EPISODE, PER_STEP};
pub use estimators::{Estimate, Outcome};
pub use fqe::FittedQ;
pub use held_out::HeldOut;
pub use learn::{learn, Learner};
pub use model::{Context, FeatureMap, RewardFit, RewardModel};
pub use positional::{evaluate_imported, on_policy, ActionDist, PositionalReport, POSITIONAL};
pub use pseudo_inverse::PseudoInverse;
pub use target::target_policy;
pub use truth::{simulate_truth, Truth};

use std::path::PathBuf;

use env::SlateEnv;
use serde::Serialize;

use estimators::Weighted;
use logs::{
    logged_distribution, Level, LoadPolicy, LogError, LogReader, LoggedEnv, PolicySpec, SlateDist,
};

/// Everything [`evaluate`] found.
#[derive(Debug, Clone, Serialize)]
pub struct OpeReport {
    /// The log folder.
    pub logs: PathBuf,
    /// The target policy.
    pub target: String,
    /// The logging policy.
    pub logging: String,
    /// Logged steps.
    pub steps: u64,
    /// Logged episodes.
    pub episodes: u64,
    /// The per-step value.
    pub per_step: Vec<Line>,
    /// The return.
    pub per_episode: Vec<Line>,
    /// Kish's effective number of episodes behind the episode estimates.
    pub episode_ess: f64,
    /// Episodes whose whole-episode weight is not zero.
    pub episodes_with_weight: u64,
    /// The logging policy's own mean reward per step in the logs.
    pub logged_step_reward: f64,
    /// The logging policy's own mean return in the logs.
    pub logged_return: f64,
}

impl OpeReport {
    /// The line of estimator `id`.
    pub fn line(&self, id: &str) -> Option<&Line> {
        self.per_step
            .iter()
            .chain(&self.per_episode)
            .find(|l| l.estimator.id == id)
    }
}

/// Where the logging policy misses what the target does, at one level.
#[derive(Default)]
struct Gaps {
    steps: u64,
    first: Option<(u64, u32)>,
}

impl Gaps {
    fn note(&mut self, covered: bool, episode: u64, step: u32) {
        if !covered {
            self.steps += 1;
            self.first.get_or_insert((episode, step));
        }
    }

    fn outcome(&self, what: &str, then: impl FnOnce() -> Outcome) -> Outcome {
        match self.first {
            None => then(),
            Some((episode, step)) => Outcome::Unsupported {
                why: format!(
                    "the logging policy gives zero probability to {what} the target takes, at {} \
                     logged step(s), first episode {episode} step {step}",
                    self.steps
                ),
            },
        }
    }
}

/// Estimates the value of `target` from the log `reader`, with every estimator;
/// `progress` hears the rows of the second pass.
pub fn evaluate(
    reader: &LogReader,
    target: &PolicySpec,
    checkpoints: &dyn LoadPolicy,
    mut progress: impl FnMut(u64),
) -> Result<OpeReport, LogError> {
    let meta = reader.meta().clone();
    let layout = meta.layout;
    let (n, k) = (layout.num_candidates, layout.slate_size);
    let mut policy = target_policy(target, &meta.scenario, checkpoints)?;
    let mut view = LoggedEnv::new(&meta.scenario)?;
    let features = FeatureMap::new(layout.user_dim, layout.doc_dim);
    let q = features.len();
    let mut scores = vec![0.0; n];
    let mut phi = vec![0.0; q];
    let additive = meta.additive_reward;

    // Pass 1: the reward model, on each fold of episodes (even, odd) for cross-fitting,
    // and on all.
    let mut fit = RewardFit::new(k, q, 2);
    if additive {
        let mut rows = reader.rows()?;
        let mut point = vec![0.0; n];
        while let Some(row) = rows.next_row()? {
            view.show(&row.user, &row.candidates);
            view.myopic_scores(&mut scores);
            let x = Context {
                user: &row.user,
                items: &row.candidates,
                scores: &scores,
            };
            let mut prefix = 0.0;
            for (j, &item) in row.slate.iter().enumerate() {
                point.fill(0.0);
                point[item] = 1.0;
                features.expected(&x, &point, prefix, &mut phi);
                fit.add((row.episode % 2) as usize, j, &phi, row.position_reward[j]);
                prefix += scores[item];
            }
        }
    }
    let full = fit.fit(None);
    let folds = [fit.fit(Some(0)), fit.fit(Some(1))];

    // Pass 2: the target on every logged observation.
    let steps = meta.steps as usize;
    let mut episode = Vec::with_capacity(steps);
    let mut reward = Vec::with_capacity(steps);
    let mut position_reward = Vec::with_capacity(steps * k);
    let mut slate_weight = Vec::with_capacity(steps);
    let mut position_weight = Vec::with_capacity(steps * k);
    let mut prefix_weight = Vec::with_capacity(steps * k);
    let mut dm = Vec::with_capacity(steps);
    let mut q_hat = Vec::with_capacity(steps * k);
    let mut v_hat = Vec::with_capacity(steps * k);
    let mut pi_weight = Vec::with_capacity(steps);
    let (mut slate_gaps, mut position_gaps, mut prefix_gaps, mut pi_gaps) = (
        Gaps::default(),
        Gaps::default(),
        Gaps::default(),
        Gaps::default(),
    );
    let mut mu = SlateDist::Uniform { n, k };
    let mut solver = PseudoInverse::default();
    let (mut target_prefix, mut target_position) = (vec![0.0; k], vec![0.0; k]);
    let mut marginals = vec![0.0; k * n];
    let mut logged_probs = vec![0.0; k];
    // E[φ_l | the first j logged items], for j = 0..=K and every l.
    let mut expected = vec![0.0; (k + 1) * k * q];
    let mut fitted_q = FittedQ::new(k * q);
    let mut rows = reader.rows()?;
    let mut count = 0u64;
    while let Some(row) = rows.next_row()? {
        view.show(&row.user, &row.candidates);
        if row.step == 0 {
            policy.begin_episode();
        }
        let pi = policy.distribution(&view)?;
        let base_slate = (!row.policy_slate.is_empty()).then_some(row.policy_slate.as_slice());
        let base_scores = (!row.policy_scores.is_empty()).then_some(row.policy_scores.as_slice());
        logged_distribution(&meta.policy, n, k, base_slate, base_scores, &mut mu)
            .map_err(|why| LogError::invalid(reader.path(), why))?;
        mu.prefix_probs(&row.slate, &mut logged_probs);
        if logged_probs
            .iter()
            .zip(&row.prefix_probs)
            .any(|(a, b)| (a - b).abs() > 1e-9 * b)
        {
            return Err(LogError::invalid(
                reader.path(),
                format!(
                    "episode {} step {}: the logged probabilities are not the logging policy's",
                    row.episode, row.step
                ),
            ));
        }
        pi.prefix_probs(&row.slate, &mut target_prefix);
        pi.position_probs(&row.slate, &mut target_position);
        episode.push(row.episode);
        reward.push(row.reward);
        position_reward.extend_from_slice(&row.position_reward);
        slate_weight.push(target_prefix[k - 1] / row.slate_prob);
        position_weight.extend(
            target_position
                .iter()
                .zip(&row.position_probs)
                .map(|(p, m)| p / m),
        );
        prefix_weight.extend(
            target_prefix
                .iter()
                .zip(&row.prefix_probs)
                .map(|(p, m)| p / m),
        );
        if !mu.covers_everything() {
            slate_gaps.note(mu.covers(pi, Level::Slate), row.episode, row.step);
            position_gaps.note(mu.covers(pi, Level::Position), row.episode, row.step);
            prefix_gaps.note(mu.covers(pi, Level::Prefix), row.episode, row.step);
        }
        pi.marginals(&[], &mut marginals);
        match solver.weight(&mu, &marginals, &row.slate) {
            Some(w) => pi_weight.push(w),
            None => {
                pi_gaps.note(false, row.episode, row.step);
                pi_weight.push(0.0);
            }
        }
        if additive {
            view.myopic_scores(&mut scores);
            let x = Context {
                user: &row.user,
                items: &row.candidates,
                scores: &scores,
            };
            expected_features(&features, &x, pi, &row.slate, &mut expected);
            let fold = &folds[(row.episode % 2) as usize];
            // W(j) = Σ_{l≥j} θ_l·E[φ_l | first j logged items]: the value to go from
            // position j; W(K) = 0.
            let to_go = |model: &RewardModel, j: usize| -> f64 {
                (j..k)
                    .map(|l| model.predict(l, &expected[(j * k + l) * q..(j * k + l + 1) * q]))
                    .sum()
            };
            // The whole slate's features, logged and under the target, for the fitted Q.
            fitted_q.push(
                row.episode,
                row.reward,
                &expected[k * k * q..],
                &expected[..k * q],
            );
            dm.push(to_go(&full, 0));
            for j in 0..k {
                v_hat.push(to_go(fold, j));
                let logged = &expected[((j + 1) * k + j) * q..((j + 1) * k + j + 1) * q];
                q_hat.push(fold.predict(j, logged) + to_go(fold, j + 1));
            }
        }
        count += 1;
        progress(count);
    }

    let columns = Weighted {
        episode: &episode,
        k,
        reward: &reward,
        position_reward: &position_reward,
        slate_weight: &slate_weight,
        position_weight: &position_weight,
        prefix_weight: &prefix_weight,
    };
    let not_additive = || Outcome::Undefined {
        why: "this world's per-position rewards do not add up to the step's reward".into(),
    };
    let split = |f: &dyn Fn() -> Outcome| if additive { f() } else { not_additive() };
    let per_step_outcomes = [
        split(&|| estimators::direct(&episode, &dm)),
        slate_gaps.outcome("slates", || estimators::ips(&columns)),
        slate_gaps.outcome("slates", || estimators::snips(&columns)),
        position_gaps.outcome("items at positions", || {
            split(&|| estimators::iips(&columns))
        }),
        position_gaps.outcome("items at positions", || {
            split(&|| estimators::sn_iips(&columns))
        }),
        prefix_gaps.outcome("slate prefixes", || split(&|| estimators::rips(&columns))),
        prefix_gaps.outcome("slate prefixes", || {
            split(&|| estimators::sn_rips(&columns))
        }),
        prefix_gaps.outcome("slate prefixes", || {
            split(&|| estimators::cascade_dr(&columns, &q_hat, &v_hat))
        }),
        pi_gaps.outcome("the position-item marginals that", || {
            estimators::pseudo_inverse(&episode, &reward, &pi_weight)
        }),
        pi_gaps.outcome("the position-item marginals that", || {
            estimators::sn_pseudo_inverse(&episode, &reward, &pi_weight)
        }),
    ];
    let (rho, returns) = estimators::episode_weights(&episode, &slate_weight, &reward);
    let episode_ess = estimators::effective_sample_size(&rho);
    // A few episodes carrying all the weight make the estimate theirs and its interval
    // meaningless (a single one gives a width of zero): say so.
    let enough = |outcome: Outcome| match outcome {
        Outcome::Estimate(_) if episode_ess < MIN_EPISODE_ESS => Outcome::Undefined {
            why: format!(
                "the episode weights are degenerate: their effective sample size is \
                 {episode_ess:.1} of {} episodes, below the {MIN_EPISODE_ESS} an interval \
                 needs (the per-step view does not multiply weights over time)",
                rho.len()
            ),
        },
        other => other,
    };
    let (q_fit, v_fit) = fitted_q.values();
    let per_episode_outcomes = [
        split(&|| estimators::fitted_q(&episode, &v_fit)),
        slate_gaps.outcome("slates", || {
            enough(estimators::per_decision_is(
                &episode,
                &slate_weight,
                &reward,
            ))
        }),
        slate_gaps.outcome("slates", || {
            enough(estimators::weighted_is(&episode, &slate_weight, &reward))
        }),
        slate_gaps.outcome("slates", || {
            split(&|| {
                enough(estimators::per_decision_dr(
                    &episode,
                    &slate_weight,
                    &reward,
                    &q_fit,
                    &v_fit,
                ))
            })
        }),
        slate_gaps.outcome("slates", || {
            split(&|| {
                enough(estimators::weighted_dr(
                    &episode,
                    &slate_weight,
                    &reward,
                    &q_fit,
                    &v_fit,
                ))
            })
        }),
    ];
    let lines = |estimators: &[Estimator], outcomes: Vec<Outcome>| {
        estimators
            .iter()
            .zip(outcomes)
            .map(|(e, outcome)| Line {
                estimator: *e,
                outcome,
            })
            .collect()
    };
    Ok(OpeReport {
        logs: reader.path().to_path_buf(),
        target: target.to_string(),
        logging: meta.policy.to_string(),
        steps: meta.steps,
        episodes: meta.episodes,
        per_step: lines(&PER_STEP, per_step_outcomes.to_vec()),
        per_episode: lines(&PER_EPISODE, per_episode_outcomes.to_vec()),
        episode_ess,
        episodes_with_weight: rho.iter().filter(|r| **r > 0.0).count() as u64,
        logged_step_reward: reward.iter().sum::<f64>() / reward.len().max(1) as f64,
        logged_return: returns.iter().sum::<f64>() / returns.len().max(1) as f64,
    })
}

/// Fills `out[(j·K + l)·q ..]` with `E_π[φ_l | the slate begins with slate[..j]]` for
/// `j = 0..=K`: the logged features for `l < j`, the target's expectation after.
pub(crate) fn expected_features(
    features: &FeatureMap,
    x: &Context,
    pi: &SlateDist,
    slate: &[usize],
    out: &mut [f64],
) {
    let (n, k, q) = (pi.num_candidates(), slate.len(), features.len());
    let mut point = vec![0.0; n];
    let mut marginals = vec![0.0; k * n];
    for j in 0..=k {
        let rows = &mut marginals[..(k - j) * n];
        pi.marginals(&slate[..j], rows);
        let mut prefix = 0.0;
        for l in 0..k {
            let at = &mut out[(j * k + l) * q..(j * k + l + 1) * q];
            let p = if l < j {
                point.fill(0.0);
                point[slate[l]] = 1.0;
                &point[..]
            } else {
                &rows[(l - j) * n..(l - j + 1) * n]
            };
            features.expected(x, p, prefix, at);
            prefix += at[1];
        }
    }
}
