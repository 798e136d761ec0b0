//! The estimators by name: what each is called in reports and what it assumes, and one
//! estimator's answer as a report line.

use serde::Serialize;

use crate::estimators::Outcome;

/// An estimator: its id (`--json`'s key), its name and what it assumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Estimator {
    /// Its id (`--json`'s).
    pub id: &'static str,
    /// Its abbreviation (charts', tables').
    pub short: &'static str,
    /// Its name.
    pub name: &'static str,
    /// What it needs to be unbiased, or that it is biased.
    pub assumes: &'static str,
}

/// The estimators of the per-step value, in the order reports list them.
pub const PER_STEP: [Estimator; 10] = [
    Estimator {
        id: "dm",
        short: "DM",
        name: "direct method",
        assumes: "a right reward model (biased otherwise)",
    },
    Estimator {
        id: "ips",
        short: "IPS",
        name: "IPS",
        assumes: "nothing but support",
    },
    Estimator {
        id: "snips",
        short: "SNIPS",
        name: "self-normalised IPS",
        assumes: "nothing (biased, consistent)",
    },
    Estimator {
        id: "iips",
        short: "IIPS",
        name: "independent IPS",
        assumes: "each position's reward depends on its own item",
    },
    Estimator {
        id: "sniips",
        short: "SNIIPS",
        name: "self-normalised IIPS",
        assumes: "as IIPS (biased, consistent)",
    },
    Estimator {
        id: "rips",
        short: "RIPS",
        name: "reward-interaction IPS",
        assumes: "cascade: a position's reward depends on the items up to it",
    },
    Estimator {
        id: "snrips",
        short: "SNRIPS",
        name: "self-normalised RIPS",
        assumes: "as RIPS (biased, consistent)",
    },
    Estimator {
        id: "cascade-dr",
        short: "CDR",
        name: "cascade doubly robust",
        assumes: "cascade, as RIPS",
    },
    Estimator {
        id: "pi",
        short: "PI",
        name: "pseudo-inverse",
        assumes: "the slate's reward is a sum of position-item terms",
    },
    Estimator {
        id: "snpi",
        short: "SNPI",
        name: "self-normalised PI",
        assumes: "as PI (biased, consistent)",
    },
];

/// The estimators of the return.
pub const PER_EPISODE: [Estimator; 5] = [
    Estimator {
        id: "fqe",
        short: "FQE",
        name: "fitted-Q evaluation",
        assumes: "a right linear value model (biased otherwise)",
    },
    Estimator {
        id: "pdis",
        short: "PDIS",
        name: "per-decision IS",
        assumes: "nothing but support",
    },
    Estimator {
        id: "wis",
        short: "WIS",
        name: "weighted IS",
        assumes: "nothing (biased, consistent)",
    },
    Estimator {
        id: "pddr",
        short: "PDDR",
        name: "per-decision DR",
        assumes: "nothing but support (the fitted Q only lowers the variance)",
    },
    Estimator {
        id: "wdr",
        short: "WDR",
        name: "weighted DR",
        assumes: "nothing (biased, consistent)",
    },
];

/// The effective number of episodes below which the episode estimators give no number.
pub const MIN_EPISODE_ESS: f64 = 10.0;

/// One estimator's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// The estimator.
    #[serde(flatten)]
    pub estimator: Estimator,
    /// Its answer.
    pub outcome: Outcome,
}
