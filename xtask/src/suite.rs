//! `cargo xtask suite [--quick]`: the default SlateQ and the baselines on a suite of
//! scenarios, through the built `rlrec` binary, as one table (`target/suite/suite.md`).
//!
//! Per scenario: the fixed policies (random, greedy, kale), LinUCB trained with its
//! defaults, and `rlrec train --algo slateq` with its defaults, each evaluated over the
//! same number of episodes (1000) with a 95% interval; where the world is long-term
//! satisfaction, the planner's optimal and best stationary policies too, and SlateQ's
//! normalised score `(SlateQ − random) / (optimal − random)`. `--quick` runs two
//! scenarios at toy sizes: a smoke test of the whole path, not a measurement.
//!
//! `--sardine` runs SARDINE's eight worlds instead (`docs/suite-sardine.md`): random,
//! greedy, LinUCB and the short-term oracle, scored against random and the oracle.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::bench::process;

/// What the table shows, above it in `docs/suite.md`.
const INTRO: &str = "Each scenario's policies are evaluated over 1000 episodes (mean ± the \
half-width of the 95% interval). random, greedy and kale are `rlrec baseline --policy P`; \
LinUCB and SlateQ are `rlrec train --algo A` with their defaults (LinUCB: 100 iterations; \
SlateQ: 180,000 steps with the time left in view, seed 0), evaluated by the run's final \
evaluation without exploration. \"best other baseline\" is the better of kale and LinUCB. \
Where the world is long-term satisfaction the planner's optimal policy (which knows the \
satisfaction and the time left) and its best stationary policy (the satisfaction only) are \
evaluated the same way, and SlateQ's normalised score is (SlateQ − random) / (optimal − \
random).";

/// One scenario: its name in the table, the environment options, and whether the
/// planner solves it (long-term satisfaction).
struct Scenario {
    name: &'static str,
    args: &'static [&'static str],
    planner: bool,
}

const SCENARIOS: [Scenario; 8] = [
    Scenario {
        name: "StrongLTS 20/2",
        args: &[],
        planner: true,
    },
    Scenario {
        name: "LTS (RecSim defaults) 10/3",
        args: &[
            "--env",
            "lts",
            "--num-candidates",
            "10",
            "--slate-size",
            "3",
        ],
        planner: true,
    },
    Scenario {
        name: "StrongLTS 20/2, sensitivity 0.1",
        args: &["--set", "sensitivity=0.1"],
        planner: true,
    },
    Scenario {
        name: "StrongLTS 20/2, memory discount 0.9, budget 60",
        args: &["--set", "memory_discount=0.9", "--set", "time_budget=60"],
        planner: true,
    },
    Scenario {
        name: "StrongLTS 50/3",
        args: &["--num-candidates", "50", "--slate-size", "3"],
        planner: true,
    },
    Scenario {
        name: "interest evolution 10/2",
        args: &["--env", "interest-evolution", "--num-candidates", "10"],
        planner: false,
    },
    Scenario {
        name: "interest evolution 20/3",
        args: &[
            "--env",
            "interest-evolution",
            "--num-candidates",
            "20",
            "--slate-size",
            "3",
        ],
        planner: false,
    },
    Scenario {
        name: "interest exploration 10/2",
        args: &["--env", "interest-exploration", "--num-candidates", "10"],
        planner: false,
    },
];

/// A mean return with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Estimate {
    /// From a JSON object with `mean` and `ci95: [lo, hi]` (`rlrec baseline --json`, the
    /// evaluation of `rlrec train --json`).
    fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            mean: v["mean"].as_f64()?,
            lo: v["ci95"][0].as_f64()?,
            hi: v["ci95"][1].as_f64()?,
        })
    }

    fn cell(&self) -> String {
        format!("{:.1} ± {:.1}", self.mean, (self.hi - self.lo) / 2.0)
    }
}

/// One scenario's results.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub random: Estimate,
    pub greedy: Estimate,
    /// The best of the other baselines (kale, LinUCB), by its mean, with its name.
    pub best: (String, Estimate),
    pub slateq: Estimate,
    /// The planner's optimal and best stationary policies, evaluated.
    pub planner: Option<(Estimate, Estimate)>,
}

impl Row {
    /// `(SlateQ − random) / (optimal − random)`: 1 at the optimum, 0 at random.
    pub fn normalised(&self) -> Option<f64> {
        self.planner.map(|(optimal, _)| {
            (self.slateq.mean - self.random.mean) / (optimal.mean - self.random.mean)
        })
    }
}

/// The markdown table of `rows`.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | random | greedy | best other baseline | SlateQ | optimal | best stationary | normalised |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let (optimal, stationary) = match r.planner {
            Some((o, s)) => (o.cell(), s.cell()),
            None => ("–".into(), "–".into()),
        };
        let normalised = r.normalised().map_or("–".into(), |s| format!("{s:.3}"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}: {} | {} | {} | {} | {} |",
            r.name,
            r.random.cell(),
            r.greedy.cell(),
            r.best.0,
            r.best.1.cell(),
            r.slateq.cell(),
            optimal,
            stationary,
            normalised
        );
    }
    out
}

const USAGE: &str = "usage: cargo xtask suite [--quick] [--sardine] [--jobs J]";

/// Sizes of a run: episodes of every evaluation, and SlateQ's and LinUCB's extra options.
struct Sizes {
    episodes: &'static str,
    slateq: &'static [&'static str],
    linucb: &'static [&'static str],
    es: &'static [&'static str],
}

const FULL: Sizes = Sizes {
    episodes: "1000",
    slateq: &[],
    linucb: &[],
    es: &[],
};

/// Toy sizes: SlateQ only warms up (its first 2000 steps are random slates).
const QUICK: Sizes = Sizes {
    episodes: "10",
    slateq: &["--iterations", "1", "--steps-per-iteration", "200"],
    linucb: &["--iterations", "2"],
    es: &["--iterations", "2"],
};

/// Runs the suite and writes `target/suite/suite.md`.
pub fn run(args: &[String]) -> Result<()> {
    let (mut quick, mut jobs, mut sardine) = (false, 1, false);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--sardine" => sardine = true,
            "--jobs" => {
                jobs = rest
                    .next()
                    .and_then(|j| j.parse().ok())
                    .filter(|&j| j >= 1)
                    .context("--jobs takes a count of at least 1")?
            }
            _ => bail!("{USAGE}"),
        }
    }
    let measurer = crate::bench::process::Measurer::build()?;
    let rlrec = crate::rlrec()?;
    let root = crate::workspace_root()?.join("target").join("suite");
    let runs = root.join(if quick { "quick" } else { "full" });
    if sardine {
        let presets = measurer.sardine_presets()?;
        return sardine_suite(&rlrec, &presets, &runs.join("sardine"), quick);
    }
    let (sizes, scenarios): (&Sizes, Vec<&Scenario>) = if quick {
        (&QUICK, vec![&SCENARIOS[0], &SCENARIOS[7]])
    } else {
        (&FULL, SCENARIOS.iter().collect())
    };
    let load_before = crate::bench::report::load();
    // Scenarios are independent runs of single-threaded processes: `jobs` at a time.
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Row>>>> =
        Mutex::new(scenarios.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(scenarios.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(scenario) = scenarios.get(i) else {
                    return;
                };
                eprintln!("xtask: suite: {}", scenario.name);
                let dir = runs.join(format!("{i}"));
                let row =
                    crate::clear(&dir).and_then(|()| run_scenario(&rlrec, &dir, scenario, sizes));
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(row);
            });
        }
    });
    let rows = results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every scenario ran"))
        .collect::<Result<Vec<_>>>()?;
    let text = table(&rows);
    print!("{text}");
    // A full run is the project's record (docs/suite.md); a quick one only a smoke test.
    let file = if quick {
        std::fs::create_dir_all(&root)?;
        root.join("suite-quick.md")
    } else {
        crate::workspace_root()?.join("docs").join("suite.md")
    };
    let load = |l: Option<[f64; 3]>| {
        l.map_or("unknown".into(), |[a, b, c]| {
            format!("{a:.2} {b:.2} {c:.2}")
        })
    };
    let page = format!(
        "# The scenario suite\n\nWritten by `cargo xtask suite` on {date} (commit {commit}); \
         load average (1, 5, 15 min) {before} before, {after} after, on {cores} cores.\n\n{INTRO}\n\n{text}",
        date = crate::bench::report::utc_now(),
        commit = crate::bench::report::commit(&crate::workspace_root()?),
        before = load(load_before),
        after = load(crate::bench::report::load()),
        cores = std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    std::fs::write(&file, page).with_context(|| format!("writing {}", file.display()))?;
    eprintln!("xtask: suite: written to {}", file.display());
    Ok(())
}

/// SARDINE's worlds: the fixed policies, LinUCB and es on the true state (SlateQ runs
/// here only with a smaller batch: docs/sardine.md), each learner's score
/// `(x − random) / (oracle − random)`.
fn sardine_suite(
    rlrec: &Path,
    presets: &[(String, String)],
    runs: &Path,
    quick: bool,
) -> Result<()> {
    let sizes = if quick { &QUICK } else { &FULL };
    let presets = if quick { &presets[6..] } else { presets };
    let mut text = String::from(
        "| world | random | greedy | LinUCB | es | oracle | LinUCB's score | es's score |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (i, (id, name)) in presets.iter().enumerate() {
        eprintln!("xtask: suite: {id}");
        let args = ["--env", name.as_str()];
        let dir = runs.join(format!("{i}"));
        crate::clear(&dir)?;
        let [random, greedy, oracle] =
            ["random", "greedy", "oracle"].map(|p| baseline(rlrec, &args, p, sizes.episodes));
        let (random, greedy, oracle) = (random?, greedy?, oracle?);
        let linucb = train(rlrec, &dir, &args, "linucb", sizes.linucb, sizes.episodes)?;
        let true_state = [&args[..], &["--user-observation"]].concat();
        let es = train(rlrec, &dir, &true_state, "es", sizes.es, sizes.episodes)?;
        let score = |x: &Estimate| (x.mean - random.mean) / (oracle.mean - random.mean);
        let _ = writeln!(
            text,
            "| `{id}` | {} | {} | {} | {} | {} | {:.3} | {:.3} |",
            random.cell(),
            greedy.cell(),
            linucb.cell(),
            es.cell(),
            oracle.cell(),
            score(&linucb),
            score(&es)
        );
    }
    print!("{text}");
    let file = if quick {
        let dir = runs.parent().unwrap_or(runs);
        std::fs::create_dir_all(dir)?;
        dir.join("suite-sardine-quick.md")
    } else {
        crate::workspace_root()?
            .join("docs")
            .join("suite-sardine.md")
    };
    let page = format!(
        "# SARDINE's worlds in the suite\n\nWritten by `cargo xtask suite --sardine` on {date} \
         (commit {commit}). Each policy is evaluated over {episodes} episodes (mean ± the \
         half-width of the 95% interval), on rlrec's generated catalogues (`item_seed` 0): \
         random, greedy (on SARDINE's observation: the recently clicked topics) and the \
         short-term oracle are `rlrec baseline --policy P`, LinUCB is `rlrec train --algo \
         linucb` with its defaults (the bandit observation: the item embeddings alone), es \
         is `rlrec train --algo es --user-observation` with its defaults (100 generations, \
         the true state), each scored `(x − random) / (oracle − random)`. SlateQ runs at \
         this scale only with a smaller batch ([sardine.md](sardine.md)).\n\n{text}",
        date = crate::bench::report::utc_now(),
        commit = crate::bench::report::commit(&crate::workspace_root()?),
        episodes = sizes.episodes,
    );
    std::fs::write(&file, page).with_context(|| format!("writing {}", file.display()))?;
    eprintln!("xtask: suite: written to {}", file.display());
    Ok(())
}

/// `rlrec baseline --policy POLICY` on the environment `args`, over `episodes` episodes.
fn baseline(rlrec: &Path, args: &[&str], policy: &str, episodes: &str) -> Result<Estimate> {
    let mut command = Command::new(rlrec);
    command
        .args([
            "baseline",
            "--json",
            "--policy",
            policy,
            "--episodes",
            episodes,
        ])
        .args(args);
    let out = process::run(&mut command, |_, _| ())?;
    let value: Value = serde_json::from_str(out.stdout.trim())
        .with_context(|| format!("rlrec baseline --policy {policy} printed {}", out.stdout))?;
    Estimate::from_json(&value).context("a baseline without mean and ci95")
}

/// `rlrec train --algo ALGO` on the environment `args` into `dir/ALGO`: its final
/// evaluation over `episodes` episodes.
fn train(
    rlrec: &Path,
    dir: &Path,
    args: &[&str],
    algo: &str,
    extra: &[&str],
    episodes: &str,
) -> Result<Estimate> {
    let mut command = Command::new(rlrec);
    command
        .args([
            "train",
            "--json",
            "--algo",
            algo,
            "--eval-episodes",
            episodes,
        ])
        .arg("--out")
        .arg(dir.join(algo))
        .args(extra)
        .args(args);
    let out = process::run(&mut command, |_, _| ())?;
    let last = out
        .stdout
        .lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v.get("checkpoint").is_some())
        })
        .with_context(|| format!("rlrec train --algo {algo} named no checkpoint"))?;
    Estimate::from_json(&last["evaluation"]).context("a run without its final evaluation")
}

fn run_scenario(rlrec: &Path, dir: &Path, s: &Scenario, sizes: &Sizes) -> Result<Row> {
    let baseline = |policy: &str| baseline(rlrec, s.args, policy, sizes.episodes);
    let train = |algo: &str, extra: &[&str]| train(rlrec, dir, s.args, algo, extra, sizes.episodes);
    let random = baseline("random")?;
    let greedy = baseline("greedy")?;
    let others = [
        ("kale", baseline("kale")?),
        ("LinUCB", train("linucb", sizes.linucb)?),
    ];
    let best = others
        .iter()
        .max_by(|a, b| a.1.mean.total_cmp(&b.1.mean))
        .map(|(name, e)| (name.to_string(), *e))
        .expect("two baselines");
    let planner = if s.planner {
        Some((baseline("optimal")?, baseline("optimal-stationary")?))
    } else {
        None
    };
    let slateq = train("slateq", sizes.slateq)?;
    Ok(Row {
        name: s.name.to_string(),
        random,
        greedy,
        best,
        slateq,
        planner,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(mean: f64) -> Estimate {
        Estimate {
            mean,
            lo: mean - 1.0,
            hi: mean + 1.0,
        }
    }

    #[test]
    fn the_normalised_score_runs_from_random_to_the_optimum() {
        let row = Row {
            name: "x".into(),
            random: e(1000.0),
            greedy: e(990.0),
            best: ("kale".into(), e(900.0)),
            slateq: e(1090.0),
            planner: Some((e(1100.0), e(1095.0))),
        };
        assert!((row.normalised().unwrap() - 0.9).abs() < 1e-12);
        let text = table(&[row]);
        assert!(text.contains("| x | 1000.0 ± 1.0 | 990.0 ± 1.0 | kale: 900.0 ± 1.0 | 1090.0 ± 1.0 | 1100.0 ± 1.0 | 1095.0 ± 1.0 | 0.900 |"), "{text}");
    }
}
