//! A logged observation seen as an environment, so that any policy (a baseline, a
//! checkpoint, a randomised one) acts on logs as it acts on a live environment.

use std::sync::Arc;

use env::{
    Env, EnvError, EnvState, KnownChoice, Layout, Scenario, Simulator, SlateObs, SlotResponse,
    Space, Step, Value, World,
};

use crate::LogError;

/// The observation a [`LoggedEnv`] shows.
pub struct LoggedObs {
    user: Vec<f32>,
    items: Vec<f32>,
    doc_dim: usize,
    world: Arc<dyn World>,
}

impl SlateObs for LoggedObs {
    fn user(&self) -> &[f32] {
        &self.user
    }
    fn items(&self) -> &[f32] {
        &self.items
    }
    fn item_dim(&self) -> usize {
        self.doc_dim
    }
    fn myopic_scores(&self, out: &mut [f64]) {
        self.world.myopic_scores(&self.user, &self.items, out);
    }
    fn to_value(&self) -> Value {
        let array = |xs: &[f32]| Value::Array(xs.iter().map(|&x| f64::from(x)).collect());
        Value::Dict(vec![
            ("item".into(), array(&self.items)),
            ("user".into(), array(&self.user)),
        ])
    }
}

/// An environment that shows one logged observation at a time ([`LoggedEnv::show`]) and
/// cannot step: what a policy is asked to act on when it is evaluated on logs. It knows
/// what the observation reveals and no more: the user's hidden state reads as NaN.
pub struct LoggedEnv {
    obs: LoggedObs,
    layout: Layout,
    spaces: (Space, Space),
    known: KnownChoice,
    feature_names: &'static [&'static str],
}

impl LoggedEnv {
    /// A view of observations of `scenario` (its world's scores, layout and spaces).
    pub fn new(scenario: &Scenario) -> Result<Self, LogError> {
        let live = scenario.build()?;
        let layout = live.layout();
        Ok(Self {
            obs: LoggedObs {
                user: vec![0.0; layout.user_dim],
                items: vec![0.0; layout.num_candidates * layout.doc_dim],
                doc_dim: layout.doc_dim,
                world: scenario.world()?,
            },
            layout,
            spaces: live.spaces(),
            known: live.known_choice(),
            feature_names: live.user_feature_names(),
        })
    }

    /// Shows this observation: the user and the `N × d` candidate features.
    ///
    /// # Panics
    /// If the lengths are not the layout's.
    pub fn show(&mut self, user: &[f32], items: &[f32]) {
        self.obs.user.copy_from_slice(user);
        self.obs.items.copy_from_slice(items);
    }

    /// The layout of every observation.
    pub fn layout(&self) -> Layout {
        self.layout
    }
}

impl Env for LoggedEnv {
    type Obs = LoggedObs;
    type Act = [usize];

    fn observation_space(&self) -> Space {
        self.spaces.0.clone()
    }
    fn action_space(&self) -> Space {
        self.spaces.1.clone()
    }
    fn reset(&mut self, _seed: Option<u64>) -> &LoggedObs {
        &self.obs
    }
    fn step(&mut self, _action: &[usize]) -> Result<Step<'_, LoggedObs>, EnvError> {
        Err(EnvError::State(
            "a logged observation cannot be stepped: what followed is in the log".into(),
        ))
    }
    fn observation(&self) -> &LoggedObs {
        &self.obs
    }
}

impl Simulator for LoggedEnv {
    fn user_feature_names(&self) -> &'static [&'static str] {
        self.feature_names
    }
    fn slate_size(&self) -> usize {
        self.layout.slate_size
    }
    fn write_user_features(&self, out: &mut [f32]) {
        out.fill(f32::NAN);
    }
    fn doc_id(&self, position: usize) -> u64 {
        position as u64
    }
    fn known_choice(&self) -> KnownChoice {
        self.known
    }
    fn write_responses(&self, out: &mut [SlotResponse]) {
        out.fill(SlotResponse::default());
    }
    fn save_state(&self) -> EnvState {
        EnvState {
            simulator: Vec::new(),
            started: true,
            elapsed_steps: None,
        }
    }
    fn load_state(&mut self, _state: &EnvState) -> Result<(), EnvError> {
        Err(EnvError::State(
            "a logged observation has no simulator state to restore".into(),
        ))
    }
    fn unwrapped(&self) -> &dyn Simulator {
        self
    }
}
