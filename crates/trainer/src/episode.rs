//! Running whole episodes: one for display, many for a baseline or an evaluation.

use agents_bandit::Agent;
use env::{EnvError, SlateEnv, Transition};
use serde::Serialize;

use crate::Summary;

/// One step of a recorded episode.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub slate: Vec<usize>,
    pub reward: f64,
    pub clicked: Option<usize>,
    /// The clicked document's quality, where the environment has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clicked_quality: Option<f64>,
    /// The clicked document's cluster, where the environment has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clicked_cluster: Option<usize>,
}

/// A recorded episode.
#[derive(Debug, Clone, Serialize)]
pub struct Episode {
    pub steps: Vec<StepRecord>,
    pub total_reward: f64,
}

/// Plays one episode from a fresh `reset`, recording every step.
pub fn record_episode(
    env: &mut dyn SlateEnv,
    agent: &mut dyn Agent,
    explore: bool,
) -> Result<Episode, EnvError> {
    let mut steps = Vec::new();
    play(env, agent, explore, |slate, t| {
        steps.push(StepRecord {
            slate: slate.to_vec(),
            reward: t.reward,
            clicked: t.clicked,
            clicked_quality: t.clicked_quality,
            clicked_cluster: t.clicked_cluster,
        })
    })?;
    let total_reward = steps.iter().map(|s| s.reward).sum();
    Ok(Episode {
        steps,
        total_reward,
    })
}

/// Plays one episode from a fresh `reset` and returns `(return, length)`.
pub fn play_episode(
    env: &mut dyn SlateEnv,
    agent: &mut dyn Agent,
    explore: bool,
) -> Result<(f64, usize), EnvError> {
    play_episode_with(env, agent, explore, |_| {})
}

fn play_episode_with(
    env: &mut dyn SlateEnv,
    agent: &mut dyn Agent,
    explore: bool,
    mut on_step: impl FnMut(&Transition),
) -> Result<(f64, usize), EnvError> {
    let mut total = 0.0;
    let len = play(env, agent, explore, |_, t| {
        total += t.reward;
        on_step(t);
    })?;
    Ok((total, len))
}

fn play(
    env: &mut dyn SlateEnv,
    agent: &mut dyn Agent,
    explore: bool,
    mut on_step: impl FnMut(&[usize], &Transition),
) -> Result<usize, EnvError> {
    env.start(None);
    agent.begin_episode();
    let mut slate = vec![0; env.layout().slate_size];
    let mut len = 0;
    loop {
        agent.act(env, explore, &mut slate);
        let t = env.recommend(&slate)?;
        on_step(&slate, &t);
        len += 1;
        if t.done() {
            return Ok(len);
        }
    }
}

/// Runs `episodes` episodes without learning and summarises them; `progress` is called
/// after each episode.
pub fn evaluate(
    env: &mut dyn SlateEnv,
    agent: &mut dyn Agent,
    episodes: usize,
    explore: bool,
    progress: impl FnMut(usize),
) -> Result<Summary, EnvError> {
    evaluate_with(env, agent, episodes, explore, |_| {}, progress)
}

/// [`evaluate`], showing every step's transition to `on_step` as well (for example to
/// [`crate::VideoMetrics::record_transition`]).
pub fn evaluate_with(
    env: &mut dyn SlateEnv,
    agent: &mut dyn Agent,
    episodes: usize,
    explore: bool,
    mut on_step: impl FnMut(&Transition),
    mut progress: impl FnMut(usize),
) -> Result<Summary, EnvError> {
    let mut returns = Vec::with_capacity(episodes);
    let mut lengths = Vec::with_capacity(episodes);
    for i in 0..episodes {
        let (r, len) = play_episode_with(env, agent, explore, &mut on_step)?;
        returns.push(r);
        lengths.push(len);
        progress(i + 1);
    }
    Ok(Summary::new(&returns, &lengths))
}
