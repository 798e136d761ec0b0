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

use anyhow::{Context, Result};

use super::process;
use super::report::{mib, rate, thousands, Align, Report, Section, Table};
use super::rows::{PythonRow, Rate};
use super::scenarios::SCENARIOS;

/// The vector environment's batch, as the acceptance figures ask for.
pub const NUM_ENVS: usize = 1024;

/// Times every scenario's layouts and vector environment; `seconds` and `rounds` per
/// measurement.
pub fn measure(
    python: &Path,
    script: &Path,
    measurer: &process::Measurer,
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
            let (value, peak) = process::json(
                Command::new(python)
                    .arg(script)
                    .args(["single", s.env, &n, &k, &format!("--{layout}")])
                    .args(&timing),
            )?;
            rows.push(PythonRow {
                scenario: s.name,
                layout,
                num_envs: 1,
                threads: 1,
                rate: Rate::of(process::rounds(&value)?),
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
        let (value, peak) = process::json(
            Command::new(python)
                .arg(script)
                .args(["vector", s.env, &n, &k, "--num-envs", &b, "--threads"])
                .args(&thread_args)
                .args(&timing),
        )?;
        let mut args = s.measure(
            "flat-vector",
            &[&b, &seconds.to_string(), &rounds.to_string()],
        );
        args.extend(thread_args.iter().cloned());
        let (native, _) = measurer.value(&args)?;
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
