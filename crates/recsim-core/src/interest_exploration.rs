//! Interest exploration, model §3: documents of two topics, a rare one of high production
//! quality and a common one of low, and hidden users of two types with log-normal topic
//! affinities. The user never changes and the episode never ends by itself.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::choice::{ChoiceModel, MultinomialLogit};
use crate::params::check_range;
use crate::{ConfigError, EpisodeLength, Model, Params, SimRng};

/// Number of topics (clusters) `IETopicDocumentSampler` sets up by default.
pub const NUM_TOPICS: usize = 2;
/// Number of user types of `IEClusterUserSampler`.
pub const NUM_USER_TYPES: usize = 2;

/// The parameters of RecSim's `IETopicDocumentSampler`, `IEClusterUserSampler` and
/// `IEUserModel` (RecSim's defaults). Log-normal draws are `exp(N(mean, stddev))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IeParams {
    /// Probability of topic 0; topic 1 has the rest (`topic_distribution`).
    pub topic_0_probability: f64,
    /// Log-mean of a document's quality, per topic.
    pub topic_quality_mean: [f64; NUM_TOPICS],
    /// Log-standard deviation of a document's quality, per topic.
    pub topic_quality_stddev: [f64; NUM_TOPICS],
    /// Probability of user type 0; type 1 has the rest (`user_type_distribution`).
    pub user_type_0_probability: f64,
    /// Log-mean of a user's affinity, `[user type][topic]`.
    pub user_type_mean_affinity: [[f64; NUM_TOPICS]; NUM_USER_TYPES],
    /// Log-standard deviation of a user's affinity, `[user type][topic]`.
    pub user_type_stddev_affinity: [[f64; NUM_TOPICS]; NUM_USER_TYPES],
    /// Logit of the no-click option.
    pub no_click_mass: f64,
}

impl Default for IeParams {
    fn default() -> Self {
        Self {
            topic_0_probability: 0.2,
            topic_quality_mean: [0.8, 0.2],
            topic_quality_stddev: [0.1, 0.1],
            user_type_0_probability: 0.3,
            user_type_mean_affinity: [[0.1, 0.7], [0.7, 0.1]],
            user_type_stddev_affinity: [[0.1, 0.1], [0.1, 0.1]],
            no_click_mass: 5.0,
        }
    }
}

impl Params for IeParams {
    const MODEL: &'static str = "interest exploration";

    fn fields(&mut self) -> Vec<(&'static str, &mut f64)> {
        let [q0, q1] = &mut self.topic_quality_mean;
        let [qs0, qs1] = &mut self.topic_quality_stddev;
        let [[m00, m01], [m10, m11]] = &mut self.user_type_mean_affinity;
        let [[s00, s01], [s10, s11]] = &mut self.user_type_stddev_affinity;
        vec![
            ("topic_0_probability", &mut self.topic_0_probability),
            ("topic_0_quality_mean", q0),
            ("topic_1_quality_mean", q1),
            ("topic_0_quality_stddev", qs0),
            ("topic_1_quality_stddev", qs1),
            ("user_type_0_probability", &mut self.user_type_0_probability),
            ("user_type_0_topic_0_affinity_mean", m00),
            ("user_type_0_topic_1_affinity_mean", m01),
            ("user_type_1_topic_0_affinity_mean", m10),
            ("user_type_1_topic_1_affinity_mean", m11),
            ("user_type_0_topic_0_affinity_stddev", s00),
            ("user_type_0_topic_1_affinity_stddev", s01),
            ("user_type_1_topic_0_affinity_stddev", s10),
            ("user_type_1_topic_1_affinity_stddev", s11),
            ("no_click_mass", &mut self.no_click_mass),
        ]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        // The names say what each value is; the bounds keep every log-normal draw, and so
        // every logit, finite.
        for (name, value) in self.values() {
            if name.ends_with("_probability") {
                check_range(name, value, 0.0, 1.0, "must be a probability in [0, 1]")?;
            } else if name.ends_with("_mean") {
                check_range(name, value, -50.0, 50.0, "must be a log-mean in [−50, 50]")?;
            } else if name.ends_with("_stddev") {
                check_range(name, value, 0.0, 5.0, "must be a log-stddev in [0, 5]")?;
            } else {
                check_range(name, value, -1e6, 1e6, "must be finite, |x| ≤ 1e6")?;
            }
        }
        Ok(())
    }
}

/// A document: its topic and its (positive) quality.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IeDoc {
    /// The topic, `0..NUM_TOPICS`.
    pub topic: usize,
    /// The (positive) production quality.
    pub quality: f64,
}

/// The hidden, static user: a type and a positive affinity per topic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IeUser {
    /// The user's type, `0..NUM_USER_TYPES`.
    pub user_type: usize,
    /// The affinity to each topic.
    pub affinity: [f64; NUM_TOPICS],
}

/// One slate position's response; quality and cluster are revealed for every position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct IeResponse {
    /// Whether the user clicked this position.
    pub click: bool,
    /// The shown document's quality.
    pub quality: f64,
    /// The shown document's topic.
    pub cluster_id: usize,
}

/// Interest exploration with RecSim's `MultinomialLogitChoiceModel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterestExploration {
    params: IeParams,
    choice: MultinomialLogit,
}

impl InterestExploration {
    /// The click logit of a document: the user's affinity to its topic plus its quality.
    #[inline]
    pub fn score(user: &IeUser, doc: &IeDoc) -> f64 {
        user.affinity[doc.topic] + doc.quality
    }
}

/// Index 0 with probability `p0`, else 1, from one uniform (`np.random.choice`).
#[inline]
fn two_way(rng: &mut SimRng, p0: f64) -> usize {
    usize::from(rng.random::<f64>() >= p0)
}

#[inline]
fn log_normal(rng: &mut SimRng, mean: f64, stddev: f64) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    (mean + stddev * z).exp()
}

impl Model for InterestExploration {
    type Params = IeParams;
    type Doc = IeDoc;
    type User = IeUser;
    type Response = IeResponse;

    const NAME: &'static str = "interest exploration";
    /// RLlib's flattening of the document's `Dict(cluster_id, quality)`, keys in order:
    /// `[onehot(cluster_id) (2), quality]`.
    const DOC_DIM: usize = NUM_TOPICS + 1;
    /// The user is hidden.
    const USER_OBS_DIM: usize = 0;
    /// The user's topic affinities.
    const USER_FEATURES: &'static [&'static str] = &["affinity_topic_0", "affinity_topic_1"];
    const NUM_CLUSTERS: Option<usize> = Some(NUM_TOPICS);

    fn from_params(params: IeParams) -> Result<Self, ConfigError> {
        params.validate()?;
        let choice = MultinomialLogit::new(params.no_click_mass)?;
        Ok(Self { params, choice })
    }

    fn params(&self) -> &IeParams {
        &self.params
    }

    #[inline]
    fn sample_document(&self, rng: &mut SimRng) -> IeDoc {
        let p = &self.params;
        let topic = two_way(rng, p.topic_0_probability);
        IeDoc {
            topic,
            quality: log_normal(
                rng,
                p.topic_quality_mean[topic],
                p.topic_quality_stddev[topic],
            ),
        }
    }

    #[inline]
    fn sample_user(&self, rng: &mut SimRng) -> IeUser {
        let p = &self.params;
        let user_type = two_way(rng, p.user_type_0_probability);
        let (mean, stddev) = (
            p.user_type_mean_affinity[user_type],
            p.user_type_stddev_affinity[user_type],
        );
        IeUser {
            user_type,
            affinity: std::array::from_fn(|t| log_normal(rng, mean[t], stddev[t])),
        }
    }

    #[inline]
    fn simulate_response(
        &self,
        user: &IeUser,
        slate: &[IeDoc],
        rng: &mut SimRng,
        responses: &mut [IeResponse],
    ) {
        for (doc, response) in slate.iter().zip(responses.iter_mut()) {
            response.quality = doc.quality;
            response.cluster_id = doc.topic;
        }
        let scores = slate.iter().map(|d| Self::score(user, d));
        let clicked = self
            .choice
            .choose(scores, rng)
            .expect("logits are finite: IeParams::validate bounds every log-normal draw");
        if let Some(i) = clicked {
            responses[i].click = true;
        }
    }

    /// The user is static: RecSim's `update_state` does nothing.
    #[inline]
    fn update_state(&self, _: &mut IeUser, _: &[IeDoc], _: &[IeResponse], _: &mut SimRng) {}

    /// Never: only a time limit ends an episode.
    #[inline]
    fn is_terminal(&self, _user: &IeUser) -> bool {
        false
    }

    fn episode_length(&self) -> EpisodeLength {
        EpisodeLength::Endless
    }

    /// The number of clicks (`total_clicks_reward`).
    #[inline]
    fn reward(&self, responses: &[IeResponse]) -> f64 {
        responses.iter().filter(|r| r.click).count() as f64
    }

    #[inline]
    fn is_click(response: &IeResponse) -> bool {
        response.click
    }

    #[inline]
    fn quality_and_cluster(response: &IeResponse) -> Option<(f64, usize)> {
        Some((response.quality, response.cluster_id))
    }

    #[inline]
    fn doc_observation(&self, doc: &IeDoc, out: &mut [f32]) {
        // A constant length lets the compiler clear the one-hot inline (no memset call).
        out[..NUM_TOPICS].fill(0.0);
        out[doc.topic] = 1.0;
        out[NUM_TOPICS] = doc.quality as f32;
    }

    #[inline]
    fn user_observation(&self, _user: &IeUser, _out: &mut [f32]) {}

    #[inline]
    fn user_features(&self, user: &IeUser, out: &mut [f32]) {
        for (o, a) in out.iter_mut().zip(&user.affinity) {
            *o = *a as f32;
        }
    }

    #[inline]
    fn response_observation(&self, response: &IeResponse) -> IeResponse {
        *response
    }

    /// The document's quality: the part of the click logit an agent can see (the user's
    /// affinity is hidden).
    #[inline]
    fn myopic_score(_user_obs: &[f32], doc_obs: &[f32]) -> f64 {
        f64::from(doc_obs[NUM_TOPICS])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{stream, EnvConfig, Environment, ParamSet, StreamId};

    fn model() -> InterestExploration {
        InterestExploration::from_params(IeParams::default()).unwrap()
    }

    #[test]
    fn documents_are_mostly_topic_1_and_topic_0_is_better() {
        let m = model();
        let mut rng = stream(2, StreamId::Documents);
        let n = 50_000;
        let (mut topic0, mut log_q) = (0usize, [0.0; 2]);
        for _ in 0..n {
            let d = m.sample_document(&mut rng);
            topic0 += usize::from(d.topic == 0);
            log_q[d.topic] += d.quality.ln();
        }
        // Binomial sd of the frequency ≈ 0.0018.
        assert!((topic0 as f64 / n as f64 - 0.2).abs() < 0.01);
        // Log-quality means 0.8 and 0.2, sd 0.1: standard errors below 0.001.
        assert!((log_q[0] / topic0 as f64 - 0.8).abs() < 0.005);
        assert!((log_q[1] / (n - topic0) as f64 - 0.2).abs() < 0.005);
    }

    #[test]
    fn users_are_of_two_types_with_log_normal_affinities() {
        let m = model();
        let mut rng = stream(2, StreamId::Users);
        let n = 50_000;
        let mut type0 = 0usize;
        let mut log_sum = [[0.0; NUM_TOPICS]; NUM_USER_TYPES];
        for _ in 0..n {
            let u = m.sample_user(&mut rng);
            type0 += usize::from(u.user_type == 0);
            for (sum, a) in log_sum[u.user_type].iter_mut().zip(u.affinity) {
                *sum += a.ln();
            }
        }
        // Type 0 prefers topic 1: log-means (0.1, 0.7); type 1 the reverse. Each mean's
        // standard error is below 0.001.
        let counts = [type0, n - type0];
        for (t, expected) in [[0.1, 0.7], [0.7, 0.1]].iter().enumerate() {
            for (sum, e) in log_sum[t].iter().zip(expected) {
                assert!((sum / counts[t] as f64 - e).abs() < 0.005);
            }
        }
        assert!((type0 as f64 / n as f64 - 0.3).abs() < 0.01);
    }

    #[test]
    fn the_logit_choice_matches_the_spec_example() {
        let m = model();
        // A type-1 user at her log-means meets one document of each topic at theirs.
        let user = IeUser {
            user_type: 1,
            affinity: [0.7f64.exp(), 0.1f64.exp()],
        };
        let slate = [
            IeDoc {
                topic: 0,
                quality: 0.8f64.exp(),
            },
            IeDoc {
                topic: 1,
                quality: 0.2f64.exp(),
            },
        ];
        let scores = slate.map(|d| InterestExploration::score(&user, &d));
        let mut p = [0.0; 2];
        let none = m.choice.probabilities(&scores, &mut p).unwrap();
        let z = scores[0].exp() + scores[1].exp() + 5f64.exp();
        assert!((p[0] - scores[0].exp() / z).abs() < 1e-12);
        assert!((1.0 - none - 0.35).abs() < 0.01, "≈ 0.35: {}", 1.0 - none);
        let mut rng = stream(0, StreamId::Noise);
        let mut responses = [IeResponse::default(); 2];
        let n = 50_000;
        let mut clicks = 0.0;
        for _ in 0..n {
            responses.fill(IeResponse::default());
            m.simulate_response(&user, &slate, &mut rng, &mut responses);
            assert_eq!((responses[0].cluster_id, responses[1].cluster_id), (0, 1));
            clicks += m.reward(&responses);
        }
        // Binomial sd ≈ 0.0021.
        assert!((clicks / n as f64 - (1.0 - none)).abs() < 0.01);
    }

    #[test]
    fn the_user_never_changes_and_the_episode_never_ends() {
        let config = EnvConfig {
            num_candidates: 10,
            slate_size: 2,
            ..EnvConfig::default()
        };
        let mut env = Environment::new(model(), config).unwrap();
        env.reset();
        let user = *env.user();
        for _ in 0..1_000 {
            let out = env.step(&[3, 3]).unwrap();
            assert!(!out.done);
            assert!(out.reward == 0.0 || out.reward == 1.0);
            assert_eq!(out.click.map_or(0.0, |_| 1.0), out.reward);
        }
        assert_eq!(env.user(), &user);
    }

    #[test]
    fn the_flat_document_encoding_and_the_greedy_score() {
        let m = model();
        let mut out = [0f32; 3];
        m.doc_observation(
            &IeDoc {
                topic: 1,
                quality: 1.5,
            },
            &mut out,
        );
        assert_eq!(out, [0.0, 1.0, 1.5]);
        assert_eq!(InterestExploration::myopic_score(&[], &out), 1.5);
        let mut features = [0f32; 2];
        m.user_features(
            &IeUser {
                user_type: 0,
                affinity: [1.1, 2.0],
            },
            &mut features,
        );
        assert_eq!(features, [1.1, 2.0]);
    }

    #[test]
    fn parameters_are_validated_by_name() {
        for (name, bad) in [
            ("topic_0_probability", 1.5),
            ("topic_1_quality_stddev", -0.1),
            ("user_type_1_topic_0_affinity_mean", f64::INFINITY),
            ("no_click_mass", f64::NAN),
            ("topic_0_quality_mean", 800.0),
        ] {
            let overrides = ParamSet::from([(name.to_string(), bad)]);
            let err = IeParams::default().with_overrides(&overrides).unwrap_err();
            assert!(err.to_string().contains(name), "{name}={bad}: {err}");
        }
        let mut p = IeParams::default();
        p.set("user_type_0_topic_1_affinity_stddev", 0.3).unwrap();
        assert_eq!(p.user_type_stddev_affinity[0][1], 0.3);
        assert!(p.set("topic_2_quality_mean", 0.0).is_err());
    }
}
