use std::fmt::Debug;

use serde::{de::DeserializeOwned, Serialize};

use crate::{ConfigError, KnownChoice, LtsParams, Params, SimRng};

/// How long a model's episodes last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeLength {
    /// Every episode lasts exactly this many steps.
    Fixed(usize),
    /// The dynamics decide; episodes differ.
    Variable,
    /// The model never ends an episode by itself: only a time limit does.
    Endless,
}

/// One RecSim environment's simulated world: the nodes of its dynamic Bayesian network.
///
/// The method names follow RecSim's (`sample_document`, `sample_user`,
/// `simulate_response`, `update_state`, `is_terminal`), so each model reads against the
/// specification. An [`crate::Environment`] calls them in RecSim's order of events.
///
/// The models mark their per-step methods `#[inline]`: an environment is generic over its
/// model and compiled in the calling crate, where a plain function of this crate cannot be
/// inlined (without LTO). Inlining them takes about a fifth off a step.
pub trait Model:
    Clone + Debug + PartialEq + Send + Sync + Serialize + DeserializeOwned + 'static
{
    /// The parameters it is built from, settable by name.
    type Params: Params;
    /// A document's latent and observed properties.
    type Doc: Copy + Debug + Send + Sync + Serialize + DeserializeOwned;
    /// The user's latent state.
    type User: Clone + Debug + Send + Sync + Serialize + DeserializeOwned;
    /// One slate position's response.
    type Response: Copy + Debug + Default + PartialEq + Send + Sync + Serialize + DeserializeOwned;

    /// The model's name, for messages.
    const NAME: &'static str;
    /// Length of one document's observation vector.
    const DOC_DIM: usize;
    /// Length of the user observation; 0 where the user state is hidden.
    const USER_OBS_DIM: usize;
    /// The names of the true user features that the user-features wrapper reveals.
    const USER_FEATURES: &'static [&'static str];
    /// Length of the true user features.
    const USER_FEATURE_DIM: usize = Self::USER_FEATURES.len();
    /// The clusters RecSim's video-cluster metrics count clicks in, where the model has
    /// them ([`Model::quality_and_cluster`]).
    const NUM_CLUSTERS: Option<usize> = None;

    /// Builds the model from a parameter set, validating it first.
    fn from_params(params: Self::Params) -> Result<Self, ConfigError>;
    /// The parameters the model was built from.
    fn params(&self) -> &Self::Params;

    /// The document sampler: one document from the document stream.
    fn sample_document(&self, rng: &mut SimRng) -> Self::Doc;
    /// The user sampler: one fresh user from the user stream.
    fn sample_user(&self, rng: &mut SimRng) -> Self::User;
    /// The choice and response model: fills one response per slate position.
    fn simulate_response(
        &self,
        user: &Self::User,
        slate: &[Self::Doc],
        rng: &mut SimRng,
        responses: &mut [Self::Response],
    );
    /// The transition, given the responses.
    fn update_state(
        &self,
        user: &mut Self::User,
        slate: &[Self::Doc],
        responses: &[Self::Response],
        rng: &mut SimRng,
    );
    /// The user model's end of the episode, on the updated state.
    fn is_terminal(&self, user: &Self::User) -> bool;
    /// Reward aggregation over one step's responses (from the raw, unclipped responses).
    fn reward(&self, responses: &[Self::Response]) -> f64;
    /// Whether a response is a click.
    fn is_click(response: &Self::Response) -> bool;
    /// The quality and cluster of the document a response is about, which RecSim's
    /// video-cluster metrics count for clicked documents (model §4); `None` for models
    /// without them (long-term satisfaction).
    fn quality_and_cluster(_response: &Self::Response) -> Option<(f64, usize)> {
        None
    }

    /// The document as the agent sees it, `DOC_DIM` values.
    fn doc_observation(&self, doc: &Self::Doc, out: &mut [f32]);
    /// The user as the agent sees it, `USER_OBS_DIM` values.
    fn user_observation(&self, user: &Self::User, out: &mut [f32]);
    /// The true user state the user-features wrapper adds, `USER_FEATURE_DIM` values.
    fn user_features(&self, user: &Self::User, out: &mut [f32]);
    /// The response as observed (clipped to its space where RecSim clips it).
    fn response_observation(&self, response: &Self::Response) -> Self::Response;
    /// The one-step score a greedy policy ranks documents by, from observations only.
    fn myopic_score(user_obs: &[f32], doc_obs: &[f32]) -> f64;
    /// The choice model as far as an agent can compute it from observations.
    fn known_choice(&self) -> KnownChoice {
        KnownChoice::Unknown
    }
    /// How long episodes last: a fixed length (long-term satisfaction spends one unit of
    /// its budget per step), a length the dynamics decide, or no end at all.
    fn episode_length(&self) -> EpisodeLength {
        EpisodeLength::Variable
    }
    /// The long-term-satisfaction parameters, where this model is long-term satisfaction:
    /// the planner solves that model exactly, whatever world registered it.
    fn lts_params(&self) -> Option<&LtsParams> {
        None
    }
}
