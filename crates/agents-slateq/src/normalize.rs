//! Feature and reward standardisation, measured once on the warm-up steps.

use env::Layout;
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use crate::replay::Replay;

/// Per-dimension means and standard deviations of the user and document features, and
/// the reward's: the network sees `(x − mean) / sd`, the TD targets `(r − mean) / sd`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    pub user_mean: Vec<f32>,
    pub user_sd: Vec<f32>,
    pub doc_mean: Vec<f32>,
    pub doc_sd: Vec<f32>,
    /// The mean of one step's reward; zero unless rewards are centred.
    pub reward_mean: f32,
    pub reward_sd: f32,
}

impl Normalizer {
    /// No change: the state before the warm-up has been measured.
    pub fn identity(layout: &Layout) -> Self {
        Self {
            user_mean: vec![0.0; layout.user_dim],
            user_sd: vec![1.0; layout.user_dim],
            doc_mean: vec![0.0; layout.doc_dim],
            doc_sd: vec![1.0; layout.doc_dim],
            reward_mean: 0.0,
            reward_sd: 1.0,
        }
    }

    /// Measures the features of every state in `replay` and the single-step `rewards`
    /// (the replay holds multi-step returns); `center` subtracts the mean reward too.
    pub fn measure(replay: &Replay, layout: &Layout, rewards: &Moments, center: bool) -> Self {
        let (u, d) = (layout.user_dim, layout.doc_dim);
        let mut user = Moments::new(u);
        let mut doc = Moments::new(d);
        for i in 0..replay.len() {
            let s = replay.get(i);
            user.add(s.user);
            for row in s.items.chunks_exact(d) {
                doc.add(row);
            }
        }
        let reward = rewards;
        let (reward_mean, reward_sd) = reward.finish();
        let (user_mean, user_sd) = user.finish();
        let (doc_mean, doc_sd) = doc.finish();
        Self {
            user_mean,
            user_sd,
            doc_mean,
            doc_sd,
            reward_mean: if center { reward_mean[0] } else { 0.0 },
            reward_sd: reward_sd[0],
        }
    }

    /// A return of `steps` rewards discounted by `gamma`, in normalised units: each
    /// reward centred, `(R − mean·Σ_{j<steps} γ^j) / sd`.
    pub fn reward(&self, r: f32, steps: u8, gamma: f64) -> f32 {
        let weight: f64 = (0..i32::from(steps)).map(|j| gamma.powi(j)).sum();
        ((f64::from(r) - f64::from(self.reward_mean) * weight) / f64::from(self.reward_sd)) as f32
    }
}

/// A normaliser's feature statistics as tensors, made once rather than on every forward
/// pass, where their making cost as much as the standardisation itself.
#[derive(Debug)]
pub struct FeatureScale {
    user_mean: Tensor,
    user_sd: Tensor,
    doc_mean: Tensor,
    doc_sd: Tensor,
}

impl FeatureScale {
    /// `norm`'s statistics on `device`.
    pub fn new(norm: &Normalizer, device: Device) -> Self {
        let t = |v: &[f32]| Tensor::from_slice(v).to_device(device);
        Self {
            user_mean: t(&norm.user_mean),
            user_sd: t(&norm.user_sd),
            doc_mean: t(&norm.doc_mean),
            doc_sd: t(&norm.doc_sd),
        }
    }

    /// Standardised `(user [B, u], items [B, N, d])` of flat states `[B, S]`.
    pub fn split(&self, states: &Tensor, layout: &Layout) -> (Tensor, Tensor) {
        let Layout {
            num_candidates: n,
            doc_dim: d,
            user_dim: u,
            ..
        } = *layout;
        let b = states.size()[0];
        let user = (states.narrow(1, 0, u as i64) - &self.user_mean) / &self.user_sd;
        let items = (states
            .narrow(1, u as i64, (n * d) as i64)
            .view([b, n as i64, d as i64])
            - &self.doc_mean)
            / &self.doc_sd;
        (user, items)
    }
}

/// Running sums for per-dimension mean and standard deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    n: f64,
    sum: Vec<f64>,
    sq: Vec<f64>,
}

impl Moments {
    /// Nothing seen yet, in `dim` dimensions.
    pub fn new(dim: usize) -> Self {
        Self {
            n: 0.0,
            sum: vec![0.0; dim],
            sq: vec![0.0; dim],
        }
    }

    /// Counts one point.
    pub fn add(&mut self, x: &[f32]) {
        self.n += 1.0;
        for ((s, q), &v) in self.sum.iter_mut().zip(&mut self.sq).zip(x) {
            *s += f64::from(v);
            *q += f64::from(v) * f64::from(v);
        }
    }

    /// Means and standard deviations; a constant dimension keeps unit scale.
    fn finish(&self) -> (Vec<f32>, Vec<f32>) {
        let n = self.n.max(1.0);
        self.sum
            .iter()
            .zip(&self.sq)
            .map(|(s, q)| {
                let mean = s / n;
                let sd = (q / n - mean * mean).max(0.0).sqrt();
                (mean as f32, if sd > 1e-6 { sd as f32 } else { 1.0 })
            })
            .unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_means_and_population_sds_and_keeps_constants_at_unit_scale() {
        let layout = Layout {
            num_candidates: 2,
            slate_size: 1,
            doc_dim: 1,
            user_dim: 1,
            time: None,
        };
        let mut replay = Replay::new(10, 1, 2, 1);
        // user 1 then 3; documents 0, 2 and 4, 6; the doc's second feature is absent.
        replay.push(&[1.0, 0.0, 2.0], &[0], Some(0), 1.0, 1, false, &[0.0; 3]);
        replay.push(&[3.0, 4.0, 6.0], &[1], None, 3.0, 1, false, &[0.0; 3]);
        let mut rewards = Moments::new(1);
        rewards.add(&[1.0]);
        rewards.add(&[3.0]);
        let n = Normalizer::measure(&replay, &layout, &rewards, true);
        assert_eq!((n.user_mean[0], n.user_sd[0]), (2.0, 1.0));
        // Documents 0, 2, 4, 6: mean 3, population variance (9 + 1 + 1 + 9) / 4 = 5.
        assert_eq!(n.doc_mean[0], 3.0);
        assert!((n.doc_sd[0] - 5f32.sqrt()).abs() < 1e-6);
        assert_eq!((n.reward_mean, n.reward_sd), (2.0, 1.0));
        assert_eq!(n.reward(4.0, 1, 0.5), 2.0);
        // Two rewards discounted by 0.5: the centring is 2·(1 + 0.5) = 3.
        assert_eq!(n.reward(4.0, 2, 0.5), 1.0);
        let uncentred = Normalizer::measure(&replay, &layout, &rewards, false);
        assert_eq!(uncentred.reward(4.0, 2, 0.5), 4.0);
        let mut constant = Replay::new(4, 1, 2, 1);
        constant.push(&[5.0, 1.0, 1.0], &[0], None, 2.0, 1, false, &[0.0; 3]);
        let mut one = Moments::new(1);
        one.add(&[2.0]);
        let c = Normalizer::measure(&constant, &layout, &one, false);
        assert_eq!((c.user_sd[0], c.doc_sd[0], c.reward_sd), (1.0, 1.0, 1.0));
    }
}
