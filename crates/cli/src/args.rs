//! Command-line arguments shared by several commands.

use anyhow::Result;
use clap::builder::TypedValueParser;
use clap::Args;
use env::Scenario;
use trainer::FixedPolicy;

/// The environment options every command takes (`ENV` in the design's contract). Each one
/// given overrides the scenario it applies to (the default, or a `--config` file's).
#[derive(Debug, Clone, Default, Args)]
pub struct EnvArgs {
    /// Environment: strong-lts (the tutorial's), lts (RecSim's defaults), interest-evolution,
    /// interest-exploration (RLlib uses 10 candidates for these two) [default: strong-lts].
    #[arg(long, value_parser = parse_env)]
    pub env: Option<String>,
    /// Candidate documents per step (N) [default: 20].
    #[arg(long)]
    pub num_candidates: Option<usize>,
    /// Documents per slate (K) [default: 2].
    #[arg(long)]
    pub slate_size: Option<usize>,
    /// Draw a fresh candidate set at every reset and step [default: true].
    #[arg(long, value_name = "BOOL")]
    pub resample_documents: Option<bool>,
    /// Seed of every random stream [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
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

fn parse_env(s: &str) -> Result<String, String> {
    env::world(s)
        .map(|w| w.name().to_string())
        .map_err(|e| e.to_string())
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
    /// Applies the options given to `base`. A changed environment drops the base's
    /// parameter overrides, which belong to the old one.
    pub fn apply(&self, mut base: Scenario) -> Scenario {
        if let Some(env) = &self.env {
            if *env != base.env {
                base.params.clear();
            }
            base.env = env.clone();
        }
        if let Some(n) = self.num_candidates {
            base.num_candidates = n;
        }
        if let Some(k) = self.slate_size {
            base.slate_size = k;
        }
        if let Some(r) = self.resample_documents {
            base.resample_documents = r;
        }
        if let Some(s) = self.seed {
            base.seed = s;
        }
        if let Some(h) = self.horizon {
            base.max_episode_steps = Some(h);
        }
        base.params.extend(self.set.iter().cloned());
        let w = &mut base.wrappers;
        w.user_observation |= self.user_observation;
        w.bandit_observation |= self.bandit_observation;
        w.discrete_action |= self.discrete_action;
        base
    }

    /// The default scenario with these options, validated.
    pub fn scenario(&self) -> Result<Scenario> {
        let scenario = self.apply(Scenario::default());
        scenario.validate()?;
        Ok(scenario)
    }
}

/// Parses a fixed policy by name; `--help` lists each with its description.
pub fn policy_parser() -> impl clap::builder::TypedValueParser<Value = FixedPolicy> {
    clap::builder::PossibleValuesParser::new(
        FixedPolicy::ALL.map(|p| clap::builder::PossibleValue::new(p.name()).help(p.description())),
    )
    .map(|name| name.parse::<FixedPolicy>().expect("a listed policy"))
}
