//! The user choice model `P(i | s, A)` as SlateQ assumes it and slate optimisation (SlateQ
//! §4–5), in plain numbers: SlateQ acts and learns with them, and a portable policy
//! ([`crate::portable`]) chooses its slates with them.

use env::Layout;
use serde::{Deserialize, Serialize};

use crate::config::SlateOptimizer;

/// The rule the slate value follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChoiceRule {
    /// Position 0 is always consumed: `Q(s, A) = Q̄(s, A₀)`.
    FirstPosition,
    /// `P(i|s,A) = w_i / (Σ_{j∈A} w_j + w_∅)` with non-negative weights per candidate and
    /// one for no click (the last entry).
    Weights,
}

/// `Q(s, A) = Σ_{i∈A} P(i|s,A)·Q̄(s,i) + P(∅|s,A)·Q̄(s,∅)`; `q` and `w` hold the `N`
/// candidates followed by the no-click entry.
pub fn slate_value(rule: ChoiceRule, q: &[f32], w: &[f32], slate: &[usize]) -> f32 {
    match rule {
        ChoiceRule::FirstPosition => q[slate[0]],
        ChoiceRule::Weights => {
            let null = q.len() - 1;
            let (mut num, mut den) = (w[null] * q[null], w[null]);
            for &i in slate {
                num += w[i] * q[i];
                den += w[i];
            }
            if den > 0.0 {
                num / den
            } else {
                q[null]
            }
        }
    }
}

/// Fills `slate` with the best slate for `(q, w)`, ordered by item value (best first).
pub fn best_slate(
    rule: ChoiceRule,
    optimizer: SlateOptimizer,
    q: &[f32],
    w: &[f32],
    slate: &mut [usize],
    order: &mut Vec<usize>,
) {
    let n = q.len() - 1;
    let k = slate.len();
    order.clear();
    order.extend(0..n);
    let by = |key: &dyn Fn(usize) -> f32, order: &mut Vec<usize>| {
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    };
    match (rule, optimizer) {
        (ChoiceRule::FirstPosition, _) => {
            // Only the best k matter, in order: select them, then sort just those.
            let key = |a: &usize, b: &usize| q[*b].total_cmp(&q[*a]).then(a.cmp(b));
            if k < n {
                order.select_nth_unstable_by(k, key);
            }
            order[..k].sort_by(key);
            slate.copy_from_slice(&order[..k]);
        }
        (ChoiceRule::Weights, SlateOptimizer::TopK) => {
            by(&|i| w[i] * q[i], order);
            let chosen = &mut order[..k];
            chosen.sort_by(|&a, &b| q[b].total_cmp(&q[a]).then(a.cmp(&b)));
            slate.copy_from_slice(chosen);
        }
        (ChoiceRule::Weights, SlateOptimizer::Greedy) => {
            let null = n;
            let (mut num, mut den) = (w[null] * q[null], w[null]);
            for filled in 0..k {
                let mut best = (f32::NEG_INFINITY, usize::MAX);
                for &i in order.iter() {
                    if slate[..filled].contains(&i) {
                        continue;
                    }
                    let (nn, dd) = (num + w[i] * q[i], den + w[i]);
                    let v = if dd > 0.0 { nn / dd } else { q[null] };
                    // The first candidate left, whatever its value (NaN values included).
                    if v > best.0 || best.1 == usize::MAX {
                        best = (v, i);
                    }
                }
                let i = best.1;
                slate[filled] = i;
                num += w[i] * q[i];
                den += w[i];
            }
            slate.sort_by(|&a, &b| q[b].total_cmp(&q[a]).then(a.cmp(&b)));
        }
    }
}

/// The known proportional choice model's weights from raw observations, `N + 1` per state
/// (the candidates, then no click): `max(⟨user, doc⟩ − min_normalizer, 0)` and
/// `no_click_mass − min_normalizer`, as interest evolution chooses.
pub fn proportional_weights(
    states: &[f32],
    layout: &Layout,
    no_click_mass: f64,
    min_normalizer: f64,
    out: &mut Vec<f32>,
) {
    let Layout {
        user_dim: u,
        doc_dim: d,
        num_candidates: n,
        ..
    } = *layout;
    out.clear();
    for state in states.chunks_exact(u + n * d) {
        let (user, items) = state.split_at(u);
        for doc in items.chunks_exact(d) {
            let score: f64 = user
                .iter()
                .zip(doc)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            out.push((score - min_normalizer).max(0.0) as f32);
        }
        out.push((no_click_mass - min_normalizer) as f32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_weights_follow_the_scores() {
        let layout = Layout {
            num_candidates: 2,
            slate_size: 1,
            doc_dim: 2,
            user_dim: 2,
            time: None,
        };
        // User interests (0.5, −1); documents one-hot in cluster 0 and 1.
        let state = [0.5, -1.0, 1.0, 0.0, 0.0, 1.0];
        let mut w = Vec::new();
        proportional_weights(&state, &layout, 1.0, -1.0, &mut w);
        assert_eq!(w, [1.5, 0.0, 2.0]);
    }

    #[test]
    fn slate_values_follow_the_decomposition() {
        let q = [1.0, 4.0, 2.0, 0.5]; // three candidates, then no click
        let w = [1.0, 1.0, 2.0, 1.0];
        assert_eq!(slate_value(ChoiceRule::FirstPosition, &q, &w, &[2, 1]), 2.0);
        // (1·4 + 2·2 + 1·0.5) / (1 + 2 + 1)
        assert_eq!(slate_value(ChoiceRule::Weights, &q, &w, &[1, 2]), 8.5 / 4.0);
    }

    #[test]
    fn greedy_finds_the_best_pair_and_orders_by_value() {
        let q = [1.0, 4.0, 2.0, 3.0, 0.0];
        let w = [5.0, 0.1, 1.0, 1.0, 1.0];
        let mut slate = [0; 2];
        let mut order = Vec::new();
        best_slate(
            ChoiceRule::Weights,
            SlateOptimizer::Greedy,
            &q,
            &w,
            &mut slate,
            &mut order,
        );
        // Exhaustive search over pairs agrees.
        let mut best = (f32::NEG_INFINITY, [0, 0]);
        for a in 0..4 {
            for b in (a + 1)..4 {
                let v = slate_value(ChoiceRule::Weights, &q, &w, &[a, b]);
                if v > best.0 {
                    best = (v, [a, b]);
                }
            }
        }
        let v = slate_value(ChoiceRule::Weights, &q, &w, &slate);
        assert!((v - best.0).abs() < 1e-6, "{slate:?} vs {:?}", best.1);
        assert!(q[slate[0]] >= q[slate[1]]);
        best_slate(
            ChoiceRule::FirstPosition,
            SlateOptimizer::Greedy,
            &q,
            &w,
            &mut slate,
            &mut order,
        );
        assert_eq!(slate, [1, 3]);
        best_slate(
            ChoiceRule::Weights,
            SlateOptimizer::TopK,
            &q,
            &w,
            &mut slate,
            &mut order,
        );
        assert_eq!(slate, [3, 0], "w·q = 5, 0.4, 2, 3 → {{0, 3}}, ordered by q");
        // Values that compare with nothing (a network fed a non-finite state): a slate
        // of distinct candidates all the same, not a panic.
        let nan = [f32::NAN; 5];
        best_slate(
            ChoiceRule::Weights,
            SlateOptimizer::Greedy,
            &nan,
            &w,
            &mut slate,
            &mut order,
        );
        assert!(
            slate[0] != slate[1] && slate.iter().all(|&i| i < 4),
            "{slate:?}"
        );
    }
}
