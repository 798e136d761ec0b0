//! Interest evolution, model §2: videos in 20 clusters of different quality, a user with
//! observed interests that drift towards what she watches, and a time budget that good
//! videos stretch and bad ones use up.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::choice::{ChoiceModel, MultinomialProportional};
use crate::params::{check_min, check_range};
use crate::{ConfigError, KnownChoice, Model, Params, SimRng};

/// Number of video clusters (`IEvVideo.NUM_FEATURES`): the length of a document's one-hot
/// features and of the user's interest vector.
pub const NUM_CLUSTERS: usize = 20;
/// Clusters `0..TRASHY_CLUSTERS` have quality means from `min_utility` up to 0, the rest
/// from 0 up to `max_utility` (`int(20·0.7)` and `int(20·0.3)` in RecSim).
const TRASHY_CLUSTERS: usize = 14;

/// The parameters of RecSim's `UtilityModelVideoSampler`, `UtilityModelUserSampler` and
/// `IEvUserModel` (RecSim's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IevParams {
    /// Quality mean of cluster 0, the worst.
    pub min_utility: f64,
    /// Quality mean of cluster 19, the best.
    pub max_utility: f64,
    /// Standard deviation of a video's quality around its cluster's mean (RecSim calls
    /// it a variance but uses it as the standard deviation).
    pub quality_stddev: f64,
    /// Watch time of a clicked video (capped by the budget left).
    pub video_length: f64,
    /// The user's initial time budget.
    pub time_budget: f64,
    /// Score of the no-click option in the proportional choice.
    pub no_click_mass: f64,
    /// Subtracted from every score to make the choice weights non-negative.
    pub min_normalizer: f64,
    /// Budget a step without a click costs.
    pub step_penalty: f64,
    /// Weight of the user's interest in the utility a watched video returns.
    pub user_quality_factor: f64,
    /// Weight of the video's quality in the utility a watched video returns.
    pub document_quality_factor: f64,
    /// Fraction of the watch time that each unit of received utility gives back.
    pub user_update_alpha: f64,
    /// The interest step `α(x) = y·(1 − |x|/x_int)` falls to 0 at `|x| = x_int`.
    pub alpha_x_intercept: f64,
    /// `y` of the interest step: its size at zero interest.
    pub alpha_y_intercept: f64,
}

impl Default for IevParams {
    fn default() -> Self {
        Self {
            min_utility: -3.0,
            max_utility: 3.0,
            quality_stddev: 0.1,
            video_length: 4.0,
            time_budget: 200.0,
            no_click_mass: 1.0,
            min_normalizer: -1.0,
            step_penalty: 0.5,
            user_quality_factor: 0.0,
            document_quality_factor: 1.0,
            user_update_alpha: 0.9 / 3.4,
            alpha_x_intercept: 1.0,
            alpha_y_intercept: 0.3,
        }
    }
}

impl IevParams {
    /// Mean quality of `cluster`: `linspace(min_utility, 0, 14)` then
    /// `linspace(0, max_utility, 6)`, computed as numpy does (`start + i·step`, the last
    /// point exact).
    pub fn cluster_mean(&self, cluster: usize) -> f64 {
        let (start, stop, i, n) = if cluster < TRASHY_CLUSTERS {
            (self.min_utility, 0.0, cluster, TRASHY_CLUSTERS)
        } else {
            (
                0.0,
                self.max_utility,
                cluster - TRASHY_CLUSTERS,
                NUM_CLUSTERS - TRASHY_CLUSTERS,
            )
        };
        if i == n - 1 {
            stop
        } else {
            start + i as f64 * (stop - start) / (n - 1) as f64
        }
    }

    /// The interest step size at interest `x`: `α(x) = −(y/x_int)·|x| + y`.
    #[inline]
    pub fn interest_step(&self, x: f64) -> f64 {
        -(self.alpha_y_intercept / self.alpha_x_intercept) * x.abs() + self.alpha_y_intercept
    }
}

impl Params for IevParams {
    const MODEL: &'static str = "interest evolution";

    fn fields(&mut self) -> Vec<(&'static str, &mut f64)> {
        vec![
            ("min_utility", &mut self.min_utility),
            ("max_utility", &mut self.max_utility),
            ("quality_stddev", &mut self.quality_stddev),
            ("video_length", &mut self.video_length),
            ("time_budget", &mut self.time_budget),
            ("no_click_mass", &mut self.no_click_mass),
            ("min_normalizer", &mut self.min_normalizer),
            ("step_penalty", &mut self.step_penalty),
            ("user_quality_factor", &mut self.user_quality_factor),
            ("document_quality_factor", &mut self.document_quality_factor),
            ("user_update_alpha", &mut self.user_update_alpha),
            ("alpha_x_intercept", &mut self.alpha_x_intercept),
            ("alpha_y_intercept", &mut self.alpha_y_intercept),
        ]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bounded = "must be finite, |x| ≤ 1000";
        check_range("min_utility", self.min_utility, -1e3, 1e3, bounded)?;
        check_range("max_utility", self.max_utility, -1e3, 1e3, bounded)?;
        check_min("quality_stddev", self.quality_stddev, 0.0, false)?;
        check_range(
            "video_length",
            self.video_length,
            f64::MIN_POSITIVE,
            1e6,
            "must be in (0, 1e6]",
        )?;
        check_range(
            "time_budget",
            self.time_budget,
            f64::MIN_POSITIVE,
            1e6,
            "must be in (0, 1e6]",
        )?;
        // Scores are interests, never below −1: with min_normalizer ≤ −1 no choice weight
        // can turn negative during an episode.
        check_range(
            "min_normalizer",
            self.min_normalizer,
            -1e6,
            -1.0,
            "must be in [−1e6, −1]: at most the lowest interest, −1, so that every choice weight stays non-negative",
        )?;
        check_range(
            "no_click_mass",
            self.no_click_mass,
            -1e6,
            1e6,
            "must be finite, |x| ≤ 1e6",
        )?;
        if self.no_click_mass <= self.min_normalizer {
            // A zero no-click weight with every shown interest at −1 leaves nothing to draw.
            return Err(ConfigError::InvalidParam {
                name: "no_click_mass",
                value: self.no_click_mass,
                why: "must be above min_normalizer, so that not clicking always has weight",
            });
        }
        // A positive penalty lets every step without a click bring the end closer.
        check_min("step_penalty", self.step_penalty, 0.0, true)?;
        check_min("user_quality_factor", self.user_quality_factor, 0.0, false)?;
        check_min(
            "document_quality_factor",
            self.document_quality_factor,
            0.0,
            false,
        )?;
        check_min("user_update_alpha", self.user_update_alpha, 0.0, false)?;
        check_min("alpha_x_intercept", self.alpha_x_intercept, 0.0, true)?;
        check_range(
            "alpha_y_intercept",
            self.alpha_y_intercept,
            0.0,
            1.0,
            "must be in [0, 1]",
        )
    }
}

/// A video: its cluster and its quality.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IevDoc {
    /// The cluster, `0..NUM_CLUSTERS`.
    pub cluster: usize,
    /// The quality, around the cluster's mean.
    pub quality: f64,
}

/// The user: interests in `[−1, 1]` per cluster (observed) and the remaining time budget
/// (hidden).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IevUser {
    /// Interest in each cluster, in `[−1, 1]`.
    pub interests: [f64; NUM_CLUSTERS],
    /// The time left to watch.
    pub time_budget: f64,
}

/// One slate position's response. Quality and cluster are revealed for every position,
/// clicked or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct IevResponse {
    /// Whether the user clicked this position.
    pub click: bool,
    /// How long the user watched (0 without a click).
    pub watch_time: f64,
    /// Part of RecSim's response space; its user model never sets it.
    pub liked: bool,
    /// The shown video's quality.
    pub quality: f64,
    /// The shown video's cluster.
    pub cluster_id: usize,
}

/// Interest evolution with RecSim's `MultinomialProportionalChoiceModel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredModel", into = "StoredModel")]
pub struct InterestEvolution {
    params: IevParams,
    choice: MultinomialProportional,
    /// [`IevParams::cluster_mean`] of every cluster, computed once: sampling a document
    /// needs it, and computing it takes a tenth of a step.
    cluster_means: [f64; NUM_CLUSTERS],
}

/// What a saved model holds; the cluster means are computed again from the parameters.
#[derive(Serialize, Deserialize)]
struct StoredModel {
    params: IevParams,
    choice: MultinomialProportional,
}

impl From<StoredModel> for InterestEvolution {
    fn from(stored: StoredModel) -> Self {
        Self::with(stored.params, stored.choice)
    }
}

impl From<InterestEvolution> for StoredModel {
    fn from(model: InterestEvolution) -> Self {
        Self {
            params: model.params,
            choice: model.choice,
        }
    }
}

impl InterestEvolution {
    fn with(params: IevParams, choice: MultinomialProportional) -> Self {
        Self {
            cluster_means: std::array::from_fn(|c| params.cluster_mean(c)),
            params,
            choice,
        }
    }

    /// The choice weights are non-negative for every reachable state: interests stay in
    /// `[−1, 1]` and [`IevParams::validate`] keeps `min_normalizer ≤ −1 < no_click_mass`.
    const VALID_WEIGHTS: &'static str =
        "interests ≥ −1 ≥ min_normalizer and no_click_mass > min_normalizer, checked by IevParams::validate";

    /// The interest and budget updates after the user watched `doc` for `watch_time`
    /// (model §2.6); `flip` is the uniform that decides the interest's direction.
    #[inline]
    pub fn watched(&self, user: &mut IevUser, doc: &IevDoc, watch_time: f64, flip: f64) {
        let p = &self.params;
        let c = doc.cluster;
        let interest = user.interests[c];
        // The choice score of the watched video, before the interest moves.
        let expected_utility = interest - p.min_normalizer;
        let step = p.interest_step(interest) * (1.0 - interest);
        let positive = flip < (interest + 1.0) / 2.0;
        let moved = if positive {
            interest + step
        } else {
            interest - step
        };
        user.interests[c] = moved.clamp(-1.0, 1.0);
        let received_utility =
            p.user_quality_factor * expected_utility + p.document_quality_factor * doc.quality;
        user.time_budget -= watch_time;
        user.time_budget += p.user_update_alpha * watch_time * received_utility;
    }
}

impl Model for InterestEvolution {
    type Params = IevParams;
    type Doc = IevDoc;
    type User = IevUser;
    type Response = IevResponse;

    const NAME: &'static str = "interest evolution";
    /// The one-hot cluster.
    const DOC_DIM: usize = NUM_CLUSTERS;
    /// The interests, fully observed.
    const USER_OBS_DIM: usize = NUM_CLUSTERS;
    /// The remaining time budget, the part of the state the user observation hides.
    const USER_FEATURES: &'static [&'static str] = &["time_budget"];
    const NUM_CLUSTERS: Option<usize> = Some(NUM_CLUSTERS);

    fn from_params(params: IevParams) -> Result<Self, ConfigError> {
        params.validate()?;
        let choice = MultinomialProportional::new(params.no_click_mass, params.min_normalizer)?;
        Ok(Self::with(params, choice))
    }

    fn params(&self) -> &IevParams {
        &self.params
    }

    #[inline]
    fn sample_document(&self, rng: &mut SimRng) -> IevDoc {
        let cluster = rng.random_range(0..NUM_CLUSTERS);
        let z: f64 = StandardNormal.sample(rng);
        IevDoc {
            cluster,
            quality: self.cluster_means[cluster] + self.params.quality_stddev * z,
        }
    }

    #[inline]
    fn sample_user(&self, rng: &mut SimRng) -> IevUser {
        IevUser {
            interests: std::array::from_fn(|_| rng.random_range(-1.0..1.0)),
            time_budget: self.params.time_budget,
        }
    }

    #[inline]
    fn simulate_response(
        &self,
        user: &IevUser,
        slate: &[IevDoc],
        rng: &mut SimRng,
        responses: &mut [IevResponse],
    ) {
        for (doc, response) in slate.iter().zip(responses.iter_mut()) {
            response.quality = doc.quality;
            response.cluster_id = doc.cluster;
        }
        // The score of a one-hot document is the user's interest in its cluster.
        let scores = slate.iter().map(|d| user.interests[d.cluster]);
        if let Some(i) = self.choice.choose(scores, rng).expect(Self::VALID_WEIGHTS) {
            responses[i].click = true;
            responses[i].watch_time = user.time_budget.min(self.params.video_length);
        }
    }

    #[inline]
    fn update_state(
        &self,
        user: &mut IevUser,
        slate: &[IevDoc],
        responses: &[IevResponse],
        rng: &mut SimRng,
    ) {
        // At most one click; RecSim updates on the first clicked position and stops.
        match slate.iter().zip(responses).find(|(_, r)| r.click) {
            Some((doc, response)) => {
                let flip: f64 = rng.random();
                self.watched(user, doc, response.watch_time, flip);
            }
            None => user.time_budget -= self.params.step_penalty,
        }
    }

    #[inline]
    fn is_terminal(&self, user: &IevUser) -> bool {
        user.time_budget <= 0.0
    }

    #[inline]
    fn reward(&self, responses: &[IevResponse]) -> f64 {
        responses
            .iter()
            .filter(|r| r.click)
            .map(|r| r.watch_time)
            .sum()
    }

    #[inline]
    fn is_click(response: &IevResponse) -> bool {
        response.click
    }

    #[inline]
    fn quality_and_cluster(response: &IevResponse) -> Option<(f64, usize)> {
        Some((response.quality, response.cluster_id))
    }

    #[inline]
    fn doc_observation(&self, doc: &IevDoc, out: &mut [f32]) {
        // A constant length lets the compiler clear the row inline instead of calling
        // memset for every document of every step.
        out[..NUM_CLUSTERS].fill(0.0);
        out[doc.cluster] = 1.0;
    }

    #[inline]
    fn user_observation(&self, user: &IevUser, out: &mut [f32]) {
        for (o, x) in out.iter_mut().zip(&user.interests) {
            *o = *x as f32;
        }
    }

    /// The remaining budget as a fraction of the initial one, clamped to `[0, 1]` (it can
    /// only exceed the initial budget under parameters where good videos give back more
    /// than they take; at the end it dips at most one click's cost below 0).
    #[inline]
    fn user_features(&self, user: &IevUser, out: &mut [f32]) {
        out[0] = (user.time_budget / self.params.time_budget).clamp(0.0, 1.0) as f32;
    }

    #[inline]
    fn response_observation(&self, response: &IevResponse) -> IevResponse {
        // RecSim's IEvResponse observes its values unclipped.
        *response
    }

    /// The user's interest in the document's cluster (`⟨u, onehot⟩`); the click
    /// probability rises with it. Without a user observation (the bandit view) every
    /// document scores 0.
    #[inline]
    fn myopic_score(user_obs: &[f32], doc_obs: &[f32]) -> f64 {
        user_obs
            .iter()
            .zip(doc_obs)
            .map(|(u, d)| f64::from(*u) * f64::from(*d))
            .sum()
    }

    /// The interests are observed, so the proportional choice on `⟨u, d⟩` is known.
    fn known_choice(&self) -> KnownChoice {
        KnownChoice::Proportional {
            no_click_mass: self.params.no_click_mass,
            min_normalizer: self.params.min_normalizer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{stream, EnvConfig, Environment, ParamSet, StreamId};

    fn model() -> InterestEvolution {
        InterestEvolution::from_params(IevParams::default()).unwrap()
    }

    fn user(interest: f64, time_budget: f64) -> IevUser {
        IevUser {
            interests: [interest; NUM_CLUSTERS],
            time_budget,
        }
    }

    #[test]
    fn cluster_means_are_recsims_two_linspaces() {
        let p = IevParams::default();
        assert_eq!(p.cluster_mean(0), -3.0);
        assert!((p.cluster_mean(1) - (-3.0 + 3.0 / 13.0)).abs() < 1e-15);
        assert_eq!((p.cluster_mean(13), p.cluster_mean(14)), (0.0, 0.0));
        assert!((p.cluster_mean(15) - 0.6).abs() < 1e-15);
        assert_eq!(p.cluster_mean(19), 3.0);
        // Documents: uniform clusters, quality N(mean, 0.1).
        let m = model();
        let mut rng = stream(1, StreamId::Documents);
        let (mut counts, mut dev) = ([0usize; NUM_CLUSTERS], 0.0);
        let n = 40_000;
        for _ in 0..n {
            let d = m.sample_document(&mut rng);
            counts[d.cluster] += 1;
            dev += (d.quality - p.cluster_mean(d.cluster)).powi(2);
        }
        // Each count ~ Binomial(40k, 0.05): sd ≈ 44, so ±250 is over 5 sd.
        assert!(
            counts.iter().all(|&c| c.abs_diff(n / 20) < 250),
            "{counts:?}"
        );
        let sd = (dev / n as f64).sqrt();
        assert!((sd - 0.1).abs() < 0.003, "quality sd {sd}");
    }

    #[test]
    fn the_interest_moves_towards_or_away_by_alpha_times_distance() {
        let m = model();
        let doc = IevDoc {
            cluster: 7,
            quality: 0.0,
        };
        // u = 0.5: α = 0.3 − 0.3·0.5 = 0.15, Δ = 0.15·(1 − 0.5) = 0.075, p⁺ = 0.75.
        let mut up = user(0.5, 100.0);
        m.watched(&mut up, &doc, 4.0, 0.74);
        assert!((up.interests[7] - 0.575).abs() < 1e-15);
        let mut down = user(0.5, 100.0);
        m.watched(&mut down, &doc, 4.0, 0.75);
        assert!((down.interests[7] - 0.425).abs() < 1e-15);
        // Only the watched cluster moves.
        assert!(up
            .interests
            .iter()
            .enumerate()
            .all(|(c, &x)| c == 7 || x == 0.5));
        // At the extremes α vanishes: ±1 are fixed points.
        for x in [-1.0, 1.0] {
            let mut u = user(x, 100.0);
            m.watched(&mut u, &doc, 4.0, 0.3);
            assert_eq!(u.interests[7], x);
        }
        // A step past −1 is clipped.
        let params = IevParams {
            alpha_x_intercept: 10.0,
            alpha_y_intercept: 1.0,
            ..IevParams::default()
        };
        let steep = InterestEvolution::from_params(params).unwrap();
        let mut u = user(-0.9, 100.0);
        // α(−0.9) = 1 − 0.09 = 0.91, Δ = 0.91·1.9 = 1.729; p⁺ = 0.05, the flip goes down.
        steep.watched(&mut u, &doc, 4.0, 0.5);
        assert_eq!(u.interests[7], -1.0);
    }

    #[test]
    fn the_budget_pays_the_watch_time_and_gets_quality_back() {
        let m = model();
        let mut u = user(0.2, 100.0);
        let good = IevDoc {
            cluster: 3,
            quality: 2.0,
        };
        m.watched(&mut u, &good, 4.0, 0.0);
        // b − w + (0.9/3.4)·w·q = 100 − 4 + 0.264706·8.
        assert!((u.time_budget - (96.0 + 0.9 / 3.4 * 8.0)).abs() < 1e-12);
        // The user's own interest counts when user_quality_factor is set, with the
        // choice score u − min_normalizer from before the interest update.
        let params = IevParams {
            user_quality_factor: 1.0,
            ..IevParams::default()
        };
        let m2 = InterestEvolution::from_params(params).unwrap();
        let mut u = user(0.2, 100.0);
        m2.watched(&mut u, &good, 4.0, 0.0);
        assert!((u.time_budget - (96.0 + 0.9 / 3.4 * 4.0 * (1.2 + 2.0))).abs() < 1e-12);
    }

    #[test]
    fn a_step_costs_the_penalty_or_the_watch_time_and_the_flip_comes_only_with_a_click() {
        let m = model();
        let slate = [
            IevDoc {
                cluster: 0,
                quality: -3.0,
            },
            IevDoc {
                cluster: 19,
                quality: 3.0,
            },
        ];
        let mut u = user(0.0, 10.0);
        let mut rng = stream(4, StreamId::Noise);
        let before = rng.clone();
        m.update_state(&mut u, &slate, &[IevResponse::default(); 2], &mut rng);
        assert_eq!(u.time_budget, 9.5);
        assert_eq!(rng, before, "no click, no coin flip");
        let clicked = IevResponse {
            click: true,
            watch_time: 4.0,
            quality: -3.0,
            cluster_id: 0,
            liked: false,
        };
        m.update_state(&mut u, &slate, &[clicked, IevResponse::default()], &mut rng);
        let mut expected = before.clone();
        let flip: f64 = expected.random();
        assert_eq!(rng, expected, "one uniform per click");
        assert!((u.time_budget - (9.5 - 4.0 - 0.9 / 3.4 * 12.0)).abs() < 1e-12);
        let dir = if flip < 0.5 { 1.0 } else { -1.0 };
        assert!((u.interests[0] - dir * 0.3).abs() < 1e-15);
    }

    #[test]
    fn clicks_follow_the_proportional_choice_and_watch_what_budget_remains() {
        let m = model();
        let mut u = user(0.0, 2.5);
        u.interests[2] = 0.6;
        u.interests[5] = -0.2;
        let slate = [
            IevDoc {
                cluster: 2,
                quality: 1.0,
            },
            IevDoc {
                cluster: 5,
                quality: -1.0,
            },
        ];
        let mut rng = stream(8, StreamId::Noise);
        let mut counts = [0usize; 3];
        let n = 100_000;
        let mut responses = [IevResponse::default(); 2];
        for _ in 0..n {
            responses.fill(IevResponse::default());
            m.simulate_response(&u, &slate, &mut rng, &mut responses);
            assert_eq!((responses[1].quality, responses[1].cluster_id), (-1.0, 5));
            match responses.iter().position(|r| r.click) {
                Some(i) => {
                    assert_eq!(responses[i].watch_time, 2.5, "min(budget, length)");
                    assert_eq!(m.reward(&responses), 2.5);
                    counts[i] += 1;
                }
                None => {
                    assert_eq!(m.reward(&responses), 0.0);
                    counts[2] += 1;
                }
            }
        }
        // Weights 1.6, 0.8 and 2 (no click) over 4.4; binomial sd ≤ 0.0016.
        for (c, p) in counts.iter().zip([1.6 / 4.4, 0.8 / 4.4, 2.0 / 4.4]) {
            assert!((*c as f64 / n as f64 - p).abs() < 0.008, "{counts:?}");
        }
    }

    #[test]
    fn observations_and_the_greedy_score() {
        let m = model();
        let doc = IevDoc {
            cluster: 4,
            quality: 1.0,
        };
        let mut d = [9.0f32; NUM_CLUSTERS];
        m.doc_observation(&doc, &mut d);
        assert!(d.iter().enumerate().all(|(i, &x)| x == f32::from(i == 4)));
        let mut u = user(0.25, 50.0);
        u.interests[4] = -0.5;
        let mut obs = [0f32; NUM_CLUSTERS];
        m.user_observation(&u, &mut obs);
        assert_eq!(InterestEvolution::myopic_score(&obs, &d), -0.5);
        assert_eq!(InterestEvolution::myopic_score(&[], &d), 0.0);
        let mut feature = [0f32];
        m.user_features(&u, &mut feature);
        assert_eq!(feature, [0.25]);
        u.time_budget = -1.0;
        m.user_features(&u, &mut feature);
        assert_eq!(feature, [0.0]);
        assert!(m.is_terminal(&u));
    }

    #[test]
    fn parameters_are_validated_by_name() {
        for (name, bad) in [
            ("min_normalizer", -0.5),
            ("no_click_mass", -1.0),
            ("no_click_mass", f64::NAN),
            ("step_penalty", 0.0),
            ("quality_stddev", -0.1),
            ("time_budget", f64::INFINITY),
            ("document_quality_factor", -1.0),
            ("alpha_x_intercept", 0.0),
        ] {
            let overrides = ParamSet::from([(name.to_string(), bad)]);
            let err = IevParams::default().with_overrides(&overrides).unwrap_err();
            assert!(err.to_string().contains(name), "{name}={bad}: {err}");
        }
        let err = IevParams::default().set("budget", 1.0).unwrap_err();
        assert!(
            err.to_string().contains("time_budget"),
            "lists the known names: {err}"
        );
    }

    #[test]
    fn episodes_end_when_the_budget_runs_out() {
        let config = EnvConfig {
            num_candidates: 10,
            slate_size: 2,
            ..EnvConfig::default()
        };
        let mut env = Environment::new(model(), config).unwrap();
        env.reset();
        let mut steps = 1;
        loop {
            let out = env.step(&[0, 1]).unwrap();
            if let Some(click) = out.click {
                let response = env.responses()[click.position];
                assert_eq!(click.quality, Some(response.quality));
                assert_eq!(click.cluster, Some(response.cluster_id));
            }
            if out.done {
                break;
            }
            steps += 1;
        }
        assert!(env.user().time_budget <= 0.0);
        // 200 budget at 0.5 per unclicked step at most, a few units per click at least.
        assert!((20..=400).contains(&steps), "{steps}");
    }
}
