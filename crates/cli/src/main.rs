//! `rlrec`: RecSim's environments and RLlib's recommender agents on the command line.

mod args;
mod checkpoint;
mod commands;
mod compare;
mod import;
mod interrupt;
mod log;
mod ope;
mod output;
mod plot;
mod progress;
mod select;
mod serve;
mod train;
mod tune;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use args::{
    any_path, count_usize, folder_path, png_path, policy_parser, EnvArgs, MAX_EPISODES,
    MAX_NUM_ENVS,
};
use rollout::FixedPolicy;

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
        /// Print one JSON object: the spaces, and the observations as gym values.
        #[arg(long)]
        json: bool,
    },
    /// Play one episode with a fixed policy or a checkpoint's (without exploration).
    #[command(group(clap::ArgGroup::new("played").required(true).args(["policy", "checkpoint"])))]
    Episode {
        /// The policy.
        #[arg(long, value_parser = policy_parser())]
        policy: Option<FixedPolicy>,
        /// A checkpoint folder, or a run folder (its latest checkpoint), instead of
        /// --policy: the episode is on the checkpoint's evaluation stream unless the
        /// environment options change it.
        #[arg(long, value_name = "DIR", value_parser = any_path)]
        checkpoint: Option<PathBuf>,
        #[command(flatten)]
        env: EnvArgs,
        /// Write a PNG of the episode: the reward, the document served first and the
        /// user's true state, step by step.
        #[arg(long, value_name = "FILE", value_parser = png_path)]
        plot: Option<PathBuf>,
        /// Print the episode as one JSON object, with the user's true state at each step.
        #[arg(long)]
        json: bool,
    },
    /// Mean return of a fixed policy over many episodes.
    Baseline {
        /// The policy.
        #[arg(long, value_parser = policy_parser())]
        policy: FixedPolicy,
        /// Episodes to play.
        #[arg(long, default_value_t = 500, value_parser = count_usize(1, MAX_EPISODES, "the most episodes one command plays"))]
        episodes: usize,
        /// Play the episodes on this many environments stepped in lockstep across the
        /// cores. Environment i is seeded from --seed and i (environment 0 with --seed
        /// itself), so the figures depend on the seed and on this number, not on the cores.
        #[arg(long, default_value_t = 1, value_name = "B", value_parser = count_usize(1, MAX_NUM_ENVS, "the most environments stepped together"))]
        num_envs: usize,
        #[command(flatten)]
        env: EnvArgs,
        /// Write `<policy>_baseline.txt` and `<policy>_baseline.json` into this folder.
        #[arg(long, value_name = "DIR", value_parser = folder_path)]
        save: Option<PathBuf>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Train an agent, with checkpoints, a training curve and a final evaluation.
    Train(train::TrainArgs),
    /// Show what a trained policy recommends, or evaluate it.
    Inference(checkpoint::InferenceArgs),
    /// Evaluate fixed policies and trained checkpoints side by side, with a chart.
    Compare(compare::CompareArgs),
    /// Summarise a checkpoint: algorithm, configuration, learned parameters.
    Inspect(checkpoint::InspectArgs),
    /// Write a trained policy, without exploration, as an ONNX model and a JSON sidecar.
    Export(checkpoint::ExportArgs),
    /// Answer slate requests over HTTP with an exported policy.
    Serve(serve::ServeArgs),
    /// Run a sweep: configurations × seeds as run folders, J at a time, with a results
    /// table and figures.
    Tune(tune::TuneArgs),
    /// Write a policy's interactions to a Parquet log, with its probabilities.
    Log(log::LogArgs),
    /// Estimate a policy's value from logs (off-policy evaluation).
    Ope(ope::OpeArgs),
    /// Turn logs from outside rlrec (CSV or Parquet), or the Open Bandit Dataset, into an
    /// rlrec log.
    Import(import::ImportArgs),
}

/// The command line, with `--set`'s help listing every world's parameters.
fn command() -> clap::Command {
    let help = args::set_help();
    let mut cmd = Cli::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|c| c.get_arguments().any(|a| a.get_id() == "set"))
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        let help = help.clone();
        cmd = cmd.mut_subcommand(name, |sub| sub.mut_arg("set", |a| a.long_help(help)));
    }
    cmd
}

fn main() -> ExitCode {
    // Like other command-line tools, end quietly when the reader of stdout goes away
    // (`rlrec … | head`) instead of reporting the failed write.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // libtorch allocates every operation's output afresh, some hundreds of kilobytes
    // at SlateQ's batch, and glibc's defaults hand such blocks back to the kernel as they
    // are freed: a fifth of a training run's time went to page faults. Heap blocks up to
    // 32 MiB, and up to 64 MiB kept free at the heap's top, make the memory reused instead
    // (learning iterations about 30% faster; peak memory as before).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before any other thread exists, with glibc's documented parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
    let parsed = command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are answers; anything else is a usage error, which exits
            // 1 like every other error (clap's own exit would use 2).
            let ok = matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            );
            let printed = e.print();
            return if ok && printed.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };
    let result = match cli.command {
        Command::Env { env, json } => commands::show_env(&env, json),
        Command::Episode {
            policy,
            checkpoint,
            env,
            plot,
            json,
        } => commands::episode(policy, checkpoint.as_deref(), &env, plot.as_deref(), json),
        Command::Baseline {
            policy,
            episodes,
            num_envs,
            env,
            save,
            json,
        } => commands::baseline(policy, episodes, num_envs, &env, save.as_deref(), json),
        Command::Train(args) => train::train(&args),
        Command::Inference(args) => checkpoint::inference(&args),
        Command::Inspect(args) => checkpoint::inspect(&args),
        Command::Export(args) => checkpoint::export(&args),
        Command::Serve(args) => serve::serve(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Tune(args) => tune::tune(&args),
        Command::Log(args) => log::log(&args),
        // Imported logs have no environment: their own estimators (crate::import).
        Command::Ope(args) if args.logs.iter().any(|dir| logs::is_imported(dir)) => {
            import::ope_imported(&args)
        }
        Command::Ope(args) => ope::ope(&args),
        Command::Import(args) => import::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // With stderr gone too there is nowhere to say more; the exit code still says
            // it failed.
            // The error and its causes, each once, joined by `: ` (anyhow's `{:#}`): no
            // error shows its cause in its own text.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_cause_is_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::AlreadyExists, "File exists");
        let e = trainer::TrainError::from(trainer::CheckpointError::Io(storage::IoError {
            path: "afile".into(),
            source: io,
        }));
        let e = anyhow::Error::new(e).context("creating the run");
        assert_eq!(format!("{e:#}"), "creating the run: afile: File exists");
        let bad = trainer::TrainConfig::from_toml("algo = 3").unwrap_err();
        let e = anyhow::Error::new(trainer::TrainError::from(bad));
        assert_eq!(
            format!("{e:#}"),
            format!(
                "invalid configuration: {}",
                trainer::TrainConfig::from_toml("algo = 3").unwrap_err()
            )
        );
    }
}
