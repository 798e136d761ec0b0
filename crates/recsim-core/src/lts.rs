//! Long-term satisfaction ("Choc/Kale"), model §1.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::params::{check_min, check_range};
use crate::{sigmoid, ConfigError, EpisodeLength, KnownChoice, Model, Params, SimRng};

/// The user parameters of RecSim's `LTSStaticUserSampler`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LtsParams {
    /// How much of its net positive exposure the user keeps each step (`γ`).
    pub memory_discount: f64,
    /// How strongly satisfaction follows the exposure (`β`).
    pub sensitivity: f64,
    /// Standard deviation of the exposure's noise each step.
    pub innovation_stddev: f64,
    /// Mean log-engagement of pure clickbait (`c = 1`), at full satisfaction.
    pub choc_mean: f64,
    /// Standard deviation of pure clickbait's log-engagement.
    pub choc_stddev: f64,
    /// Mean log-engagement of pure kale (`c = 0`), at full satisfaction.
    pub kale_mean: f64,
    /// Standard deviation of pure kale's log-engagement.
    pub kale_stddev: f64,
    /// Steps per episode: each costs one unit.
    pub time_budget: f64,
}

impl Default for LtsParams {
    /// RecSim's defaults.
    fn default() -> Self {
        Self {
            memory_discount: 0.7,
            sensitivity: 0.01,
            innovation_stddev: 0.05,
            choc_mean: 5.0,
            choc_stddev: 1.0,
            kale_mean: 4.0,
            kale_stddev: 1.0,
            time_budget: 60.0,
        }
    }
}

impl LtsParams {
    /// The reference tutorial's "StrongLTS": a user far more sensitive to clickbait.
    pub fn strong() -> Self {
        Self {
            sensitivity: 0.06,
            time_budget: 120.0,
            choc_stddev: 0.1,
            kale_stddev: 0.1,
            ..Self::default()
        }
    }

    /// Mean of the log-engagement for clickbait `c` at satisfaction `sat`.
    #[inline]
    pub fn engagement_loc(&self, c: f64, sat: f64) -> f64 {
        (c * self.choc_mean + (1.0 - c) * self.kale_mean) * sat
    }

    /// Standard deviation of the log-engagement for clickbait `c`.
    #[inline]
    pub fn engagement_scale(&self, c: f64) -> f64 {
        c * self.choc_stddev + (1.0 - c) * self.kale_stddev
    }

    /// Net positive exposure after serving clickbait `c`, before the innovation noise.
    #[inline]
    pub fn next_exposure_mean(&self, npe: f64, c: f64) -> f64 {
        self.memory_discount * npe - 2.0 * (c - 0.5)
    }

    /// Satisfaction at net positive exposure `npe`: `σ(β·npe)`.
    #[inline]
    pub fn satisfaction(&self, npe: f64) -> f64 {
        sigmoid(self.sensitivity * npe)
    }

    /// Episode length: every step costs one unit of budget.
    pub fn horizon(&self) -> usize {
        self.time_budget.ceil() as usize
    }
}

impl Params for LtsParams {
    const MODEL: &'static str = "long-term satisfaction";

    fn fields(&mut self) -> Vec<(&'static str, &mut f64)> {
        vec![
            ("memory_discount", &mut self.memory_discount),
            ("sensitivity", &mut self.sensitivity),
            ("innovation_stddev", &mut self.innovation_stddev),
            ("choc_mean", &mut self.choc_mean),
            ("choc_stddev", &mut self.choc_stddev),
            ("kale_mean", &mut self.kale_mean),
            ("kale_stddev", &mut self.kale_stddev),
            ("time_budget", &mut self.time_budget),
        ]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        // γ = 1 would make the initial exposure's range (±1/(2(1−γ))) infinite.
        check_range(
            "memory_discount",
            self.memory_discount,
            0.0,
            1.0 - f64::EPSILON,
            "must be in [0, 1)",
        )?;
        check_min("sensitivity", self.sensitivity, 0.0, false)?;
        check_range(
            "innovation_stddev",
            self.innovation_stddev,
            0.0,
            100.0,
            "must be in [0, 100]",
        )?;
        // Engagement is exp(mean·satisfaction + stddev·z): with |mean| ≤ 50 and stddev ≤ 20
        // even a 10-sigma draw stays below e^250, and any episode's return stays finite.
        let stddev = "must be in [0, 20], where engagement stays a finite number";
        check_range("choc_stddev", self.choc_stddev, 0.0, 20.0, stddev)?;
        check_range("kale_stddev", self.kale_stddev, 0.0, 20.0, stddev)?;
        let mean = "must be in [−50, 50], where engagement stays a finite number";
        check_range("choc_mean", self.choc_mean, -50.0, 50.0, mean)?;
        check_range("kale_mean", self.kale_mean, -50.0, 50.0, mean)?;
        check_range(
            "time_budget",
            self.time_budget,
            1.0,
            1e6,
            "must be in [1, 1e6]",
        )
    }
}

/// The latent user state: net positive exposure, satisfaction and remaining budget.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LtsUser {
    /// The discounted sum of past kale minus clickbait.
    pub net_positive_exposure: f64,
    /// `σ(β·net_positive_exposure)`.
    pub satisfaction: f64,
    /// Steps left.
    pub time_budget: f64,
}

/// The response of one slate position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LtsResponse {
    /// Whether the user consumed this position (always position 0).
    pub click: bool,
    /// Time spent on it (log-normal).
    pub engagement: f64,
}

/// The engagement observation is clipped here; the reward is not (model §1.4–1.5).
pub const ENGAGEMENT_OBS_MAX: f64 = 100.0;

/// Long-term satisfaction: the user always clicks slate position 0; clickbait pays now and
/// costs satisfaction later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongTermSatisfaction {
    params: LtsParams,
}

impl Model for LongTermSatisfaction {
    type Params = LtsParams;
    /// A document is its clickbait score in `[0, 1)`.
    type Doc = f64;
    type User = LtsUser;
    type Response = LtsResponse;

    const NAME: &'static str = "long-term satisfaction";
    const DOC_DIM: usize = 1;
    const USER_OBS_DIM: usize = 0;
    const USER_FEATURES: &'static [&'static str] = &["satisfaction"];

    fn from_params(params: LtsParams) -> Result<Self, ConfigError> {
        params.validate()?;
        Ok(Self { params })
    }

    fn params(&self) -> &LtsParams {
        &self.params
    }

    #[inline]
    fn sample_document(&self, rng: &mut SimRng) -> f64 {
        rng.random::<f64>()
    }

    #[inline]
    fn sample_user(&self, rng: &mut SimRng) -> LtsUser {
        let u: f64 = rng.random();
        let npe = (u - 0.5) / (1.0 - self.params.memory_discount);
        LtsUser {
            net_positive_exposure: npe,
            satisfaction: self.params.satisfaction(npe),
            time_budget: self.params.time_budget,
        }
    }

    #[inline]
    fn simulate_response(
        &self,
        user: &LtsUser,
        slate: &[f64],
        rng: &mut SimRng,
        responses: &mut [LtsResponse],
    ) {
        // No choice: position 0 is always clicked; the others get an empty response.
        let c = slate[0];
        let loc = self.params.engagement_loc(c, user.satisfaction);
        let scale = self.params.engagement_scale(c);
        let z: f64 = StandardNormal.sample(rng);
        responses[0] = LtsResponse {
            click: true,
            engagement: (loc + scale * z).exp(),
        };
    }

    #[inline]
    fn update_state(
        &self,
        user: &mut LtsUser,
        slate: &[f64],
        _responses: &[LtsResponse],
        rng: &mut SimRng,
    ) {
        // Drawn after the engagement noise, as RecSim draws its two normals.
        let z: f64 = StandardNormal.sample(rng);
        let npe = self
            .params
            .next_exposure_mean(user.net_positive_exposure, slate[0])
            + self.params.innovation_stddev * z;
        user.net_positive_exposure = npe;
        user.satisfaction = self.params.satisfaction(npe);
        user.time_budget -= 1.0;
    }

    #[inline]
    fn is_terminal(&self, user: &LtsUser) -> bool {
        user.time_budget <= 0.0
    }

    #[inline]
    fn reward(&self, responses: &[LtsResponse]) -> f64 {
        responses
            .iter()
            .filter(|r| r.click)
            .map(|r| r.engagement)
            .sum()
    }

    #[inline]
    fn is_click(response: &LtsResponse) -> bool {
        response.click
    }

    #[inline]
    fn doc_observation(&self, doc: &f64, out: &mut [f32]) {
        out[0] = *doc as f32;
    }

    #[inline]
    fn user_observation(&self, _user: &LtsUser, _out: &mut [f32]) {}

    #[inline]
    fn user_features(&self, user: &LtsUser, out: &mut [f32]) {
        out[0] = user.satisfaction as f32;
    }

    #[inline]
    fn response_observation(&self, response: &LtsResponse) -> LtsResponse {
        LtsResponse {
            click: response.click,
            engagement: response.engagement.clamp(0.0, ENGAGEMENT_OBS_MAX),
        }
    }

    #[inline]
    fn myopic_score(_user_obs: &[f32], doc_obs: &[f32]) -> f64 {
        // Expected engagement rises with clickbait at any satisfaction (μ_c > μ_k).
        f64::from(doc_obs[0])
    }

    fn known_choice(&self) -> KnownChoice {
        KnownChoice::FirstPosition
    }

    fn episode_length(&self) -> EpisodeLength {
        EpisodeLength::Fixed(self.params.horizon())
    }

    fn lts_params(&self) -> Option<&LtsParams> {
        Some(&self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{stream, EnvConfig, Environment, ParamSet, StreamId};

    fn strong() -> LongTermSatisfaction {
        LongTermSatisfaction::from_params(LtsParams::strong()).unwrap()
    }

    #[test]
    fn mean_engagement_matches_the_lognormal_closed_form() {
        let model = LongTermSatisfaction::from_params(LtsParams::default()).unwrap();
        let user = LtsUser {
            net_positive_exposure: 0.0,
            satisfaction: 0.5,
            time_budget: 60.0,
        };
        let mut rng = stream(11, StreamId::Noise);
        let mut responses = [LtsResponse::default(); 2];
        let c = 0.3;
        let n = 200_000;
        let mut sum = 0.0;
        for _ in 0..n {
            model.simulate_response(&user, &[c, 0.9], &mut rng, &mut responses);
            sum += model.reward(&responses);
            assert_eq!(
                responses[1],
                LtsResponse::default(),
                "only position 0 responds"
            );
        }
        let p = model.params();
        let (loc, scale) = (p.engagement_loc(c, 0.5), p.engagement_scale(c));
        assert_eq!((loc, scale), ((0.3 * 5.0 + 0.7 * 4.0) * 0.5, 1.0));
        let expected = (loc + scale * scale / 2.0).exp();
        // Log-normal sd = mean·sqrt(e^{s²}−1) ≈ 1.31·mean; the standard error over 200k
        // draws is 0.29% of the mean, so 1.5% is about 5 standard errors.
        assert!(
            (sum / n as f64 / expected - 1.0).abs() < 0.015,
            "{} vs {expected}",
            sum / n as f64
        );
    }

    #[test]
    fn constant_clickbait_reaches_the_steady_state_exposure() {
        let mut params = LtsParams::strong();
        params.innovation_stddev = 0.0;
        let model = LongTermSatisfaction::from_params(params).unwrap();
        let mut rng = stream(0, StreamId::Noise);
        for c in [0.0, 0.25, 0.75, 1.0] {
            let mut user = model.sample_user(&mut stream(3, StreamId::Users));
            for _ in 0..200 {
                model.update_state(&mut user, &[c], &[], &mut rng);
            }
            let steady = -2.0 * (c - 0.5) / (1.0 - params.memory_discount);
            assert!((user.net_positive_exposure - steady).abs() < 1e-9);
            assert!((user.satisfaction - sigmoid(params.sensitivity * steady)).abs() < 1e-12);
        }
    }

    #[test]
    fn initial_exposure_is_uniform_on_its_range() {
        let model = strong();
        let mut rng = stream(5, StreamId::Users);
        let half = 0.5 / (1.0 - 0.7);
        let draws: Vec<f64> = (0..20_000)
            .map(|_| model.sample_user(&mut rng).net_positive_exposure)
            .collect();
        assert!(draws.iter().all(|&x| (-half..half).contains(&x)));
        let lo = draws.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = draws.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // With 20k uniform draws the extremes sit within 0.1% of the range of its ends.
        assert!(lo < -half + 0.01 && hi > half - 0.01);
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        // sd of the mean = (2·half/√12)/√20000 ≈ 0.0068.
        assert!(mean.abs() < 0.035);
        let user = model.sample_user(&mut rng);
        assert_eq!(user.time_budget, 120.0);
        assert_eq!(
            user.satisfaction,
            sigmoid(0.06 * user.net_positive_exposure)
        );
    }

    #[test]
    fn clickbait_lowers_satisfaction_and_budget_ends_the_episode() {
        let params = LtsParams {
            innovation_stddev: 0.0,
            ..LtsParams::default()
        };
        let model = LongTermSatisfaction::from_params(params).unwrap();
        let mut rng = stream(0, StreamId::Noise);
        let mut user = LtsUser {
            net_positive_exposure: 0.0,
            satisfaction: 0.5,
            time_budget: 2.0,
        };
        model.update_state(&mut user, &[0.9], &[], &mut rng);
        assert!((user.net_positive_exposure + 0.8).abs() < 1e-12);
        assert!(user.satisfaction < 0.5);
        assert!(!model.is_terminal(&user));
        model.update_state(&mut user, &[0.1], &[], &mut rng);
        assert!(model.is_terminal(&user));
    }

    #[test]
    fn observation_clips_engagement_but_reward_does_not() {
        let model = strong();
        let r = LtsResponse {
            click: true,
            engagement: 250.0,
        };
        assert_eq!(model.response_observation(&r).engagement, 100.0);
        assert_eq!(model.reward(&[r, LtsResponse::default()]), 250.0);
    }

    #[test]
    fn parameters_are_validated_by_name() {
        let mut p = LtsParams::default();
        assert!(p.set("sensitivity", 0.2).is_ok());
        assert_eq!(p.sensitivity, 0.2);
        let err = p.set("sensitivty", 0.2).unwrap_err();
        assert!(err.to_string().contains("unknown parameter `sensitivty`"));
        for (name, bad) in [
            ("memory_discount", 1.0),
            ("sensitivity", -0.1),
            ("choc_stddev", f64::NAN),
            ("time_budget", 0.0),
            ("kale_mean", f64::INFINITY),
        ] {
            let overrides = ParamSet::from([(name.to_string(), bad)]);
            let err = LtsParams::default().with_overrides(&overrides).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn every_episode_lasts_the_time_budget() {
        let mut env = Environment::new(strong(), EnvConfig::default()).unwrap();
        env.reset();
        let mut steps = 0;
        while !env.step(&[0, 1]).unwrap().done {
            steps += 1;
        }
        assert_eq!(steps + 1, 120);
    }
}
