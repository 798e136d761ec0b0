//! The measurements that run inside a child process (`xtask __measure …`), in release
//! mode, each printing one JSON object.

use std::time::Instant;

use agents::Policy;
use agents_bandit::{Baseline, BaselineKind};
use anyhow::{anyhow, bail, Context, Result};
use env::{slot_seed, Execution, Scenario, VectorEnv};
use logs::{write_log, BasePolicy, LogReader, NoCheckpoints, PolicySpec};
use rollout::FixedPolicy;
use serde_json::json;
use trainer::{Algo, Algorithm, TrainConfig};

use super::scenarios::SimScenario;

/// Runs the measurement that `args` names and prints its result.
pub fn child(args: &[String]) -> Result<()> {
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    let number = |i: usize| -> Result<f64> {
        arg(i)
            .parse()
            .with_context(|| format!("argument {i} of __measure: `{}`", arg(i)))
    };
    let result = match arg(0) {
        "sim" => {
            let scenario = SimScenario::named(arg(1))?;
            let s = scenario.scenario();
            one_core(
                &s,
                BaselineKind::Random,
                1024,
                number(2)?,
                number(3)? as usize,
            )?
        }
        "vector" => {
            let scenario = SimScenario::named(arg(1))?;
            let (b, fragment) = (number(2)? as usize, number(3)? as usize);
            let threads = (6..args.len())
                .map(|i| number(i).map(|t| t as usize))
                .collect::<Result<Vec<_>>>()?;
            vector(
                scenario,
                b,
                fragment,
                &threads,
                number(4)?,
                number(5)? as usize,
            )?
        }
        "linucb" => linucb(number(1)? as u64)?,
        "sardine" => sardine(arg(1), arg(2), number(3)?, number(4)? as usize)?,
        "flat-vector" => super::python::native(&args[1..])?,
        "log" => log(arg(1), number(2)? as u64, std::path::Path::new(arg(3)))?,
        "ope" => ope(arg(1), std::path::Path::new(arg(2)))?,
        other => bail!("unknown measurement `{other}`"),
    };
    println!("{result}");
    Ok(())
}

/// Calls `step` (which returns the steps it took) until `seconds` have passed, `rounds`
/// times after a short warm-up; returns steps per second of every round.
fn timed_rounds(
    seconds: f64,
    rounds: usize,
    mut step: impl FnMut() -> Result<u64>,
) -> Result<Vec<f64>> {
    let mut round = |seconds: f64| -> Result<f64> {
        let start = Instant::now();
        let mut steps = 0;
        loop {
            steps += step()?;
            let elapsed = start.elapsed().as_secs_f64();
            if elapsed >= seconds {
                return Ok(steps as f64 / elapsed);
            }
        }
    };
    round(seconds.min(0.2))?;
    (0..rounds).map(|_| round(seconds)).collect()
}

/// One environment of `s` on one thread: reset+step under the fixed policy `kind`, as
/// RecSim's reference figures were timed (random) and SARDINE's oracle is, reading the
/// clock every `batch` steps (a few microseconds of work).
fn one_core(
    s: &Scenario,
    kind: BaselineKind,
    batch: usize,
    seconds: f64,
    rounds: usize,
) -> Result<serde_json::Value> {
    let mut env = s.build()?;
    let mut agent = Baseline::new(kind, s.seed);
    let mut slate = vec![0; s.slate_size];
    env.reset(None);
    let rounds = timed_rounds(seconds, rounds, || {
        for _ in 0..batch {
            agent.act(env.as_ref(), false, &mut slate);
            if env.step(&slate)?.done() {
                env.reset(None);
            }
        }
        Ok(batch as u64)
    })?;
    Ok(json!({ "rounds": rounds }))
}

/// The child's side of `xtask __measure sardine NAME POLICY SECONDS ROUNDS`: one of
/// SARDINE's worlds under the random policy or the oracle (a step of which scores the
/// whole catalogue, so the clock is read more often).
fn sardine(name: &str, policy: &str, seconds: f64, rounds: usize) -> Result<serde_json::Value> {
    let kind = match policy {
        "random" => BaselineKind::Random,
        "oracle" => BaselineKind::Oracle,
        other => bail!("unknown policy `{other}`"),
    };
    one_core(&Scenario::new(name), kind, 256, seconds, rounds)
}

/// `b` environments in a vector, each with its own random policy, `fragment` steps per
/// call (1: `step_with`, more: `rollout`), on each of `threads` thread counts (1: the
/// sequential execution). The rounds alternate between the thread counts; the result
/// maps each count to its rounds.
fn vector(
    scenario: &SimScenario,
    b: usize,
    fragment: usize,
    threads: &[usize],
    seconds: f64,
    rounds: usize,
) -> Result<serde_json::Value> {
    let s = scenario.scenario();
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
    Ok(serde_json::Value::Object(by_threads))
}

/// LinUCB in the tutorial's setting (`rlrec train --algo linucb --seed 123`): the
/// training iterations alone, without checkpoints or the final evaluation.
fn linucb(iterations: u64) -> Result<serde_json::Value> {
    let mut config = TrainConfig::new(Algo::Linucb);
    config.env.seed = 123;
    config.iterations = iterations;
    let mut algorithm = Algorithm::new(config)?;
    let start = Instant::now();
    let mut last = None;
    while !algorithm.is_done() {
        last = Some(algorithm.train()?);
    }
    let seconds = start.elapsed().as_secs_f64();
    let last = last.ok_or_else(|| anyhow!("no iteration ran"))?;
    Ok(json!({
        "iterations": last.training_iteration,
        "timesteps": last.timesteps_total,
        "seconds": seconds,
        "episode_reward_mean": last.episode_reward_mean,
    }))
}

/// A logging case of the benchmark: the world, the logging policy and the target.
fn log_case(name: &str) -> Result<(env::Scenario, PolicySpec, PolicySpec)> {
    let greedy = BasePolicy::Fixed(FixedPolicy::Greedy);
    Ok(match name {
        "strong-lts" => (
            SimScenario::named("strong-lts")?.scenario(),
            PolicySpec::Random,
            PolicySpec::EpsilonGreedy {
                base: greedy,
                epsilon: 0.0,
            },
        ),
        "interest-evolution" => (
            SimScenario::named("interest-evolution")?.scenario(),
            PolicySpec::EpsilonGreedy {
                base: greedy.clone(),
                epsilon: 0.3,
            },
            PolicySpec::Softmax {
                base: greedy,
                temperature: 0.2,
            },
        ),
        other => bail!("no logging case `{other}`"),
    })
}

/// Writes `episodes` episodes of the case's logging policy into `out` (one core).
fn log(case: &str, episodes: u64, out: &std::path::Path) -> Result<serde_json::Value> {
    let (scenario, logging, _) = log_case(case)?;
    let start = Instant::now();
    let summary = write_log(&scenario, &logging, &NoCheckpoints, episodes, out, |_| {
        std::ops::ControlFlow::Continue(())
    })?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(json!({ "steps": summary.meta.steps, "seconds": seconds, "bytes": summary.bytes }))
}

/// Every estimator of the case's target on the log in `out`.
fn ope(case: &str, out: &std::path::Path) -> Result<serde_json::Value> {
    let (_, _, target) = log_case(case)?;
    let reader = LogReader::open(out)?;
    let start = Instant::now();
    let report = logs::ope::evaluate(&reader, &target, &NoCheckpoints, |_| ())?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(json!({ "steps": report.steps, "seconds": seconds }))
}
