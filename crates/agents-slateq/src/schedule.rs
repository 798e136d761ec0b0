//! Linear schedules: ε of the exploration and the learning rate.

use serde::{Deserialize, Serialize};

/// A value that moves linearly from `start` to `end` over `steps` steps, then stays; a
/// schedule of no steps is `end` from the start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Linear {
    pub start: f64,
    pub end: f64,
    pub steps: u64,
}

impl Linear {
    /// The value after `t` steps.
    pub fn at(&self, t: u64) -> f64 {
        if self.steps == 0 {
            return self.end;
        }
        let frac = (t as f64 / self.steps as f64).min(1.0);
        self.start + (self.end - self.start) * frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_linearly_then_stays() {
        let s = Linear {
            start: 1.0,
            end: 0.2,
            steps: 4,
        };
        let values: Vec<f64> = (0..6).map(|t| s.at(t)).collect();
        let expected = [1.0, 0.8, 0.6, 0.4, 0.2, 0.2];
        for (v, e) in values.iter().zip(expected) {
            assert!((v - e).abs() < 1e-12, "{values:?}");
        }
        let constant = Linear { steps: 0, ..s };
        assert_eq!(constant.at(0), 0.2);
    }
}
