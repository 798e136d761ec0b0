//! A whole training run driven from Rust, as `rlrec train` drives it: a configuration, a run
//! folder, iterations with metrics and checkpoints, the final evaluation, and the curve's
//! data. Run it with `cargo run --release -p trainer --example fit [RUN_FOLDER]`.
//!
//! LinUCB on the tutorial's StrongLTS 20/2, 30 iterations of one episode each, a
//! checkpoint every 10 and the last 2 kept; then the same run continued to 40 iterations.

use std::ops::ControlFlow;
use std::path::PathBuf;

use trainer::{Algo, Continue, FitEvents, IterationResult, TrainConfig, Trainer};

/// Prints every tenth iteration.
struct Every10;

impl FitEvents for Every10 {
    fn iteration(&mut self, result: &IterationResult, _last: bool) -> ControlFlow<()> {
        if result.training_iteration.is_multiple_of(10) {
            println!(
                "iteration {}: {} steps, episode_reward_mean {:.2}",
                result.training_iteration,
                result.timesteps_total,
                result.episode_reward_mean.unwrap_or(f64::NAN)
            );
        }
        ControlFlow::Continue(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os().nth(1).map_or_else(
        || std::env::temp_dir().join(format!("rlrec-fit-{}", std::process::id())),
        PathBuf::from,
    );
    let mut config = TrainConfig::new(Algo::Linucb);
    config.iterations = 30;
    config.checkpoint_every = 10;
    config.keep_checkpoints = 2;
    config.eval_episodes = 200;

    let mut trainer = Trainer::new(config, Some(&out))?;
    let report = trainer.fit(&mut Every10)?;
    println!(
        "evaluated {:.2} [{:.2}, {:.2}] at iteration {} (random {:.2}); checkpoint {}",
        report.evaluation.summary.mean,
        report.evaluation.summary.ci95[0],
        report.evaluation.summary.ci95[1],
        report.iteration,
        report.random_baseline,
        report.checkpoint.display()
    );
    for r in &report.optimum {
        println!("{}: {:.2}", r.label, r.value);
    }
    drop(trainer);

    // Continued in place from its latest checkpoint, with a higher iteration count.
    let how = Continue {
        source: &out,
        out: None,
        rewind: false,
        algo: Some(Algo::Linucb),
    };
    let mut trainer = Trainer::resume(how, |saved, _, _| {
        let mut config = saved.clone();
        config.iterations = 40;
        Ok::<_, trainer::TrainError>(config)
    })?;
    let report = trainer.fit(&mut Every10)?;
    println!(
        "continued to iteration {}: evaluated {:.2}; {} iterations of metrics in {}",
        report.iteration,
        report.evaluation.summary.mean,
        report.metrics.len(),
        report.run.display()
    );
    Ok(())
}
