//! SlateQ's temporal-difference target, as a pure function of the minibatch's values.

use agents::config::SlateOptimizer;

use agents::choice::{best_slate, slate_value, ChoiceRule};

/// A minibatch's next-state item values and what the targets need besides.
pub struct NextValues<'a> {
    /// `B × (N + 1)` item values (candidates, then no click) that choose the next slate:
    /// the online network's under double Q, else the target network's.
    pub select: &'a [f32],
    /// `B × (N + 1)` item values that value the chosen slate: the target network's.
    pub target: &'a [f32],
    /// `B × (N + 1)` choice weights for [`ChoiceRule::Weights`]; empty otherwise.
    pub weights: &'a [f32],
}

/// `R + discount·Q(s', A')` for each transition: `A'` is the best next slate of `K` under
/// `next.select`, valued under `next.target` (SlateQ with double Q). `discount` is `γ^m`
/// for an `m`-step return, 0 where the episode ended without bootstrapping.
pub fn targets(
    rule: ChoiceRule,
    optimizer: SlateOptimizer,
    rewards: &[f32],
    discounts: &[f32],
    next: &NextValues,
    slate_size: usize,
    order: &mut Vec<usize>,
) -> Vec<f32> {
    let row_len = next.select.len() / rewards.len().max(1);
    let mut slate = vec![0; slate_size];
    rewards
        .iter()
        .zip(discounts)
        .enumerate()
        .map(|(j, (&r, &discount))| {
            let row = j * row_len..(j + 1) * row_len;
            let w = if next.weights.is_empty() {
                &[][..]
            } else {
                &next.weights[row.clone()]
            };
            best_slate(
                rule,
                optimizer,
                &next.select[row.clone()],
                w,
                &mut slate,
                order,
            );
            r + discount * slate_value(rule, &next.target[row], w, &slate)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_by_hand() {
        // Two transitions, three candidates and no click, slates of one.
        let select = [1.0, 3.0, 2.0, 0.0, /**/ 5.0, 1.0, 0.0, 0.0];
        let target = [10.0, 20.0, 30.0, 40.0, /**/ 7.0, 8.0, 9.0, 6.0];
        let next = NextValues {
            select: &select,
            target: &target,
            weights: &[],
        };
        let mut order = Vec::new();
        // Position 0 is consumed: the online network picks candidate 1 (then 0); the target
        // network values them at 20 and 7. The second transition ended: no bootstrap.
        let t = targets(
            ChoiceRule::FirstPosition,
            SlateOptimizer::Greedy,
            &[1.0, 2.0],
            &[0.5, 0.0],
            &next,
            1,
            &mut order,
        );
        assert_eq!(t, [1.0 + 0.5 * 20.0, 2.0]);
        // With weights: a slate of one from {0, 1, 2}; value (w_i·q_i + w_∅·q_∅)/(w_i + w_∅).
        let weights = [1.0, 1.0, 3.0, 1.0, /**/ 1.0, 1.0, 1.0, 1.0];
        let next = NextValues {
            weights: &weights,
            ..next
        };
        let t = targets(
            ChoiceRule::Weights,
            SlateOptimizer::Greedy,
            &[0.0, 0.0],
            &[1.0, 1.0],
            &next,
            1,
            &mut order,
        );
        // Row 1 under select: candidate 1 → (3 + 0)/2 = 1.5, candidate 2 → (6 + 0)/4 = 1.5,
        // a tie that keeps the first found (1); valued under target: (20 + 40)/2 = 30.
        // Row 2: candidate 0 → 2.5 is best; valued (7 + 6)/2 = 6.5.
        assert_eq!(t, [30.0, 6.5]);
    }
}
