//! Command-line arguments shared by several commands.

use anyhow::{anyhow, Result};
use clap::{Args, ValueEnum};
use trainer::{EnvKind, Scenario, Wrappers};

/// The environment options every command takes (`ENV` in the design's contract).
#[derive(Debug, Clone, Args)]
pub struct EnvArgs {
    /// Environment: strong-lts (the tutorial's), lts (RecSim's defaults),
    /// interest-evolution, interest-exploration (RLlib uses 10 candidates for these two).
    #[arg(long, default_value = "strong-lts", value_parser = parse_env)]
    pub env: EnvKind,
    /// Candidate documents per step (N).
    #[arg(long, default_value_t = 20)]
    pub num_candidates: usize,
    /// Documents per slate (K).
    #[arg(long, default_value_t = 2)]
    pub slate_size: usize,
    /// Draw a fresh candidate set at every reset and step.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub resample_documents: bool,
    /// Seed of every random stream.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Set a model parameter, e.g. `--set sensitivity=0.05` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, f64)>,
    /// Discrete(N^K) actions instead of MultiDiscrete([N]*K) (RLlib's wrapper).
    #[arg(long)]
    pub discrete_action: bool,
    /// Observe only the N×d document feature matrix (RLlib's bandit wrapper).
    #[arg(long)]
    pub bandit_observation: bool,
    /// Add the user's true state to the observation (LTS: satisfaction; interest
    /// evolution: remaining budget; interest exploration: topic affinities).
    #[arg(long)]
    pub user_observation: bool,
    /// Cut every episode after this many steps, as truncated (interest-exploration, which
    /// never ends by itself, defaults to 100).
    #[arg(long, value_name = "STEPS")]
    pub horizon: Option<usize>,
}

fn parse_env(s: &str) -> Result<EnvKind, String> {
    s.parse()
}

fn parse_set(s: &str) -> Result<(String, f64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))?;
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not a number"))?;
    Ok((name.trim().to_string(), value))
}

impl EnvArgs {
    /// The scenario these options describe, validated.
    pub fn scenario(&self) -> Result<Scenario> {
        let scenario = Scenario {
            env: self.env,
            num_candidates: self.num_candidates,
            slate_size: self.slate_size,
            resample_documents: self.resample_documents,
            seed: self.seed,
            params: self.set.clone(),
            wrappers: Wrappers {
                user_observation: self.user_observation,
                bandit_observation: self.bandit_observation,
                discrete_action: self.discrete_action,
            },
            max_episode_steps: self.horizon,
        };
        scenario.validate().map_err(|e| anyhow!(e))?;
        Ok(scenario)
    }
}

/// The fixed policies of `episode` and `baseline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// Each slate position uniform over the candidates.
    Random,
    /// Highest myopic score first (LTS: clickbait; interest evolution: the user's
    /// interest in the video's cluster; interest exploration: quality).
    Greedy,
    /// Lowest myopic score first (LTS: the least clickbait).
    Kale,
}
