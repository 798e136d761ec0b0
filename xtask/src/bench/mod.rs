//! `cargo xtask bench [--quick] [--vs-recsim | --vs-sardine | --serve]`: rlrec's speed,
//! side by side with Python RecSim's; with `--vs-sardine`, SARDINE's worlds beside
//! `sardine-rec`'s (see [`sardine`]), with `--serve`, `rlrec serve` under load (see
//! [`serving`]) instead.
//!
//! Every figure is measured in a child process of its own (see [`process`]): the
//! simulator and vector-environment throughput and the logs in the release-built
//! `measure` program (`crates/measure`, see [`process::Measurer`]), LinUCB's and SlateQ's
//! training through the built `rlrec` binary, RecSim through `xtask/recsim_bench.py` in a
//! cache venv. The table is printed and written as JSON under `target/bench/` and, for a
//! full run, as `docs/benchmarks.md`.

pub(crate) mod process;
mod python;
mod recsim;
pub(crate) mod report;
mod rows;
mod sardine;
mod scenarios;
mod serving;
mod slateq;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use report::Report;
use rows::{LinUcbRow, LogRow, PairRow, Rate, RecSimRow, SimRow, VectorRow};
use scenarios::SCENARIOS;

/// How long each measurement runs.
struct Plan {
    quick: bool,
    /// Seconds per timed round, and rounds, of the simulator and RecSim timings.
    sim_seconds: f64,
    sim_rounds: usize,
    vector_seconds: f64,
    vector_rounds: usize,
    num_envs: usize,
    linucb_iterations: u64,
    slateq_args: &'static [&'static str],
    /// Episodes logged per logging case: about a million steps in a full run.
    log_episodes: [u64; LOG_CASES.len()],
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                sim_seconds: 0.1,
                sim_rounds: 1,
                vector_seconds: 0.1,
                vector_rounds: 1,
                num_envs: 256,
                linucb_iterations: 10,
                log_episodes: [100, 100],
                // Past the 2,000 warm-up steps, with an iteration that learns and does not
                // evaluate, so that the learning speed is timed too.
                slateq_args: &[
                    "--iterations",
                    "4",
                    "--evaluation-interval",
                    "2",
                    "--eval-episodes",
                    "10",
                ],
            }
        } else {
            Self {
                quick,
                sim_seconds: 1.0,
                sim_rounds: 7,
                vector_seconds: 0.5,
                vector_rounds: 7,
                num_envs: 256,
                linucb_iterations: 100,
                log_episodes: [10_000, 12_000],
                slateq_args: &["--evaluation-interval", "2"],
            }
        }
    }
}

/// The logging cases: a scenario, and the logging policy and target (the measuring
/// program's names for the pair).
const LOG_CASES: [(&str, &str); 2] = [
    ("strong-lts", "random-to-greedy"),
    ("interest-evolution", "epsilon-greedy-to-softmax"),
];

const USAGE: &str = "usage: cargo xtask bench [--quick] [--vs-recsim | --vs-sardine | --serve]";

pub fn run(args: &[String]) -> Result<()> {
    let (mut quick, mut vs_recsim, mut vs_sardine, mut serve) = (false, false, false, false);
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            "--vs-recsim" => vs_recsim = true,
            "--vs-sardine" => vs_sardine = true,
            "--serve" => serve = true,
            other => bail!("unknown option `{other}`; {USAGE}"),
        }
    }
    let root = crate::workspace_root()?;
    if [vs_recsim, vs_sardine, serve]
        .iter()
        .filter(|&&on| on)
        .count()
        > 1
    {
        bail!("--vs-recsim, --vs-sardine and --serve are separate runs: {USAGE}");
    }
    if vs_sardine {
        return sardine::run(&root, quick);
    }
    if serve {
        return serving::run(&root, quick);
    }
    let plan = Plan::new(quick);
    let sim_seconds = plan.sim_seconds.to_string();
    // Set-up first, so that no build or install runs beside a measurement.
    let measurer = process::Measurer::build()?;
    let python = vs_recsim.then(recsim::ensure_venv).transpose()?;
    let package = crate::python::installed()?;
    let mut report = Report::new(&root, quick, args);

    // Criterion's micro-benchmarks of the step functions; the tests run each once, in
    // criterion's test mode.
    if !quick {
        eprintln!("xtask: criterion micro-benchmarks (cargo bench -p env --bench step)");
        crate::cargo(&["bench", "-p", "env", "--bench", "step"])?;
    }
    let criterion = (!quick).then(|| criterion_estimates(&root)).transpose()?;

    // Rounds alternate between rlrec and RecSim, each in a fresh process, so that both
    // meet the same spells of interference from other work on the machine.
    let script = root.join("xtask").join("recsim_bench.py");
    for scenario in &SCENARIOS {
        eprintln!("xtask: timing {} (one core)", scenario.label);
        let (mut rlrec, mut rlrec_peak) = (Vec::new(), 0);
        let mut recsim: Option<(Vec<f64>, u64)> = None;
        for _ in 0..plan.sim_rounds {
            let (rounds, peak) = measurer.rounds(&scenario.measure("sim", &[&sim_seconds, "1"]))?;
            rlrec.extend(rounds);
            rlrec_peak = rlrec_peak.max(peak);
            if let Some(python) = &python {
                let (rounds, peak, versions) =
                    recsim::measure(python, &script, scenario.name, plan.sim_seconds, 1)?;
                let (all, max_peak) = recsim.get_or_insert((Vec::new(), 0));
                all.extend(rounds);
                *max_peak = (*max_peak).max(peak);
                report.recsim_versions = Some(versions);
            }
        }
        let recsim = recsim.map(|(rounds, peak)| RecSimRow {
            rate: Rate::of(rounds),
            peak_rss_kib: peak,
        });
        let mut row = SimRow::new(scenario, Rate::of(rlrec), rlrec_peak, recsim);
        row.criterion_step_ns = criterion
            .as_ref()
            .and_then(|c| c.iter().find(|(name, _)| *name == scenario.name))
            .map(|(_, ns)| *ns);
        report.simulator.push(row);
    }

    // One process per scenario and steps per call; its rounds alternate between the
    // thread counts, so that the speed-ups compare like with like.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut thread_counts = vec![1, 2, cores];
    thread_counts.retain(|&t| t <= cores);
    thread_counts.dedup();
    let threads_arg: Vec<String> = thread_counts.iter().map(ToString::to_string).collect();
    for scenario in &SCENARIOS {
        // One step per call, and training's fragment.
        for fragment in ["1", "default"] {
            eprintln!(
                "xtask: timing {} × {} on {} thread(s), {fragment} step(s) per call",
                plan.num_envs,
                scenario.label,
                threads_arg.join(" and ")
            );
            let mut args = scenario.measure(
                "vector",
                &[
                    &plan.num_envs.to_string(),
                    fragment,
                    &plan.vector_seconds.to_string(),
                    &plan.vector_rounds.to_string(),
                ],
            );
            args.extend(threads_arg.iter().cloned());
            let (value, peak) = measurer.value(&args)?;
            let fragment = value["fragment"]
                .as_u64()
                .context("the vector measurement names no fragment")?
                as usize;
            for &threads in &thread_counts {
                let rounds = serde_json::from_value(value["rounds"][threads.to_string()].clone())
                    .with_context(|| format!("no rounds for {threads} threads"))?;
                report.vector.push(VectorRow {
                    scenario: scenario.name,
                    num_envs: plan.num_envs,
                    fragment,
                    threads,
                    rate: Rate::of(rounds),
                    peak_rss_kib: peak,
                });
            }
        }
    }

    report.python = python::measure(
        &package,
        &root.join("xtask").join("python_bench.py"),
        &measurer,
        plan.sim_seconds,
        plan.sim_rounds,
    )?;

    // The ceiling of the machine itself: two single-environment processes at once, each
    // round right after one process alone.
    if cores >= 2 {
        for scenario in &SCENARIOS {
            eprintln!("xtask: timing two {} processes at once", scenario.label);
            let args = scenario.measure("sim", &[&sim_seconds, "1"]);
            let (mut alone, mut sums) = (Vec::new(), Vec::new());
            for _ in 0..plan.vector_rounds {
                alone.extend(measurer.rounds(&args)?.0);
                let (a, b) = std::thread::scope(|s| {
                    let other = s.spawn(|| measurer.rounds(&args));
                    let own = measurer.rounds(&args);
                    (own, other.join())
                });
                let b = b.map_err(|_| anyhow::anyhow!("a measuring thread panicked"))?;
                sums.push(a?.0.iter().chain(&b?.0).sum());
            }
            report.pairs.push(PairRow {
                scenario: scenario.name,
                alone: Rate::of(alone),
                both: Rate::of(sums),
            });
        }
    }

    eprintln!("xtask: training LinUCB");
    let rlrec = crate::rlrec()?;
    let runs = root.join("target").join("bench").join("linucb-run");
    crate::clear(&runs)?;
    let finished = process::run(
        Command::new(&rlrec)
            .args(["train", "--algo", "linucb", "--seed", "123", "--json"])
            .args(["--iterations", &plan.linucb_iterations.to_string()])
            .args(["--eval-episodes", "1", "--out"])
            .arg(&runs),
        |_, _| (),
    )?;
    std::fs::remove_dir_all(&runs)?;
    report.linucb = Some(LinUcbRow::parse(&finished.stdout, finished.peak_rss_kib)?);

    // Logging and off-policy evaluation, each in a process of its own so that each
    // peak is its own: logging streams in constant memory; the estimators keep a few
    // numbers per logged step.
    for ((name, case), episodes) in LOG_CASES.into_iter().zip(plan.log_episodes) {
        eprintln!("xtask: logging {episodes} episodes of {name}, then evaluating on them");
        let scenario = SCENARIOS
            .iter()
            .find(|s| s.name == name)
            .context("a logging case names a scenario of the table")?;
        let dir = root
            .join("target")
            .join("bench")
            .join(format!("log-{name}"));
        crate::clear(&dir)?;
        let dir_arg = dir.to_str().context("a UTF-8 path")?.to_string();
        let (logged, log_peak) =
            measurer.value(&scenario.measure("log", &[case, &episodes.to_string(), &dir_arg]))?;
        let (evaluated, ope_peak) = measurer.value(&["ope", case, &dir_arg])?;
        std::fs::remove_dir_all(&dir)?;
        report.logs.push(LogRow::parse(
            name, &logged, log_peak, &evaluated, ope_peak,
        )?);
    }

    // The default with its evaluations beside training and in line, and one environment.
    let one_env = root.join(slateq::ONE_ENV_CONFIG);
    let one_env = one_env.to_str().context("a UTF-8 path")?;
    for (label, extra) in [
        (slateq::DEFAULT_LABEL, &[slateq::PARALLEL][..]),
        (slateq::SERIAL_LABEL, &[][..]),
        (
            slateq::ONE_ENV_LABEL,
            &[slateq::PARALLEL, "--config", one_env][..],
        ),
    ] {
        let args = [plan.slateq_args, extra].concat();
        eprintln!(
            "xtask: training SlateQ (rlrec train --algo slateq {})",
            args.join(" ")
        );
        let runs = root.join("target").join("bench").join("slateq-run");
        crate::clear(&runs)?;
        report
            .slateq
            .push(slateq::measure(&rlrec, &runs, label, &args)?);
        std::fs::remove_dir_all(&runs)?;
    }

    report.finish();
    print!("{}", report.table());
    write_outputs(&root, &report, plan.quick)
}

/// The mean time of each scenario's step in criterion's latest run, ns.
fn criterion_estimates(root: &Path) -> Result<Vec<(&'static str, f64)>> {
    SCENARIOS
        .iter()
        .map(|s| {
            let path = root
                .join("target/criterion/step")
                .join(s.name)
                .join("new/estimates.json");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)?;
            let ns = value["mean"]["point_estimate"]
                .as_f64()
                .with_context(|| format!("no mean estimate in {}", path.display()))?;
            Ok((s.name, ns))
        })
        .collect()
}

/// `target/bench/benchmarks.json` and `docs/benchmarks.md`; a quick run writes
/// `benchmarks-quick.{json,md}` under `target/bench/` only, leaving the documented
/// figures alone.
fn write_outputs(root: &Path, report: &Report, quick: bool) -> Result<()> {
    let dir = root.join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    let (json, markdown): (PathBuf, PathBuf) = if quick {
        (
            dir.join("benchmarks-quick.json"),
            dir.join("benchmarks-quick.md"),
        )
    } else {
        std::fs::create_dir_all(root.join("docs"))?;
        (
            dir.join("benchmarks.json"),
            root.join("docs").join("benchmarks.md"),
        )
    };
    std::fs::write(&json, serde_json::to_string_pretty(report)? + "\n")
        .with_context(|| format!("writing {}", json.display()))?;
    std::fs::write(&markdown, report.markdown())
        .with_context(|| format!("writing {}", markdown.display()))?;
    println!("written: {} and {}", json.display(), markdown.display());
    Ok(())
}
