//! The vector environment's measurements: its rollouts (as training collects) and its
//! flat steps (as the Python vector environment runs them). Each process builds one
//! vector per thread count, and its rounds alternate between them, so that the speed-ups
//! compare like with like.

use std::time::Instant;

use agents::Policy;
use agents_bandit::{Baseline, BaselineKind};
use anyhow::{bail, Context, Result};
use env::{slot_seed, Autoreset, Execution, Scenario, VectorEnv};
use serde_json::json;

use super::timed_rounds;

/// `b` environments in a vector, each with its own random policy, `fragment` steps per
/// call (1: `step_with`, more: `rollout`; `default`: training's fragment), on each of
/// `threads` thread counts (1: the sequential execution). The result holds the fragment
/// and, for each thread count, its rounds.
pub fn rollouts(
    s: &Scenario,
    b: usize,
    fragment: &str,
    seconds: f64,
    rounds: usize,
    threads: &[usize],
) -> Result<serde_json::Value> {
    let fragment = match fragment {
        "default" => rollout::FRAGMENT_STEPS,
        n => n
            .parse()
            .with_context(|| format!("steps per call: `{n}`"))?,
    };
    let mut runs = Vec::new();
    for &t in threads {
        let envs = (0..b).map(|_| s.build()).collect::<Result<Vec<_>, _>>()?;
        let mut vector = VectorEnv::new(envs, Execution::for_slots(t, b))?;
        if vector.threads() != t {
            bail!(
                "asked for {t} threads, the vector runs {}",
                vector.threads()
            );
        }
        let policies: Vec<Box<dyn Policy>> = (0..b)
            .map(|i| {
                Box::new(Baseline::new(BaselineKind::Random, slot_seed(s.seed, i)))
                    as Box<dyn Policy>
            })
            .collect();
        vector.reset(s.seed);
        runs.push((vector, policies, Vec::new()));
    }
    for _ in 0..rounds {
        for (vector, policies, results) in &mut runs {
            results.extend(timed_rounds(seconds, 1, || {
                vector.rollout(policies, fragment)?;
                Ok((b * fragment) as u64)
            })?);
        }
    }
    let by_threads: serde_json::Map<String, serde_json::Value> = threads
        .iter()
        .zip(runs)
        .map(|(t, (_, _, results))| (t.to_string(), json!(results)))
        .collect();
    Ok(json!({ "fragment": fragment, "rounds": by_threads }))
}

/// What the Python vector environment runs in Rust, without Python:
/// `VectorEnv::step_flat` with NEXT_STEP autoreset and slates drawn before the clock
/// starts, `b` environments on each of `threads` thread counts. The result maps each
/// thread count to its rounds.
pub fn flat(
    s: &Scenario,
    b: usize,
    seconds: f64,
    rounds: usize,
    threads: &[usize],
) -> Result<serde_json::Value> {
    // Uniform positions from SplitMix64 (`slot_seed` of one seed), the slates' own stream.
    let batches: Vec<Vec<usize>> = (0..64)
        .map(|batch| {
            (0..b * s.slate_size)
                .map(|i| {
                    (slot_seed(7, batch * b * s.slate_size + i + 1) % s.num_candidates as u64)
                        as usize
                })
                .collect()
        })
        .collect();
    let mut runs = Vec::new();
    for &t in threads {
        let envs = (0..b).map(|_| s.build()).collect::<Result<Vec<_>, _>>()?;
        let mut vector =
            VectorEnv::new(envs, Execution::for_slots(t, b))?.with_autoreset(Autoreset::NextStep);
        vector.reset(s.seed);
        let flat = vec![0.0; b * vector.flat_dim()];
        runs.push((t, vector, flat, Vec::new()));
    }
    let round = |vector: &mut VectorEnv, flat: &mut [f32], seconds: f64| -> Result<f64> {
        let (start, mut steps) = (Instant::now(), 0);
        loop {
            for slates in &batches {
                vector.step_flat(slates, flat)?;
            }
            steps += b * batches.len();
            let elapsed = start.elapsed().as_secs_f64();
            if elapsed >= seconds {
                return Ok(steps as f64 / elapsed);
            }
        }
    };
    for (_, vector, flat, _) in &mut runs {
        round(vector, flat, seconds.min(0.2))?;
    }
    for _ in 0..rounds {
        for (_, vector, flat, results) in &mut runs {
            results.push(round(vector, flat, seconds)?);
        }
    }
    Ok(serde_json::Value::Object(
        runs.into_iter()
            .map(|(t, _, _, results)| (t.to_string(), json!(results)))
            .collect(),
    ))
}
