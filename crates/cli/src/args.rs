//! Command-line arguments shared by several commands, and their parsers: every number is
//! read into its range here or in the configuration's checks, before any work starts.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::builder::TypedValueParser;
use clap::Args;
use env::Scenario;
use rollout::FixedPolicy;
use trainer::MAX_RUN_STEPS;

/// The most episodes one command plays.
pub const MAX_EPISODES: u64 = 10_000_000;
/// The most environments stepped in lockstep.
pub const MAX_NUM_ENVS: u64 = env::MAX_ENVS as u64;
/// The most bytes the observation buffers of a vector of environments may take.
const MAX_VECTOR_BYTES: u64 = 4 << 30;

/// Reads a whole number, written plainly or in scientific notation (`1e6`), within
/// `[lo, hi]`; `what` says why the bound is there.
pub fn count(lo: u64, hi: u64, what: &'static str) -> impl Fn(&str) -> Result<u64, String> + Clone {
    move |s: &str| {
        let s = s.trim();
        let value = match s.parse::<u64>() {
            Ok(v) => v,
            Err(_) => {
                let x: f64 = s
                    .parse()
                    .map_err(|_| format!("`{s}` is not a whole number"))?;
                if !(x.is_finite() && x >= 0.0 && x.fract() == 0.0) {
                    return Err(format!("`{s}` is not a whole number of at least 0"));
                }
                // 2^64 is the first whole number a u64 cannot hold.
                if x >= 18_446_744_073_709_551_616.0 {
                    return Err(format!("{s} is too large: at most {hi} ({what})"));
                }
                x as u64
            }
        };
        if value < lo {
            Err(format!("{value} is too small: at least {lo}"))
        } else if value > hi {
            Err(format!("{value} is too large: at most {hi} ({what})"))
        } else {
            Ok(value)
        }
    }
}

/// The machine's cores: the default of every option that runs work side by side.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// [`count`] into a `usize`.
pub fn count_usize(
    lo: u64,
    hi: u64,
    what: &'static str,
) -> impl Fn(&str) -> Result<usize, String> + Clone {
    let parse = count(lo, hi.min(usize::MAX as u64), what);
    move |s: &str| parse(s).map(|v| v as usize)
}

/// A whole number of any size a `u64` holds (checked further by the configuration).
pub fn any_u64(s: &str) -> Result<u64, String> {
    count(0, u64::MAX, "a 64-bit number")(s)
}

/// A whole number a `usize` holds (checked further by the configuration).
pub fn any_usize(s: &str) -> Result<usize, String> {
    count_usize(0, u64::MAX, "a 64-bit number")(s)
}

/// The environment options every command takes (`ENV` in the design's contract). Each one
/// given overrides the scenario it applies to (the default, a `--config` file's, a
/// checkpoint's).
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub struct EnvArgs {
    /// Environment: strong-lts (the tutorial's), lts (RecSim's defaults), interest-evolution,
    /// interest-exploration (RLlib uses 10 candidates for these two), or SARDINE's eight
    /// (sardine-slate-top-k-bored, …, or their ids, sardine/SlateTopK-Bored-v0; see
    /// docs/sardine.md) [default: strong-lts].
    #[arg(long, value_parser = parse_env)]
    pub env: Option<String>,
    /// Candidate documents per step (N) [default: 20; SARDINE's worlds: their catalogue].
    #[arg(long, value_parser = any_usize)]
    pub num_candidates: Option<usize>,
    /// Documents per slate (K) [default: 2; SARDINE's worlds: their preset's].
    #[arg(long, value_parser = any_usize)]
    pub slate_size: Option<usize>,
    /// Draw a fresh candidate set at every reset and step [default: true; false for
    /// SARDINE's worlds, whose candidates are the catalogue].
    #[arg(long, value_name = "BOOL")]
    pub resample_documents: Option<bool>,
    /// SARDINE's worlds: read the items' embeddings from this `.npy` file (SARDINE's own
    /// files, say; set --num-candidates to its rows) [default: generated from item_seed].
    #[arg(long, value_name = "FILE")]
    pub item_embeddings: Option<std::path::PathBuf>,
    /// Seed of every random stream [default: 0].
    #[arg(long, value_parser = any_u64)]
    pub seed: Option<u64>,
    /// Set a model parameter, e.g. `--set sensitivity=0.05` (repeatable; `--help` lists
    /// every world's parameters with their defaults).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub set: Vec<Setting>,
    /// Discrete(N^K) actions instead of MultiDiscrete([N]*K) (RLlib's wrapper).
    #[arg(long)]
    pub discrete_action: bool,
    /// Observe only the N×d document feature matrix (RLlib's bandit wrapper).
    #[arg(long)]
    pub bandit_observation: bool,
    /// Add the user's true state to the observation (LTS: satisfaction; interest
    /// evolution: remaining budget; interest exploration: topic affinities; SARDINE: its
    /// IdealState, which replaces the observation).
    #[arg(long)]
    pub user_observation: bool,
    /// Add the remaining fraction of the episode to the user observation (gymnasium's
    /// TimeAwareObservation: LTS's time budget, the interest worlds' horizon); SlateQ
    /// turns it on by default.
    #[arg(long)]
    pub time_aware: bool,
    /// Cut every episode after this many steps, as truncated [default: none; 1000 for
    /// interest-evolution, 100 for interest-exploration, which never ends by itself].
    #[arg(long, value_name = "STEPS", value_parser = any_usize)]
    pub horizon: Option<usize>,
}

fn parse_env(s: &str) -> Result<String, String> {
    let s = env::SardinePreset::all()
        .iter()
        .find(|p| p.id == s)
        .map_or(s, |p| p.name);
    env::world(s)
        .map(|w| w.name().to_string())
        .map_err(|e| e.to_string())
}

/// One `--set`: a model parameter by name, or a dotted key of a run's configuration
/// (`slateq.lr=1e-4`, as a `--config` file or a sweep's axis sets it).
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    /// `sensitivity=0.05`.
    Param(String, f64),
    /// `slateq.lr=1e-4`: the key and the value's text.
    Key(String, String),
}

fn parse_set(s: &str) -> Result<Setting, String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))?;
    let name = name.trim().to_string();
    if name.contains('.') {
        return Ok(Setting::Key(name, value.trim().to_string()));
    }
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not a number"))?;
    Ok(Setting::Param(name, value))
}

impl EnvArgs {
    /// Applies the options given to `base`; a dotted `--set` key is refused, as only
    /// `rlrec train` has a configuration to set it in.
    pub fn apply(&self, base: Scenario) -> Result<Scenario> {
        if let Some((key, _)) = self.keys().first() {
            bail!(
                "--set {key}: a dotted key sets a run's configuration, which only `rlrec train` \
                 takes; here --set takes the world's parameters (see --help)"
            );
        }
        Ok(self.apply_params(base))
    }

    /// The dotted `--set` keys, for a run's configuration.
    pub fn keys(&self) -> Vec<(String, String)> {
        self.set
            .iter()
            .filter_map(|s| match s {
                Setting::Key(key, value) => Some((key.clone(), value.clone())),
                Setting::Param(..) => None,
            })
            .collect()
    }

    /// Applies the options given to `base`, but for the dotted `--set` keys. A changed
    /// environment drops the base's parameter overrides, which belong to the old one.
    pub fn apply_params(&self, mut base: Scenario) -> Scenario {
        if let Some(env) = &self.env {
            base.switch_world(env);
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
        if let Some(path) = &self.item_embeddings {
            base.item_embeddings = Some(path.clone());
        }
        if let Some(h) = self.horizon {
            base.max_episode_steps = Some(h);
        }
        base.params.extend(self.set.iter().filter_map(|s| match s {
            Setting::Param(name, value) => Some((name.clone(), *value)),
            Setting::Key(..) => None,
        }));
        let w = &mut base.wrappers;
        w.user_observation |= self.user_observation;
        w.bandit_observation |= self.bandit_observation;
        w.discrete_action |= self.discrete_action;
        w.time_aware |= self.time_aware;
        base
    }

    /// The default scenario with these options, validated.
    pub fn scenario(&self) -> Result<Scenario> {
        let scenario = self.apply(Scenario::default())?;
        scenario.validate()?;
        Ok(scenario)
    }
}

/// Refuses `episodes` episodes of `scenario` that take more than `limit` steps in all:
/// the message names what the limit bounds (`bound`) and what to do less of (`verb`).
pub fn check_total_steps(
    scenario: &Scenario,
    episodes: u64,
    limit: u64,
    bound: &str,
    verb: &str,
) -> Result<()> {
    if let Some(length) = scenario.resolve()?.episode_length() {
        let steps = episodes.saturating_mul(length as u64);
        if steps > limit {
            bail!(
                "{episodes} episodes of {length} steps are {steps} steps, more than the \
                 {limit} {bound}: {verb} fewer episodes or shorter ones"
            );
        }
    }
    Ok(())
}

/// Refuses an evaluation of `episodes` episodes on `num_envs` environments of `scenario`
/// that could not finish, or whose buffers would not fit in memory.
pub fn check_evaluation_size(scenario: &Scenario, episodes: usize, num_envs: usize) -> Result<()> {
    check_total_steps(
        scenario,
        episodes as u64,
        MAX_RUN_STEPS,
        "one command runs",
        "play",
    )?;
    let layout = scenario.build()?.layout();
    let per_env = (layout.user_dim + layout.num_candidates * layout.doc_dim) as u64 * 4;
    let bytes = per_env.saturating_mul(num_envs.min(episodes) as u64);
    if bytes > MAX_VECTOR_BYTES {
        bail!(
            "{num_envs} environments of {} candidates need {:.1} GiB of observations, more \
             than {} GiB: use fewer --num-envs",
            layout.num_candidates,
            bytes as f64 / f64::from(1u32 << 30),
            MAX_VECTOR_BYTES >> 30
        );
    }
    Ok(())
}

/// Parses a fixed policy by name; `--help` lists each with its description.
pub fn policy_parser() -> impl TypedValueParser<Value = FixedPolicy> {
    clap::builder::PossibleValuesParser::new(
        FixedPolicy::ALL.map(|p| clap::builder::PossibleValue::new(p.name()).help(p.description())),
    )
    .map(|name| name.parse::<FixedPolicy>().expect("a listed policy"))
}

/// A file or folder: refuses an empty or blank path, which an unset shell variable gives
/// (`--out "$OUT"`) and which would otherwise mean the current folder.
pub fn any_path(s: &str) -> Result<PathBuf, String> {
    if s.trim().is_empty() {
        return Err(
            "an empty path: give a file or folder name (is a shell variable unset?)".into(),
        );
    }
    Ok(PathBuf::from(s))
}

/// A PNG file to write: refuses a folder, a name without `.png`, or a file in a folder
/// that does not exist, before any work.
pub fn png_path(s: &str) -> Result<PathBuf, String> {
    let path = any_path(s)?;
    if path.is_dir() {
        return Err(format!("{s} is a folder; give a file name ending in .png"));
    }
    if path.extension().and_then(|e| e.to_str()) != Some("png") {
        return Err(format!("{s}: the file name must end in .png"));
    }
    // Else plotters reports it only after the work, as a raw drawing-backend error.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(format!("{s}: no folder {} to write it into", dir.display()));
        }
    }
    Ok(path)
}

/// A folder to write into: refuses a file, or an empty path.
pub fn folder_path(s: &str) -> Result<PathBuf, String> {
    let path = any_path(s)?;
    if path.is_file() {
        return Err(format!("{s} is a file, not a folder"));
    }
    Ok(path)
}

/// `--set`'s long help: every registered world's parameters with their defaults.
pub fn set_help() -> String {
    let mut text = String::from(
        "Set a model parameter, e.g. `--set sensitivity=0.05` (repeatable). Each world's \
         parameters, with their defaults:",
    );
    for world in env::registered() {
        let params: Vec<String> = world
            .default_params()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        text.push_str(&format!("\n  {}: {}", world.name(), params.join(", ")));
    }
    text.push_str(
        "\n`rlrec train` also takes a run's configuration keys, dotted as in a --config file \
         or a sweep's axes: `--set slateq.lr=1e-4`, `--set slateq.hidden=[64,64]`.",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_plain_and_scientific_numbers_within_their_range() {
        let episodes = count(1, MAX_EPISODES, "test");
        assert_eq!(episodes("500"), Ok(500));
        assert_eq!(episodes("1e6"), Ok(1_000_000));
        assert!(episodes("1e12").unwrap_err().contains("at most 10000000"));
        assert!(episodes("0").unwrap_err().contains("at least 1"));
        assert!(episodes("2.5").unwrap_err().contains("whole number"));
        assert!(episodes("-3").unwrap_err().contains("whole number"));
        assert!(episodes("nan").unwrap_err().contains("whole number"));
        assert!(episodes("1e400").is_err());
        assert_eq!(any_u64("18446744073709551615"), Ok(u64::MAX));
        assert!(any_u64("18446744073709551616").is_err());
    }
}
