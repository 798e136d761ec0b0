//! The benchmark's results: the printed table, `benchmarks.json` and `benchmarks.md`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde::Serialize;

use super::rows::{LinUcbRow, LogRow, PairRow, PythonRow, Rate, SimRow, VectorRow};
use super::slateq::SlateQRun;

/// RLlib 2.8.1's figures in `docs/reference.md`: LinUCB's 100 tutorial
/// iterations took this many seconds, SlateQ trained at about this many steps per second.
const RLLIB_LINUCB_SECONDS: f64 = 16.7;
const RLLIB_SLATEQ_STEPS_PER_S: f64 = 92.0;

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
    pub logs: Vec<LogRow>,
    /// The default SlateQ, then the four-environment configuration.
    pub slateq: Vec<SlateQRun>,
    pub recsim_versions: Option<serde_json::Value>,
    /// The Python package's figures ([`super::python`]).
    pub python: Vec<PythonRow>,
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
            logs: Vec::new(),
            slateq: Vec::new(),
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

    /// The report as sections of tables: one model that both renderers draw.
    fn sections(&self) -> Vec<Section> {
        let mut out = Vec::new();
        let mut sim = Table::new(&[
            ("scenario", Align::Left),
            ("rlrec steps/s", Align::Right),
            ("ns/step", Align::Right),
            ("step alone, ns", Align::Right),
            ("RecSim steps/s", Align::Right),
            ("rlrec / RecSim", Align::Right),
            ("RecSim reference", Align::Right),
            ("rlrec / reference", Align::Right),
            ("peak RSS rlrec", Align::Right),
            ("peak RSS RecSim", Align::Right),
        ]);
        for r in &self.simulator {
            sim.row(vec![
                r.label.to_string(),
                rate(&r.rlrec),
                format!("{:.0}", 1e9 / r.rlrec.median),
                r.criterion_step_ns
                    .map_or("–".into(), |ns| format!("{ns:.0}")),
                r.recsim.as_ref().map_or("–".into(), |x| rate(&x.rate)),
                r.ratio.map_or("–".into(), |x| format!("{x:.0}×")),
                r.recsim_reference.map_or("–".into(), thousands),
                r.reference_ratio.map_or("–".into(), |x| format!("{x:.0}×")),
                mib(r.rlrec_peak_rss_kib),
                r.recsim
                    .as_ref()
                    .map_or("–".into(), |x| mib(x.peak_rss_kib)),
            ]);
        }
        out.push(Section {
            heading: "Simulator throughput, one core".into(),
            intro: format!(
                "One environment, reset+step under the random policy (each slate position \
                 uniform), observations built every step, as RecSim's reference figures were \
                 timed. Median of the timed rounds (range in brackets). RecSim is 0.2.4 in \
                 Python{}, timed in the same run by `xtask/recsim_bench.py` with a seeded \
                 action space built once. \"Step alone\" is criterion's mean time of one step \
                 without the policy (`cargo bench -p env --bench step`).",
                self.recsim_versions
                    .as_ref()
                    .map_or(String::new(), |v| format!(
                        " {} (numpy {}, gym {})",
                        v["python"].as_str().unwrap_or("?"),
                        v["numpy"].as_str().unwrap_or("?"),
                        v["gym"].as_str().unwrap_or("?")
                    ))
            ),
            tables: vec![sim],
            lines: Vec::new(),
        });
        if let Some(first) = self.vector.first() {
            let mut t = Table::new(&[
                ("scenario", Align::Left),
                ("steps per call", Align::Right),
                ("threads", Align::Right),
                ("steps/s", Align::Right),
                ("× 1 thread", Align::Right),
                ("× one environment", Align::Right),
                ("peak RSS", Align::Right),
            ]);
            for s in &self.simulator {
                for (r, scaling, vs_single) in self.vector_rows(s.scenario) {
                    t.row(vec![
                        s.label.to_string(),
                        r.fragment.to_string(),
                        r.threads.to_string(),
                        thousands(r.rate.median),
                        format!("{scaling:.2}×"),
                        format!("{vs_single:.2}×"),
                        mib(r.peak_rss_kib),
                    ]);
                }
            }
            out.push(Section {
                heading: "Vector environment".into(),
                intro: format!(
                    "`env::VectorEnv` with {} environments, each with its own random policy \
                     acting on the thread that steps it. One step per call is `step_with`: the \
                     threads meet at every step. More steps per call is `rollout`: each slot \
                     runs its steps in a row and the threads meet once per call. 1 thread is \
                     the sequential execution. Speed-ups are over the 1-thread vector with the \
                     same steps per call, and over one plain environment on one core.",
                    first.num_envs
                ),
                tables: vec![t],
                lines: Vec::new(),
            });
        }
        if !self.pairs.is_empty() {
            let mut t = Table::new(&[
                ("scenario", Align::Left),
                ("steps/s, one process", Align::Right),
                ("steps/s, two processes", Align::Right),
                ("× one process", Align::Right),
            ]);
            for (r, scaling) in self.pair_rows() {
                let label = self
                    .simulator
                    .iter()
                    .find(|s| s.scenario == r.scenario)
                    .map_or(r.scenario, |s| s.label);
                t.row(vec![
                    label.to_string(),
                    thousands(r.alone.median),
                    thousands(r.both.median),
                    format!("{scaling:.2}×"),
                ]);
            }
            out.push(Section {
                heading: "The machine's two-core ceiling".into(),
                intro: "One single-environment process alone, then two at once (the sum of \
                        their steps per second), in alternating rounds."
                    .into(),
                tables: vec![t],
                lines: Vec::new(),
            });
        }
        out.extend(self.python_section());
        if let Some(l) = &self.linucb {
            let mut t = Table::new(&[
                ("iterations", Align::Right),
                ("environment steps", Align::Right),
                ("seconds", Align::Right),
                ("iterations/s", Align::Right),
                ("steps/s", Align::Right),
                ("last training mean", Align::Right),
                ("peak RSS", Align::Right),
            ]);
            t.row(vec![
                l.iterations.to_string(),
                thousands(l.timesteps as f64),
                format!("{:.3}", l.seconds),
                format!("{:.0}", l.iterations_per_s),
                thousands(l.steps_per_s),
                optional(l.episode_reward_mean),
                mib(l.peak_rss_kib),
            ]);
            out.push(Section {
                heading: "LinUCB training".into(),
                intro: format!(
                    "The tutorial's setting (`rlrec train --algo linucb --seed 123`: StrongLTS \
                     20/2, discrete actions, bandit observation, one 120-step episode per \
                     iteration): the seconds are the training iterations' own (`time_total_s` \
                     of the last), without checkpoints or the final evaluation; the peak RSS \
                     is the whole `rlrec` process's, libtorch's libraries included (about 110 \
                     MiB of it, as in every process that links them). For scale: RLlib 2.8.1 \
                     trained its 100 iterations (10,000 steps) in {RLLIB_LINUCB_SECONDS} s on \
                     the reference machine (`docs/reference.md`)."
                ),
                tables: vec![t],
                lines: Vec::new(),
            });
        }
        if !self.logs.is_empty() {
            let mut t = Table::new(&[
                ("case", Align::Left),
                ("steps", Align::Right),
                ("logging s", Align::Right),
                ("logged steps/s", Align::Right),
                ("Parquet MB", Align::Right),
                ("peak RSS logging", Align::Right),
                ("OPE s", Align::Right),
                ("OPE steps/s", Align::Right),
                ("peak RSS OPE", Align::Right),
            ]);
            for r in &self.logs {
                t.row(vec![
                    r.case.to_string(),
                    thousands(r.steps as f64),
                    format!("{:.2}", r.log_seconds),
                    thousands(r.log_steps_per_s),
                    format!("{:.1}", r.bytes as f64 / 1e6),
                    mib(r.log_peak_rss_kib),
                    format!("{:.2}", r.ope_seconds),
                    thousands(r.ope_steps_per_s),
                    mib(r.ope_peak_rss_kib),
                ]);
            }
            out.push(Section {
                heading: "Logs and off-policy evaluation".into(),
                intro: "`rlrec log` in-process on one core: the environment, the logging policy \
                        and its probabilities, and the Parquet file (Snappy), written and synced; \
                        then, in a process of its own, `rlrec ope`'s every estimator on that log \
                        (two passes: the reward model, then the target on every logged \
                        observation). Logging streams in row groups, so its memory does not \
                        grow with the log; the estimators keep about a hundred bytes per logged \
                        step."
                    .into(),
                tables: vec![t],
                lines: Vec::new(),
            });
        }
        if !self.slateq.is_empty() {
            let learning =
                |x: Option<f64>| x.map_or(String::new(), |x| format!(" ({})", thousands(x)));
            let mut t = Table::new(&[
                ("configuration", Align::Left),
                ("iterations", Align::Right),
                ("env steps", Align::Right),
                ("gradient steps", Align::Right),
                ("training s", Align::Right),
                ("env steps/s", Align::Right),
                ("gradient steps/s", Align::Right),
                ("wall s", Align::Right),
                ("last training mean", Align::Right),
                ("final evaluation", Align::Right),
                ("peak RSS", Align::Right),
            ]);
            let mut crossings = Table::new(&[
                ("configuration", Align::Left),
                ("mean", Align::Left),
                ("level", Align::Right),
                ("reached", Align::Left),
            ]);
            for s in &self.slateq {
                t.row(vec![
                    s.label.to_string(),
                    s.iterations.to_string(),
                    thousands(s.timesteps as f64),
                    thousands(s.grad_steps as f64),
                    format!("{:.1}", s.train_s),
                    format!(
                        "{}{}",
                        thousands(s.steps_per_s),
                        learning(s.learning_steps_per_s)
                    ),
                    format!(
                        "{}{}",
                        thousands(s.grad_steps_per_s),
                        learning(s.learning_grad_steps_per_s)
                    ),
                    format!("{:.1}", s.wall_s),
                    optional(s.final_training_mean),
                    optional(s.final_evaluation_mean),
                    mib(s.peak_rss_kib),
                ]);
                for c in &s.crossings {
                    crossings.row(vec![
                        s.label.to_string(),
                        c.metric.to_string(),
                        c.level.to_string(),
                        crossing(c),
                    ]);
                }
            }
            out.push(Section {
                heading: "SlateQ training".into(),
                intro: format!(
                    "`rlrec train --algo slateq --json {}` on the default scenario (StrongLTS \
                     20/2, user observation and the time left), through the built binary on \
                     the CPU: four environments at once, their slates chosen in one batched \
                     forward pass, one gradient step of 256 transitions per step of all four, \
                     and each periodic evaluation on the second core while its iteration \
                     trains (it evaluates the policy as the iteration started, 1000 steps \
                     earlier). `{}` is the same without `{}`: each evaluation follows its \
                     iteration's training. `{}` adds `--config {}`: one environment, a \
                     gradient step of 64 after every step and one-step targets, which ends \
                     closer to the optimum. Steps per second are over the training \
                     iterations' time (`time_total_s`: the warm-up of random slates and the \
                     evaluations included), and, in brackets, over the iterations that \
                     learned and ran no evaluation; wall time is the whole process (start-up, \
                     checkpoints, final evaluation, plot). The second table: when the means \
                     first passed 1180 and 1190 (the best stationary policy's 1191.0 is near; \
                     environment steps, wall seconds since the process started); the training \
                     mean is over the last 100 finished episodes, under exploration, the \
                     evaluated mean each periodic evaluation's, 100 episodes without \
                     exploration.",
                    self.slateq[0].args.join(" "),
                    super::slateq::SERIAL_LABEL,
                    super::slateq::PARALLEL,
                    super::slateq::ONE_ENV_LABEL,
                    super::slateq::ONE_ENV_CONFIG,
                ),
                tables: vec![t, crossings],
                lines: vec![
                    format!(
                        "For scale, RLlib 2.8.1's SlateQ on the reference machine: about \
                     {RLLIB_SLATEQ_STEPS_PER_S} environment steps/s; its training mean first \
                     passed 1160 at 36,000 steps and 292 s, and its evaluated mean never did \
                     (`docs/reference.md`)."
                    ),
                    "SlateQ against the baselines and the optimum on a suite of scenarios: \
                 [suite.md](suite.md) (`cargo xtask suite`)."
                        .to_string(),
                ],
            });
        }
        out
    }

    /// The plain-text tables printed at the end of a run.
    pub fn table(&self) -> String {
        let mut t = format!(
            "\n{}  ({}, commit {})\n{}\n",
            self.command,
            self.date,
            self.commit,
            self.machine_line()
        );
        for section in self.sections() {
            let _ = writeln!(t, "\n{}", section.heading);
            for table in &section.tables {
                t.push_str(&table.text());
            }
        }
        t
    }

    /// `docs/benchmarks.md`.
    pub fn markdown(&self) -> String {
        let mut t = String::from("# Benchmarks\n\n");
        let _ = writeln!(
            t,
            "Written by `{}` on {} (commit {}). {}.\n",
            self.command,
            self.date,
            self.commit,
            self.machine_line()
        );
        t.push_str(
            "Every figure comes from a child process of its own, built in release mode; its \
             peak resident set size is the kernel's high-water mark returned by `wait4`. Other \
             processes on the machine slow the figures down: see the load above.\n",
        );
        for section in self.sections() {
            let _ = writeln!(t, "\n## {}\n\n{}\n", section.heading, section.intro);
            for table in &section.tables {
                t.push_str(&table.markdown());
                t.push('\n');
            }
            for line in &section.lines {
                let _ = writeln!(t, "{line}\n");
            }
        }
        t
    }
}

/// A part of the report: a heading, prose for the page, tables and closing lines.
pub(super) struct Section {
    pub heading: String,
    pub intro: String,
    pub tables: Vec<Table>,
    pub lines: Vec<String>,
}

/// Which side a column's cells keep to.
#[derive(Clone, Copy)]
pub(super) enum Align {
    Left,
    Right,
}

/// A table of already formatted cells, drawn as padded text or as Markdown.
pub(super) struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(super) fn new(columns: &[(&'static str, Align)]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(super) fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    /// Columns padded to their widest cell, two spaces apart.
    fn text(&self) -> String {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (head, _))| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([head.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&self.columns)
                .zip(&widths)
                .map(|((cell, (_, align)), &w)| match align {
                    Align::Left => format!("{cell:<w$}"),
                    Align::Right => format!("{cell:>w$}"),
                })
                .collect();
            padded.join("  ").trim_end().to_string() + "\n"
        };
        let mut out = line(self.columns.iter().map(|(h, _)| *h).collect());
        for r in &self.rows {
            out.push_str(&line(r.iter().map(String::as_str).collect()));
        }
        out
    }

    /// A Markdown table.
    fn markdown(&self) -> String {
        let heads: Vec<&str> = self.columns.iter().map(|(h, _)| *h).collect();
        let rules: Vec<&str> = self
            .columns
            .iter()
            .map(|(_, a)| match a {
                Align::Left => "---",
                Align::Right => "---:",
            })
            .collect();
        let mut out = format!("| {} |\n|{}|\n", heads.join(" | "), rules.join("|"));
        for r in &self.rows {
            let _ = writeln!(out, "| {} |", r.join(" | "));
        }
        out
    }
}

/// A rate's median with its range.
pub(super) fn rate(r: &Rate) -> String {
    format!(
        "{} [{}–{}]",
        thousands(r.median),
        thousands(r.min),
        thousands(r.max)
    )
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
pub(super) fn mib(kib: u64) -> String {
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

pub(crate) fn load() -> Option<[f64; 3]> {
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
pub(crate) fn commit(root: &Path) -> String {
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

/// The time now as the pages print it, `YYYY-MM-DD HH:MM UTC` (as `rlrec` writes its run
/// folders' times), from `date`: xtask links none of the workspace's libraries.
pub(crate) fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "an unknown date".into(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_renders_as_text_and_markdown() {
        let mut t = Table::new(&[("name", Align::Left), ("steps/s", Align::Right)]);
        t.row(vec!["a".into(), "1,000".into()]);
        t.row(vec!["longer".into(), "5".into()]);
        assert_eq!(
            t.text(),
            "name    steps/s\na         1,000\nlonger        5\n"
        );
        assert_eq!(
            t.markdown(),
            "| name | steps/s |\n|---|---:|\n| a | 1,000 |\n| longer | 5 |\n"
        );
    }

    #[test]
    fn numbers_print_as_expected() {
        assert_eq!(thousands(27_600.4), "27,600");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        let r = Rate::of(vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!((r.median, r.min, r.max), (2.5, 1.0, 10.0));
    }
}
