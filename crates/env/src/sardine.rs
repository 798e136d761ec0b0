//! SARDINE's worlds ([`sardine`]) in the gym layer: its observation (the slate, its clicks,
//! the recent topics' histogram) or, with the user-observation wrapper, its `IdealState`
//! (the true user state), or with the bandit switch RLlib's `{item}` matrix alone; the
//! whole catalogue as the candidates; and its eight presets.

use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock};

use recsim_core::{
    CheckedEnvConfig, Click, ConfigError, EnvConfig, EpisodeLength, KnownChoice, LtsParams,
    ParamSet, Params, StepError, Streams,
};
use sardine::{Catalogue, Preset, Sardine, User};
use serde::{Deserialize, Serialize};

use crate::{
    EnvError, EnvState, Layout, Scenario, Simulator, SlateEnv, SlotResponse, Space, TimeFeature,
    Transition, Value, World, WorldModel,
};

/// One of SARDINE's presets as a registered world: its items generated from `item_seed`,
/// or read from the scenario's `item_embeddings` file.
#[derive(Debug, Clone)]
pub struct SardineWorld {
    preset: Preset,
}

impl SardineWorld {
    /// The preset, under its rlrec name.
    pub fn new(preset: Preset) -> Self {
        Self { preset }
    }
}

/// Each item's embedding (rows of `topics` in `items`) with the user features' first
/// `topics` values: the histogram of recent clicks, or the ideal state's interests.
fn myopic_scores(user: &[f32], items: &[f32], topics: usize, out: &mut [f64]) {
    for (row, score) in items.chunks_exact(topics.max(1)).zip(out) {
        *score = row
            .iter()
            .zip(user)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
    }
}

/// SARDINE's eight presets, with generated items.
pub(crate) fn presets() -> impl Iterator<Item = SardineWorld> {
    Preset::all().into_iter().map(SardineWorld::new)
}

impl World for SardineWorld {
    fn name(&self) -> &str {
        self.preset.name
    }

    fn description(&self) -> &str {
        self.preset.description
    }

    fn default_params(&self) -> Vec<(&'static str, f64)> {
        self.preset.params.values()
    }

    fn default_horizon(&self) -> Option<usize> {
        None
    }

    fn default_config(&self) -> EnvConfig {
        EnvConfig {
            num_candidates: self.preset.num_items,
            slate_size: self.preset.slate_size,
            resample_documents: false,
            seed: 0,
        }
    }

    fn hidden_user(&self) -> bool {
        true
    }

    fn remembers_user(&self, params: &ParamSet) -> bool {
        self.preset
            .params
            .with_overrides(params)
            .is_ok_and(|p| p.click_history_decay().is_some())
    }

    fn num_clusters(&self) -> Option<usize> {
        None
    }

    /// The user features' first `T` values with each item's embedding: the recent topics'
    /// histogram on SARDINE's observation, the current interests on the ideal state (the
    /// short-term oracle's ranking).
    fn myopic_scores(&self, user: &[f32], items: &[f32], out: &mut [f64]) {
        let topics = items.len() / out.len().max(1);
        myopic_scores(user, items, topics, out);
    }

    fn model(&self, scenario: &Scenario) -> Result<Arc<dyn WorldModel>, ConfigError> {
        let params = self.preset.params.with_overrides(&scenario.params)?;
        let w = &scenario.wrappers;
        let config = scenario.env_config().checked()?;
        let c = config.get();
        if c.resample_documents {
            return Err(sardine::refuse(
                "the candidates are the whole catalogue, the same every step: set resample_documents to false".into(),
            ));
        }
        let catalogue = match &scenario.item_embeddings {
            Some(path) => Catalogue::load_npy(path)?,
            None => Catalogue::generate(
                c.num_candidates,
                params.num_topics as usize,
                params.item_seed as u64,
            ),
        };
        if c.num_candidates != catalogue.num_items() {
            return Err(sardine::refuse(format!(
                "num_candidates = {} but the item embeddings hold {} items: set num_candidates to {}",
                c.num_candidates,
                catalogue.num_items(),
                catalogue.num_items()
            )));
        }
        let items = catalogue.embeddings.iter().map(|&x| x as f32).collect();
        let world = Sardine::new(params, catalogue, c.slate_size)?;
        let view = if w.bandit_observation {
            View::Items
        } else if w.user_observation {
            View::Ideal
        } else {
            View::Sardine
        };
        // The history is part of SARDINE's own observation only: the ideal state holds the
        // interests themselves, and the bandit's has no user features.
        let history = params
            .click_history_decay()
            .filter(|_| view == View::Sardine);
        Ok(Arc::new(SardineModel {
            world: Arc::new(world),
            items: Arc::new(items),
            view,
            history,
            discrete: w.discrete_action,
        }))
    }
}

/// What an environment observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// SARDINE's `{clicks, hist, slate}`; agents see the `hist` as the user features.
    Sardine,
    /// SARDINE's `IdealState`, the true user state (the user-observation switch).
    Ideal,
    /// RLlib's bandit observation: the `{item}` matrix alone, no user features.
    Items,
}

/// A SARDINE world built with a scenario's parameters and wrappers.
struct SardineModel {
    world: Arc<Sardine>,
    /// The item embeddings as every observation shows them.
    items: Arc<Vec<f32>>,
    view: View,
    /// The click history's decay, where the observation has one.
    history: Option<f64>,
    /// RLlib's `Discrete(N^K)` actions (the scenario checked that they fit).
    discrete: bool,
}

impl WorldModel for SardineModel {
    fn episode_length(&self) -> EpisodeLength {
        EpisodeLength::Fixed(self.world.horizon() as usize)
    }

    fn lts_params(&self) -> Option<&LtsParams> {
        None
    }

    fn make(
        &self,
        config: CheckedEnvConfig,
        _wrappers: crate::Wrappers,
        horizon: Option<NonZeroUsize>,
        time_aware_steps: Option<NonZeroUsize>,
    ) -> Box<dyn SlateEnv> {
        let world = Arc::clone(&self.world);
        let t = world.num_topics();
        let user_dim = match self.view {
            View::Sardine => t + self.history.map_or(0, |_| t),
            View::Ideal => 3 * t,
            View::Items => 0,
        };
        Box::new(SardineEnv {
            user: world.new_user(),
            obs_user: vec![0.0; user_dim + usize::from(time_aware_steps.is_some())],
            time_steps: time_aware_steps.map(NonZeroUsize::get),
            items: Arc::clone(&self.items),
            streams: Streams::new(config.get().seed),
            world,
            view: self.view,
            history: self.history.map(|decay| History {
                decay,
                sums: vec![0.0; t],
                weight: 0.0,
            }),
            discrete: self.discrete,
            horizon: horizon.map(NonZeroUsize::get),
            run: Run::default(),
        })
    }
}

/// Where an episode stands: what a checkpoint saves besides the user and the streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Run {
    started: bool,
    elapsed: u64,
}

/// The clicked items' embeddings, remembered with decaying weights (`click_history`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct History {
    decay: f64,
    /// Per topic, the weighted sum of the clicked items' embeddings.
    sums: Vec<f64>,
    /// The weights' sum: the sums over it are the history.
    weight: f64,
}

/// One SARDINE environment. Its candidates are the catalogue; a slate is `slate_size`
/// catalogue positions, repeats allowed, as SARDINE's `MultiDiscrete` action.
pub struct SardineEnv {
    world: Arc<Sardine>,
    items: Arc<Vec<f32>>,
    streams: Streams,
    user: User,
    /// SARDINE's `hist`, its user state, or nothing, as `view` says; then the time left
    /// where `time_steps` is on.
    obs_user: Vec<f32>,
    /// Gymnasium's `TimeAwareObservation`: the fraction of these steps still to run is the
    /// last user feature (the `time` entry of SARDINE's observation).
    time_steps: Option<usize>,
    view: View,
    /// The click history, where the observation has one (after `hist` in `obs_user`).
    history: Option<History>,
    /// The action space is `Discrete(N^K)`, a slate's number (callers decode it).
    discrete: bool,
    horizon: Option<usize>,
    run: Run,
}

/// What [`Simulator::save_state`] encodes.
#[derive(Serialize, Deserialize)]
struct Saved {
    streams: Streams,
    user: User,
    run: Run,
}

impl SardineEnv {
    /// Adds the last slate's clicks to the history (after a reset, to an empty one).
    fn remember_clicks(&mut self, reset: bool) {
        let Some(h) = self.history.as_mut() else {
            return;
        };
        let t = h.sums.len();
        let keep = if reset { 0.0 } else { h.decay };
        h.sums.iter_mut().for_each(|s| *s *= keep);
        h.weight *= keep;
        for (&item, _) in self
            .user
            .slate
            .iter()
            .zip(&self.user.clicks)
            .filter(|(_, &c)| c)
        {
            for (s, &e) in h.sums.iter_mut().zip(&self.items[item * t..(item + 1) * t]) {
                *s += f64::from(e);
            }
            h.weight += 1.0;
        }
    }

    fn observe(&mut self) {
        let own = self.obs_user.len() - usize::from(self.time_steps.is_some());
        let (own, time) = self.obs_user.split_at_mut(own);
        match self.view {
            View::Sardine => {
                let (hist, remembered) = own.split_at_mut(self.world.num_topics());
                self.world.write_hist(&self.user, hist);
                if let Some(h) = &self.history {
                    for (out, &sum) in remembered.iter_mut().zip(&h.sums) {
                        *out = if h.weight > 0.0 {
                            (sum / h.weight) as f32
                        } else {
                            0.0
                        };
                    }
                }
            }
            View::Ideal => self.world.write_user_state(&self.user, own),
            View::Items => {}
        }
        if let (Some(steps), [time]) = (self.time_steps, time) {
            *time = steps.saturating_sub(self.run.elapsed as usize) as f32 / steps as f32;
        }
    }

    /// The user features without the time left.
    fn own_features(&self) -> &[f32] {
        &self.obs_user[..self.obs_user.len() - usize::from(self.time_steps.is_some())]
    }

    /// SARDINE's `hist` and the click history (empty where there is none), on its
    /// observation.
    fn hist_and_history(&self) -> (&[f32], &[f32]) {
        self.own_features().split_at(self.world.num_topics())
    }

    fn num_items(&self) -> usize {
        self.world.num_items()
    }

    /// Whether the scenario's horizon has cut the episode.
    fn cut(&self) -> bool {
        self.horizon.is_some_and(|h| self.run.elapsed >= h as u64)
    }
}

/// The names of the `3 × T` user-state features, made once per `T` (at most 64).
fn feature_names(topics: usize) -> &'static [&'static str] {
    static NAMES: [OnceLock<Vec<&'static str>>; 65] = [const { OnceLock::new() }; 65];
    NAMES[topics.min(64)].get_or_init(|| {
        ["interest", "recent_clicks", "boredom_left"]
            .iter()
            .flat_map(|part| (0..topics).map(move |i| format!("{part}_{i}")))
            .map(|name| &*Box::leak(name.into_boxed_str()))
            .collect()
    })
}

impl Simulator for SardineEnv {
    fn user_feature_names(&self) -> &'static [&'static str] {
        feature_names(self.world.num_topics())
    }

    fn slate_size(&self) -> usize {
        self.world.slate_size()
    }

    fn write_user_features(&self, out: &mut [f32]) {
        self.world.write_user_state(&self.user, out);
    }

    fn doc_id(&self, position: usize) -> u64 {
        position as u64
    }

    fn time_steps(&self) -> Option<usize> {
        self.time_steps
    }

    fn known_choice(&self) -> KnownChoice {
        KnownChoice::Unknown
    }

    fn write_responses(&self, out: &mut [SlotResponse]) {
        let shown = if self.run.started {
            &self.user.clicks[..]
        } else {
            &[]
        };
        for (slot, out) in out.iter_mut().enumerate() {
            let click = shown.get(slot).copied().unwrap_or(false);
            *out = SlotResponse {
                click,
                reward: f64::from(u8::from(click)),
                quality: None,
            };
        }
    }

    fn oracle_scores(&self, out: &mut [f64]) -> bool {
        self.world.oracle_scores(&self.user, out);
        true
    }

    fn save_state(&self) -> EnvState {
        let saved = Saved {
            streams: self.streams.clone(),
            user: self.user.clone(),
            run: self.run,
        };
        let mut simulator = bincode::serde::encode_to_vec(&saved, bincode::config::standard())
            .expect("an in-memory simulator state always serialises");
        // The history after the rest: a state saved without one reads as before.
        if let Some(h) = &self.history {
            simulator.extend(
                bincode::serde::encode_to_vec(h, bincode::config::standard())
                    .expect("an in-memory history always serialises"),
            );
        }
        EnvState {
            simulator,
            started: self.run.started,
            elapsed_steps: None,
        }
    }

    fn load_state(&mut self, state: &EnvState) -> Result<(), EnvError> {
        let (mut saved, used): (Saved, usize) =
            bincode::serde::decode_from_slice(&state.simulator, bincode::config::standard())
                .map_err(|e| EnvError::Decode(Box::new(e)))?;
        let rest = &state.simulator[used..];
        let history = match (&self.history, rest.is_empty()) {
            (None, true) => None,
            (Some(h), false) => {
                let (saved, used): (History, usize) =
                    bincode::serde::decode_from_slice(rest, bincode::config::standard())
                        .map_err(|e| EnvError::Decode(Box::new(e)))?;
                if used != rest.len()
                    || saved.decay != h.decay
                    || saved.sums.len() != h.sums.len()
                    || !saved.weight.is_finite()
                    || saved.sums.iter().any(|s| !s.is_finite())
                {
                    return Err(EnvError::State(
                        "the saved click history is not this environment's".into(),
                    ));
                }
                Some(saved)
            }
            (Some(_), true) => {
                return Err(EnvError::State(
                    "the saved SARDINE state has no click history, which this environment keeps"
                        .into(),
                ))
            }
            (None, false) => return Err(EnvError::State(
                "the saved SARDINE state has a click history, which this environment does not keep"
                    .into(),
            )),
        };
        let mut why = self.world.check_user(&mut saved.user).err();
        // The reset's interaction is the user's first step.
        if saved.run.started && saved.user.t != saved.run.elapsed + 1 {
            why = Some("its step count disagrees with the episode's".into());
        }
        if let Some(why) = why {
            return Err(EnvError::State(format!(
                "the saved SARDINE user cannot be this world's: {why}"
            )));
        }
        self.streams = saved.streams;
        self.user = saved.user;
        self.run = saved.run;
        self.history = history;
        self.observe();
        Ok(())
    }

    fn unwrapped(&self) -> &dyn Simulator {
        self
    }
}

impl SlateEnv for SardineEnv {
    fn layout(&self) -> Layout {
        Layout {
            num_candidates: self.num_items(),
            slate_size: self.world.slate_size(),
            doc_dim: self.world.num_topics(),
            user_dim: self.obs_user.len(),
            time: TimeFeature::last(self.obs_user.len(), self.time_steps),
        }
    }

    /// SARDINE's spaces: `Dict(clicks, hist, slate)` (keys sorted, as Gymnasium's), or
    /// with the ideal state `IdealState`'s `Box(0, 1, (3T,))`, or the bandit's
    /// `Dict(item: Box(0, 1, (N, T)))`; `MultiDiscrete([N]*K)`, or RLlib's `Discrete(N^K)`.
    fn spaces(&self) -> (Space, Space) {
        let (n, k) = (self.num_items() as u64, self.world.slate_size());
        let observation = match self.view {
            View::Sardine => {
                let (hist, history) = self.hist_and_history();
                let mut parts = vec![
                    ("clicks", Space::MultiDiscrete(vec![2; k])),
                    ("hist", Space::boxed(0.0, 1.0, &[hist.len()])),
                ];
                if !history.is_empty() {
                    parts.push(("history", Space::boxed(0.0, 1.0, &[history.len()])));
                }
                parts.push(("slate", Space::MultiDiscrete(vec![n; k])));
                if self.time_steps.is_some() {
                    parts.push(("time", Space::boxed(0.0, 1.0, &[1])));
                }
                Space::dict(parts)
            }
            View::Ideal => Space::boxed(0.0, 1.0, &[self.obs_user.len()]),
            View::Items => Space::dict(vec![(
                "item",
                Space::boxed(0.0, 1.0, &[n as usize, self.world.num_topics()]),
            )]),
        };
        let action = if self.discrete {
            Space::Discrete(n.pow(k as u32))
        } else {
            Space::MultiDiscrete(vec![n; k])
        };
        (observation, action)
    }

    fn reset(&mut self, seed: Option<u64>) {
        if let Some(seed) = seed {
            self.streams = Streams::new(seed);
        }
        self.world.reset(&mut self.user, &mut self.streams);
        self.run = Run {
            started: true,
            ..Run::default()
        };
        self.remember_clicks(true);
        self.observe();
    }

    fn step(&mut self, slate: &[usize]) -> Result<Transition, EnvError> {
        if !self.run.started {
            return Err(EnvError::NotReset);
        }
        if self.world.is_terminal(&self.user) || self.cut() {
            return Err(StepError::EpisodeOver.into());
        }
        let clicks = self
            .world
            .step(&mut self.user, slate, &mut self.streams.noise)?;
        self.run.elapsed += 1;
        let terminated = self.world.is_terminal(&self.user);
        let truncated = !terminated && self.cut();
        self.remember_clicks(false);
        self.observe();
        Ok(Transition {
            reward: f64::from(clicks),
            terminated,
            truncated,
            // SARDINE's users may click several items: the first is the step's click.
            click: self
                .user
                .clicks
                .iter()
                .position(|&c| c)
                .map(|position| Click {
                    position,
                    quality: None,
                    cluster: None,
                }),
        })
    }

    fn user(&self) -> &[f32] {
        &self.obs_user
    }

    fn items(&self) -> &[f32] {
        &self.items
    }

    fn myopic_scores(&self, out: &mut [f64]) {
        myopic_scores(&self.obs_user, &self.items, self.world.num_topics(), out);
    }

    fn observation_value(&self) -> Value {
        let array = |xs: &[f32]| Value::Array(xs.iter().map(|&x| f64::from(x)).collect());
        match self.view {
            View::Ideal => return array(&self.obs_user),
            View::Items => return Value::Dict(vec![("item".into(), array(&self.items))]),
            View::Sardine => {}
        }
        let ints = |xs: &mut dyn Iterator<Item = u64>| Value::Ints(xs.collect());
        let (hist, history) = self.hist_and_history();
        let mut parts = vec![
            (
                "clicks".into(),
                ints(&mut self.user.clicks.iter().map(|&c| u64::from(c))),
            ),
            ("hist".into(), array(hist)),
        ];
        if !history.is_empty() {
            parts.push(("history".into(), array(history)));
        }
        parts.push((
            "slate".into(),
            ints(&mut self.user.slate.iter().map(|&i| i as u64)),
        ));
        if self.time_steps.is_some() {
            parts.push((
                "time".into(),
                array(&self.obs_user[self.obs_user.len() - 1..]),
            ));
        }
        Value::Dict(parts)
    }

    fn write_flat(&self, out: &mut [f32]) {
        match self.view {
            View::Ideal => return out.copy_from_slice(&self.obs_user),
            View::Items => return out.copy_from_slice(&self.items),
            View::Sardine => {}
        }
        // Gymnasium's flatten of the Dict: each click one-hot over {0, 1}, the histogram,
        // each slate position one-hot over the catalogue.
        let k = self.world.slate_size();
        let (clicks, rest) = out.split_at_mut(2 * k);
        for (pair, &c) in clicks.chunks_exact_mut(2).zip(&self.user.clicks) {
            pair[0] = f32::from(u8::from(!c));
            pair[1] = f32::from(u8::from(c));
        }
        // The histogram and the click history (keys `hist`, `history`) lie together.
        let own = self.own_features();
        let (hist, rest) = rest.split_at_mut(own.len());
        hist.copy_from_slice(own);
        let (slate, time) = rest.split_at_mut(self.num_items() * k);
        time.copy_from_slice(&self.obs_user[own.len()..]);
        slate.fill(0.0);
        for (row, &item) in slate
            .chunks_exact_mut(self.num_items())
            .zip(&self.user.slate)
        {
            row[item] = 1.0;
        }
    }
}
