//! A policy as plain numbers: what its slate without exploration is computed from, in
//! pure Rust and with no backend. `rlrec export` writes it as ONNX, and serving and
//! Python compute slates with it; [`Policy::portable`](crate::Policy::portable) gives it.
//!
//! The input is the environment's observation as [`env::SlateEnv`] shows it: the user
//! features (the time feature, where [`Layout::time`] names one, as the remaining
//! fraction) and the `N × d` candidate features.

use env::{Layout, TimeFeature};
use serde::{Deserialize, Serialize};

use crate::choice::{best_slate, proportional_weights, ChoiceRule};
use crate::config::SlateOptimizer;
use crate::{top_k, AgentError};

/// A policy's scoring and slate choice, without exploration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Portable {
    /// The algorithm's command-line name.
    pub algorithm: String,
    /// The observations it takes.
    pub layout: Layout,
    /// How it scores the candidates.
    pub scorer: Scorer,
}

/// How a portable policy scores the candidates of one observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Scorer {
    /// `θ · (user ‖ item_i)` for each candidate (the linear bandits' posterior mean); the
    /// slate is the `K` best, best first.
    Linear {
        /// `user_dim + doc_dim` weights.
        theta: Vec<f64>,
    },
    /// SlateQ's item values `Q̄` and choice weights; the slate is the configured
    /// optimiser's.
    SlateQ(Box<SlateQNet>),
}

/// A dense layer `y = x·W + b`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    /// Inputs.
    pub inputs: usize,
    /// Outputs.
    pub outputs: usize,
    /// `inputs × outputs`, row-major.
    pub weights: Vec<f32>,
    /// `outputs`.
    pub bias: Vec<f32>,
}

impl Dense {
    fn forward(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(&self.bias);
        for (xi, row) in x.iter().zip(self.weights.chunks_exact(self.outputs)) {
            for (o, w) in out.iter_mut().zip(row) {
                *o += xi * w;
            }
        }
    }

    fn fits(&self) -> bool {
        self.outputs > 0
            && self.weights.len() == self.inputs * self.outputs
            && self.bias.len() == self.outputs
            && self.weights.iter().chain(&self.bias).all(|v| v.is_finite())
    }
}

/// A multilayer perceptron: ReLU between its dense layers, none after the last.
fn mlp(layers: &[Dense], x: &[f32], a: &mut Vec<f32>, b: &mut Vec<f32>) -> f32 {
    a.clear();
    a.extend_from_slice(x);
    for (l, layer) in layers.iter().enumerate() {
        layer.forward(a, b);
        if l + 1 < layers.len() {
            b.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        std::mem::swap(a, b);
    }
    a[0]
}

/// The user choice model SlateQ's slate value assumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Choice {
    /// The first position is always consumed.
    FirstPosition,
    /// Interest evolution's known model, from the raw features: weights
    /// `max(⟨user, doc⟩ − min_normalizer, 0)`, and `no_click_mass − min_normalizer` for no
    /// click.
    Proportional {
        /// The no-click option's mass.
        no_click_mass: f64,
        /// Subtracted from every score.
        min_normalizer: f64,
    },
    /// A learned conditional logit on the standardised features: weights `e^{s_i}` with
    /// `s_i = uᵀW d_i + aᵀd_i` and `e^{s_∅}` with `s_∅ = b + cᵀu`.
    Logit {
        /// `W`, `user_dim × doc_dim`, row-major.
        w: Vec<f32>,
        /// `a`, `doc_dim`.
        a: Vec<f32>,
        /// `b`.
        b: f32,
        /// `c`, `user_dim`.
        c: Vec<f32>,
    },
}

/// SlateQ's networks and what they read the observation with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlateQNet {
    /// Standardisation of the user features (after the time feature is log-scaled).
    pub user_mean: Vec<f32>,
    /// Its scale.
    pub user_sd: Vec<f32>,
    /// Standardisation of each candidate's features.
    pub doc_mean: Vec<f32>,
    /// Its scale.
    pub doc_sd: Vec<f32>,
    /// The standardised time feature above which the item values do not see it.
    pub time_ceiling: Option<f32>,
    /// `Q̄` of a candidate (input `user ‖ doc ‖ 0`) or of no click (`user ‖ 0 ‖ 1`).
    pub item_net: Vec<Dense>,
    /// The value of the user's state, added to every `Q̄`, where the time is in view.
    pub state_net: Option<Vec<Dense>>,
    /// The choice model.
    pub choice: Choice,
    /// How a slate is built from the values and weights.
    pub optimizer: SlateOptimizer,
}

/// What scoring one observation leaves behind, reused from call to call.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    /// Per candidate: the linear score, or SlateQ's `Q̄`, then `Q̄` of no click.
    pub values: Vec<f32>,
    /// SlateQ's choice weights, the candidates' then no click's; empty under
    /// [`Choice::FirstPosition`] and for linear policies.
    pub weights: Vec<f32>,
    linear: Vec<f64>,
    user: Vec<f32>,
    stored: Vec<f32>,
    per_doc: Vec<f32>,
    input: Vec<f32>,
    a: Vec<f32>,
    b: Vec<f32>,
    order: Vec<usize>,
}

impl Portable {
    /// Checks that the numbers fit the layout and are finite: what a file read back must
    /// pass before it scores anything.
    pub fn check(&self) -> Result<(), AgentError> {
        let Layout {
            user_dim: u,
            doc_dim: d,
            num_candidates: n,
            slate_size: k,
            time,
        } = self.layout;
        let bad = |why: &str| Err(AgentError::State(format!("a portable policy: {why}")));
        if n == 0 || d == 0 || k == 0 || k > n {
            return bad("the layout has no candidates, no features or no slate");
        }
        if time.is_some_and(|t| t.index >= u || t.steps == 0) {
            return bad("the time feature is not one of the user features");
        }
        match &self.scorer {
            Scorer::Linear { theta } => {
                if theta.len() != u + d || !theta.iter().all(|v| v.is_finite()) {
                    return bad("the linear weights do not fit the features");
                }
            }
            Scorer::SlateQ(net) => {
                let lens = [net.user_mean.len(), net.user_sd.len()];
                let docs = [net.doc_mean.len(), net.doc_sd.len()];
                let stats = net.user_mean.iter().chain(&net.doc_mean);
                let scales = net.user_sd.iter().chain(&net.doc_sd);
                if lens != [u, u]
                    || docs != [d, d]
                    || !stats.clone().all(|v| v.is_finite())
                    || !scales.clone().all(|v| v.is_finite() && *v > 0.0)
                {
                    return bad("the standardisation does not fit the features");
                }
                let chain = |layers: &[Dense], input: usize| {
                    !layers.is_empty()
                        && layers.iter().all(Dense::fits)
                        && layers[0].inputs == input
                        && layers.windows(2).all(|w| w[0].outputs == w[1].inputs)
                        && layers.last().is_some_and(|l| l.outputs == 1)
                };
                if !chain(&net.item_net, u + d + 1)
                    || net.state_net.as_deref().is_some_and(|s| !chain(s, u))
                    || net.state_net.is_some() != time.is_some()
                    || net.time_ceiling.is_some() != time.is_some()
                {
                    return bad("the networks do not fit the features");
                }
                let fits = match &net.choice {
                    Choice::FirstPosition => true,
                    Choice::Proportional {
                        no_click_mass,
                        min_normalizer,
                    } => no_click_mass.is_finite() && min_normalizer.is_finite(),
                    Choice::Logit { w, a, b, c } => {
                        w.len() == u * d
                            && a.len() == d
                            && c.len() == u
                            && w.iter().chain(a).chain(c).chain([b]).all(|v| v.is_finite())
                    }
                };
                if !fits {
                    return bad("the choice model does not fit the features");
                }
            }
        }
        Ok(())
    }

    /// Scores one observation into `out`: `user` and `items` as the layout says, though
    /// with any number of candidates of at least the slate size (the layout's is the
    /// number it was trained with).
    ///
    /// # Panics
    /// If their lengths do not fit the layout, or the policy did not pass
    /// [`Portable::check`].
    pub fn score(&self, user: &[f32], items: &[f32], out: &mut Scores) {
        let Layout {
            user_dim: u,
            doc_dim: d,
            slate_size: k,
            time,
            ..
        } = self.layout;
        let fits = user.len() == u && items.len().is_multiple_of(d) && items.len() / d >= k;
        assert!(fits, "an observation of another layout");
        out.values.clear();
        out.weights.clear();
        match &self.scorer {
            Scorer::Linear { theta } => {
                out.linear.clear();
                for doc in items.chunks_exact(d) {
                    let x = user.iter().chain(doc).map(|&v| f64::from(v));
                    out.linear
                        .push(theta.iter().zip(x).map(|(t, x)| t * x).sum());
                }
                out.values.extend(out.linear.iter().map(|&v| v as f32));
            }
            Scorer::SlateQ(net) => net.score(user, items, time, out),
        }
    }

    /// The slate for one observation, best first, and its scores in `out`.
    pub fn slate(&self, user: &[f32], items: &[f32], out: &mut Scores, slate: &mut [usize]) {
        self.score(user, items, out);
        match &self.scorer {
            Scorer::Linear { .. } => top_k(&out.linear, &mut out.order, slate),
            Scorer::SlateQ(net) => {
                let rule = match net.choice {
                    Choice::FirstPosition => ChoiceRule::FirstPosition,
                    _ => ChoiceRule::Weights,
                };
                best_slate(
                    rule,
                    net.optimizer,
                    &out.values,
                    &out.weights,
                    slate,
                    &mut out.order,
                );
            }
        }
    }
}

/// The time feature as SlateQ sees it, `ln(1 + f·T) / ln(1 + T)` of the remaining
/// fraction `f` of a `T`-step episode: the last steps of an episode, where the best action
/// changes fastest, spread over the input range instead of crowding near 0. A plain
/// fraction learned the end markedly worse.
pub fn log_time(fraction: f32, steps: usize) -> f32 {
    let t = steps as f32;
    (1.0 + fraction * t).ln() / (1.0 + t).ln()
}

impl SlateQNet {
    fn score(&self, raw: &[f32], items: &[f32], time: Option<TimeFeature>, out: &mut Scores) {
        let (u, d) = (self.user_mean.len(), self.doc_mean.len());
        // The user as the agent stores it (the time log-scaled), standardised.
        out.user.clear();
        out.user.extend_from_slice(raw);
        if let Some(t) = time {
            out.user[t.index] = log_time(raw[t.index], t.steps);
        }
        // The state as the agent stores it, which the known choice model reads.
        out.stored.clear();
        out.stored.extend_from_slice(&out.user);
        out.stored.extend_from_slice(items);
        for ((v, m), s) in out.user.iter_mut().zip(&self.user_mean).zip(&self.user_sd) {
            *v = (*v - m) / s;
        }
        let state = match &self.state_net {
            Some(layers) => mlp(layers, &out.user, &mut out.a, &mut out.b),
            None => 0.0,
        };
        let input = &mut out.input;
        input.clear();
        input.extend_from_slice(&out.user);
        if let (Some(t), Some(ceiling)) = (time, self.time_ceiling) {
            input[t.index] = input[t.index].min(ceiling);
        }
        input.resize(u + d + 1, 0.0);
        for doc in items.chunks_exact(d) {
            for (j, ((x, m), s)) in doc.iter().zip(&self.doc_mean).zip(&self.doc_sd).enumerate() {
                input[u + j] = (x - m) / s;
            }
            input[u + d] = 0.0;
            let q = mlp(&self.item_net, input, &mut out.a, &mut out.b);
            out.values.push(q + state);
        }
        input[u..u + d].fill(0.0);
        input[u + d] = 1.0;
        let null = mlp(&self.item_net, input, &mut out.a, &mut out.b);
        out.values.push(null + state);
        match &self.choice {
            Choice::FirstPosition => {}
            Choice::Proportional {
                no_click_mass,
                min_normalizer,
            } => {
                let layout = Layout {
                    num_candidates: items.len() / d,
                    slate_size: 1,
                    doc_dim: d,
                    user_dim: u,
                    time: None,
                };
                let (mass, floor) = (*no_click_mass, *min_normalizer);
                proportional_weights(&out.stored, &layout, mass, floor, &mut out.weights);
            }
            Choice::Logit { w, a, b, c } => {
                // uᵀW + a, one weight per document feature.
                let per_doc = &mut out.per_doc;
                per_doc.clear();
                per_doc.extend_from_slice(a);
                for (ui, row) in out.user.iter().zip(w.chunks_exact(d)) {
                    for (p, wij) in per_doc.iter_mut().zip(row) {
                        *p += ui * wij;
                    }
                }
                for doc in items.chunks_exact(d) {
                    let s: f32 = doc
                        .iter()
                        .zip(&self.doc_mean)
                        .zip(&self.doc_sd)
                        .zip(per_doc.iter())
                        .map(|(((x, m), sd), p)| (x - m) / sd * p)
                        .sum();
                    out.weights.push(s.exp());
                }
                let s0: f32 = b + out.user.iter().zip(c).map(|(u, c)| u * c).sum::<f32>();
                out.weights.push(s0.exp());
            }
        }
    }
}
