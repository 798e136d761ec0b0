//! A policy's exact distribution over slates at one context ([`SlateDist`]): what a log
//! records probabilities from and what the estimators weigh by.

use nalgebra::DMatrix;
use rand::Rng;
use recsim_core::SimRng;

/// Which part of a slate an estimator weighs by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The whole slate (standard IPS, the episode estimators).
    Slate,
    /// Each position's item alone (independent IPS).
    Position,
    /// Each prefix of the slate (reward-interaction IPS, cascade doubly robust).
    Prefix,
}

/// A policy's distribution over slates at one context: slates of `K` of the `N`
/// candidate positions.
#[derive(Debug, Clone, PartialEq)]
pub enum SlateDist {
    /// Each position uniform over the `n` candidates, independently (repeats allowed).
    Uniform {
        /// Candidates.
        n: usize,
        /// Slate size.
        k: usize,
    },
    /// `ε·Uniform + (1 − ε)·δ(slate)`.
    Epsilon {
        /// Candidates.
        n: usize,
        /// The weight of the uniform part.
        epsilon: f64,
        /// The deterministic slate.
        slate: Vec<usize>,
    },
    /// Plackett–Luce: positions filled in turn without replacement, each candidate with
    /// probability proportional to its weight among those left.
    PlackettLuce {
        /// One positive weight per candidate.
        weights: Vec<f64>,
        /// Slate size.
        k: usize,
    },
}

/// The number of ordered prefixes of length `0..k` of distinct items from `n`.
pub fn prefix_count(n: usize, k: usize) -> usize {
    let (mut total, mut count) = (0usize, 1usize);
    for len in 0..k {
        total = total.saturating_add(count);
        count = count.saturating_mul(n.saturating_sub(len));
    }
    total
}

/// Plackett–Luce weights `exp((s − max) / temperature)`; the exponent is floored so that
/// every candidate keeps a positive probability however low the temperature.
pub fn softmax_weights(scores: &[f64], temperature: f64, out: &mut Vec<f64>) {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    out.clear();
    out.extend(
        scores
            .iter()
            .map(|s| ((s - max) / temperature).max(-700.0).exp()),
    );
}

fn has_repeats(slate: &[usize]) -> bool {
    slate
        .iter()
        .enumerate()
        .any(|(j, i)| slate[..j].contains(i))
}

/// What [`each_prefix`] calls with each prefix: the prefix, its probability, and which
/// items it uses.
type Visit<'a> = dyn FnMut(&[usize], f64, &[bool]) + 'a;

/// Visits every ordered prefix of `len` distinct items not yet `used`, with its
/// Plackett–Luce probability (from `prob`, the probability of what `prefix` holds).
fn each_prefix(
    w: &[f64],
    used: &mut [bool],
    prefix: &mut Vec<usize>,
    len: usize,
    prob: f64,
    visit: &mut Visit,
) {
    if prefix.len() == len {
        visit(prefix, prob, used);
        return;
    }
    let left = unused_weight(w, used);
    for i in 0..w.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        prefix.push(i);
        each_prefix(w, used, prefix, len, prob * w[i] / left, visit);
        prefix.pop();
        used[i] = false;
    }
}

/// Summed directly, not as the total less the used weights: with weights of very
/// different sizes the difference would lose every digit.
fn unused_weight(w: &[f64], used: &[bool]) -> f64 {
    w.iter()
        .zip(used)
        .filter(|(_, u)| !**u)
        .map(|(w, _)| *w)
        .sum()
}

impl SlateDist {
    /// The candidates `N`.
    pub fn num_candidates(&self) -> usize {
        match self {
            SlateDist::Uniform { n, .. } | SlateDist::Epsilon { n, .. } => *n,
            SlateDist::PlackettLuce { weights, .. } => weights.len(),
        }
    }

    /// The slate size `K`.
    pub fn slate_size(&self) -> usize {
        match self {
            SlateDist::Uniform { k, .. } | SlateDist::PlackettLuce { k, .. } => *k,
            SlateDist::Epsilon { slate, .. } => slate.len(),
        }
    }

    /// Whether it puts all its mass on one slate.
    pub fn is_deterministic(&self) -> bool {
        matches!(self, SlateDist::Epsilon { epsilon, .. } if *epsilon == 0.0)
    }

    /// Draws a slate.
    pub fn sample(&self, rng: &mut SimRng, out: &mut [usize]) {
        match self {
            SlateDist::Uniform { n, .. } => {
                out.iter_mut().for_each(|p| *p = rng.random_range(0..*n))
            }
            SlateDist::Epsilon { n, epsilon, slate } => {
                // No draw at all for a deterministic policy: its stream stays untouched.
                if *epsilon > 0.0 && rng.random::<f64>() < *epsilon {
                    out.iter_mut().for_each(|p| *p = rng.random_range(0..*n));
                } else {
                    out.copy_from_slice(slate);
                }
            }
            SlateDist::PlackettLuce { weights, .. } => {
                for k in 0..out.len() {
                    let chosen = &out[..k];
                    let left: f64 = weights
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !chosen.contains(i))
                        .map(|(_, w)| *w)
                        .sum();
                    let mut u = rng.random::<f64>() * left;
                    let mut pick = None;
                    for (i, w) in weights.iter().enumerate() {
                        if out[..k].contains(&i) {
                            continue;
                        }
                        pick = Some(i);
                        if u < *w {
                            break;
                        }
                        u -= w;
                    }
                    out[k] = pick.expect("a Plackett–Luce slate is no longer than its candidates");
                }
            }
        }
    }

    /// `out[k]` = the probability of the slate's first `k + 1` positions.
    pub fn prefix_probs(&self, slate: &[usize], out: &mut [f64]) {
        match self {
            SlateDist::Uniform { n, .. } => {
                let mut p = 1.0;
                for o in out.iter_mut() {
                    p /= *n as f64;
                    *o = p;
                }
            }
            SlateDist::Epsilon {
                n,
                epsilon,
                slate: d,
            } => {
                let (mut uniform, mut same) = (1.0, true);
                for (k, o) in out.iter_mut().enumerate() {
                    uniform /= *n as f64;
                    same &= slate[k] == d[k];
                    *o = epsilon * uniform + if same { 1.0 - epsilon } else { 0.0 };
                }
            }
            SlateDist::PlackettLuce { weights, .. } => {
                let mut p = 1.0;
                for (k, o) in out.iter_mut().enumerate() {
                    let i = slate[k];
                    if slate[..k].contains(&i) {
                        p = 0.0;
                    } else if p > 0.0 {
                        let left: f64 = weights
                            .iter()
                            .enumerate()
                            .filter(|(j, _)| !slate[..k].contains(j))
                            .map(|(_, w)| *w)
                            .sum();
                        p *= weights[i] / left;
                    }
                    *o = p;
                }
            }
        }
    }

    /// The probability of the whole slate.
    pub fn slate_prob(&self, slate: &[usize]) -> f64 {
        let mut out = vec![0.0; slate.len()];
        self.prefix_probs(slate, &mut out);
        out.last().copied().unwrap_or(1.0)
    }

    /// `out[k]` = the probability that position `k` holds `slate[k]`, whatever the others.
    pub fn position_probs(&self, slate: &[usize], out: &mut [f64]) {
        match self {
            SlateDist::Uniform { n, .. } => out.fill(1.0 / *n as f64),
            SlateDist::Epsilon {
                n,
                epsilon,
                slate: d,
            } => {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = epsilon / *n as f64 + if slate[k] == d[k] { 1.0 - epsilon } else { 0.0 };
                }
            }
            SlateDist::PlackettLuce { .. } => {
                let n = self.num_candidates();
                let mut m = vec![0.0; out.len() * n];
                self.marginals(&[], &mut m);
                for (k, o) in out.iter_mut().enumerate() {
                    *o = m[k * n + slate[k]];
                }
            }
        }
    }

    /// Given that the slate begins with `prefix` (of positive probability), the
    /// probability of each candidate at each later position: `out` is `(K − j) × N`,
    /// row `t` for position `j + t`, where `j = prefix.len()`.
    pub fn marginals(&self, prefix: &[usize], out: &mut [f64]) {
        let n = self.num_candidates();
        let j = prefix.len();
        match self {
            SlateDist::Uniform { .. } => out.fill(1.0 / n as f64),
            SlateDist::Epsilon { epsilon, slate, .. } => {
                let on_path = prefix == &slate[..j];
                let point = if on_path { 1.0 - epsilon } else { 0.0 };
                let uniform = epsilon * (n as f64).powi(-(j as i32));
                // The chance that the deterministic slate is being followed, given the prefix.
                let alpha = if point + uniform > 0.0 {
                    point / (point + uniform)
                } else {
                    0.0
                };
                for (t, row) in out.chunks_exact_mut(n).enumerate() {
                    row.fill((1.0 - alpha) / n as f64);
                    row[slate[j + t]] += alpha;
                }
            }
            SlateDist::PlackettLuce { weights, .. } => {
                out.fill(0.0);
                let mut used = vec![false; n];
                for &i in prefix {
                    used[i] = true;
                }
                let mut scratch = Vec::with_capacity(self.slate_size());
                for (t, row) in out.chunks_exact_mut(n).enumerate() {
                    each_prefix(
                        weights,
                        &mut used,
                        &mut scratch,
                        t,
                        1.0,
                        &mut |_, prob, used| {
                            let left = unused_weight(weights, used);
                            for (i, o) in row.iter_mut().enumerate() {
                                if !used[i] {
                                    *o += prob * weights[i] / left;
                                }
                            }
                        },
                    );
                }
            }
        }
    }

    /// `Γ = E[1_s 1_sᵀ]`, the `KN × KN` matrix of pair probabilities: entry
    /// `(k·N + i, l·N + j)` is the probability that position `k` holds `i` and position
    /// `l` holds `j` (the pseudo-inverse estimator's design matrix).
    pub fn pair_marginals(&self, out: &mut DMatrix<f64>) {
        let (n, k) = (self.num_candidates(), self.slate_size());
        out.resize_mut(k * n, k * n, 0.0);
        out.fill(0.0);
        match self {
            SlateDist::Uniform { .. } => uniform_pairs(n, k, 1.0, out),
            SlateDist::Epsilon { epsilon, slate, .. } => {
                uniform_pairs(n, k, *epsilon, out);
                for (a, &i) in slate.iter().enumerate() {
                    for (b, &j) in slate.iter().enumerate() {
                        out[(a * n + i, b * n + j)] += 1.0 - epsilon;
                    }
                }
            }
            SlateDist::PlackettLuce { weights, .. } => {
                let mut m = vec![0.0; k * n];
                self.marginals(&[], &mut m);
                for (a, row) in m.chunks_exact(n).enumerate() {
                    for (i, p) in row.iter().enumerate() {
                        out[(a * n + i, a * n + i)] = *p;
                    }
                }
                let mut used = vec![false; n];
                let mut scratch = Vec::with_capacity(k);
                for l in 1..k {
                    each_prefix(
                        weights,
                        &mut used,
                        &mut scratch,
                        l,
                        1.0,
                        &mut |prefix, prob, used| {
                            let left = unused_weight(weights, used);
                            for j in (0..n).filter(|&j| !used[j]) {
                                let p = prob * weights[j] / left;
                                for (a, &i) in prefix.iter().enumerate() {
                                    out[(a * n + i, l * n + j)] += p;
                                    out[(l * n + j, a * n + i)] += p;
                                }
                            }
                        },
                    );
                }
            }
        }
    }

    /// Whether every slate has a positive probability (random slates, ε-greedy with ε > 0).
    pub fn covers_everything(&self) -> bool {
        match self {
            SlateDist::Uniform { .. } => true,
            SlateDist::Epsilon { epsilon, .. } => *epsilon > 0.0,
            SlateDist::PlackettLuce { .. } => false,
        }
    }

    /// Whether this (logging) distribution gives positive probability, at `level`, to
    /// everything `target` may do.
    pub fn covers(&self, target: &SlateDist, level: Level) -> bool {
        if self.covers_everything() {
            return true;
        }
        match self {
            SlateDist::Uniform { .. } => true,
            SlateDist::Epsilon { slate: d, .. } => match target {
                SlateDist::Epsilon {
                    epsilon: 0.0,
                    slate,
                    ..
                } => slate == d,
                _ => false,
            },
            // Every candidate, at every position, in any order without repeats.
            SlateDist::PlackettLuce { .. } => match (level, target) {
                (Level::Position, _) => true,
                (_, SlateDist::PlackettLuce { .. }) => true,
                (
                    _,
                    SlateDist::Epsilon {
                        epsilon: 0.0,
                        slate,
                        ..
                    },
                ) => !has_repeats(slate),
                // Random slates repeat candidates, which Plackett–Luce never does.
                (_, _) => target.slate_size() < 2,
            },
        }
    }
}

/// Adds `scale·Γ` of the uniform distribution: `1/N` on the diagonal, `1/N²` between
/// different positions.
fn uniform_pairs(n: usize, k: usize, scale: f64, out: &mut DMatrix<f64>) {
    let nf = n as f64;
    for a in 0..k {
        for b in 0..k {
            for i in 0..n {
                if a == b {
                    out[(a * n + i, a * n + i)] += scale / nf;
                } else {
                    for j in 0..n {
                        out[(a * n + i, b * n + j)] += scale / (nf * nf);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pl(weights: &[f64], k: usize) -> SlateDist {
        SlateDist::PlackettLuce {
            weights: weights.to_vec(),
            k,
        }
    }

    /// Every slate of `k` from `n` (repeats included) with its probability.
    fn all_slates(d: &SlateDist) -> Vec<(Vec<usize>, f64)> {
        let (n, k) = (d.num_candidates(), d.slate_size());
        (0..n.pow(k as u32))
            .map(|mut code| {
                let slate: Vec<usize> = (0..k)
                    .map(|_| {
                        let i = code % n;
                        code /= n;
                        i
                    })
                    .collect();
                let p = d.slate_prob(&slate);
                (slate, p)
            })
            .collect()
    }

    fn cases() -> Vec<SlateDist> {
        vec![
            SlateDist::Uniform { n: 4, k: 3 },
            SlateDist::Epsilon {
                n: 4,
                epsilon: 0.3,
                slate: vec![2, 0, 3],
            },
            SlateDist::Epsilon {
                n: 4,
                epsilon: 0.0,
                slate: vec![1, 1, 0],
            },
            pl(&[1.0, 2.0, 0.5, 4.0], 3),
            pl(&[1.0, 1e-30, 3.0, 1.0], 2),
        ]
    }

    #[test]
    fn plackett_luce_by_hand() {
        // Weights 1, 2, 3: first 3/6, then 1 of the 3 left.
        let d = pl(&[1.0, 2.0, 3.0], 2);
        let mut out = [0.0; 2];
        d.prefix_probs(&[2, 0], &mut out);
        assert_eq!(out, [0.5, 0.5 * 1.0 / 3.0]);
        // Position 1 holds item 0 after item 1 (2/6 · 1/4) or item 2 (3/6 · 1/3).
        d.position_probs(&[2, 0], &mut out);
        let second = 2.0 / 6.0 * 0.25 + 0.5 / 3.0;
        assert!((out[1] - second).abs() < 1e-15, "{out:?}");
        assert_eq!(d.slate_prob(&[1, 1]), 0.0);
    }

    #[test]
    fn epsilon_greedy_by_hand() {
        let d = SlateDist::Epsilon {
            n: 10,
            epsilon: 0.2,
            slate: vec![3, 7],
        };
        let mut out = [0.0; 2];
        d.prefix_probs(&[3, 7], &mut out);
        assert!((out[0] - (0.02 + 0.8)).abs() < 1e-15);
        assert!((out[1] - (0.002 + 0.8)).abs() < 1e-15);
        d.prefix_probs(&[3, 1], &mut out);
        assert!((out[1] - 0.002).abs() < 1e-15);
        d.position_probs(&[4, 7], &mut out);
        assert!((out[0] - 0.02).abs() < 1e-15 && (out[1] - 0.82).abs() < 1e-15);
    }

    #[test]
    fn probabilities_agree_with_enumeration() {
        for d in cases() {
            let (n, k) = (d.num_candidates(), d.slate_size());
            let slates = all_slates(&d);
            let total: f64 = slates.iter().map(|s| s.1).sum();
            assert!((total - 1.0).abs() < 1e-12, "{d:?}: {total}");
            let mut marginal = vec![0.0; k * n];
            let mut gamma = DMatrix::zeros(k * n, k * n);
            for (s, p) in &slates {
                for (a, &i) in s.iter().enumerate() {
                    marginal[a * n + i] += p;
                    for (b, &j) in s.iter().enumerate() {
                        gamma[(a * n + i, b * n + j)] += p;
                    }
                }
            }
            let mut m = vec![0.0; k * n];
            d.marginals(&[], &mut m);
            for (x, y) in m.iter().zip(&marginal) {
                assert!(
                    (x - y).abs() < 1e-12,
                    "{d:?}: marginals {m:?} vs {marginal:?}"
                );
            }
            let mut g = DMatrix::zeros(1, 1);
            d.pair_marginals(&mut g);
            assert!((&g - &gamma).abs().max() < 1e-12, "{d:?}: Γ");
            for (s, p) in slates.iter().filter(|s| s.1 > 0.0) {
                let mut pos = vec![0.0; k];
                d.position_probs(s, &mut pos);
                for a in 0..k {
                    assert!((pos[a] - marginal[a * n + s[a]]).abs() < 1e-12);
                }
                let mut prefix = vec![0.0; k];
                d.prefix_probs(s, &mut prefix);
                assert_eq!(prefix[k - 1], *p);
                // Conditioned on its first item, the rest matches enumeration.
                let mut cond = vec![0.0; (k - 1) * n];
                d.marginals(&s[..1], &mut cond);
                let mut expected = vec![0.0; (k - 1) * n];
                for (t, q) in slates.iter().filter(|t| t.0[0] == s[0]) {
                    for a in 1..k {
                        expected[(a - 1) * n + t[a]] += q / prefix[0];
                    }
                }
                for (x, y) in cond.iter().zip(&expected) {
                    assert!(
                        (x - y).abs() < 1e-12,
                        "{d:?} after {}: {cond:?} vs {expected:?}",
                        s[0]
                    );
                }
            }
        }
    }

    #[test]
    fn samples_follow_the_probabilities() {
        let mut rng = recsim_core::stream(1, recsim_core::StreamId::Documents);
        for d in cases() {
            let draws = 40_000;
            let mut counts = std::collections::HashMap::new();
            let mut slate = vec![0; d.slate_size()];
            for _ in 0..draws {
                d.sample(&mut rng, &mut slate);
                *counts.entry(slate.clone()).or_insert(0usize) += 1;
            }
            for (s, p) in all_slates(&d) {
                let seen = counts.get(&s).copied().unwrap_or(0) as f64 / draws as f64;
                // Five standard errors of a frequency, and never a slate of probability 0.
                let tolerance = 5.0 * (p * (1.0 - p) / draws as f64).sqrt() + 1e-12;
                assert!((seen - p).abs() <= tolerance, "{d:?} {s:?}: {seen} vs {p}");
            }
        }
    }

    #[test]
    fn support_is_checked_at_each_level() {
        let uniform = SlateDist::Uniform { n: 4, k: 2 };
        let greedy = SlateDist::Epsilon {
            n: 4,
            epsilon: 0.0,
            slate: vec![3, 1],
        };
        let other = SlateDist::Epsilon {
            n: 4,
            epsilon: 0.0,
            slate: vec![3, 2],
        };
        let softmax = pl(&[1.0; 4], 2);
        for level in [Level::Slate, Level::Position, Level::Prefix] {
            assert!(uniform.covers(&greedy, level) && uniform.covers(&softmax, level));
            assert!(greedy.covers(&greedy, level));
            assert!(!greedy.covers(&other, level) && !greedy.covers(&uniform, level));
            assert!(softmax.covers(&greedy, level));
        }
        assert!(!softmax.covers(&uniform, Level::Slate));
        assert!(softmax.covers(&uniform, Level::Position));
        assert!(!softmax.covers(
            &SlateDist::Epsilon {
                n: 4,
                epsilon: 0.0,
                slate: vec![1, 1]
            },
            Level::Prefix
        ));
    }

    #[test]
    fn softmax_weights_keep_every_candidate_possible() {
        let mut w = Vec::new();
        softmax_weights(&[0.0, 1.0, -1e9], 0.5, &mut w);
        assert_eq!(w[1], 1.0);
        assert!((w[0] - (-2.0f64).exp()).abs() < 1e-15);
        assert!(w[2] > 0.0);
        assert_eq!(prefix_count(20, 2), 21);
        assert_eq!(prefix_count(20, 3), 1 + 20 + 380);
    }
}
