//! Scenarios in words, for messages: the wrappers that are on, and what differs between
//! two scenarios.

use std::fmt;

use recsim_core::{Number, ParamSet};

use crate::{Scenario, Wrappers};

impl fmt::Display for Wrappers {
    /// The options that are on, by their configuration names, or `no wrappers`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on: Vec<&str> = [
            (self.user_observation, "user_observation"),
            (self.bandit_observation, "bandit_observation"),
            (self.discrete_action, "discrete_action"),
            (self.time_aware, "time_aware"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if on.is_empty() {
            f.write_str("no wrappers")
        } else {
            f.write_str(&on.join(", "))
        }
    }
}

impl Scenario {
    /// What differs from `other`, one phrase each (`seed 7, not 0`), for messages that
    /// say why two scenarios are not the same one.
    pub fn differences(&self, other: &Scenario) -> Vec<String> {
        let mut out = Vec::new();
        let mut differ = |name: &str, mine: String, theirs: String| {
            if mine != theirs {
                out.push(format!("{name} {mine}, not {theirs}"));
            }
        };
        differ("world", self.env.clone(), other.env.clone());
        differ(
            "num_candidates",
            self.num_candidates.to_string(),
            other.num_candidates.to_string(),
        );
        differ(
            "slate_size",
            self.slate_size.to_string(),
            other.slate_size.to_string(),
        );
        differ(
            "resample_documents",
            self.resample_documents.to_string(),
            other.resample_documents.to_string(),
        );
        differ("seed", self.seed.to_string(), other.seed.to_string());
        let params = |p: &ParamSet| {
            if p.is_empty() {
                return "the defaults".to_string();
            }
            p.iter()
                .map(|(name, value)| format!("{name}={}", Number(*value)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        differ("parameters", params(&self.params), params(&other.params));
        differ(
            "wrappers",
            self.wrappers.to_string(),
            other.wrappers.to_string(),
        );
        let horizon = |h: Option<usize>| h.map_or("the world's".into(), |h| h.to_string());
        differ(
            "max_episode_steps",
            horizon(self.max_episode_steps),
            horizon(other.max_episode_steps),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::Scenario;

    #[test]
    fn differences_are_named_in_words() {
        let a = Scenario::default();
        assert!(a.differences(&a).is_empty());
        let mut b = a.clone();
        b.seed = 7;
        b.params.insert("sensitivity".into(), 1e-300);
        b.wrappers.bandit_observation = true;
        b.wrappers.discrete_action = true;
        assert_eq!(
            b.differences(&a),
            [
                "seed 7, not 0",
                "parameters sensitivity=1e-300, not the defaults",
                "wrappers bandit_observation, discrete_action, not no wrappers",
            ]
        );
    }
}
