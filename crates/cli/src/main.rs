//! `rlrec`: RecSim's environments and RLlib's recommender agents on the command line.

mod args;
mod commands;
mod compare;
mod plot;
mod progress;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use args::{policy_parser, EnvArgs};
use trainer::FixedPolicy;

#[derive(Debug, Parser)]
#[command(
    name = "rlrec",
    version,
    about = "Reinforcement learning for recommender systems: RecSim's simulated users and RLlib's agents, in Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the environment: spaces, one reset observation and one step.
    Env {
        #[command(flatten)]
        env: EnvArgs,
    },
    /// Play one episode with a fixed policy.
    Episode {
        #[arg(long, value_parser = policy_parser())]
        policy: FixedPolicy,
        #[command(flatten)]
        env: EnvArgs,
        /// Write a PNG of the per-step rewards with their trend line.
        #[arg(long, value_name = "FILE")]
        plot: Option<std::path::PathBuf>,
        /// Print the episode as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Mean return of a fixed policy over many episodes.
    Baseline {
        #[arg(long, value_parser = policy_parser())]
        policy: FixedPolicy,
        #[arg(long, default_value_t = 500)]
        episodes: usize,
        /// Play the episodes on this many environments stepped in lockstep across the
        /// cores. Environment i is seeded from --seed and i (environment 0 with --seed
        /// itself), so the figures depend on the seed and on this number, not on the cores.
        #[arg(long, default_value_t = 1, value_name = "B")]
        num_envs: usize,
        #[command(flatten)]
        env: EnvArgs,
        /// Write `<policy>_baseline.txt` and `<policy>_baseline.json` into this folder.
        #[arg(long, value_name = "DIR")]
        save: Option<std::path::PathBuf>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Train an agent, with checkpoints, a training curve and a final evaluation.
    Train(train::TrainArgs),
    /// Show what a trained policy recommends, or evaluate it.
    Inference(train::InferenceArgs),
    /// Evaluate fixed policies and trained checkpoints side by side, with a chart.
    Compare(compare::CompareArgs),
    /// Summarise a checkpoint: algorithm, configuration, learned parameters.
    Inspect {
        /// A checkpoint folder, or a run folder (its latest checkpoint).
        #[arg(long, value_name = "DIR")]
        checkpoint: std::path::PathBuf,
    },
}

fn main() -> ExitCode {
    // Like other command-line tools, end quietly when the reader of stdout goes away
    // (`rlrec … | head`) instead of panicking on the failed write.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Env { env } => commands::show_env(&env),
        Command::Episode {
            policy,
            env,
            plot,
            json,
        } => commands::episode(policy, &env, plot.as_deref(), json),
        Command::Baseline {
            policy,
            episodes,
            num_envs,
            env,
            save,
            json,
        } => commands::baseline(policy, episodes, num_envs, &env, save.as_deref(), json),
        Command::Train(args) => train::train(&args),
        Command::Inference(args) => train::inference(&args),
        Command::Inspect { checkpoint } => train::inspect(&checkpoint),
        Command::Compare(args) => compare::compare(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
