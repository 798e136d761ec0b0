//! The benchmark's results: the printed table, `benchmarks.json` and `benchmarks.md`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Serialize;

use super::slateq::SlateQRun;
use super::SimScenario;

/// RLlib 2.8.1's figures in `shared/docs/reference-figures.md`: LinUCB's 100 tutorial
/// iterations took this many seconds, SlateQ trained at about this many steps per second.
const RLLIB_LINUCB_SECONDS: f64 = 16.7;
const RLLIB_SLATEQ_STEPS_PER_S: f64 = 92.0;

/// Steps per second over timed rounds.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    /// The headline figure: the median round.
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub rounds: Vec<f64>,
}

impl Rate {
    pub fn of(mut rounds: Vec<f64>) -> Self {
        rounds.sort_by(f64::total_cmp);
        let n = rounds.len();
        let median = match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => rounds[n / 2],
            _ => (rounds[n / 2 - 1] + rounds[n / 2]) / 2.0,
        };
        Self {
            median,
            min: rounds.first().copied().unwrap_or(f64::NAN),
            max: rounds.last().copied().unwrap_or(f64::NAN),
            rounds,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RecSimRow {
    pub rate: Rate,
    pub peak_rss_kib: u64,
}

/// One simulator scenario on one core, rlrec and (with `--vs-recsim`) RecSim.
#[derive(Debug, Clone, Serialize)]
pub struct SimRow {
    pub scenario: &'static str,
    pub label: &'static str,
    pub rlrec: Rate,
    pub rlrec_peak_rss_kib: u64,
    pub recsim: Option<RecSimRow>,
    /// rlrec / RecSim, both measured in this run.
    pub ratio: Option<f64>,
    /// RecSim's figure in the reference figures, and rlrec's ratio to it.
    pub recsim_reference: Option<f64>,
    pub reference_ratio: Option<f64>,
    /// Criterion's mean time of the step alone (no policy), ns; full runs only.
    pub criterion_step_ns: Option<f64>,
}

impl SimRow {
    pub fn new(s: &SimScenario, rlrec: Rate, peak: u64, recsim: Option<RecSimRow>) -> Self {
        Self {
            scenario: s.name,
            label: s.label,
            ratio: recsim.as_ref().map(|r| rlrec.median / r.rate.median),
            reference_ratio: s.recsim_reference.map(|r| rlrec.median / r),
            recsim_reference: s.recsim_reference,
            rlrec,
            rlrec_peak_rss_kib: peak,
            recsim,
            criterion_step_ns: None,
        }
    }
}

/// The vector environment of one scenario on some threads.
#[derive(Debug, Clone, Serialize)]
pub struct VectorRow {
    pub scenario: &'static str,
    pub num_envs: usize,
    /// Steps per slot per call: 1 is `step_with` (the threads meet every step), more is
    /// `rollout`.
    pub fragment: usize,
    pub threads: usize,
    pub rate: Rate,
    pub peak_rss_kib: u64,
}

/// One single-environment process alone, then two at once (the sum of their rates), in
/// alternating rounds.
#[derive(Debug, Clone, Serialize)]
pub struct PairRow {
    pub scenario: &'static str,
    pub alone: Rate,
    pub both: Rate,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinUcbRow {
    pub iterations: u64,
    pub timesteps: u64,
    pub seconds: f64,
    pub iterations_per_s: f64,
    pub steps_per_s: f64,
    pub episode_reward_mean: Option<f64>,
    pub peak_rss_kib: u64,
}

impl LinUcbRow {
    pub fn parse(stdout: &str, peak_rss_kib: u64) -> Result<Self> {
        let v: serde_json::Value =
            serde_json::from_str(stdout.trim()).context("LinUCB's measurement output")?;
        let number = |key: &str| v[key].as_f64().with_context(|| format!("LinUCB's {key}"));
        let (iterations, timesteps, seconds) = (
            number("iterations")?,
            number("timesteps")?,
            number("seconds")?,
        );
        Ok(Self {
            iterations: iterations as u64,
            timesteps: timesteps as u64,
            seconds,
            iterations_per_s: iterations / seconds,
            steps_per_s: timesteps / seconds,
            episode_reward_mean: v["episode_reward_mean"].as_f64(),
            peak_rss_kib,
        })
    }
}

/// The machine the figures were measured on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    /// `/proc/loadavg`'s 1, 5 and 15-minute load before and after the run: other
    /// processes distort the timings.
    pub load_before: Option<[f64; 3]>,
    pub load_after: Option<[f64; 3]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: String,
    pub quick: bool,
    pub date: String,
    pub commit: String,
    pub machine: Machine,
    pub simulator: Vec<SimRow>,
    pub vector: Vec<VectorRow>,
    pub pairs: Vec<PairRow>,
    pub linucb: Option<LinUcbRow>,
    pub slateq: Option<SlateQRun>,
    pub recsim_versions: Option<serde_json::Value>,
    /// The Python package's figures ([`super::python`]).
    pub python: Vec<super::python::PythonRow>,
}

impl Report {
    pub fn new(root: &Path, quick: bool, args: &[String]) -> Self {
        let mut command = "cargo xtask bench".to_string();
        args.iter().for_each(|a| write!(command, " {a}").unwrap());
        Self {
            command,
            quick,
            date: utc_now(),
            commit: commit(root),
            machine: Machine {
                cpu: cpu_model().unwrap_or_else(|| "unknown".into()),
                cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
                load_before: load(),
                load_after: None,
            },
            simulator: Vec::new(),
            vector: Vec::new(),
            pairs: Vec::new(),
            linucb: None,
            slateq: None,
            recsim_versions: None,
            python: Vec::new(),
        }
    }

    pub fn finish(&mut self) {
        self.machine.load_after = load();
    }

    /// The vector rows of `scenario` with their speed-ups over the 1-thread row of the
    /// same fragment length and over one plain environment on one core.
    fn vector_rows(&self, scenario: &str) -> Vec<(&VectorRow, f64, f64)> {
        let rows: Vec<&VectorRow> = self
            .vector
            .iter()
            .filter(|r| r.scenario == scenario)
            .collect();
        let single = self
            .simulator
            .iter()
            .find(|r| r.scenario == scenario)
            .map_or(f64::NAN, |r| r.rlrec.median);
        rows.iter()
            .map(|r| {
                let one_thread = rows
                    .iter()
                    .find(|o| o.threads == 1 && o.fragment == r.fragment)
                    .map_or(f64::NAN, |o| o.rate.median);
                (*r, r.rate.median / one_thread, r.rate.median / single)
            })
            .collect()
    }

    /// The two-process rows with their speed-up over one process.
    fn pair_rows(&self) -> Vec<(&PairRow, f64)> {
        self.pairs
            .iter()
            .map(|r| (r, r.both.median / r.alone.median))
            .collect()
    }

    /// The plain-text table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let w = &mut t;
        let _ = writeln!(
            w,
            "\n{}  ({}, commit {})",
            self.command, self.date, self.commit
        );
        let _ = writeln!(w, "{}", self.machine_line());
        let _ = writeln!(
            w,
            "\nSimulator, one core, reset+step under the random policy (median round)"
        );
        let _ = writeln!(
            w,
            "{:<48} {:>14} {:>8} {:>9} {:>14} {:>9} {:>10} {:>11}",
            "scenario",
            "rlrec steps/s",
            "ns/step",
            "step ns",
            "RecSim steps/s",
            "ratio",
            "vs ref.",
            "peak RSS"
        );
        for r in &self.simulator {
            let _ = writeln!(
                w,
                "{:<48} {:>14} {:>8.0} {:>9} {:>14} {:>9} {:>10} {:>11}",
                r.label,
                thousands(r.rlrec.median),
                1e9 / r.rlrec.median,
                r.criterion_step_ns
                    .map_or("-".into(), |ns| format!("{ns:.0}")),
                r.recsim
                    .as_ref()
                    .map_or("-".into(), |x| thousands(x.rate.median)),
                r.ratio.map_or("-".into(), |x| format!("{x:.0}×")),
                r.reference_ratio.map_or("-".into(), |x| format!("{x:.0}×")),
                mib(r.rlrec_peak_rss_kib),
            );
        }
        if let Some(first) = self.vector.first() {
            let _ = writeln!(
                w,
                "\nVector environment, {} environments, a random policy each (median round)",
                first.num_envs
            );
            let _ = writeln!(
                w,
                "{:<22} {:>10} {:>7} {:>14} {:>11} {:>10} {:>11}",
                "scenario",
                "steps/call",
                "threads",
                "steps/s",
                "× 1 thread",
                "× one env",
                "peak RSS"
            );
            for s in &self.simulator {
                for (r, scaling, vs_single) in self.vector_rows(s.scenario) {
                    let _ = writeln!(
                        w,
                        "{:<22} {:>10} {:>7} {:>14} {:>10.2}× {:>9.2}× {:>11}",
                        r.scenario,
                        r.fragment,
                        r.threads,
                        thousands(r.rate.median),
                        scaling,
                        vs_single,
                        mib(r.peak_rss_kib),
                    );
                }
            }
        }
        if !self.pairs.is_empty() {
            let _ = writeln!(
                w,
                "\nOne single-environment process alone, then two at once (the machine's own two-core ceiling)"
            );
            let _ = writeln!(
                w,
                "{:<22} {:>14} {:>14} {:>14}",
                "scenario", "one, steps/s", "two, steps/s", "× one process"
            );
            for (r, scaling) in self.pair_rows() {
                let _ = writeln!(
                    w,
                    "{:<22} {:>14} {:>14} {:>13.2}×",
                    r.scenario,
                    thousands(r.alone.median),
                    thousands(r.both.median),
                    scaling
                );
            }
        }
        t.push_str(&self.python_table());
        let w = &mut t;
        if let Some(l) = &self.linucb {
            let _ = writeln!(
                w,
                "\nLinUCB, StrongLTS 20/2, seed 123: {} iterations ({} steps) in {:.3} s: {:.0} iterations/s, {} steps/s, peak RSS {} (RLlib 2.8.1: 100 iterations in {RLLIB_LINUCB_SECONDS} s)",
                l.iterations, l.timesteps, l.seconds, l.iterations_per_s, thousands(l.steps_per_s), mib(l.peak_rss_kib)
            );
        }
        if let Some(s) = &self.slateq {
            let _ = writeln!(
                w,
                "\nSlateQ, rlrec train --algo slateq {}: {} iterations, {} steps, {} gradient steps",
                s.args.join(" "),
                s.iterations,
                s.timesteps,
                s.grad_steps
            );
            let _ = writeln!(
                w,
                "  {} env steps/s and {} gradient steps/s over {:.1} s of training; {:.1} s wall in all; peak RSS {}",
                thousands(s.steps_per_s),
                thousands(s.grad_steps_per_s),
                s.train_s,
                s.wall_s,
                mib(s.peak_rss_kib)
            );
            let _ = writeln!(
                w,
                "  learning iterations without evaluation: {} env steps/s, {} gradient steps/s (RLlib 2.8.1: about {RLLIB_SLATEQ_STEPS_PER_S} env steps/s)",
                s.learning_steps_per_s.map_or("-".into(), thousands),
                s.learning_grad_steps_per_s.map_or("-".into(), thousands)
            );
            for c in &s.crossings {
                let _ = writeln!(w, "  {} mean > {}: {}", c.metric, c.level, crossing(c));
            }
            let _ = writeln!(
                w,
                "  last training mean {}, final evaluation {}",
                optional(s.final_training_mean),
                optional(s.final_evaluation_mean)
            );
        }
        t
    }

    fn machine_line(&self) -> String {
        let m = &self.machine;
        format!(
            "{} cores of {}; load average (1, 5, 15 min) {} before, {} after",
            m.cores,
            m.cpu,
            loads(m.load_before),
            loads(m.load_after)
        )
    }

    /// `docs/benchmarks.md`.
    pub fn markdown(&self) -> String {
        let mut t = String::new();
        let w = &mut t;
        let _ = writeln!(w, "# Benchmarks\n");
        let _ = writeln!(
            w,
            "Written by `{}` on {} (commit {}). {}.\n",
            self.command,
            self.date,
            self.commit,
            self.machine_line()
        );
        let _ = writeln!(
            w,
            "Every figure comes from a child process of its own, built in release mode; its peak \
             resident set size is the kernel's high-water mark returned by `wait4`. Other \
             processes on the machine slow the figures down: see the load above.\n"
        );
        let _ = writeln!(w, "## Simulator throughput, one core\n");
        let _ = writeln!(
            w,
            "One environment, reset+step under the random policy (each slate position uniform), \
             observations built every step, as RecSim's reference figures were timed. Median of \
             the timed rounds (range in brackets). RecSim is 0.2.4 in Python{}, timed in the same \
             run by `xtask/recsim_bench.py` with a seeded action space built once. \
             \"Step alone\" is criterion's mean time of one step without the policy \
             (`cargo bench -p env --bench step`).\n",
            self.recsim_versions
                .as_ref()
                .map_or(String::new(), |v| format!(
                    " {} (numpy {}, gym {})",
                    v["python"].as_str().unwrap_or("?"),
                    v["numpy"].as_str().unwrap_or("?"),
                    v["gym"].as_str().unwrap_or("?")
                ))
        );
        let _ = writeln!(
            w,
            "| scenario | rlrec steps/s | ns/step | step alone, ns | RecSim steps/s | rlrec / RecSim | RecSim reference | rlrec / reference | peak RSS rlrec | peak RSS RecSim |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.simulator {
            let _ = writeln!(
                w,
                "| {} | {} [{}–{}] | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
                r.label,
                thousands(r.rlrec.median),
                thousands(r.rlrec.min),
                thousands(r.rlrec.max),
                1e9 / r.rlrec.median,
                r.criterion_step_ns
                    .map_or("–".into(), |ns| format!("{ns:.0}")),
                r.recsim.as_ref().map_or("–".into(), |x| format!(
                    "{} [{}–{}]",
                    thousands(x.rate.median),
                    thousands(x.rate.min),
                    thousands(x.rate.max)
                )),
                r.ratio.map_or("–".into(), |x| format!("{x:.0}×")),
                r.recsim_reference.map_or("–".into(), thousands),
                r.reference_ratio.map_or("–".into(), |x| format!("{x:.0}×")),
                mib(r.rlrec_peak_rss_kib),
                r.recsim
                    .as_ref()
                    .map_or("–".into(), |x| mib(x.peak_rss_kib)),
            );
        }
        if let Some(first) = self.vector.first() {
            let _ = writeln!(w, "\n## Vector environment\n");
            let _ = writeln!(
                w,
                "`env::VectorEnv` with {} environments, each with its own random policy acting on \
                 the thread that steps it. One step per call is `step_with`: the threads meet at \
                 every step. More steps per call is `rollout`: each slot runs its steps in a \
                 row and the threads meet once per call. 1 thread is the sequential execution. \
                 Speed-ups are over the 1-thread vector with the same steps per call, and over \
                 one plain environment on one core (the table above).\n",
                first.num_envs
            );
            let _ = writeln!(
                w,
                "| scenario | steps per call | threads | steps/s | × 1 thread | × one environment | peak RSS |"
            );
            let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|");
            for s in &self.simulator {
                for (r, scaling, vs_single) in self.vector_rows(s.scenario) {
                    let _ = writeln!(
                        w,
                        "| {} | {} | {} | {} | {:.2}× | {:.2}× | {} |",
                        s.label,
                        r.fragment,
                        r.threads,
                        thousands(r.rate.median),
                        scaling,
                        vs_single,
                        mib(r.peak_rss_kib)
                    );
                }
            }
        }
        if !self.pairs.is_empty() {
            let _ = writeln!(
                w,
                "\nThe machine's own ceiling: one single-environment process alone, then two at \
                 once (the sum of their steps per second), in alternating rounds.\n"
            );
            let _ = writeln!(
                w,
                "| scenario | steps/s, one process | steps/s, two processes | × one process |"
            );
            let _ = writeln!(w, "|---|---:|---:|---:|");
            for (r, scaling) in self.pair_rows() {
                let label = self
                    .simulator
                    .iter()
                    .find(|s| s.scenario == r.scenario)
                    .map_or(r.scenario, |s| s.label);
                let _ = writeln!(
                    w,
                    "| {label} | {} | {} | {scaling:.2}× |",
                    thousands(r.alone.median),
                    thousands(r.both.median)
                );
            }
        }
        t.push_str(&self.python_markdown());
        let w = &mut t;
        if let Some(l) = &self.linucb {
            let _ = writeln!(w, "\n## LinUCB training\n");
            let _ = writeln!(
                w,
                "The tutorial's setting (`rlrec train --algo linucb --seed 123`: StrongLTS 20/2, \
                 discrete actions, bandit observation, one 120-step episode per iteration), the \
                 training iterations alone (no checkpoints, no final evaluation). For scale: \
                 RLlib 2.8.1 trained its 100 iterations (10,000 steps) in {RLLIB_LINUCB_SECONDS} s \
                 on the reference machine (`shared/docs/reference-figures.md`).\n"
            );
            let _ = writeln!(
                w,
                "| iterations | environment steps | seconds | iterations/s | steps/s | last training mean | peak RSS |"
            );
            let _ = writeln!(w, "|---:|---:|---:|---:|---:|---:|---:|");
            let _ = writeln!(
                w,
                "| {} | {} | {:.3} | {:.0} | {} | {} | {} |",
                l.iterations,
                thousands(l.timesteps as f64),
                l.seconds,
                l.iterations_per_s,
                thousands(l.steps_per_s),
                optional(l.episode_reward_mean),
                mib(l.peak_rss_kib)
            );
        }
        if let Some(s) = &self.slateq {
            let _ = writeln!(w, "\n## SlateQ training\n");
            let _ = writeln!(
                w,
                "`rlrec train --algo slateq --json {}` on the default scenario (StrongLTS 20/2, \
                 user observation), through the built binary on the CPU. Steps per second are \
                 over the training iterations' time (`time_total_s`: the warm-up of random \
                 slates and the evaluations every few iterations included), and, in brackets, \
                 over the iterations that learned and ran no evaluation; wall time is the whole \
                 process (start-up, checkpoints, final evaluation, plot).\n",
                s.args.join(" ")
            );
            let _ = writeln!(
                w,
                "| iterations | env steps | gradient steps | training s | env steps/s | gradient steps/s | wall s | last training mean | final evaluation | peak RSS |"
            );
            let _ = writeln!(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            let learning =
                |x: Option<f64>| x.map_or(String::new(), |x| format!(" ({})", thousands(x)));
            let _ = writeln!(
                w,
                "| {} | {} | {} | {:.1} | {}{} | {}{} | {:.1} | {} | {} | {} |",
                s.iterations,
                thousands(s.timesteps as f64),
                thousands(s.grad_steps as f64),
                s.train_s,
                thousands(s.steps_per_s),
                learning(s.learning_steps_per_s),
                thousands(s.grad_steps_per_s),
                learning(s.learning_grad_steps_per_s),
                s.wall_s,
                optional(s.final_training_mean),
                optional(s.final_evaluation_mean),
                mib(s.peak_rss_kib)
            );
            let _ = writeln!(
                w,
                "\nWhen the means first passed the tutorial's levels (environment steps, wall \
                 seconds since the process started). The training mean is over the last 100 \
                 finished episodes, under exploration; the evaluated mean is each periodic \
                 evaluation's, 100 episodes without exploration (the final evaluation above \
                 runs the configuration's `eval_episodes`, 1000 by default):\n"
            );
            let _ = writeln!(w, "| mean | level | reached |");
            let _ = writeln!(w, "|---|---:|---|");
            for c in &s.crossings {
                let _ = writeln!(w, "| {} | {} | {} |", c.metric, c.level, crossing(c));
            }
            let _ = writeln!(
                w,
                "\nFor scale, RLlib 2.8.1's SlateQ on the reference machine: about \
                 {RLLIB_SLATEQ_STEPS_PER_S} environment steps/s; its training mean first passed \
                 1160 at 36,000 steps and 292 s, and its evaluated mean never did \
                 (`shared/docs/reference-figures.md`).\n"
            );
        }
        t
    }
}

fn crossing(c: &super::slateq::Crossing) -> String {
    match (c.timesteps, c.wall_s) {
        (Some(steps), Some(at)) => format!("{} steps, {at:.1} s", thousands(steps as f64)),
        _ => "not within the run".into(),
    }
}

fn optional(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{x:.1}"))
}

fn loads(l: Option<[f64; 3]>) -> String {
    l.map_or("unknown".into(), |[a, b, c]| {
        format!("{a:.2} {b:.2} {c:.2}")
    })
}

/// KiB as MiB with one decimal.
fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A rate rounded to an integer, with thousands separators.
pub(super) fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 {
        out.insert(0, '-');
    }
    out
}

fn load() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// The short commit id, marked where tracked files have changes (the benchmark writes
/// its own untracked outputs).
fn commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(id)
            if git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty()) =>
        {
            format!("{id} with uncommitted changes")
        }
        Some(id) => id,
        None => "unknown".into(),
    }
}

/// The current time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let minutes = secs % 86_400 / 60;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_numbers_print_as_expected() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(thousands(27_600.4), "27,600");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        let r = Rate::of(vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!((r.median, r.min, r.max), (2.5, 1.0, 10.0));
    }
}
