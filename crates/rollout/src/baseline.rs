//! The fixed policies (random, greedy, kale and the planner's two oracles) and their
//! baselines: the figures `rlrec baseline` prints and `rlrec.baseline` returns.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use agents::Policy;
use agents_bandit::{Baseline, BaselineKind};
use env::Scenario;
use serde::{Deserialize, Serialize};

use planner::{LtsPlanner, OptimalPolicy, PolicyKind};

use crate::{evaluation, Evaluation, RolloutError};

/// A policy that does not learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixedPolicy {
    /// Each slate position uniform over the candidates.
    Random,
    /// Highest myopic score first (LTS: clickbait; interest evolution: the user's
    /// interest in the video's cluster; interest exploration: quality).
    Greedy,
    /// Lowest myopic score first (LTS: the least clickbait).
    Kale,
    /// Long-term satisfaction's optimal policy by dynamic programming over the user's
    /// exposure and the remaining budget. An oracle: it reads the true user state.
    Optimal,
    /// The best policy that sees only the satisfaction (no budget). Also an oracle.
    OptimalStationary,
    /// The world's short-term oracle: the items most relevant to the user's true current
    /// interests (SARDINE's `-1` slate positions). An oracle too.
    Oracle,
}

impl FixedPolicy {
    /// Every fixed policy, the oracles last.
    pub const ALL: [FixedPolicy; 6] = [
        FixedPolicy::Random,
        FixedPolicy::Greedy,
        FixedPolicy::Kale,
        FixedPolicy::Optimal,
        FixedPolicy::OptimalStationary,
        FixedPolicy::Oracle,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            FixedPolicy::Random => "random",
            FixedPolicy::Greedy => "greedy",
            FixedPolicy::Kale => "kale",
            FixedPolicy::Optimal => "optimal",
            FixedPolicy::OptimalStationary => "optimal-stationary",
            FixedPolicy::Oracle => "oracle",
        }
    }

    /// One line on what the policy does.
    pub fn description(self) -> &'static str {
        match self {
            FixedPolicy::Random => "each slate position uniform over the candidates",
            FixedPolicy::Greedy => {
                "highest myopic score first (LTS: clickbait; interest evolution: the user's interest; interest exploration: quality)"
            }
            FixedPolicy::Kale => "lowest myopic score first (LTS: the least clickbait)",
            FixedPolicy::Optimal => {
                "long-term satisfaction's optimal policy, by dynamic programming (an oracle: it reads the user's true state)"
            }
            FixedPolicy::OptimalStationary => {
                "the best policy that sees only the satisfaction, not the budget left (an oracle)"
            }
            FixedPolicy::Oracle => {
                "SARDINE's short-term oracle: the items most relevant to the user's true interests now"
            }
        }
    }

    /// Whether the policy reads the true user state (the planner's, SARDINE's).
    pub fn is_oracle(self) -> bool {
        matches!(
            self,
            FixedPolicy::Optimal | FixedPolicy::OptimalStationary | FixedPolicy::Oracle
        )
    }
}

impl fmt::Display for FixedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FixedPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|p| p.name()).collect();
                format!("unknown policy `{s}`; expected one of {}", names.join(", "))
            })
    }
}

/// Builds a fixed policy from a seed (one per vector slot).
pub type MakePolicy = Box<dyn Fn(u64) -> Box<dyn Policy> + Send + Sync>;

/// A fixed policy for `scenario`, as a maker of policies, with the planner's predicted
/// return for the oracles, which turn on the user-state observation they read.
pub fn fixed_policy(
    policy: FixedPolicy,
    scenario: &mut Scenario,
) -> Result<(MakePolicy, Option<f64>), RolloutError> {
    let kind = match policy {
        FixedPolicy::Random => BaselineKind::Random,
        FixedPolicy::Greedy => BaselineKind::Greedy,
        FixedPolicy::Kale => BaselineKind::Kale,
        FixedPolicy::Oracle => {
            if !Baseline::supports(BaselineKind::Oracle, scenario.build()?.as_ref()) {
                return Err(RolloutError::NoOracle(scenario.env.clone()));
            }
            BaselineKind::Oracle
        }
        FixedPolicy::Optimal | FixedPolicy::OptimalStationary => {
            scenario.wrappers.user_observation = true;
            let planner = Arc::new(LtsPlanner::for_scenario(scenario)?);
            let (kind, value) = if policy == FixedPolicy::Optimal {
                (PolicyKind::FiniteHorizon, planner.predicted_value())
            } else {
                (PolicyKind::Stationary, planner.stationary_value())
            };
            let layout = scenario.build()?.layout();
            // Deterministic: every seed gets the same policy.
            let optimal = OptimalPolicy::new(planner, kind, &layout)?;
            return Ok((Box::new(move |_| Box::new(optimal.clone())), Some(value)));
        }
    };
    Ok((
        Box::new(move |seed| Box::new(Baseline::new(kind, seed))),
        None,
    ))
}

/// A fixed policy's returns over many episodes, with the planner's prediction where the
/// policy is an oracle.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    /// The returns' statistics and the video-cluster metrics.
    #[serde(flatten)]
    pub evaluation: Evaluation,
    /// The planner's predicted mean return (the oracles only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted: Option<f64>,
}

/// Runs `policy` for `episodes` episodes on `num_envs` environments of `scenario` stepped
/// in lockstep on up to `threads` threads ([`evaluation`]); `progress` hears the
/// episodes finished.
pub fn baseline(
    policy: FixedPolicy,
    scenario: &Scenario,
    episodes: usize,
    num_envs: usize,
    threads: usize,
    progress: impl FnMut(usize),
) -> Result<BaselineReport, RolloutError> {
    let mut scenario = scenario.clone();
    let (make_policy, predicted) = fixed_policy(policy, &mut scenario)?;
    Ok(BaselineReport {
        evaluation: evaluation(
            &scenario,
            make_policy,
            episodes,
            num_envs,
            threads,
            progress,
        )?,
        predicted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_oracles_report_their_prediction() {
        for p in FixedPolicy::ALL {
            assert_eq!(p.name().parse::<FixedPolicy>(), Ok(p));
        }
        assert!("best".parse::<FixedPolicy>().is_err());
        let scenario = Scenario::default();
        let random = baseline(FixedPolicy::Random, &scenario, 20, 1, 1, |_| ()).unwrap();
        assert_eq!(random.predicted, None);
        assert_eq!(random.evaluation.summary.episodes, 20);
        let optimal = baseline(FixedPolicy::Optimal, &scenario, 20, 2, 2, |_| ()).unwrap();
        let predicted = optimal.predicted.unwrap();
        assert!((predicted - 1195.0).abs() < 0.1, "{predicted}");
        let json = serde_json::to_value(&optimal).unwrap();
        assert_eq!(json["predicted"], predicted);
        assert_eq!(json["episodes"], 20);
    }

    #[test]
    fn the_oracles_simulated_returns_match_the_planners_predictions() {
        let mut scenario = Scenario {
            seed: 7,
            ..Scenario::default()
        };
        let episodes = 1000;
        for policy in [FixedPolicy::Optimal, FixedPolicy::OptimalStationary] {
            let (make, predicted) = fixed_policy(policy, &mut scenario).unwrap();
            let predicted = predicted.unwrap();
            let mut env = scenario.build().unwrap();
            let s = crate::evaluate(&mut *env, &mut *make(0), episodes, false, |_| {}).unwrap();
            // Returns have sd ≈ 11.7, so the standard error over 1000 episodes is ≈ 0.37.
            // Four standard errors (a false alarm for about one seed in 16,000) plus 0.05
            // for the discretisation (the planner's resolution test bounds it by 0.02).
            let tolerance = 4.0 * s.std / (episodes as f64).sqrt() + 0.05;
            assert!(
                (s.mean - predicted).abs() < tolerance,
                "{policy}: simulated {} vs predicted {predicted} (± {tolerance})",
                s.mean
            );
            assert_eq!(s.mean_length, 120.0);
        }
    }
}
