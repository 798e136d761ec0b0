//! RecSim's choice models (`choice_model.py`, model §0.7): how a user picks at most one
//! document of a slate, given one score per slate position.
//!
//! A model turns the scores `s_1..s_K` of a slate into click probabilities `p_1..p_K` and
//! a no-click probability `p_0 = 1 − Σ p_i`. [`ChoiceModel::probabilities`] writes them
//! into the caller's buffer; [`ChoiceModel::choose`] samples the choice with one uniform
//! draw, as RecSim's `np.random.choice` does. Neither allocates.
//!
//! Scores come as a cloneable iterator, so an environment can score a slate on the fly
//! (a model makes a few passes over it) instead of keeping a buffer.
//!
//! A position that appears twice in a slate is scored twice, so its click probability
//! roughly doubles; the click goes to whichever slate index is drawn.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::params::{check_min, check_range};
use crate::{ChoiceError, ConfigError, SimRng};

/// A user's choice among the documents of a slate, or none of them.
pub trait ChoiceModel {
    /// Calls `visit(i, p_i)` for every slate position `i`, in slate order, and returns the
    /// no-click probability. Every score is checked before the first call, so on error
    /// `visit` is never called.
    fn visit_probabilities<I>(
        &self,
        scores: I,
        visit: impl FnMut(usize, f64),
    ) -> Result<f64, ChoiceError>
    where
        I: IntoIterator<Item = f64>,
        I::IntoIter: Clone;

    /// Writes `P(click position i)` into `out[i]` (`out` has one entry per score) and
    /// returns `P(no click)`.
    fn probabilities(&self, scores: &[f64], out: &mut [f64]) -> Result<f64, ChoiceError> {
        if out.len() != scores.len() {
            return Err(ChoiceError::BufferLength {
                len: out.len(),
                slate: scores.len(),
            });
        }
        self.visit_probabilities(scores.iter().copied(), |i, p| out[i] = p)
    }

    /// Samples the clicked slate position (`None`: no click) with one uniform draw from
    /// `rng`, taken only once the scores have been accepted (none for an empty slate).
    fn choose<I>(&self, scores: I, rng: &mut SimRng) -> Result<Option<usize>, ChoiceError>
    where
        I: IntoIterator<Item = f64>,
        I::IntoIter: Clone,
    {
        let mut draw = None;
        let mut cumulative = 0.0;
        let mut chosen = None;
        self.visit_probabilities(scores, |i, p| {
            let u = *draw.get_or_insert_with(|| rng.random::<f64>());
            cumulative += p;
            if chosen.is_none() && u < cumulative {
                chosen = Some(i);
            }
        })?;
        // A draw past every click's mass (including rounding's last ulps) is no click.
        Ok(chosen)
    }
}

#[inline]
fn finite(position: usize, score: f64) -> Result<f64, ChoiceError> {
    if score.is_finite() {
        Ok(score)
    } else {
        Err(ChoiceError::NonFiniteScore { position, score })
    }
}

/// `s − min_normalizer`, refused when negative.
#[inline]
fn proportional_weight(
    position: usize,
    score: f64,
    min_normalizer: f64,
) -> Result<f64, ChoiceError> {
    let score = finite(position, score)?;
    if score < min_normalizer {
        return Err(ChoiceError::NegativeWeight {
            position,
            score,
            min_normalizer,
        });
    }
    Ok(score - min_normalizer)
}

fn check_finite(name: &'static str, value: f64) -> Result<(), ConfigError> {
    check_range(name, value, f64::MIN, f64::MAX, "must be finite")
}

/// RecSim's `MultinomialLogitChoiceModel`: a softmax over the scores and the no-click
/// mass,
/// `P(i) = e^{s_i} / (Σ_j e^{s_j} + e^{no_click_mass})`,
/// `P(none) = e^{no_click_mass} / (Σ_j e^{s_j} + e^{no_click_mass})`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MultinomialLogit {
    no_click_mass: f64,
}

impl MultinomialLogit {
    /// `no_click_mass` is the no-click option's logit. (RecSim's default without one is
    /// −∞, no such option; a very negative finite mass does the same here.)
    pub fn new(no_click_mass: f64) -> Result<Self, ConfigError> {
        check_finite("no_click_mass", no_click_mass)?;
        Ok(Self { no_click_mass })
    }

    /// The logit of not clicking.
    pub fn no_click_mass(&self) -> f64 {
        self.no_click_mass
    }
}

impl ChoiceModel for MultinomialLogit {
    fn visit_probabilities<I>(
        &self,
        scores: I,
        mut visit: impl FnMut(usize, f64),
    ) -> Result<f64, ChoiceError>
    where
        I: IntoIterator<Item = f64>,
        I::IntoIter: Clone,
    {
        let scores = scores.into_iter();
        // Shifting every logit by the largest keeps exp from overflowing, as RecSim's
        // softmax does; the probabilities are unchanged.
        let mut shift = self.no_click_mass;
        for (i, s) in scores.clone().enumerate() {
            shift = shift.max(finite(i, s)?);
        }
        let no_click = (self.no_click_mass - shift).exp();
        let total = no_click + scores.clone().map(|s| (s - shift).exp()).sum::<f64>();
        for (i, s) in scores.enumerate() {
            visit(i, (s - shift).exp() / total);
        }
        Ok(no_click / total)
    }
}

/// RecSim's `MultinomialProportionalChoiceModel`: probabilities proportional to the
/// scores shifted by `min_normalizer`,
/// `w_i = s_i − min_normalizer`, `w_0 = no_click_mass − min_normalizer`,
/// `P(i) = w_i / (Σ_j w_j + w_0)`, `P(none) = w_0 / (Σ_j w_j + w_0)`.
/// Every weight must be non-negative: a score below `min_normalizer` is an error (RecSim
/// asserts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MultinomialProportional {
    no_click_mass: f64,
    min_normalizer: f64,
}

impl MultinomialProportional {
    /// The model, if the no-click weight `no_click_mass − min_normalizer` is positive.
    pub fn new(no_click_mass: f64, min_normalizer: f64) -> Result<Self, ConfigError> {
        check_finite("min_normalizer", min_normalizer)?;
        check_finite("no_click_mass", no_click_mass)?;
        if no_click_mass < min_normalizer {
            return Err(ConfigError::InvalidParam {
                name: "no_click_mass",
                value: no_click_mass,
                why: "must be at least min_normalizer: the no-click weight no_click_mass − min_normalizer is negative",
            });
        }
        Ok(Self {
            no_click_mass,
            min_normalizer,
        })
    }

    /// The score of not clicking.
    pub fn no_click_mass(&self) -> f64 {
        self.no_click_mass
    }

    /// Subtracted from every score to make the weights non-negative.
    pub fn min_normalizer(&self) -> f64 {
        self.min_normalizer
    }
}

impl ChoiceModel for MultinomialProportional {
    fn visit_probabilities<I>(
        &self,
        scores: I,
        mut visit: impl FnMut(usize, f64),
    ) -> Result<f64, ChoiceError>
    where
        I: IntoIterator<Item = f64>,
        I::IntoIter: Clone,
    {
        let scores = scores.into_iter();
        let no_click = self.no_click_mass - self.min_normalizer;
        let mut total = no_click;
        for (i, s) in scores.clone().enumerate() {
            total += proportional_weight(i, s, self.min_normalizer)?;
        }
        if total <= 0.0 {
            return Err(ChoiceError::ZeroWeights);
        }
        for (i, s) in scores.enumerate() {
            visit(i, (s - self.min_normalizer) / total);
        }
        Ok(no_click / total)
    }
}

/// The cascade of RecSim's `CascadeChoiceModel`, on scores used as they are.
///
/// The user goes down the slate in order and stops at the first click. Position `i` is
/// clicked, given that no earlier position was, with probability
/// `attention_prob · score_scaling · s_i`, so
/// `P(i) = a·c_i · Π_{j<i} (1 − a·c_j)` with `a = attention_prob`,
/// `c_i = score_scaling · s_i`, and `P(none) = Π_j (1 − a·c_j)`.
/// Every `c_i` must be a probability in `[0, 1]` (RecSim asserts `c_i ≤ 1`).
///
/// RecSim's base class is abstract; its two concrete cascades are [`ExponentialCascade`]
/// and [`ProportionalCascade`], which transform the scores first.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cascade {
    attention_prob: f64,
    score_scaling: f64,
}

impl Cascade {
    /// The cascade, if both numbers make probabilities.
    pub fn new(attention_prob: f64, score_scaling: f64) -> Result<Self, ConfigError> {
        check_range(
            "attention_prob",
            attention_prob,
            0.0,
            1.0,
            "must be in [0, 1]",
        )?;
        check_min("score_scaling", score_scaling, 0.0, false)?;
        Ok(Self {
            attention_prob,
            score_scaling,
        })
    }

    /// The probability that the user looks at the next position.
    pub fn attention_prob(&self) -> f64 {
        self.attention_prob
    }

    /// The factor that turns a score into a click probability.
    pub fn score_scaling(&self) -> f64 {
        self.score_scaling
    }
}

impl ChoiceModel for Cascade {
    fn visit_probabilities<I>(
        &self,
        scores: I,
        mut visit: impl FnMut(usize, f64),
    ) -> Result<f64, ChoiceError>
    where
        I: IntoIterator<Item = f64>,
        I::IntoIter: Clone,
    {
        let scores = scores.into_iter();
        for (position, s) in scores.clone().enumerate() {
            let value = self.score_scaling * finite(position, s)?;
            if !(0.0..=1.0).contains(&value) {
                return Err(ChoiceError::NotAProbability { position, value });
            }
        }
        let mut no_click = 1.0;
        for (i, s) in scores.enumerate() {
            let click = self.attention_prob * self.score_scaling * s;
            visit(i, no_click * click);
            no_click *= 1.0 - click;
        }
        Ok(no_click)
    }
}

/// RecSim's `ExponentialCascadeChoiceModel`: the [`Cascade`] on `e^{s_i}`, i.e. position
/// `i`, reached without an earlier click, is clicked with probability
/// `attention_prob · score_scaling · e^{s_i}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExponentialCascade {
    cascade: Cascade,
}

impl ExponentialCascade {
    /// The model, if both numbers make probabilities.
    pub fn new(attention_prob: f64, score_scaling: f64) -> Result<Self, ConfigError> {
        Cascade::new(attention_prob, score_scaling).map(|cascade| Self { cascade })
    }

    /// The cascade underneath.
    pub fn cascade(&self) -> &Cascade {
        &self.cascade
    }
}

impl ChoiceModel for ExponentialCascade {
    fn visit_probabilities<I>(
        &self,
        scores: I,
        visit: impl FnMut(usize, f64),
    ) -> Result<f64, ChoiceError>
    where
        I: IntoIterator<Item = f64>,
        I::IntoIter: Clone,
    {
        let scores = scores.into_iter();
        // Name a non-finite score as such, not as the probability its exponential is not.
        for (i, s) in scores.clone().enumerate() {
            finite(i, s)?;
        }
        self.cascade
            .visit_probabilities(scores.map(f64::exp), visit)
    }
}

/// RecSim's `ProportionalCascadeChoiceModel`: the [`Cascade`] on `s_i − min_normalizer`,
/// i.e. position `i`, reached without an earlier click, is clicked with probability
/// `attention_prob · score_scaling · (s_i − min_normalizer)`. A score below
/// `min_normalizer` is an error, as in [`MultinomialProportional`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProportionalCascade {
    cascade: Cascade,
    min_normalizer: f64,
}

impl ProportionalCascade {
    /// The model, if the numbers make probabilities and non-negative scores.
    pub fn new(
        attention_prob: f64,
        score_scaling: f64,
        min_normalizer: f64,
    ) -> Result<Self, ConfigError> {
        check_finite("min_normalizer", min_normalizer)?;
        let cascade = Cascade::new(attention_prob, score_scaling)?;
        Ok(Self {
            cascade,
            min_normalizer,
        })
    }

    /// The cascade underneath.
    pub fn cascade(&self) -> &Cascade {
        &self.cascade
    }

    /// Subtracted from every score.
    pub fn min_normalizer(&self) -> f64 {
        self.min_normalizer
    }
}

impl ChoiceModel for ProportionalCascade {
    fn visit_probabilities<I>(
        &self,
        scores: I,
        visit: impl FnMut(usize, f64),
    ) -> Result<f64, ChoiceError>
    where
        I: IntoIterator<Item = f64>,
        I::IntoIter: Clone,
    {
        let scores = scores.into_iter();
        for (i, s) in scores.clone().enumerate() {
            proportional_weight(i, s, self.min_normalizer)?;
        }
        let m = self.min_normalizer;
        self.cascade
            .visit_probabilities(scores.map(move |s| s - m), visit)
    }
}

/// A model's choice model, as far as an agent can compute it from observations alone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum KnownChoice {
    /// The user always clicks slate position 0 (long-term satisfaction).
    FirstPosition,
    /// Multinomial proportional on the score `⟨user observation, document observation⟩`:
    /// weights `s_i − min_normalizer` and `no_click_mass − min_normalizer` (interest
    /// evolution).
    Proportional {
        /// The score of not clicking.
        no_click_mass: f64,
        /// Subtracted from every score.
        min_normalizer: f64,
    },
    /// Not computable from the observations (the user state is hidden).
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{stream, StreamId};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn probs(model: &impl ChoiceModel, scores: &[f64]) -> (Vec<f64>, f64) {
        let mut out = vec![0.0; scores.len()];
        let none = model.probabilities(scores, &mut out).unwrap();
        (out, none)
    }

    #[test]
    fn multinomial_logit_is_a_softmax_with_the_no_click_mass() {
        let model = MultinomialLogit::new(5.0).unwrap();
        let (p, none) = probs(&model, &[4.0, 2.0]);
        let z = 4f64.exp() + 2f64.exp() + 5f64.exp();
        assert!(close(p[0], 4f64.exp() / z) && close(p[1], 2f64.exp() / z));
        assert!(close(none, 5f64.exp() / z));
        // e^4 = 54.598, e^2 = 7.389, e^5 = 148.413: P(click) = 61.987/210.400 = 0.29462.
        assert!((p[0] + p[1] - 0.29462).abs() < 1e-5);
        // Huge logits do not overflow: the shift by the largest keeps them finite.
        let (p, none) = probs(&model, &[1000.0, 1000.0]);
        assert!(close(p[0], 0.5) && close(p[1], 0.5) && none == 0.0);
    }

    #[test]
    fn multinomial_proportional_normalises_shifted_scores() {
        // The interest-evolution user: scores are interests, shifted by −(−1).
        let model = MultinomialProportional::new(1.0, -1.0).unwrap();
        let (p, none) = probs(&model, &[0.5, -0.5]);
        // Weights 1.5, 0.5 and 2 for no click: total 4.
        assert_eq!((p[0], p[1], none), (0.375, 0.125, 0.5));
        let (p, none) = probs(&model, &[-1.0, -1.0]);
        assert_eq!((p[0], p[1], none), (0.0, 0.0, 1.0));
    }

    #[test]
    fn a_score_below_min_normalizer_is_a_clear_error() {
        let model = MultinomialProportional::new(1.0, -1.0).unwrap();
        let err = model
            .probabilities(&[0.0, -1.5], &mut [0.0; 2])
            .unwrap_err();
        assert!(matches!(
            err,
            ChoiceError::NegativeWeight {
                position: 1,
                score: -1.5,
                min_normalizer: -1.0
            }
        ));
        assert!(err.to_string().contains("below min_normalizer"), "{err}");
        let cascade = ProportionalCascade::new(0.65, 0.05, 0.0).unwrap();
        assert!(matches!(
            cascade.probabilities(&[-0.1], &mut [0.0]),
            Err(ChoiceError::NegativeWeight { position: 0, .. })
        ));
        // The no-click weight is checked when the model is built.
        let err = MultinomialProportional::new(-2.0, -1.0).unwrap_err();
        assert!(err.to_string().contains("no_click_mass"), "{err}");
        // All weights zero: nothing can be drawn.
        let model = MultinomialProportional::new(0.0, 0.0).unwrap();
        assert!(matches!(
            model.choose([0.0, 0.0], &mut stream(0, StreamId::Noise)),
            Err(ChoiceError::ZeroWeights)
        ));
    }

    #[test]
    fn cascades_follow_recsims_positional_normalisation() {
        // Scores used as they are: c = (0.4, 0.8), a = 0.5.
        let model = Cascade::new(0.5, 1.0).unwrap();
        let (p, none) = probs(&model, &[0.4, 0.8]);
        // P(0) = 0.5·0.4 = 0.2; P(1) = (1 − 0.2)·0.5·0.8 = 0.32; none = 0.8·0.6 = 0.48.
        assert!(close(p[0], 0.2) && close(p[1], 0.32) && close(none, 0.48));

        let model = ExponentialCascade::new(0.65, 0.05).unwrap();
        let (p, none) = probs(&model, &[1.0, 0.0, 2.0]);
        let c = [
            0.65 * 0.05 * 1f64.exp(),
            0.65 * 0.05,
            0.65 * 0.05 * 2f64.exp(),
        ];
        assert!(close(p[0], c[0]));
        assert!(close(p[1], (1.0 - c[0]) * c[1]));
        assert!(close(p[2], (1.0 - c[0]) * (1.0 - c[1]) * c[2]));
        assert!(close(none, (1.0 - c[0]) * (1.0 - c[1]) * (1.0 - c[2])));

        let model = ProportionalCascade::new(0.65, 0.05, -1.0).unwrap();
        let (p, none) = probs(&model, &[1.0, 0.0]);
        // c = 0.65·0.05·(2, 1) = (0.065, 0.0325).
        assert!(close(p[0], 0.065) && close(p[1], 0.935 * 0.0325));
        assert!(close(none, 0.935 * (1.0 - 0.0325)));

        // score_scaling · e^{s} above 1 is not a probability.
        let err = ExponentialCascade::new(1.0, 0.5)
            .unwrap()
            .probabilities(&[0.0, 1.0], &mut [0.0; 2])
            .unwrap_err();
        assert!(matches!(
            err,
            ChoiceError::NotAProbability { position: 1, .. }
        ));
    }

    #[test]
    fn parameters_are_validated() {
        assert!(Cascade::new(1.2, 0.05)
            .unwrap_err()
            .to_string()
            .contains("attention_prob"));
        assert!(Cascade::new(0.5, -0.05)
            .unwrap_err()
            .to_string()
            .contains("score_scaling"));
        assert!(MultinomialLogit::new(f64::NAN).is_err());
        assert!(MultinomialProportional::new(1.0, f64::NEG_INFINITY).is_err());
        assert!(ProportionalCascade::new(0.5, 0.1, f64::INFINITY).is_err());
        let model = MultinomialLogit::new(0.0).unwrap();
        assert!(matches!(
            model.probabilities(&[f64::NAN], &mut [0.0]),
            Err(ChoiceError::NonFiniteScore { position: 0, .. })
        ));
        assert!(matches!(
            model.probabilities(&[0.0], &mut [0.0; 2]),
            Err(ChoiceError::BufferLength { len: 2, slate: 1 })
        ));
    }

    #[test]
    fn choose_samples_the_probabilities_with_one_draw() {
        let model = MultinomialProportional::new(1.0, -1.0).unwrap();
        let scores = [0.5, -0.5];
        let mut rng = stream(3, StreamId::Noise);
        let n = 200_000;
        let mut counts = [0usize; 3];
        for _ in 0..n {
            match model.choose(scores, &mut rng).unwrap() {
                Some(i) => counts[i] += 1,
                None => counts[2] += 1,
            }
        }
        // Binomial sd of a frequency ≤ 0.5/√n ≈ 0.0011; 0.005 is more than 4 sd.
        for (count, p) in counts.iter().zip([0.375, 0.125, 0.5]) {
            assert!((*count as f64 / n as f64 - p).abs() < 0.005, "{counts:?}");
        }
        // Exactly one uniform per choice: the stream stays aligned with a plain draw.
        let (mut a, mut b) = (stream(9, StreamId::Noise), stream(9, StreamId::Noise));
        let model = Cascade::new(1.0, 1.0).unwrap();
        model.choose([0.3, 0.3, 0.3], &mut a).unwrap();
        let _: f64 = b.random();
        assert_eq!(a, b);
        // A refused slate draws nothing.
        assert!(model.choose([2.0], &mut a).is_err());
        assert_eq!(a, b);
    }
}
