//! rlrec's Python package timed from Python (`xtask/python_bench.py`, in the test venv
//! with the wheel installed), beside RecSim and the Rust-native figures of the same run.
//!
//! Three ways in: one environment with the flat observation, one with RLlib's dict
//! layout, and the vector environment (NEXT_STEP autoreset, flat, copies handed out) at
//! `B = 1024` on 1 and 2 threads. The vector environment's Rust part alone (the same
//! `VectorEnv::step_flat` calls with the same random slates, no Python) is timed in a
//! child of its own, so the table shows where the time goes.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use env::{slot_seed, Autoreset, Execution, VectorEnv};
use serde_json::json;

use super::process;
use super::report::{mib, rate, thousands, Align, Report, Section, Table};
use super::rows::{PythonRow, Rate};
use super::scenarios::{SimScenario, SCENARIOS};

/// The vector environment's batch, as the acceptance figures ask for.
pub const NUM_ENVS: usize = 1024;

/// Times every scenario's layouts and vector environment; `seconds` and `rounds` per
/// measurement.
pub fn measure(
    python: &Path,
    script: &Path,
    exe: &Path,
    seconds: f64,
    rounds: usize,
) -> Result<Vec<PythonRow>> {
    let mut rows = Vec::new();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: Vec<usize> = [1, 2].into_iter().filter(|&t| t <= cores).collect();
    for s in &SCENARIOS {
        let (n, k) = (s.num_candidates.to_string(), s.slate_size.to_string());
        let timing = [
            "--seconds".to_string(),
            seconds.to_string(),
            "--rounds".into(),
            rounds.to_string(),
        ];
        for layout in ["flat", "dict"] {
            eprintln!(
                "xtask: timing {} from Python, {layout} observations",
                s.label
            );
            let (value, peak) = run(Command::new(python)
                .arg(script)
                .args(["single", s.env, &n, &k, &format!("--{layout}")])
                .args(&timing))?;
            rows.push(PythonRow {
                scenario: s.name,
                layout,
                num_envs: 1,
                threads: 1,
                rate: Rate::of(serde_json::from_value(value["rounds"].clone())?),
                peak_rss_kib: peak,
                native: None,
            });
        }
        eprintln!(
            "xtask: timing {NUM_ENVS} × {} from Python and natively",
            s.label
        );
        let thread_args: Vec<String> = threads.iter().map(ToString::to_string).collect();
        let b = NUM_ENVS.to_string();
        let (value, peak) = run(Command::new(python)
            .arg(script)
            .args(["vector", s.env, &n, &k, "--num-envs", &b, "--threads"])
            .args(&thread_args)
            .args(&timing))?;
        let (native, _) = run(Command::new(exe)
            .args(["__measure", "flat-vector", s.name, &b])
            .args([seconds.to_string(), rounds.to_string()])
            .args(&thread_args))?;
        for t in &thread_args {
            let rounds = |v: &serde_json::Value| -> Result<Rate> {
                Ok(Rate::of(
                    serde_json::from_value(v[t.as_str()].clone())
                        .with_context(|| format!("no rounds for {t} threads"))?,
                ))
            };
            rows.push(PythonRow {
                scenario: s.name,
                layout: "vector",
                num_envs: NUM_ENVS,
                threads: t.parse()?,
                rate: rounds(&value)?,
                peak_rss_kib: peak,
                native: Some(rounds(&native)?),
            });
        }
    }
    Ok(rows)
}

fn run(command: &mut Command) -> Result<(serde_json::Value, u64)> {
    let finished = process::run(command, |_, _| ())?;
    let value = serde_json::from_str(finished.stdout.trim())
        .with_context(|| format!("a Python timing printed `{}`", finished.stdout.trim()))?;
    Ok((value, finished.peak_rss_kib))
}

/// `xtask __measure flat-vector SCENARIO B SECONDS ROUNDS THREADS…`: what the Python
/// vector environment runs in Rust, without Python: `VectorEnv::step_flat` with NEXT_STEP
/// autoreset and slates drawn before the clock starts. Rounds alternate between the
/// thread counts.
pub fn native(args: &[String]) -> Result<serde_json::Value> {
    let number = |i: usize| -> Result<f64> {
        let arg = args.get(i).map(String::as_str).unwrap_or_default();
        arg.parse()
            .with_context(|| format!("argument {i} of flat-vector: `{arg}`"))
    };
    let scenario = SimScenario::named(args.first().map(String::as_str).unwrap_or_default())?;
    let (b, seconds, rounds) = (number(1)? as usize, number(2)?, number(3)? as usize);
    let s = scenario.scenario();
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
    for i in 4..args.len() {
        let threads = number(i)? as usize;
        let envs = (0..b).map(|_| s.build()).collect::<Result<Vec<_>, _>>()?;
        let mut vector = VectorEnv::new(envs, Execution::for_slots(threads, b))?
            .with_autoreset(Autoreset::NextStep);
        vector.reset(s.seed);
        let flat = vec![0.0; b * vector.flat_dim()];
        runs.push((threads, vector, flat, Vec::new()));
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

impl Report {
    /// The single environment's rate and RecSim's (this run's, else the reference) for
    /// a scenario.
    fn python_baselines(&self, scenario: &str) -> (f64, Option<f64>, Option<f64>) {
        let sim = self.simulator.iter().find(|r| r.scenario == scenario);
        (
            sim.map_or(f64::NAN, |r| r.rlrec.median),
            sim.and_then(|r| r.recsim.as_ref()).map(|r| r.rate.median),
            sim.and_then(|r| r.recsim_reference),
        )
    }

    /// The Python package's rows, as a section of the report.
    pub(super) fn python_section(&self) -> Option<Section> {
        if self.python.is_empty() {
            return None;
        }
        let mut t = Table::new(&[
            ("scenario", Align::Left),
            ("layout", Align::Left),
            ("environments", Align::Right),
            ("threads", Align::Right),
            ("steps/s", Align::Right),
            ("× RecSim", Align::Right),
            ("× reference", Align::Right),
            ("× Rust", Align::Right),
            ("× native", Align::Right),
            ("peak RSS", Align::Right),
        ]);
        for r in &self.python {
            let (rust, recsim, reference) = self.python_baselines(r.scenario);
            let label = SCENARIOS
                .iter()
                .find(|s| s.name == r.scenario)
                .map_or(r.scenario, |s| s.label);
            t.row(vec![
                label.to_string(),
                r.layout.to_string(),
                r.num_envs.to_string(),
                r.threads.to_string(),
                rate(&r.rate),
                times(recsim.map(|x| r.rate.median / x)),
                times(reference.map(|x| r.rate.median / x)),
                format!("{:.2}×", r.rate.median / rust),
                r.native.as_ref().map_or("–".into(), |n| {
                    format!("{:.2}× ({})", r.rate.median / n.median, thousands(n.median))
                }),
                mib(r.peak_rss_kib),
            ]);
        }
        Some(Section {
            heading: "From Python".into(),
            intro: format!(
                "The `rlrec` wheel (`python/`) in the test venv, timed by \
                 `xtask/python_bench.py`: reset+step under random slates drawn before the \
                 clock starts, `rlrec.make(…, flat=True)` (one float32 vector), \
                 `rlrec.make(…)` (RLlib's dict layout) and `rlrec.make_vec(…, \
                 num_envs={NUM_ENVS}, flat=True)` (NEXT_STEP autoreset, copies handed out, one \
                 step is {NUM_ENVS} environment steps). \"× RecSim\" is over RecSim in this \
                 run (with `--vs-recsim`), \"× reference\" over RecSim's reference figure, \
                 \"× Rust\" over one Rust environment on one core (the first table), \"× \
                 native\" over the same vector environment's Rust part alone \
                 (`VectorEnv::step_flat`, the same slates, no Python)."
            ),
            tables: vec![t],
            lines: Vec::new(),
        })
    }
}

fn times(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{x:.1}×"))
}
