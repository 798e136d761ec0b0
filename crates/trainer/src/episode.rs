//! Running whole episodes: one for display, many for a baseline or an evaluation.

use agents_bandit::Agent;
use env::{EnvError, SlateEnv, Transition};
use serde::{Deserialize, Serialize};

use crate::{Scenario, Summary, VideoReport};

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

/// A policy's returns without exploration, with the video-cluster metrics where the
/// environment has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    #[serde(flatten)]
    pub summary: Summary,
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<VideoReport>,
}

/// Evaluates `agent` without exploration over `episodes` episodes of `env` (built from
/// `scenario`), with the scenario's video-cluster metrics.
pub fn evaluate_on(
    scenario: &Scenario,
    env: &mut dyn SlateEnv,
    agent: &mut dyn Agent,
    episodes: usize,
    progress: impl FnMut(usize),
) -> Result<Evaluation, EnvError> {
    let mut metrics = scenario.video_metrics();
    let summary = evaluate_with(
        env,
        agent,
        episodes,
        false,
        |t| metrics.iter_mut().for_each(|m| m.record_transition(t)),
        progress,
    )?;
    Ok(Evaluation {
        summary,
        metrics: metrics.map(|m| m.report()),
    })
}
