//! The simulator scenarios the benchmark times.

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
    /// The measuring program's arguments for `command` on this scenario: the command,
    /// `ENV N K` (at seed 0, resampled, with its default horizon), then `rest`.
    pub fn measure(&self, command: &str, rest: &[&str]) -> Vec<String> {
        let head = [
            command.to_string(),
            self.env.to_string(),
            self.num_candidates.to_string(),
            self.slate_size.to_string(),
        ];
        head.into_iter()
            .chain(rest.iter().map(ToString::to_string))
            .collect()
    }
}
