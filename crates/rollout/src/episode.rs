//! Running whole episodes: one for display, many for a baseline or an evaluation, on one
//! environment or on a vector of them.

use agents::Policy;
use env::{slot_seed, Execution, Scenario, SlateEnv, Transition, VectorEnv};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::{finite, RolloutError, Summary, VideoMetrics, VideoReport};

/// One step of a recorded episode: what the policy saw of the user, the slate it showed,
/// and what followed.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// The user's true state when the slate was chosen ([`env::Simulator::write_user_features`]:
    /// LTS's satisfaction, interest evolution's remaining budget, interest exploration's
    /// affinities), whether or not the agent could see it.
    pub user_state: Vec<f64>,
    /// The candidate positions shown.
    pub slate: Vec<usize>,
    /// The features of the document in the first slot (LTS: its clickbait).
    pub served: Vec<f64>,
    /// What followed.
    pub transition: Transition,
}

/// A recorded episode.
#[derive(Debug, Clone)]
pub struct Episode {
    /// The names of [`StepRecord::user_state`]'s values.
    pub user_features: &'static [&'static str],
    /// Every step, in order.
    pub steps: Vec<StepRecord>,
    /// The episode's return.
    pub total_reward: f64,
}

/// `{total_reward, steps}`; each step `{slate, reward, clicked, user_state: {name: value},
/// served}` and, where the world has them, the clicked document's `clicked_quality` and
/// `clicked_cluster`.
impl Serialize for Episode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Step<'a>(&'a StepRecord, &'static [&'static str]);
        impl Serialize for Step<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let (record, names) = (self.0, self.1);
                let t = &record.transition;
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("slate", &record.slate)?;
                map.serialize_entry("reward", &t.reward)?;
                map.serialize_entry("clicked", &t.click.map(|c| c.position))?;
                if let Some(quality) = t.click.and_then(|c| c.quality) {
                    map.serialize_entry("clicked_quality", &quality)?;
                }
                if let Some(cluster) = t.click.and_then(|c| c.cluster) {
                    map.serialize_entry("clicked_cluster", &cluster)?;
                }
                let state: serde_json::Map<String, serde_json::Value> = names
                    .iter()
                    .zip(&record.user_state)
                    .map(|(n, v)| (n.to_string(), (*v).into()))
                    .collect();
                map.serialize_entry("user_state", &state)?;
                map.serialize_entry("served", &record.served)?;
                map.end()
            }
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("total_reward", &self.total_reward)?;
        let steps: Vec<Step> = self
            .steps
            .iter()
            .map(|r| Step(r, self.user_features))
            .collect();
        map.serialize_entry("steps", &steps)?;
        map.end()
    }
}

/// Plays one episode from a fresh `reset`, recording every step with the user's true
/// state.
pub fn record_episode(
    env: &mut dyn SlateEnv,
    policy: &mut dyn Policy,
    explore: bool,
) -> Result<Episode, RolloutError> {
    let d = env.layout().doc_dim;
    let mut state = vec![0.0f32; env.user_feature_dim()];
    let mut seen: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    let mut shown: Vec<(Vec<usize>, Transition)> = Vec::new();
    play(
        env,
        policy,
        explore,
        |env, slate| {
            env.write_user_features(&mut state);
            let served = &env.items()[slate[0] * d..(slate[0] + 1) * d];
            seen.push((
                state.iter().map(|&x| f64::from(x)).collect(),
                served.iter().map(|&x| f64::from(x)).collect(),
            ));
        },
        |slate, t| shown.push((slate.to_vec(), *t)),
    )?;
    let steps: Vec<StepRecord> = seen
        .into_iter()
        .zip(shown)
        .map(|((user_state, served), (slate, transition))| StepRecord {
            user_state,
            slate,
            served,
            transition,
        })
        .collect();
    let total_reward = steps.iter().map(|s| s.transition.reward).sum();
    Ok(Episode {
        user_features: env.user_feature_names(),
        steps,
        total_reward,
    })
}

/// Plays one episode from a fresh `reset` and returns `(return, length)`.
pub fn play_episode(
    env: &mut dyn SlateEnv,
    policy: &mut dyn Policy,
    explore: bool,
) -> Result<(f64, usize), RolloutError> {
    play_episode_with(env, policy, explore, |_| {})
}

fn play_episode_with(
    env: &mut dyn SlateEnv,
    policy: &mut dyn Policy,
    explore: bool,
    mut on_step: impl FnMut(&Transition),
) -> Result<(f64, usize), RolloutError> {
    let mut total = 0.0;
    let len = play(
        env,
        policy,
        explore,
        |_, _| {},
        |_, t| {
            total += t.reward;
            on_step(t);
        },
    )?;
    Ok((total, len))
}

/// Plays one episode from a fresh `reset`: `on_act` sees the environment and the slate
/// chosen, before the step; `on_step` the slate and its transition.
fn play(
    env: &mut dyn SlateEnv,
    policy: &mut dyn Policy,
    explore: bool,
    mut on_act: impl FnMut(&dyn SlateEnv, &[usize]),
    mut on_step: impl FnMut(&[usize], &Transition),
) -> Result<usize, RolloutError> {
    env.reset(None);
    policy.begin_episode();
    let mut slate = vec![0; env.layout().slate_size];
    let mut len = 0;
    loop {
        policy.act(env, explore, &mut slate);
        on_act(env, &slate);
        let t = finite(env.step(&slate)?)?;
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
    policy: &mut dyn Policy,
    episodes: usize,
    explore: bool,
    progress: impl FnMut(usize),
) -> Result<Summary, RolloutError> {
    evaluate_with(env, policy, episodes, explore, |_| {}, progress)
}

/// [`evaluate`], showing every step's transition to `on_step` as well (for example to
/// [`crate::VideoMetrics::record_transition`]).
pub fn evaluate_with(
    env: &mut dyn SlateEnv,
    policy: &mut dyn Policy,
    episodes: usize,
    explore: bool,
    mut on_step: impl FnMut(&Transition),
    mut progress: impl FnMut(usize),
) -> Result<Summary, RolloutError> {
    let mut returns = Vec::with_capacity(episodes);
    let mut lengths = Vec::with_capacity(episodes);
    for i in 0..episodes {
        let (r, len) = play_episode_with(env, policy, explore, &mut on_step)?;
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
    /// The returns' statistics.
    #[serde(flatten)]
    pub summary: Summary,
    /// RecSim's video-cluster metrics, where the world has them (written, not read back).
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<VideoReport>,
}

/// Evaluates `policy` without exploration over `episodes` episodes of `scenario`, with
/// the scenario's video-cluster metrics: [`evaluation`] on one slot, which plays the
/// scenario's plain environment exactly.
pub fn evaluate_on(
    scenario: &Scenario,
    policy: Box<dyn Policy>,
    episodes: usize,
    progress: impl FnMut(usize),
) -> Result<Evaluation, RolloutError> {
    let mut policy = Some(policy);
    evaluation(
        scenario,
        |_| policy.take().expect("one slot, one policy"),
        episodes,
        1,
        1,
        progress,
    )
}

/// [`evaluate_vectorized`] with the scenario's video-cluster metrics.
pub fn evaluation(
    scenario: &Scenario,
    make_policy: impl FnMut(u64) -> Box<dyn Policy>,
    episodes: usize,
    num_envs: usize,
    threads: usize,
    progress: impl FnMut(usize),
) -> Result<Evaluation, RolloutError> {
    let mut metrics = VideoMetrics::for_scenario(scenario);
    let summary = evaluate_vectorized(
        scenario,
        make_policy,
        episodes,
        num_envs,
        threads,
        |t| metrics.iter_mut().for_each(|m| m.record_transition(t)),
        progress,
    )?;
    Ok(Evaluation {
        summary,
        metrics: metrics.map(|m| m.report()),
    })
}

/// Steps each slot of [`evaluate_vectorized`] runs per hand-over to the threads: enough
/// to make the hand-over's cost negligible (measured by `cargo xtask bench`).
pub const FRAGMENT_STEPS: usize = 256;

/// [`evaluate_with`] on `num_envs` copies of `scenario` stepped in lockstep, on up to
/// `threads` threads. Slot `i` is seeded with [`slot_seed`]`(scenario.seed, i)`, and so
/// is its policy (`make_policy` builds one from a seed), so one slot replays
/// [`evaluate_with`] on `scenario` exactly; the figures depend on the seed and on
/// `num_envs`, never on `threads`.
///
/// Every slot plays a fixed share of the episodes (`episodes / B`, one more for the first
/// `episodes % B` slots), chosen before any episode ends: counting the first episodes to
/// finish would favour short ones. Returns are summarised slot by slot, in order;
/// `on_step` sees the steps of counted episodes, slot by slot within each fragment of
/// [`FRAGMENT_STEPS`] steps.
pub fn evaluate_vectorized(
    scenario: &Scenario,
    mut make_policy: impl FnMut(u64) -> Box<dyn Policy>,
    episodes: usize,
    num_envs: usize,
    threads: usize,
    mut on_step: impl FnMut(&Transition),
    mut progress: impl FnMut(usize),
) -> Result<Summary, RolloutError> {
    if episodes == 0 || num_envs == 0 {
        return Err(RolloutError::Setting {
            name: if episodes == 0 {
                "episodes"
            } else {
                "num_envs"
            },
            value: 0,
            why: "an evaluation needs at least one episode and one environment",
        });
    }
    // Slots beyond the episode count would play no counted episode.
    let b = num_envs.min(episodes);
    let spec = scenario.resolve()?;
    let envs = (0..b).map(|_| spec.make()).collect();
    let mut vector = VectorEnv::new(envs, Execution::for_slots(threads, b))?;
    let mut policies: Vec<Box<dyn Policy>> = (0..b)
        .map(|i| make_policy(slot_seed(scenario.seed, i)))
        .collect();
    let quota = |slot: usize| episodes / b + usize::from(slot < episodes % b);
    let mut finished: Vec<Vec<(f64, usize)>> =
        (0..b).map(|i| Vec::with_capacity(quota(i))).collect();
    let mut running = vec![(0.0, 0); b];
    let mut done = 0;
    vector.reset(scenario.seed);
    while done < episodes {
        vector.rollout(&mut policies, FRAGMENT_STEPS)?;
        for (slot, fragment) in vector.transitions().chunks(FRAGMENT_STEPS).enumerate() {
            for t in fragment {
                if finished[slot].len() == quota(slot) {
                    break;
                }
                finite(*t)?;
                on_step(t);
                let run = &mut running[slot];
                run.0 += t.reward;
                run.1 += 1;
                if t.done() {
                    finished[slot].push(std::mem::take(run));
                    done += 1;
                    progress(done);
                }
            }
        }
    }
    let (returns, lengths): (Vec<f64>, Vec<usize>) = finished.into_iter().flatten().unzip();
    Ok(Summary::new(&returns, &lengths))
}

#[cfg(test)]
mod tests {
    use agents_bandit::{Baseline, BaselineKind};

    use super::*;

    fn random(seed: u64) -> Box<dyn Policy> {
        Box::new(Baseline::new(BaselineKind::Random, seed))
    }

    fn interest_evolution() -> Scenario {
        Scenario {
            num_candidates: 10,
            seed: 3,
            ..Scenario::new("interest-evolution")
        }
    }

    /// The summary and every counted step's transition.
    fn vectorized(b: usize, threads: usize, episodes: usize) -> (Summary, Vec<Transition>) {
        let mut steps = Vec::new();
        let summary = evaluate_vectorized(
            &interest_evolution(),
            random,
            episodes,
            b,
            threads,
            |t| steps.push(*t),
            |_| (),
        )
        .unwrap();
        (summary, steps)
    }

    #[test]
    fn one_slot_replays_the_plain_evaluation() {
        let scenario = interest_evolution();
        let mut env = scenario.build().unwrap();
        let mut steps = Vec::new();
        let plain = evaluate_with(
            env.as_mut(),
            random(scenario.seed).as_mut(),
            30,
            false,
            |t| steps.push(*t),
            |_| (),
        )
        .unwrap();
        assert_eq!(vectorized(1, 2, 30), (plain, steps));
    }

    #[test]
    fn figures_depend_on_the_slots_not_on_the_threads() {
        let four = vectorized(4, 1, 30);
        assert_eq!(vectorized(4, 2, 30), four);
        assert_eq!(vectorized(4, 3, 30), four);
        assert_ne!(vectorized(5, 2, 30).0, four.0);
        // 30 episodes on 4 slots: shares of 8, 8, 7 and 7.
        assert_eq!(four.0.episodes, 30);
        let length_sum = (four.0.mean_length * 30.0).round() as usize;
        assert_eq!(four.1.len(), length_sum, "only counted episodes' steps");
        // More slots than episodes: the extra slots are not built.
        assert_eq!(vectorized(9, 2, 3), vectorized(3, 2, 3));
    }

    #[test]
    fn no_episodes_or_no_environments_is_an_error() {
        let s = Scenario::default();
        for (episodes, b) in [(0, 1), (1, 0)] {
            let r = evaluate_vectorized(&s, random, episodes, b, 1, |_| (), |_| ());
            assert!(matches!(r, Err(RolloutError::Setting { .. })));
        }
    }
}
