//! The simulator scenarios the benchmark times.

use anyhow::{Context, Result};
use env::Scenario;

/// A simulator scenario of the throughput table.
pub struct SimScenario {
    pub name: &'static str,
    pub label: &'static str,
    pub env: &'static str,
    pub num_candidates: usize,
    pub slate_size: usize,
    /// RecSim's steps per second in `docs/reference.md`.
    pub recsim_reference: Option<f64>,
}

pub const SCENARIOS: [SimScenario; 4] = [
    SimScenario {
        name: "strong-lts",
        label: "StrongLTS 20/2",
        env: "strong-lts",
        num_candidates: 20,
        slate_size: 2,
        recsim_reference: Some(27_600.0),
    },
    SimScenario {
        name: "lts",
        label: "LTS defaults 10/3",
        env: "lts",
        num_candidates: 10,
        slate_size: 3,
        recsim_reference: None,
    },
    SimScenario {
        name: "interest-evolution",
        label: "interest evolution 10/2",
        env: "interest-evolution",
        num_candidates: 10,
        slate_size: 2,
        recsim_reference: Some(15_300.0),
    },
    SimScenario {
        name: "interest-exploration",
        label: "interest exploration 10/2 (100-step episodes)",
        env: "interest-exploration",
        num_candidates: 10,
        slate_size: 2,
        recsim_reference: Some(9_300.0),
    },
];

impl SimScenario {
    /// The scenario called `name`.
    pub fn named(name: &str) -> Result<&'static SimScenario> {
        SCENARIOS
            .iter()
            .find(|s| s.name == name)
            .with_context(|| format!("unknown scenario `{name}`"))
    }

    /// The scenario at seed 0, resampled, with its default horizon.
    pub fn scenario(&self) -> Scenario {
        Scenario {
            num_candidates: self.num_candidates,
            slate_size: self.slate_size,
            ..Scenario::new(self.env)
        }
    }
}
