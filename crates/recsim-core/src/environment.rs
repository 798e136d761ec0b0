use serde::{Deserialize, Serialize};

use crate::{ConfigError, Model, SimRng, StepError, Streams};

/// The candidate-set configuration every environment shares (RLlib's env config keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvConfig {
    /// Candidate documents per step (`N`).
    pub num_candidates: usize,
    /// The most documents a slate holds (`K`).
    pub slate_size: usize,
    /// Draw a fresh candidate set at every reset and step.
    pub resample_documents: bool,
    /// The seed of every random stream.
    pub seed: u64,
}

impl Default for EnvConfig {
    /// The tutorial's main scenario: 20 candidates, slate of 2, resampled, seed 0.
    fn default() -> Self {
        Self {
            num_candidates: 20,
            slate_size: 2,
            resample_documents: true,
            seed: 0,
        }
    }
}

/// An [`EnvConfig`] whose sizes [`EnvConfig::checked`] accepted: an environment built
/// from it cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedEnvConfig(EnvConfig);

impl CheckedEnvConfig {
    /// The configuration it holds.
    pub fn get(&self) -> &EnvConfig {
        &self.0
    }

    /// The same sizes with every random stream from `seed` (any seed is valid).
    pub fn with_seed(self, seed: u64) -> Self {
        Self(EnvConfig { seed, ..self.0 })
    }
}

impl EnvConfig {
    /// The configuration, once its sizes are checked ([`EnvConfig::validate`]).
    pub fn checked(self) -> Result<CheckedEnvConfig, ConfigError> {
        self.validate().map(|()| CheckedEnvConfig(self))
    }

    /// Checks the sizes: at least one candidate, a slate of one to `N` documents.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.num_candidates == 0 {
            return Err(ConfigError::NoCandidates);
        }
        if self.slate_size == 0 {
            return Err(ConfigError::EmptySlate);
        }
        if self.slate_size > self.num_candidates {
            return Err(ConfigError::SlateTooLarge {
                slate_size: self.slate_size,
                num_candidates: self.num_candidates,
            });
        }
        Ok(())
    }
}

/// The user's click in one step: the slate position, and the clicked document's quality
/// and cluster where the model has them ([`Model::quality_and_cluster`]; RecSim's
/// video-cluster metrics count them). Every step type embeds this one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Click {
    /// The slate position that was clicked.
    pub position: usize,
    /// The clicked document's quality, where the model has one.
    pub quality: Option<f64>,
    /// The clicked document's cluster, where the model has one.
    pub cluster: Option<usize>,
}

/// What one step produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The step's reward (RecSim's reward aggregation over the responses).
    pub reward: f64,
    /// The user model's termination, evaluated on the updated state.
    pub done: bool,
    /// The click, if the user clicked.
    pub click: Option<Click>,
}

/// RecSim's `SingleUserEnvironment`: a model, its candidate set and its random streams.
///
/// Documents are addressed by their position in the candidate set; ids are kept for
/// display and grow as RecSim's do (construction takes ids `0..N`, each resample the next
/// `N`).
///
/// The whole state, streams included, serialises, so a checkpoint can continue an
/// episode exactly where it stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Environment<M: Model> {
    model: M,
    config: EnvConfig,
    streams: Streams,
    candidates: Vec<M::Doc>,
    first_id: u64,
    next_id: u64,
    user: M::User,
    done: bool,
    slate: Vec<M::Doc>,
    responses: Vec<M::Response>,
}

impl<M: Model> Environment<M> {
    /// Builds the environment as RecSim's constructor does: `N` documents and one user are
    /// drawn (and used up) before the first `reset`.
    pub fn new(model: M, config: EnvConfig) -> Result<Self, ConfigError> {
        Ok(Self::with_checked(model, config.checked()?))
    }

    /// [`Environment::new`] with a configuration already checked.
    pub fn with_checked(model: M, config: CheckedEnvConfig) -> Self {
        let config = *config.get();
        let mut streams = Streams::new(config.seed);
        let user = model.sample_user(&mut streams.users);
        let candidates = (0..config.num_candidates)
            .map(|_| model.sample_document(&mut streams.documents))
            .collect();
        Self {
            model,
            config,
            streams,
            candidates,
            first_id: 0,
            next_id: config.num_candidates as u64,
            user,
            done: false,
            slate: Vec::with_capacity(config.slate_size),
            responses: vec![M::Response::default(); config.slate_size],
        }
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The candidate-set configuration.
    pub fn config(&self) -> &EnvConfig {
        &self.config
    }

    /// The current candidates, by position.
    pub fn candidates(&self) -> &[M::Doc] {
        &self.candidates
    }

    /// The id of the document at `position` in the current candidate set.
    pub fn doc_id(&self, position: usize) -> u64 {
        self.first_id + position as u64
    }

    /// The user's latent state.
    pub fn user(&self) -> &M::User {
        &self.user
    }

    /// The responses of the last step, one per slate position shown.
    pub fn responses(&self) -> &[M::Response] {
        &self.responses[..self.slate.len()]
    }

    /// Whether the episode has ended.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The random streams.
    pub fn streams(&self) -> &Streams {
        &self.streams
    }

    /// Restarts every stream from `seed`, as if the environment had just been built with it.
    pub fn reseed(&mut self, seed: u64) {
        self.config.seed = seed;
        self.streams = Streams::new(seed);
        self.first_id = 0;
        self.next_id = 0;
        self.user = self.model.sample_user(&mut self.streams.users);
        self.sample_candidates();
    }

    /// Draws a fresh user and, when resampling, a fresh candidate set.
    pub fn reset(&mut self) {
        self.user = self.model.sample_user(&mut self.streams.users);
        if self.config.resample_documents {
            self.sample_candidates();
        }
        self.slate.clear();
        self.done = false;
    }

    /// Checks a slate without touching any state.
    pub fn check_slate(&self, slate: &[usize]) -> Result<(), StepError> {
        if self.done {
            return Err(StepError::EpisodeOver);
        }
        if slate.is_empty() {
            return Err(StepError::EmptySlate);
        }
        if slate.len() > self.config.slate_size {
            return Err(StepError::SlateTooLong {
                len: slate.len(),
                slate_size: self.config.slate_size,
            });
        }
        if let Some(&position) = slate.iter().find(|&&p| p >= self.candidates.len()) {
            return Err(StepError::PositionOutOfRange {
                position,
                num_candidates: self.candidates.len(),
            });
        }
        Ok(())
    }

    /// One step in RecSim's order: choice and response, transition, termination, then
    /// resampling. A refused slate leaves the state unchanged.
    pub fn step(&mut self, slate: &[usize]) -> Result<Outcome, StepError> {
        self.check_slate(slate)?;
        self.slate.clear();
        self.slate.extend(slate.iter().map(|&p| self.candidates[p]));
        let k = self.slate.len();
        let responses = &mut self.responses[..k];
        responses.fill(M::Response::default());
        let noise = &mut self.streams.noise;
        self.model
            .simulate_response(&self.user, &self.slate, noise, responses);
        self.model
            .update_state(&mut self.user, &self.slate, responses, noise);
        let reward = self.model.reward(responses);
        let click = responses.iter().position(M::is_click).map(|position| {
            let video = M::quality_and_cluster(&responses[position]);
            Click {
                position,
                quality: video.map(|(quality, _)| quality),
                cluster: video.map(|(_, cluster)| cluster),
            }
        });
        self.done = self.model.is_terminal(&self.user);
        if self.config.resample_documents {
            self.sample_candidates();
        }
        Ok(Outcome {
            reward,
            done: self.done,
            click,
        })
    }

    /// Replaces the candidate set. The set holds `N` documents from construction on, so
    /// they are overwritten in place: cheaper per document than clearing and pushing.
    fn sample_candidates(&mut self) {
        let rng: &mut SimRng = &mut self.streams.documents;
        for doc in &mut self.candidates {
            *doc = self.model.sample_document(rng);
        }
        self.first_id = self.next_id;
        self.next_id += self.config.num_candidates as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LongTermSatisfaction, LtsParams};

    fn env(resample: bool, seed: u64) -> Environment<LongTermSatisfaction> {
        let model = LongTermSatisfaction::from_params(LtsParams::strong()).unwrap();
        let config = EnvConfig {
            num_candidates: 5,
            slate_size: 2,
            resample_documents: resample,
            seed,
        };
        Environment::new(model, config).unwrap()
    }

    #[test]
    fn ids_follow_recsim_with_resampling() {
        let mut e = env(true, 0);
        assert_eq!(e.doc_id(0), 0, "construction samples ids 0..N");
        e.reset();
        assert_eq!(
            (e.doc_id(0), e.doc_id(4)),
            (5, 9),
            "reset resamples: N..2N-1"
        );
        let before = e.candidates().to_vec();
        e.step(&[0, 1]).unwrap();
        assert_eq!(e.doc_id(0), 10, "every step resamples");
        assert_ne!(e.candidates(), &before[..]);
    }

    #[test]
    fn without_resampling_the_set_is_fixed_for_life() {
        let mut e = env(false, 0);
        let first = e.candidates().to_vec();
        for _ in 0..3 {
            e.reset();
            e.step(&[1, 1]).unwrap();
            assert_eq!(e.candidates(), &first[..]);
            assert_eq!(e.doc_id(4), 4);
        }
    }

    #[test]
    fn same_seed_same_episode_and_policies_share_documents_and_users() {
        let (mut a, mut b, mut c) = (env(true, 9), env(true, 9), env(true, 9));
        for e in [&mut a, &mut b, &mut c] {
            e.reset();
        }
        for t in 0..120 {
            assert_eq!(a.candidates(), c.candidates());
            assert_eq!(a.candidates(), b.candidates());
            let ra = a.step(&[t % 5, 0]).unwrap();
            let rb = b.step(&[t % 5, 0]).unwrap();
            c.step(&[(t + 2) % 5, 3]).unwrap();
            assert_eq!(ra, rb, "same seed, same slates: bit for bit");
        }
        a.reset();
        c.reset();
        assert_eq!(a.user(), c.user(), "users do not depend on the policy");
        let mut d = env(true, 10);
        d.reset();
        assert_ne!(d.candidates(), a.candidates());
    }

    #[test]
    fn bad_slates_are_refused_and_change_nothing() {
        let mut e = env(true, 1);
        e.reset();
        let before = format!("{e:?}");
        let cases: [(&[usize], StepError); 3] = [
            (
                &[5],
                StepError::PositionOutOfRange {
                    position: 5,
                    num_candidates: 5,
                },
            ),
            (
                &[0, 1, 2],
                StepError::SlateTooLong {
                    len: 3,
                    slate_size: 2,
                },
            ),
            (&[], StepError::EmptySlate),
        ];
        for (slate, expected) in cases {
            assert_eq!(e.step(slate).unwrap_err().to_string(), expected.to_string());
            assert_eq!(format!("{e:?}"), before);
        }
        // A repeated position and a short slate are accepted, as in RecSim.
        assert!(e.step(&[3, 3]).is_ok());
        assert!(e.step(&[2]).is_ok());
    }

    #[test]
    fn bad_configurations_are_refused() {
        let model = LongTermSatisfaction::from_params(LtsParams::default()).unwrap();
        let cfg = |n, k| EnvConfig {
            num_candidates: n,
            slate_size: k,
            resample_documents: true,
            seed: 0,
        };
        assert!(matches!(
            Environment::new(model.clone(), cfg(0, 0)).unwrap_err(),
            ConfigError::NoCandidates
        ));
        assert!(matches!(
            Environment::new(model.clone(), cfg(3, 4)).unwrap_err(),
            ConfigError::SlateTooLarge {
                slate_size: 4,
                num_candidates: 3
            }
        ));
        assert!(matches!(
            Environment::new(model, cfg(3, 0)).unwrap_err(),
            ConfigError::EmptySlate
        ));
    }

    #[test]
    fn stepping_after_the_end_needs_a_reset() {
        let mut e = env(true, 2);
        e.reset();
        while !e.step(&[0]).unwrap().done {}
        assert!(matches!(e.step(&[0]).unwrap_err(), StepError::EpisodeOver));
        e.reset();
        assert!(e.step(&[0]).is_ok());
    }
}
