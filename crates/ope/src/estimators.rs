//! The estimators, as pure functions over per-step columns of a log seen by a target
//! policy: importance weights, rewards and model predictions, one entry per logged step
//! (or `K` per step, position by position). Each returns its estimate with a 95%
//! interval, in which the log's episodes are the independent units: steps of one episode
//! share a user, so treating them as independent would understate the spread.
//!
//! Notation: step `i` showed slate `s_i` in context `x_i`, position `k` earned `r_ik`
//! (`r_i = Σ_k r_ik`); `π` is the target policy, `μ` the logging policy, and the weights
//! are `w_i = π(s_i|x_i)/μ(s_i|x_i)` (slate), `w_ik = π(s_ik at k|x_i)/μ(s_ik at k|x_i)`
//! (position) and `w_i,1:k = π(s_i,1:k|x_i)/μ(s_i,1:k|x_i)` (prefix).

use serde::Serialize;

/// A value with its standard error and 95% interval (normal approximation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// Its standard error; infinite from a single episode.
    pub se: f64,
    /// `value ± 1.96·se`.
    pub ci95: [f64; 2],
}

impl Estimate {
    fn new(value: f64, se: f64) -> Self {
        Self {
            value,
            se,
            ci95: [value - 1.96 * se, value + 1.96 * se],
        }
    }

    /// Whether the interval holds `x`.
    pub fn covers(&self, x: f64) -> bool {
        self.ci95[0] <= x && x <= self.ci95[1]
    }
}

/// An estimator's answer: a number, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    /// The estimate.
    Estimate(Estimate),
    /// The logging policy gives zero probability to something the target policy does:
    /// no reweighting of the logs can tell what it earns.
    Unsupported {
        /// Where and what.
        why: String,
    },
    /// The estimator cannot be computed from these logs.
    Undefined {
        /// Why not.
        why: String,
    },
}

impl Outcome {
    /// The estimate, if there is one.
    pub fn estimate(&self) -> Option<&Estimate> {
        match self {
            Outcome::Estimate(e) => Some(e),
            _ => None,
        }
    }
}

/// `Σ_k (Σ_e a_ek / Σ_e b_ek)` over clusters `e`, given their sums `a` and `b` (`E × K`,
/// row-major), with the delta method's standard error: each cluster's influence is
/// `Σ_k (a_ek − V_k·b_ek) / Σ_e b_ek`, and `Var = E/(E−1)·Σ_e influence²`. With
/// `b` = steps per episode and one component it is a plain mean over steps.
pub fn clustered_ratio(a: &[f64], b: &[f64], k: usize) -> Outcome {
    let clusters = a.len() / k;
    let mut totals = vec![(0.0, 0.0); k];
    for (ra, rb) in a.chunks_exact(k).zip(b.chunks_exact(k)) {
        for (t, (x, y)) in totals.iter_mut().zip(ra.iter().zip(rb)) {
            t.0 += x;
            t.1 += y;
        }
    }
    if let Some(position) = totals.iter().position(|t| t.1 <= 0.0 || !t.1.is_finite()) {
        return Outcome::Undefined {
            why: if k == 1 {
                "no logged step has positive weight under the target policy".into()
            } else {
                format!("no logged step has positive weight at position {position}")
            },
        };
    }
    let ratios: Vec<f64> = totals.iter().map(|t| t.0 / t.1).collect();
    let value: f64 = ratios.iter().sum();
    if !value.is_finite() {
        return Outcome::Undefined {
            why: "the weights overflow: the policies are too far apart for these logs".into(),
        };
    }
    let mut sum_sq = 0.0;
    for (ra, rb) in a.chunks_exact(k).zip(b.chunks_exact(k)) {
        let influence: f64 = (0..k)
            .map(|j| (ra[j] - ratios[j] * rb[j]) / totals[j].1)
            .sum();
        sum_sq += influence * influence;
    }
    let se = if clusters > 1 {
        (sum_sq * clusters as f64 / (clusters - 1) as f64).sqrt()
    } else {
        f64::INFINITY
    };
    Outcome::Estimate(Estimate::new(value, se))
}

/// Sums per-step terms into per-episode rows: `terms(i, a, b)` fills step `i`'s `K`
/// numerators and denominators. Steps of an episode are contiguous.
fn by_episode(
    episode: &[u64],
    k: usize,
    mut terms: impl FnMut(usize, &mut [f64], &mut [f64]),
) -> (Vec<f64>, Vec<f64>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut ta, mut tb) = (vec![0.0; k], vec![0.0; k]);
    for (i, e) in episode.iter().enumerate() {
        if i == 0 || *e != episode[i - 1] {
            a.extend(std::iter::repeat_n(0.0, k));
            b.extend(std::iter::repeat_n(0.0, k));
        }
        terms(i, &mut ta, &mut tb);
        let at = a.len() - k;
        for j in 0..k {
            a[at + j] += ta[j];
            b[at + j] += tb[j];
        }
    }
    (a, b)
}

/// Where no weight is positive the logs say nothing of the target: no number.
fn uninformative(weights: &[f64]) -> Option<Outcome> {
    weights
        .iter()
        .all(|w| *w == 0.0)
        .then(|| Outcome::Undefined {
            why: "no logged step has positive weight under the target policy: these logs tell \
              nothing of it"
                .into(),
        })
}

/// As [`uninformative`], for products of weights over episodes.
fn no_episode(products: &[f64]) -> Option<Outcome> {
    products
        .iter()
        .all(|w| *w == 0.0)
        .then(|| Outcome::Undefined {
            why: "every logged episode shows, early on, a slate the target policy never would: \
              no episode weighs anything"
                .into(),
        })
}

/// A mean over steps of `term(i)`.
fn step_mean(episode: &[u64], term: impl Fn(usize) -> f64) -> Outcome {
    let (a, b) = by_episode(episode, 1, |i, a, b| {
        a[0] = term(i);
        b[0] = 1.0;
    });
    clustered_ratio(&a, &b, 1)
}

/// The columns every importance-weighting estimator reads.
#[derive(Debug, Clone, Copy)]
pub struct Weighted<'a> {
    /// The episode of each step (steps of an episode contiguous).
    pub episode: &'a [u64],
    /// The slate size `K`.
    pub k: usize,
    /// `r_i`.
    pub reward: &'a [f64],
    /// `r_ik`, `K` per step.
    pub position_reward: &'a [f64],
    /// `w_i`.
    pub slate_weight: &'a [f64],
    /// `w_ik`, `K` per step.
    pub position_weight: &'a [f64],
    /// `w_i,1:k`, `K` per step.
    pub prefix_weight: &'a [f64],
}

/// Standard slate IPS: `(1/n) Σ_i w_i r_i`. Unbiased whatever the rewards, wherever
/// `μ` covers `π`; its variance grows with the number of slates.
pub fn ips(c: &Weighted) -> Outcome {
    if let Some(none) = uninformative(c.slate_weight) {
        return none;
    }
    step_mean(c.episode, |i| c.slate_weight[i] * c.reward[i])
}

/// Self-normalised IPS: `Σ_i w_i r_i / Σ_i w_i`. Biased (consistent), lower variance.
pub fn snips(c: &Weighted) -> Outcome {
    let (a, b) = by_episode(c.episode, 1, |i, a, b| {
        a[0] = c.slate_weight[i] * c.reward[i];
        b[0] = c.slate_weight[i];
    });
    clustered_ratio(&a, &b, 1)
}

/// Independent IPS: `(1/n) Σ_i Σ_k w_ik r_ik`. Unbiased when each position's reward
/// depends on its own item alone (and the context).
pub fn iips(c: &Weighted) -> Outcome {
    per_position_weighted(c, c.position_weight)
}

/// Self-normalised independent IPS: each position's sum divided by its weights' sum.
pub fn sn_iips(c: &Weighted) -> Outcome {
    per_position_normalised(c, c.position_weight)
}

/// Reward-interaction (cascade) IPS: `(1/n) Σ_i Σ_k w_i,1:k r_ik`. Unbiased when each
/// position's reward depends on the items up to it alone (the cascade assumption).
pub fn rips(c: &Weighted) -> Outcome {
    per_position_weighted(c, c.prefix_weight)
}

/// Self-normalised reward-interaction IPS: each position's sum divided by its prefix
/// weights' sum.
pub fn sn_rips(c: &Weighted) -> Outcome {
    per_position_normalised(c, c.prefix_weight)
}

/// `(1/n) Σ_i Σ_k weight_ik r_ik`: IIPS's and RIPS's mean, by their weights.
fn per_position_weighted(c: &Weighted, weight: &[f64]) -> Outcome {
    if let Some(none) = uninformative(weight) {
        return none;
    }
    let k = c.k;
    step_mean(c.episode, |i| {
        (0..k)
            .map(|j| weight[i * k + j] * c.position_reward[i * k + j])
            .sum()
    })
}

fn per_position_normalised(c: &Weighted, weight: &[f64]) -> Outcome {
    let k = c.k;
    let (a, b) = by_episode(c.episode, k, |i, a, b| {
        for j in 0..k {
            a[j] = weight[i * k + j] * c.position_reward[i * k + j];
            b[j] = weight[i * k + j];
        }
    });
    clustered_ratio(&a, &b, k)
}

/// Cascade doubly robust (Kiyohara et al., WSDM 2022):
/// `(1/n) Σ_i Σ_k [w_i,1:k (r_ik − q̂_ik) + w_i,1:k−1 v̂_ik]`, with `w_i,1:0 = 1`, where
/// `q̂_ik` estimates the reward of positions `k…K` given the logged items up to `k`
/// and `v̂_ik` its expectation over `π`'s item at `k` given those before it. Unbiased
/// under the cascade assumption whatever the model (the model only lowers the
/// variance), given a model fitted on other data than the step's (cross-fitting).
pub fn cascade_dr(c: &Weighted, q_hat: &[f64], v_hat: &[f64]) -> Outcome {
    let k = c.k;
    step_mean(c.episode, |i| {
        (0..k)
            .map(|j| {
                let w = c.prefix_weight[i * k + j];
                let before = if j == 0 {
                    1.0
                } else {
                    c.prefix_weight[i * k + j - 1]
                };
                let residual = if w == 0.0 {
                    // A zero weight leaves out the model's term too, even where it is
                    // not defined (π's prediction after a prefix π never shows).
                    0.0
                } else {
                    w * (c.position_reward[i * k + j] - q_hat[i * k + j])
                };
                let baseline = if before == 0.0 {
                    0.0
                } else {
                    before * v_hat[i * k + j]
                };
                residual + baseline
            })
            .sum()
    })
}

/// The pseudo-inverse estimator (Swaminathan et al., NeurIPS 2017):
/// `(1/n) Σ_i r_i · qᵢᵀ Γᵢ⁺ 1_sᵢ`, where `q` is `π`'s position-item marginals, `Γ` the
/// logging policy's pair marginals and `1_s` the slate's indicator; `pi_weight` holds
/// `qᵢᵀ Γᵢ⁺ 1_sᵢ`. Unbiased when the slate's reward is a sum of position-item terms.
pub fn pseudo_inverse(episode: &[u64], reward: &[f64], pi_weight: &[f64]) -> Outcome {
    if let Some(none) = uninformative(pi_weight) {
        return none;
    }
    step_mean(episode, |i| pi_weight[i] * reward[i])
}

/// The self-normalised (weighted) pseudo-inverse estimator: `Σ r_i θ_i / Σ θ_i`.
pub fn sn_pseudo_inverse(episode: &[u64], reward: &[f64], pi_weight: &[f64]) -> Outcome {
    let (a, b) = by_episode(episode, 1, |i, a, b| {
        a[0] = pi_weight[i] * reward[i];
        b[0] = pi_weight[i];
    });
    clustered_ratio(&a, &b, 1)
}

/// The direct method: `(1/n) Σ_i E_π[r̂(x_i, s)]`, the fitted reward model's prediction
/// for the target's slates. As good as the model: biased where it is wrong. Its interval
/// holds the contexts' spread only, not the model's own error.
pub fn direct(episode: &[u64], predicted: &[f64]) -> Outcome {
    clustered_mean(episode, predicted)
}

/// A mean over steps of per-step `terms`, clustered by episode: doubly robust's terms
/// (the model's value plus the weighted residual), or a log's own rewards.
pub fn clustered_mean(episode: &[u64], terms: &[f64]) -> Outcome {
    step_mean(episode, |i| terms[i])
}

/// Fitted-Q evaluation of the return (Le, Voloshin and Yue, ICML 2019): the fitted value
/// to go `v̂` of each episode's first state under the target, averaged over episodes. No
/// weights, so no support needed, but as good as the value model: biased where it is
/// wrong. Its interval holds the first states' spread only, not the model's own error.
pub fn fitted_q(episode: &[u64], v_hat: &[f64]) -> Outcome {
    let (a, b) = by_episode(episode, 1, |i, a, b| {
        let first = i == 0 || episode[i] != episode[i - 1];
        a[0] = if first { v_hat[i] } else { 0.0 };
        b[0] = f64::from(u8::from(first));
    });
    clustered_ratio(&a, &b, 1)
}

/// The return a model of the world predicts: each episode's predicted rewards summed,
/// averaged over episodes. As good as the model; its interval holds the episodes' spread
/// only, not the model's own error.
pub fn model_return(episode: &[u64], predicted: &[f64]) -> Outcome {
    let (a, b) = by_episode(episode, 1, |i, a, b| {
        a[0] = predicted[i];
        b[0] = f64::from(u8::from(i == 0 || episode[i] != episode[i - 1]));
    });
    clustered_ratio(&a, &b, 1)
}

/// Per-decision importance sampling of the return: `(1/E) Σ_e Σ_t ρ_e,0:t r_e,t` with
/// `ρ_e,0:t = Π_{u≤t} w_e,u` (slate weights). Unbiased; its variance grows
/// exponentially with the episode's length.
pub fn per_decision_is(episode: &[u64], slate_weight: &[f64], reward: &[f64]) -> Outcome {
    let products: Vec<f64> = step_products(episode, slate_weight)
        .map(|(_, rho)| rho)
        .collect();
    if let Some(none) = no_episode(&products) {
        return none;
    }
    let (a, b) = by_episode(episode, 1, |i, a, b| {
        b[0] = if i == 0 || episode[i] != episode[i - 1] {
            1.0
        } else {
            0.0
        };
        a[0] = products[i] * reward[i];
    });
    clustered_ratio(&a, &b, 1)
}

/// Per-decision doubly robust (Jiang & Li, ICML 2016):
/// `(1/E) Σ_e Σ_t [ρ_e,0:t (r_e,t − q̂_e,t) + ρ_e,0:t−1 v̂_e,t]`, `ρ_e,0:−1 = 1`, where
/// `q̂` is a fitted value to go of the logged slate and `v̂` its expectation under the
/// target. Unbiased whatever `q̂` (fitted on other episodes); the closer `q̂`, the lower
/// the variance.
pub fn per_decision_dr(
    episode: &[u64],
    slate_weight: &[f64],
    reward: &[f64],
    q_hat: &[f64],
    v_hat: &[f64],
) -> Outcome {
    dr_terms(episode, slate_weight, |_, rho| rho, reward, q_hat, v_hat)
}

/// Weighted doubly robust (Thomas & Brunskill, ICML 2016): per-decision DR with each
/// step's `ρ_e,0:t` divided by its mean over the episodes that reach step `t`. Biased
/// (consistent); bounded where per-decision DR's weights run away.
pub fn weighted_dr(
    episode: &[u64],
    slate_weight: &[f64],
    reward: &[f64],
    q_hat: &[f64],
    v_hat: &[f64],
) -> Outcome {
    // Σ_e ρ_e,0:t and the episodes reaching t, per step index t.
    let (mut sums, mut counts) = (Vec::<f64>::new(), Vec::<f64>::new());
    for (t, rho) in step_products(episode, slate_weight) {
        if sums.len() <= t {
            sums.push(0.0);
            counts.push(0.0);
        }
        sums[t] += rho;
        counts[t] += 1.0;
    }
    dr_terms(
        episode,
        slate_weight,
        |t, rho| {
            if sums[t] > 0.0 {
                rho * counts[t] / sums[t]
            } else {
                0.0
            }
        },
        reward,
        q_hat,
        v_hat,
    )
}

/// `Σ_t [w_t (r_t − q̂_t) + w_t−1 v̂_t]` per episode, averaged over episodes, where
/// `w_t = norm(t, ρ_0:t)` for step index `t` (`w_−1 = 1`).
fn dr_terms(
    episode: &[u64],
    slate_weight: &[f64],
    mut norm: impl FnMut(usize, f64) -> f64,
    reward: &[f64],
    q_hat: &[f64],
    v_hat: &[f64],
) -> Outcome {
    let mut before = 1.0;
    let mut terms = Vec::with_capacity(episode.len());
    for (i, (t, rho)) in step_products(episode, slate_weight).enumerate() {
        if t == 0 {
            before = 1.0;
        }
        let w = norm(t, rho);
        terms.push(w * (reward[i] - q_hat[i]) + before * v_hat[i]);
        before = w;
    }
    let (a, b) = by_episode(episode, 1, |i, a, b| {
        a[0] = terms[i];
        b[0] = f64::from(u8::from(i == 0 || episode[i] != episode[i - 1]));
    });
    clustered_ratio(&a, &b, 1)
}

/// Per step, its index in its episode `t` and the product of its episode's weights up to
/// it, `ρ_e,0:t`.
fn step_products<'a>(
    episode: &'a [u64],
    slate_weight: &'a [f64],
) -> impl Iterator<Item = (usize, f64)> + 'a {
    let (mut t, mut rho) = (0, 1.0);
    slate_weight.iter().enumerate().map(move |(i, w)| {
        if i == 0 || episode[i] != episode[i - 1] {
            (t, rho) = (0, 1.0);
        }
        rho *= w;
        t += 1;
        (t - 1, rho)
    })
}

/// Weighted importance sampling of the return: `Σ_e ρ_e G_e / Σ_e ρ_e`, with `ρ_e` the
/// product of the episode's slate weights and `G_e` its return. Biased (consistent).
pub fn weighted_is(episode: &[u64], slate_weight: &[f64], reward: &[f64]) -> Outcome {
    let (rho, ret) = episode_weights(episode, slate_weight, reward);
    if let Some(none) = no_episode(&rho) {
        return none;
    }
    clustered_ratio(
        &rho.iter().zip(&ret).map(|(p, g)| p * g).collect::<Vec<_>>(),
        &rho,
        1,
    )
}

/// Each episode's product of slate weights and its return.
pub fn episode_weights(
    episode: &[u64],
    slate_weight: &[f64],
    reward: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let (mut rho, mut ret) = (Vec::new(), Vec::new());
    for (i, e) in episode.iter().enumerate() {
        if i == 0 || *e != episode[i - 1] {
            rho.push(1.0);
            ret.push(0.0);
        }
        *rho.last_mut().expect("pushed") *= slate_weight[i];
        *ret.last_mut().expect("pushed") += reward[i];
    }
    (rho, ret)
}

/// Kish's effective sample size of weights, `(Σρ)² / Σρ²`: how many episodes the
/// weighted ones are worth.
pub fn effective_sample_size(weights: &[f64]) -> f64 {
    let (s, s2) = weights
        .iter()
        .fold((0.0, 0.0), |(s, s2), w| (s + w, s2 + w * w));
    if s2 > 0.0 {
        s * s / s2
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two episodes, three steps, slates of two:
    ///
    /// | step | episode | r_i1 | r_i2 | w_i | w_i1 | w_i2 | w_i,1:1 | w_i,1:2 |
    /// |---|---|---|---|---|---|---|---|---|
    /// | 0 | 0 | 1 | 0 | 2 | 1 | 4 | 1 | 2 |
    /// | 1 | 0 | 0 | 3 | 0 | 2 | 0 | 2 | 0 |
    /// | 2 | 1 | 2 | 1 | 4 | 2 | 2 | 2 | 4 |
    struct Example {
        episode: Vec<u64>,
        reward: Vec<f64>,
        position_reward: Vec<f64>,
        slate_weight: Vec<f64>,
        position_weight: Vec<f64>,
        prefix_weight: Vec<f64>,
    }

    fn example() -> Example {
        Example {
            episode: vec![0, 0, 1],
            reward: vec![1.0, 3.0, 3.0],
            position_reward: vec![1.0, 0.0, 0.0, 3.0, 2.0, 1.0],
            slate_weight: vec![2.0, 0.0, 4.0],
            position_weight: vec![1.0, 4.0, 2.0, 0.0, 2.0, 2.0],
            prefix_weight: vec![1.0, 2.0, 2.0, 0.0, 2.0, 4.0],
        }
    }

    impl Example {
        fn columns(&self) -> Weighted<'_> {
            Weighted {
                episode: &self.episode,
                k: 2,
                reward: &self.reward,
                position_reward: &self.position_reward,
                slate_weight: &self.slate_weight,
                position_weight: &self.position_weight,
                prefix_weight: &self.prefix_weight,
            }
        }
    }

    fn value(o: Outcome) -> f64 {
        o.estimate().expect("an estimate").value
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} ≠ {b}");
    }

    #[test]
    fn doubly_robust_returns_by_hand() {
        let (episode, w, r) = ([0, 0, 1], [2.0, 0.5, 1.0], [1.0, 2.0, 3.0]);
        let (q, v) = ([1.5, 1.0, 2.0], [1.0, 0.5, 2.5]);
        // Episode 0: 2·(1 − 1.5) + 1·1 = 0, then 1·(2 − 1) + 2·0.5 = 2; episode 1:
        // 1·(3 − 2) + 2.5 = 3.5. The mean: 2.75.
        close(value(per_decision_dr(&episode, &w, &r, &q, &v)), 2.75);
        // Normalised per step: at step 0, ρ = (2, 1) over 2 episodes → (4/3, 2/3); at
        // step 1 only episode 0, ρ = 1 → 1. Episode 0: 4/3·(−0.5) + 1 + 1·1 + 4/3·0.5
        // = 2; episode 1: 2/3·1 + 2.5 = 19/6. The mean: 31/12.
        close(value(weighted_dr(&episode, &w, &r, &q, &v)), 31.0 / 12.0);
        // Weights of 1 and no model: the mean return, as PDIS's.
        let zero = [0.0; 3];
        close(
            value(per_decision_dr(&episode, &[1.0; 3], &r, &zero, &zero)),
            3.0,
        );
    }

    #[test]
    fn importance_weighting_by_hand() {
        let e = example();
        let c = e.columns();
        // IPS: (2·1 + 0·3 + 4·3) / 3.
        close(value(ips(&c)), 14.0 / 3.0);
        // SNIPS: 14 / (2 + 0 + 4).
        close(value(snips(&c)), 14.0 / 6.0);
        // IIPS: (1·1 + 4·0 + 2·0 + 0·3 + 2·2 + 2·1) / 3.
        close(value(iips(&c)), 7.0 / 3.0);
        // SN-IIPS: position 1: (1 + 0 + 4)/(1 + 2 + 2); position 2: (0 + 0 + 2)/(4 + 0 + 2).
        close(value(sn_iips(&c)), 5.0 / 5.0 + 2.0 / 6.0);
        // RIPS: (1·1 + 2·0 + 2·0 + 0·3 + 2·2 + 4·1) / 3.
        close(value(rips(&c)), 9.0 / 3.0);
        // SN-RIPS: position 1: (1 + 0 + 4)/(1 + 2 + 2); position 2: (0 + 0 + 4)/(2 + 0 + 4).
        close(value(sn_rips(&c)), 1.0 + 4.0 / 6.0);
    }

    #[test]
    fn the_interval_treats_episodes_as_the_units() {
        // IPS's terms 2 and 0 (episode 0), 12 (episode 1): mean 14/3 over 3 steps.
        // Influences: (2 + 0 − 2·14/3)/3 = −22/9 and (12 − 14/3)/3 = 22/9;
        // Var = 2/1 · 2·(22/9)².
        let e = example();
        let est = *ips(&e.columns()).estimate().unwrap();
        close(est.se, (2.0 * 2.0 * (22.0f64 / 9.0).powi(2)).sqrt());
        close(est.ci95[1] - est.value, 1.96 * est.se);
        // One episode: no spread can be measured.
        let one = step_mean(&[7, 7], |i| i as f64);
        assert_eq!(one.estimate().unwrap().se, f64::INFINITY);
    }

    #[test]
    fn doubly_robust_by_hand() {
        let e = example();
        let c = e.columns();
        // A perfect-looking model of zero reduces it to RIPS.
        let zeros = vec![0.0; 6];
        close(value(cascade_dr(&c, &zeros, &zeros)), value(rips(&c)));
        // q̂ = 1 everywhere, v̂ = 0.5 everywhere:
        // step 0: 1·(1−1) + 1·0.5 + 2·(0−1) + 1·0.5 = −1
        // step 1: 2·(0−1) + 1·0.5 + 0 + 2·0.5 = −0.5
        // step 2: 2·(2−1) + 1·0.5 + 4·(1−1) + 2·0.5 = 3.5
        let (q, v) = (vec![1.0; 6], vec![0.5; 6]);
        close(value(cascade_dr(&c, &q, &v)), 2.0 / 3.0);
    }

    #[test]
    fn model_and_pseudo_inverse_by_hand() {
        let e = example();
        close(value(direct(&e.episode, &[1.0, 2.0, 6.0])), 3.0);
        let theta = [0.5, -1.0, 2.0];
        // (0.5·1 − 1·3 + 2·3) / 3, and / (0.5 − 1 + 2).
        close(
            value(pseudo_inverse(&e.episode, &e.reward, &theta)),
            3.5 / 3.0,
        );
        close(
            value(sn_pseudo_inverse(&e.episode, &e.reward, &theta)),
            3.5 / 1.5,
        );
    }

    #[test]
    fn episodes_by_hand() {
        let e = example();
        // Episode 0: ρ = 2 then 2·0 = 0: Σ ρ r = 2·1 + 0·3 = 2; episode 1: 4·3 = 12.
        close(
            value(per_decision_is(&e.episode, &e.slate_weight, &e.reward)),
            7.0,
        );
        // WIS: ρ = (0, 4), G = (4, 3): (0·4 + 4·3) / 4.
        close(
            value(weighted_is(&e.episode, &e.slate_weight, &e.reward)),
            3.0,
        );
        let (rho, ret) = episode_weights(&e.episode, &e.slate_weight, &e.reward);
        assert_eq!((rho, ret), (vec![0.0, 4.0], vec![4.0, 3.0]));
        close(effective_sample_size(&[1.0, 1.0, 2.0]), 16.0 / 6.0);
        // Nothing to normalise by, or no weight at all: say so.
        for estimate in [weighted_is, per_decision_is] {
            assert!(matches!(
                estimate(&e.episode, &[0.0, 1.0, 0.0], &e.reward),
                Outcome::Undefined { .. }
            ));
        }
        let mut none = e.columns();
        let zeros = [0.0; 6];
        none.slate_weight = &zeros[..3];
        none.prefix_weight = &zeros;
        assert!(matches!(ips(&none), Outcome::Undefined { .. }));
        assert!(matches!(rips(&none), Outcome::Undefined { .. }));
    }
}
