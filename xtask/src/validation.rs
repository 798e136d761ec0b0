//! `cargo xtask ope-validation [--quick] [--sets N]`: the off-policy estimators against the
//! simulator's true values, over many independent log sets, written as
//! `docs/ope-validation.md` and two figures in `docs/img/` (`--quick`: a smoke run into
//! `target/ope-validation-quick/`, the documented figures left alone).
//!
//! For StrongLTS 20/2 and interest evolution 10/2 (both with the user observation and the
//! time left, so that the default SlateQ can act on the logs as a target), with random and
//! ε-greedy logging, it writes independent log sets (seeds 0, 1, …; 20 unless `--sets`
//! says), trains a SlateQ target on each world, and runs `rlrec ope` over all the sets of
//! each case for four targets, with `--truth`; `rlrec ope` summarises coverage, bias and
//! RMSE per estimator.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::{cargo, workspace_root};

struct Sizes {
    sets: usize,
    episodes: &'static str,
    truth: &'static str,
    slateq_iterations: &'static str,
}

struct World {
    name: &'static str,
    label: &'static str,
    args: &'static [&'static str],
    temperature: &'static str,
}

const WORLDS: [World; 2] = [
    World {
        name: "lts",
        label: "StrongLTS 20/2 (user observation, time-aware)",
        args: &["--user-observation", "--time-aware"],
        temperature: "0.1",
    },
    // With the user observation and the time left: SlateQ sees the user's state where a
    // world hides it (`Algo::required_wrappers`) and the time left by default, and a
    // checkpoint acts only on logs of its own wrappers.
    World {
        name: "iev",
        label: "interest evolution 10/2 (user observation, time-aware)",
        args: &[
            "--env",
            "interest-evolution",
            "--num-candidates",
            "10",
            "--user-observation",
            "--time-aware",
        ],
        temperature: "0.2",
    },
];

const LOGGING: [(&str, &str, &[&str]); 2] = [
    ("random", "random", &["--policy", "random"]),
    (
        "eps",
        "ε-greedy around greedy, ε = 0.3",
        &["--policy", "greedy", "--epsilon", "0.3"],
    ),
];

const USAGE: &str = "usage: cargo xtask ope-validation [--quick] [--sets N]";

pub fn run(args: &[String]) -> Result<()> {
    let (mut quick, mut sets) = (false, None);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            // Twenty sets cannot tell a 95% coverage from 85% (docs/logs.md): more can.
            "--sets" => {
                sets = Some(
                    rest.next()
                        .and_then(|n| n.parse::<usize>().ok())
                        .filter(|&n| n >= 2)
                        .context("--sets takes a count of at least 2")?,
                )
            }
            _ => anyhow::bail!("{USAGE}"),
        }
    }
    let mut sizes = if quick {
        Sizes {
            sets: 2,
            episodes: "10",
            truth: "10",
            slateq_iterations: "3",
        }
    } else {
        Sizes {
            sets: 20,
            episodes: "500",
            truth: "2000",
            slateq_iterations: "60",
        }
    };
    if let Some(sets) = sets {
        sizes.sets = sets;
    }
    let root = workspace_root()?;
    let work = root.join(if quick {
        "target/ope-validation-quick"
    } else {
        "target/ope-validation"
    });
    crate::clear(&work)?;
    std::fs::create_dir_all(&work)?;
    cargo(&crate::BUILD_ALL)?;
    let run = |args: &[&str]| crate::run_rlrec(&work, args);
    let path = |p: &Path| p.to_str().expect("UTF-8 paths").to_string();
    let mut page = String::from("# Off-policy estimators against the simulator\n\n");
    let _ = writeln!(
        page,
        "Written by `cargo xtask ope-validation` (see [logs.md](logs.md) for what each \
         estimator assumes). For each world and logging policy: {} independent log sets \
         (seeds 0–{}) of {} episodes each; for each target policy, `rlrec ope` over all the \
         sets with `--truth {}`. Coverage: the share of sets whose 95% interval holds the \
         simulator's value; bias and RMSE: of the estimates against it. Per step, the value is \
         the target's expected reward at the logging policy's states; per episode, its \
         return.\n",
        sizes.sets,
        sizes.sets - 1,
        sizes.episodes,
        sizes.truth
    );
    for world in &WORLDS {
        eprintln!("xtask: training the SlateQ target on {}", world.label);
        let slateq = work.join(format!("slateq-{}", world.name));
        let mut train = vec![
            "train",
            "--algo",
            "slateq",
            "--iterations",
            sizes.slateq_iterations,
            "--eval-episodes",
            "200",
            "--json",
        ];
        train.extend(world.args.iter().filter(|a| **a != "--user-observation"));
        let slateq_arg = path(&slateq);
        train.extend(["--out", &slateq_arg]);
        run(&train)?;
        let targets: [(&str, Vec<&str>); 4] = [
            ("greedy", vec!["--policy", "greedy"]),
            ("kale", vec!["--policy", "kale"]),
            (
                "softmax",
                vec!["--policy", "greedy", "--temperature", world.temperature],
            ),
            ("slateq", vec!["--checkpoint", &slateq_arg]),
        ];
        for (logging, logging_label, logging_args) in LOGGING {
            eprintln!(
                "xtask: {} log sets of {} with {logging} logging",
                sizes.sets, world.label
            );
            // Every set as `--logs DIR`, for each `rlrec ope` below.
            let mut sets: Vec<String> = Vec::new();
            for seed in 0..sizes.sets {
                let out = path(&work.join(format!("{}-{logging}-{seed}", world.name)));
                let seed = seed.to_string();
                let mut args = vec!["log", "--episodes", sizes.episodes, "--seed", &seed];
                args.extend(logging_args.iter().chain(world.args));
                args.extend(["--out", &out]);
                run(&args)?;
                sets.extend(["--logs".to_string(), out]);
            }
            let _ = writeln!(
                page,
                "## {}, {logging_label} logging\n\nEach cell: coverage, bias, RMSE; \
                 `unsupported`/`none` where the estimator gave no number.\n",
                world.label
            );
            let set_args: Vec<&str> = sets.iter().map(String::as_str).collect();
            let mut results = Vec::new();
            for (target, target_args) in &targets {
                eprintln!("xtask:   target {target}");
                let mut args = vec!["ope", "--json", "--truth", sizes.truth];
                args.extend(target_args.iter().chain(&set_args));
                let png = path(&work.join(format!("ope-{}-{logging}-{target}.png", world.name)));
                args.extend(["--plot", &png]);
                let out: Value = serde_json::from_str(run(&args)?.trim())?;
                results.push((*target, out));
            }
            table(&mut page, &results);
            // Choosing among the targets (ε-greedy for a fifth) by each estimator.
            let candidates = format!(
                "greedy,kale,greedy@T={},greedy@eps=0.5,checkpoint={slateq_arg}",
                world.temperature
            );
            let mut args = vec!["ope", "--truth", sizes.truth, "--candidates", &candidates];
            args.extend(&set_args);
            let out = run(&args)?.replace(&format!("{}/", path(&work)), "");
            let _ = writeln!(
                page,
                "Policy selection (`rlrec ope --candidates`):\n\n```text\n{out}```\n"
            );
        }
    }
    let (doc, img) = if quick {
        (work.join("ope-validation.md"), work.join("img"))
    } else {
        (root.join("docs/ope-validation.md"), root.join("docs/img"))
    };
    std::fs::create_dir_all(&img)?;
    for (from, to) in [
        ("ope-lts-random-greedy.png", "ope-lts-random-greedy.png"),
        ("ope-iev-eps-softmax.png", "ope-iev-eps-softmax.png"),
    ] {
        std::fs::copy(work.join(from), img.join(to)).with_context(|| format!("copying {from}"))?;
    }
    std::fs::write(&doc, page).with_context(|| format!("writing {}", doc.display()))?;
    println!("written: {}", doc.display());
    Ok(())
}

/// One case's table: an estimator per row, a target per column.
fn table(page: &mut String, results: &[(&str, Value)]) {
    let _ = write!(page, "| estimator |");
    for (target, out) in results {
        let truth = &out["truth"];
        let _ = write!(
            page,
            " {target} (per step {:.3}, return {:.1}) |",
            truth["per_step"]["value"].as_f64().unwrap_or(f64::NAN),
            truth["per_episode"]["value"].as_f64().unwrap_or(f64::NAN)
        );
    }
    let _ = writeln!(page, "\n|---|{}", "---|".repeat(results.len()));
    let rows = results[0].1["summary"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, row) in rows.iter().enumerate() {
        let _ = write!(page, "| {} |", row["name"].as_str().unwrap_or("?"));
        for (_, out) in results {
            let r = &out["summary"][i];
            let cell = match (
                r["coverage"].as_f64(),
                r["bias"].as_f64(),
                r["rmse"].as_f64(),
            ) {
                (Some(c), Some(b), Some(e)) => {
                    let refused = r["refused"].as_u64().unwrap_or(0);
                    let extra = if refused > 0 {
                        format!(" ({refused} sets none)")
                    } else {
                        String::new()
                    };
                    format!("{:.0}%, {b:+.3}, {e:.3}{extra}", 100.0 * c)
                }
                _ => {
                    let why = r["why"].as_str().unwrap_or("");
                    if why.contains("zero probability") {
                        "unsupported".into()
                    } else {
                        "none".into()
                    }
                }
            };
            let _ = write!(page, " {cell} |");
        }
        let _ = writeln!(page);
    }
    let _ = writeln!(page);
}
