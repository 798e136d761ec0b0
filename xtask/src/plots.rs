//! `cargo xtask plots`: every figure in `docs/img/`, regenerated from real runs.
//!
//! All drawing lives in the `rlrec` binary (one style); this only runs it: the per-step
//! rewards of a random and a greedy episode, the bandit and SlateQ training curves (with
//! the random baseline and the planner's values), the comparison of every policy, and the
//! figures of the sweep in docs/sweeps.md (`examples/sweeps/slateq-lr.toml`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::{cargo, checked, workspace_root};

/// How big the runs are: the real figures, or a smoke test of the whole pipeline.
struct Sizes {
    bandit_iterations: &'static str,
    slateq_iterations: &'static str,
    episodes: &'static str,
}

pub fn plots(quick: bool) -> Result<()> {
    let root = workspace_root()?;
    let (out, sizes) = if quick {
        let sizes = Sizes {
            bandit_iterations: "3",
            slateq_iterations: "3",
            episodes: "5",
        };
        (root.join("target/plots-quick"), sizes)
    } else {
        let sizes = Sizes {
            bandit_iterations: "100",
            slateq_iterations: "60",
            episodes: "1000",
        };
        (root.join("docs/img"), sizes)
    };
    let runs = root.join("target/plots-runs");
    if runs.exists() {
        std::fs::remove_dir_all(&runs).with_context(|| format!("clearing {}", runs.display()))?;
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    cargo(&crate::BUILD_CLI)?;
    let rlrec = crate::rlrec()?;
    let run = |args: &[&str]| checked(Command::new(&rlrec).args(args).current_dir(&root));
    let path = |p: &Path| p.to_str().expect("UTF-8 paths").to_string();

    for policy in ["random", "greedy"] {
        let png = out.join(format!("{policy}-rewards.png"));
        run(&["episode", "--policy", policy, "--plot", &path(&png)])?;
    }
    let mut checkpoints: Vec<PathBuf> = Vec::new();
    for (algo, iterations, figure) in [
        (
            "linucb",
            sizes.bandit_iterations,
            Some("bandit-training.png"),
        ),
        ("lints", sizes.bandit_iterations, None),
        (
            "slateq",
            sizes.slateq_iterations,
            Some("slateq-training.png"),
        ),
    ] {
        let dir = runs.join(algo);
        run(&[
            "train",
            "--algo",
            algo,
            "--iterations",
            iterations,
            "--eval-episodes",
            sizes.episodes,
            "--out",
            &path(&dir),
        ])?;
        if let Some(figure) = figure {
            let curve = dir.join(format!("{algo}-training.png"));
            std::fs::copy(&curve, out.join(figure))
                .with_context(|| format!("copying {}", curve.display()))?;
        }
        checkpoints.push(dir);
    }
    let chart = out.join("comparison.png");
    let mut compare = vec!["compare".to_string()];
    for policy in ["random", "greedy", "kale"] {
        compare.extend(["--policy".into(), policy.into()]);
    }
    for dir in &checkpoints {
        compare.extend(["--checkpoint".into(), path(dir)]);
    }
    for policy in ["optimal-stationary", "optimal"] {
        compare.extend(["--policy".into(), policy.into()]);
    }
    compare.extend([
        "--episodes".into(),
        sizes.episodes.into(),
        "--plot".into(),
        path(&chart),
    ]);
    checked(Command::new(&rlrec).args(&compare).current_dir(&root))?;
    sweep(&root, &rlrec, &runs, &out, quick)?;
    println!("figures written to {}", out.display());
    Ok(())
}

/// A tiny sweep for `--quick`: the pipeline, not the figures.
const QUICK_SWEEP: &str = r#"
[sweep]
iterations = 2
seeds = 2
[base]
algo = "slateq"
steps_per_iteration = 100
eval_episodes = 5
[axes]
"slateq.lr" = { grid = [1e-3, 1e-4] }
"#;

/// docs/sweeps.md's sweep (SlateQ's learning rate × 3 seeds), and its two figures.
fn sweep(root: &Path, rlrec: &Path, runs: &Path, out: &Path, quick: bool) -> Result<()> {
    let file = if quick {
        let file = runs.join("quick-sweep.toml");
        std::fs::write(&file, QUICK_SWEEP)?;
        file
    } else {
        root.join("examples/sweeps/slateq-lr.toml")
    };
    let folder = runs.join("sweep");
    checked(
        Command::new(rlrec)
            .arg("tune")
            .arg(&file)
            .arg("--out")
            .arg(&folder)
            .current_dir(root),
    )?;
    for (from, to) in [
        ("curves.png", "sweep-curves.png"),
        ("scores.png", "sweep-scores.png"),
    ] {
        std::fs::copy(folder.join(from), out.join(to))
            .with_context(|| format!("copying {from}"))?;
    }
    Ok(())
}
