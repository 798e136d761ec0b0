//! The benchmark's measurements, each run by `cargo xtask bench` in a child process of
//! its own (so that its peak memory is its own) and printing one JSON object:
//!
//! * `sim ENV N K SECONDS ROUNDS`: one environment on one core under the random policy;
//! * `vector ENV N K B FRAGMENT SECONDS ROUNDS THREADS…`: a vector environment (see
//!   [`vector`]);
//! * `flat-vector ENV N K B SECONDS ROUNDS THREADS…`: what the Python vector environment
//!   runs in Rust (see [`vector::flat`]);
//! * `sardine NAME POLICY SECONDS ROUNDS`: one of SARDINE's worlds on one core;
//! * `sardine-presets`: SARDINE's presets, ids and names;
//! * `log ENV N K CASE EPISODES OUT` and `ope CASE OUT`: logging and off-policy evaluation;
//! * `serve-score MODEL CANDIDATES SECONDS` and
//!   `serve-load ADDR MODEL CANDIDATES CONNECTIONS REQUESTS RATE`: an exported policy's
//!   scoring in-process and `rlrec serve` under load (see [`serving`]).
//!
//! `ENV N K` name a scenario: the world, its candidates and its slate size.

mod serving;
mod vector;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use agents::Policy;
use agents_bandit::{Baseline, BaselineKind};
use anyhow::{bail, Context, Result};
use env::{SardinePreset, Scenario};
use logs::{write_log, BasePolicy, LogReader, NoCheckpoints, PolicySpec};
use rollout::FixedPolicy;
use serde_json::json;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match measure(&Args(&args)) {
        Ok(result) => {
            println!("{result}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("measure: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The command line, read by position.
struct Args<'a>(&'a [String]);

impl Args<'_> {
    fn text(&self, i: usize) -> &str {
        self.0.get(i).map(String::as_str).unwrap_or_default()
    }

    /// Argument `i` as a `T` (a number of seconds, a count).
    fn parse<T: std::str::FromStr>(&self, i: usize) -> Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        self.text(i)
            .parse()
            .with_context(|| format!("argument {i}: `{}`", self.text(i)))
    }

    fn number(&self, i: usize) -> Result<f64> {
        self.parse(i)
    }

    fn count(&self, i: usize) -> Result<usize> {
        self.parse(i)
    }

    /// The scenario named by arguments `i..i + 3` (`ENV N K`): seed 0, resampled, its
    /// default horizon.
    fn scenario(&self, i: usize) -> Result<Scenario> {
        Ok(Scenario {
            num_candidates: self.count(i + 1)?,
            slate_size: self.count(i + 2)?,
            ..Scenario::new(self.text(i))
        })
    }

    /// The thread counts from argument `i` on.
    fn threads(&self, i: usize) -> Result<Vec<usize>> {
        (i..self.0.len()).map(|j| self.count(j)).collect()
    }
}

fn measure(a: &Args) -> Result<serde_json::Value> {
    match a.text(0) {
        "sim" => one_core(
            &a.scenario(1)?,
            BaselineKind::Random,
            1024,
            a.number(4)?,
            a.count(5)?,
        ),
        "vector" => vector::rollouts(
            &a.scenario(1)?,
            a.count(4)?,
            a.text(5),
            a.number(6)?,
            a.count(7)?,
            &a.threads(8)?,
        ),
        "flat-vector" => vector::flat(
            &a.scenario(1)?,
            a.count(4)?,
            a.number(5)?,
            a.count(6)?,
            &a.threads(7)?,
        ),
        "sardine" => sardine(a.text(1), a.text(2), a.number(3)?, a.count(4)?),
        "sardine-presets" => Ok(SardinePreset::all()
            .iter()
            .map(|p| json!({ "id": p.id, "name": p.name }))
            .collect()),
        "log" => log(
            &a.scenario(1)?,
            a.text(4),
            a.count(5)? as u64,
            Path::new(a.text(6)),
        ),
        "ope" => ope(a.text(1), Path::new(a.text(2))),
        "serve-score" => serving::score(Path::new(a.text(1)), a.count(2)?, a.number(3)?),
        "serve-load" => serving::load_test(
            a.text(1),
            Path::new(a.text(2)),
            a.count(3)?,
            a.count(4)?,
            a.count(5)?,
            a.text(6),
        ),
        other => bail!("unknown measurement `{other}`"),
    }
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

/// One of SARDINE's worlds under the random policy or the oracle (a step of which scores
/// the whole catalogue, so the clock is read more often).
fn sardine(name: &str, policy: &str, seconds: f64, rounds: usize) -> Result<serde_json::Value> {
    let kind = match policy {
        "random" => BaselineKind::Random,
        "oracle" => BaselineKind::Oracle,
        other => bail!("unknown policy `{other}`"),
    };
    one_core(&Scenario::new(name), kind, 256, seconds, rounds)
}

/// A logging case of the benchmark: the logging policy and the target.
fn log_case(name: &str) -> Result<(PolicySpec, PolicySpec)> {
    let greedy = BasePolicy::Fixed(FixedPolicy::Greedy);
    Ok(match name {
        "random-to-greedy" => (
            PolicySpec::Random,
            PolicySpec::EpsilonGreedy {
                base: greedy,
                epsilon: 0.0,
            },
        ),
        "epsilon-greedy-to-softmax" => (
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

/// Writes `episodes` episodes of the case's logging policy on `scenario` into `out` (one
/// core).
fn log(scenario: &Scenario, case: &str, episodes: u64, out: &Path) -> Result<serde_json::Value> {
    let (logging, _) = log_case(case)?;
    let start = Instant::now();
    let summary = write_log(scenario, &logging, &NoCheckpoints, episodes, out, |_| {
        std::ops::ControlFlow::Continue(())
    })?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(json!({ "steps": summary.meta.steps, "seconds": seconds, "bytes": summary.bytes }))
}

/// Every estimator of the case's target on the log in `out`.
fn ope(case: &str, out: &Path) -> Result<serde_json::Value> {
    let (_, target) = log_case(case)?;
    let reader = LogReader::open(out)?;
    let start = Instant::now();
    let report = ope::evaluate(&reader, &target, &NoCheckpoints, |_| ())?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(json!({ "steps": report.steps, "seconds": seconds }))
}
