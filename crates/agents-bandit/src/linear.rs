//! Linear contextual bandits over item features: LinUCB and linear Thompson sampling, as
//! RLlib's parametric bandits run them on RecSim's bandit observation.
//!
//! One linear model `reward ≈ θᵀx` is shared by all candidates, where `x` is the user
//! features (if any) followed by the candidate's features. The slate is the best-scoring
//! candidates in order. The posterior is kept as `A⁻¹` and `b` with `A = λI + Σ xxᵀ`,
//! updated by Sherman–Morrison (rank one, no inversion per step).

use env::{Layout, SlateEnv, Transition};
use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal};
use recsim_core::{stream, SimRng, StreamId};
use serde::{Deserialize, Serialize};

use agents::config::{LinTsConfig, LinUcbConfig};
use agents::portable::{Portable, Scorer};
use agents::{check_layout, top_k, Agent, AgentError, LoggedStep, Policy};

/// How a linear bandit explores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Exploration {
    /// LinUCB: an upper confidence bound on each candidate's score.
    Ucb(LinUcbConfig),
    /// Linear Thompson sampling: scores from one posterior draw per step.
    Thompson(LinTsConfig),
}

/// The learned state: everything a checkpoint must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Posterior {
    exploration: Exploration,
    layout: Layout,
    a_inv: DMatrix<f64>,
    b: DVector<f64>,
    theta: DVector<f64>,
    updates: u64,
    rng: SimRng,
    /// Squared prediction errors since the last `stats()`.
    sq_error: f64,
    sq_count: u64,
}

/// LinUCB or linear Thompson sampling.
#[derive(Debug, Clone)]
pub struct LinearBandit {
    state: Posterior,
    // Scratch, refilled on every call.
    x: DVector<f64>,
    draw: DVector<f64>,
    scores: Vec<f64>,
    order: Vec<usize>,
    /// Features at the time of the last `act`, which `observe` learns from.
    shown: Vec<f64>,
}

impl LinearBandit {
    /// A bandit for `layout` with the prior `λI`, its random stream from `seed`.
    pub fn new(exploration: Exploration, layout: Layout, seed: u64) -> Result<Self, AgentError> {
        let lambda = match exploration {
            Exploration::Ucb(c) => c.validate().map(|_| c.lambda)?,
            Exploration::Thompson(c) => c.validate().map(|_| c.lambda)?,
        };
        let dim = layout.user_dim + layout.doc_dim;
        Ok(Self {
            state: Posterior {
                exploration,
                layout,
                a_inv: DMatrix::identity(dim, dim) / lambda,
                b: DVector::zeros(dim),
                theta: DVector::zeros(dim),
                updates: 0,
                // Stream 4 of the seed: disjoint from the environment's and baselines'.
                rng: stream(seed, StreamId::Bandit),
                sq_error: 0.0,
                sq_count: 0,
            },
            x: DVector::zeros(dim),
            draw: DVector::zeros(dim),
            scores: Vec::new(),
            order: Vec::new(),
            shown: Vec::new(),
        })
    }

    /// The posterior mean of the weights.
    pub fn theta(&self) -> &DVector<f64> {
        &self.state.theta
    }

    /// Features `x` of candidate `i` in `shown` (user features, then the item's).
    fn features(&mut self, i: usize) {
        let Layout {
            user_dim,
            doc_dim,
            num_candidates,
            ..
        } = self.state.layout;
        let (user, items) = self.shown.split_at(user_dim);
        debug_assert!(i < num_candidates);
        for (k, v) in user
            .iter()
            .chain(&items[i * doc_dim..(i + 1) * doc_dim])
            .enumerate()
        {
            self.x[k] = *v;
        }
    }

    /// Learns from the slate shown for the features in `shown` and what followed.
    fn learn(&mut self, slate: &[usize], t: &Transition) {
        match t.click {
            // The reward is credited to the clicked document alone.
            Some(click) => {
                self.features(slate[click.position]);
                self.update(t.reward);
            }
            // No click: every document shown earned the step's reward (zero), once each.
            None => {
                for (j, &i) in slate.iter().enumerate() {
                    if !slate[..j].contains(&i) {
                        self.features(i);
                        self.update(t.reward);
                    }
                }
            }
        }
    }

    /// Scores every candidate of `shown` by `theta`, with LinUCB's bonus when `bonus`.
    fn score_all(&mut self, theta: &DVector<f64>, bonus: Option<f64>) {
        let n = self.state.layout.num_candidates;
        self.scores.resize(n, 0.0);
        for i in 0..n {
            self.features(i);
            let mut score = theta.dot(&self.x);
            if let Some(alpha) = bonus {
                let width = self.x.dot(&(&self.state.a_inv * &self.x)).max(0.0).sqrt();
                score += alpha * width;
            }
            self.scores[i] = score;
        }
    }

    fn show(&mut self, user: &[f32], items: &[f32]) {
        self.shown.clear();
        self.shown.extend(user.iter().map(|&v| f64::from(v)));
        self.shown.extend(items.iter().map(|&v| f64::from(v)));
    }

    fn update(&mut self, reward: f64) {
        let s = &mut self.state;
        let predicted = s.theta.dot(&self.x);
        s.sq_error += (reward - predicted).powi(2);
        s.sq_count += 1;
        // Sherman–Morrison: (A + xxᵀ)⁻¹ = A⁻¹ − (A⁻¹x)(A⁻¹x)ᵀ / (1 + xᵀA⁻¹x).
        let ax = &s.a_inv * &self.x;
        let denom = 1.0 + self.x.dot(&ax);
        s.a_inv.ger(-1.0 / denom, &ax, &ax, 1.0);
        s.b.axpy(reward, &self.x, 1.0);
        s.theta = &s.a_inv * &s.b;
        s.updates += 1;
    }
}

impl Policy for LinearBandit {
    fn algorithm(&self) -> &'static str {
        match self.state.exploration {
            Exploration::Ucb(_) => "linucb",
            Exploration::Thompson(_) => "lints",
        }
    }

    fn act(&mut self, env: &dyn SlateEnv, explore: bool, slate: &mut [usize]) {
        self.show(env.user(), env.items());
        let theta = match (explore, self.state.exploration) {
            (true, Exploration::Thompson(c)) => {
                // θ̃ = θ̂ + v·L·z with LLᵀ = A⁻¹; A⁻¹ stays symmetric positive definite.
                let chol = self.state.a_inv.clone().cholesky();
                for z in self.draw.iter_mut() {
                    *z = StandardNormal.sample(&mut self.state.rng);
                }
                match chol {
                    Some(l) => &self.state.theta + l.l() * &self.draw * c.noise_scale,
                    None => self.state.theta.clone(),
                }
            }
            _ => self.state.theta.clone(),
        };
        let bonus = match (explore, self.state.exploration) {
            (true, Exploration::Ucb(c)) => Some(c.alpha),
            _ => None,
        };
        self.score_all(&theta, bonus);
        top_k(&self.scores, &mut self.order, slate);
    }

    /// Its posterior mean, which it ranks by without exploring.
    fn portable(&self) -> Result<Portable, AgentError> {
        Ok(Portable {
            algorithm: self.algorithm().into(),
            layout: self.state.layout,
            scorer: Scorer::Linear {
                theta: self.state.theta.iter().copied().collect(),
            },
        })
    }

    /// The posterior mean's scores, which it ranks by without exploring.
    fn scores(&mut self, env: &dyn SlateEnv, out: &mut [f64]) -> Result<(), AgentError> {
        self.show(env.user(), env.items());
        let theta = self.state.theta.clone();
        self.score_all(&theta, None);
        out.copy_from_slice(&self.scores);
        Ok(())
    }

    fn describe(&self) -> String {
        let s = &self.state;
        let params = match s.exploration {
            Exploration::Ucb(c) => format!("alpha = {}, lambda = {}", c.alpha, c.lambda),
            Exploration::Thompson(c) => {
                format!("noise_scale = {}, lambda = {}", c.noise_scale, c.lambda)
            }
        };
        let fmt = |v: &mut dyn Iterator<Item = f64>| {
            v.map(|x| format!("{x:.4}")).collect::<Vec<_>>().join(", ")
        };
        format!(
            "{} ({params})\n  features: {} user + {} per document\n  updates: {}\n  theta: [{}]\n  posterior sd of theta: [{}]",
            self.algorithm(),
            s.layout.user_dim,
            s.layout.doc_dim,
            s.updates,
            fmt(&mut s.theta.iter().copied()),
            fmt(&mut s.a_inv.diagonal().iter().map(|v| v.max(0.0).sqrt())),
        )
    }
}

impl Agent for LinearBandit {
    fn policy(&self) -> Box<dyn Policy> {
        Box::new(self.clone())
    }

    fn observe(&mut self, slate: &[usize], t: &Transition, _next: &dyn SlateEnv) {
        self.learn(slate, t);
    }

    /// The same update as [`Agent::observe`]'s, for the logged observation.
    fn add_logged(&mut self, step: &LoggedStep) -> Result<(), AgentError> {
        let layout = &self.state.layout;
        if step.user.len() != layout.user_dim
            || step.items.len() != layout.num_candidates * layout.doc_dim
        {
            return Err(AgentError::State(format!(
                "a logged step of {} user and {} candidate features does not fit {layout:?}",
                step.user.len(),
                step.items.len()
            )));
        }
        self.show(step.user, step.items);
        self.learn(step.slate, &step.transition);
        Ok(())
    }

    fn stats(&mut self) -> Vec<(&'static str, f64)> {
        let s = &mut self.state;
        let mse = if s.sq_count > 0 {
            s.sq_error / s.sq_count as f64
        } else {
            f64::NAN
        };
        s.sq_error = 0.0;
        s.sq_count = 0;
        vec![
            ("updates", s.updates as f64),
            ("theta_norm", s.theta.norm()),
            ("prediction_mse", mse),
        ]
    }

    fn save(&self) -> Vec<u8> {
        bincode::serde::encode_to_vec(&self.state, bincode::config::standard())
            .expect("bandit state serialises")
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), AgentError> {
        let (state, _): (Posterior, usize) =
            bincode::serde::decode_from_slice(bytes, bincode::config::standard()).map_err(|e| {
                AgentError::Decode {
                    what: "the bandit's state",
                    source: Box::new(e),
                }
            })?;
        check_layout(&self.state.layout, &state.layout)?;
        if std::mem::discriminant(&state.exploration)
            != std::mem::discriminant(&self.state.exploration)
        {
            return Err(AgentError::State("saved bandit is of another kind".into()));
        }
        self.state = state;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(user_dim: usize, doc_dim: usize) -> Layout {
        Layout {
            num_candidates: 3,
            slate_size: 2,
            doc_dim,
            user_dim,
            time: None,
        }
    }

    #[test]
    fn rank_one_updates_match_the_direct_ridge_solution() {
        let mut bandit =
            LinearBandit::new(Exploration::Ucb(LinUcbConfig::default()), layout(1, 2), 0).unwrap();
        let data = [
            ([0.5, 1.0, 0.0], 2.0),
            ([0.1, 0.0, 1.0], -1.0),
            ([0.9, 0.3, 0.7], 0.5),
            ([0.2, 0.8, 0.1], 1.5),
        ];
        let mut a = DMatrix::<f64>::identity(3, 3);
        let mut b = DVector::<f64>::zeros(3);
        for (x, r) in data {
            let x = DVector::from_row_slice(&x);
            bandit.x.copy_from(&x);
            bandit.update(r);
            a += &x * x.transpose();
            b += &x * r;
        }
        let direct = a.clone().try_inverse().unwrap();
        assert!((&bandit.state.a_inv - &direct).abs().max() < 1e-12);
        assert!((bandit.theta() - direct * b).abs().max() < 1e-12);
    }

    #[test]
    fn a_bandit_is_only_built_from_a_valid_config() {
        let bad_alpha = LinUcbConfig {
            alpha: -1.0,
            ..Default::default()
        };
        let err = LinearBandit::new(Exploration::Ucb(bad_alpha), layout(0, 1), 0).unwrap_err();
        assert!(err.to_string().contains("linucb.alpha"));
        let bad_lambda = LinTsConfig {
            lambda: 0.0,
            ..Default::default()
        };
        assert!(LinearBandit::new(Exploration::Thompson(bad_lambda), layout(0, 1), 0).is_err());
    }

    #[test]
    fn state_round_trips_and_refuses_another_kind() {
        let mut ucb =
            LinearBandit::new(Exploration::Ucb(LinUcbConfig::default()), layout(0, 1), 0).unwrap();
        ucb.x[0] = 0.7;
        ucb.update(3.0);
        let saved = ucb.save();
        let mut copy =
            LinearBandit::new(Exploration::Ucb(LinUcbConfig::default()), layout(0, 1), 9).unwrap();
        copy.load(&saved).unwrap();
        assert_eq!(copy.state, ucb.state);
        let mut ts = LinearBandit::new(
            Exploration::Thompson(LinTsConfig::default()),
            layout(0, 1),
            0,
        )
        .unwrap();
        assert!(ts.load(&saved).is_err());
        assert!(copy.load(&saved[..saved.len() - 3]).is_err());
    }
}
