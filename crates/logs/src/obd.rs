//! The Open Bandit Dataset (Saito, Aihara, Matsutani and Narita, "Open Bandit Dataset and
//! Pipeline: Towards Realistic and Reproducible Off-Policy Evaluation", NeurIPS 2021
//! Datasets and Benchmarks; the data under CC BY 4.0, the pipeline under Apache 2.0) as a
//! built-in source of real logs.
//!
//! ZOZOTOWN's fashion traffic, served by a uniform random policy and by Bernoulli
//! Thompson sampling (BTS), three positions per impression. Its 10,000-row samples per
//! policy and campaign ship inside the source archive of PyPI's `obp` 0.5.7, which
//! `cargo xtask setup` downloads and unpacks into the cache folder ([`root`]); nothing of
//! it is in the repository. Each row is one item at one position; the sample keeps no key
//! that groups a row with the other positions of its impression, so each row is its own
//! step.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::import::{import, ImportSummary, ItemTable, Mapping};
use crate::LogError;

/// The `obp` release whose source archive holds the samples.
pub const OBP_VERSION: &str = "0.5.7";
/// Draws behind BTS's action distribution (as the dataset's pipeline makes it).
pub const BTS_DRAWS: u64 = 100_000;
/// The seed of those draws.
pub const BTS_SEED: u64 = 12_345;

/// A campaign: the items of one part of the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Campaign {
    /// Every item (80).
    All,
    /// Men's (34).
    Men,
    /// Women's (46).
    Women,
}

/// A logging policy of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObdPolicy {
    /// Uniformly random items.
    Random,
    /// Bernoulli Thompson sampling.
    Bts,
}

impl Campaign {
    /// Every campaign.
    pub const ALL: [Campaign; 3] = [Campaign::All, Campaign::Men, Campaign::Women];

    /// Its name in the dataset.
    pub fn name(self) -> &'static str {
        match self {
            Campaign::All => "all",
            Campaign::Men => "men",
            Campaign::Women => "women",
        }
    }
}

impl ObdPolicy {
    /// Both policies.
    pub const ALL: [ObdPolicy; 2] = [ObdPolicy::Random, ObdPolicy::Bts];

    /// Its name in the dataset.
    pub fn name(self) -> &'static str {
        match self {
            ObdPolicy::Random => "random",
            ObdPolicy::Bts => "bts",
        }
    }
}

/// The value of `all` named `s`, or an error that lists the names.
fn by_name<T: Copy>(s: &str, all: &[T], name: fn(T) -> &'static str) -> Result<T, String> {
    all.iter().copied().find(|v| name(*v) == s).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
        format!("`{s}` is not one of {}", names.join(", "))
    })
}

impl FromStr for Campaign {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        by_name(s, &Campaign::ALL, Campaign::name)
    }
}

impl FromStr for ObdPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        by_name(s, &ObdPolicy::ALL, ObdPolicy::name)
    }
}

impl fmt::Display for Campaign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ObdPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the unpacked archive lies under the cache folder `cache`.
pub fn root(cache: &Path) -> PathBuf {
    cache.join("obd").join(format!("obp-{OBP_VERSION}"))
}

fn missing(root: &Path) -> LogError {
    LogError::invalid(
        root,
        format!(
            "the Open Bandit Dataset is not there: `cargo xtask setup` downloads it (obp {OBP_VERSION}'s \
             source archive from PyPI) into the cache folder"
        ),
    )
}

/// The sample's folder for `policy` and `campaign`.
fn sample(root: &Path, policy: ObdPolicy, campaign: Campaign) -> PathBuf {
    root.join("obp/dataset/obd")
        .join(policy.name())
        .join(campaign.name())
}

/// The columns of a sample, as the dataset's pipeline reads them: the four hashed user
/// features one-hot, the user–item affinities as numbers; items with their one numeric
/// and three hashed features; positions 1 to 3; the click and its propensity.
fn mapping(root: &Path, policy: ObdPolicy, campaign: Campaign) -> Mapping {
    Mapping {
        policy: Some(policy.name().into()),
        item: "item_id".into(),
        reward: "click".into(),
        propensity: "propensity_score".into(),
        position: Some("position".into()),
        first_position: 1,
        slate_size: Some(3),
        first_item: 0,
        items: None,
        impression: None,
        context: vec!["user_feature_*".into(), "user-item_affinity_*".into()],
        categorical: vec!["user_feature_*".into()],
        item_features: Some(ItemTable {
            file: sample(root, policy, campaign).join("item_context.csv"),
            id: "item_id".into(),
            columns: vec!["item_feature_*".into()],
            categorical: vec![
                "item_feature_1".into(),
                "item_feature_2".into(),
                "item_feature_3".into(),
            ],
        }),
    }
}

/// Imports the sample of `policy` on `campaign` from the archive under `root` into `out`.
pub fn import_obd(
    root: &Path,
    campaign: Campaign,
    policy: ObdPolicy,
    out: &Path,
) -> Result<ImportSummary, LogError> {
    let csv = sample(root, policy, campaign).join(format!("{campaign}.csv"));
    if !csv.is_file() {
        return Err(missing(root));
    }
    let label =
        format!("Open Bandit Dataset (obp {OBP_VERSION}), campaign {campaign}, policy {policy}");
    import(
        &csv,
        &mapping(root, policy, campaign),
        &label,
        Some(campaign.to_string()),
        out,
    )
}

/// BTS's prior for `campaign` (`obp/policy/conf/prior_bts.yaml`): per item, `alpha` and
/// `beta`. The file is a two-level map of lists of numbers, read as such.
pub fn bts_prior(root: &Path, campaign: Campaign) -> Result<(Vec<f64>, Vec<f64>), LogError> {
    let path = root.join("obp/policy/conf/prior_bts.yaml");
    if !path.is_file() {
        return Err(missing(root));
    }
    let text = std::fs::read_to_string(&path).map_err(LogError::io(&path))?;
    let (mut section, mut key) = (String::new(), String::new());
    let (mut alpha, mut beta) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        let bad = || {
            LogError::invalid(
                &path,
                format!("line {} is not the prior's layout: `{line}`", i + 1),
            )
        };
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(value) = trimmed.strip_prefix("- ") {
            let x: f64 = value.trim().parse().map_err(|_| bad())?;
            if section == campaign.name() {
                match key.as_str() {
                    "alpha" => alpha.push(x),
                    "beta" => beta.push(x),
                    _ => return Err(bad()),
                }
            }
        } else if let Some(name) = trimmed.strip_suffix(':') {
            if line.starts_with(' ') {
                key = name.to_string();
            } else {
                section = name.to_string();
            }
        } else {
            return Err(bad());
        }
    }
    if alpha.is_empty() || alpha.len() != beta.len() {
        return Err(LogError::invalid(
            &path,
            format!(
                "campaign {campaign}: {} alphas and {} betas",
                alpha.len(),
                beta.len()
            ),
        ));
    }
    Ok((alpha, beta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prior_is_read_per_campaign_and_a_strange_file_refused() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("obp/policy/conf");
        std::fs::create_dir_all(&conf).unwrap();
        let file = conf.join("prior_bts.yaml");
        std::fs::write(&file, "all:\n  alpha:\n    - 2.0\n    - 3.0\n  beta:\n    - 5.0\n    - 7.0\nmen:\n  alpha:\n    - 1.0\n  beta:\n    - 1.0\n").unwrap();
        assert_eq!(
            bts_prior(dir.path(), Campaign::All).unwrap(),
            (vec![2.0, 3.0], vec![5.0, 7.0])
        );
        assert_eq!(
            bts_prior(dir.path(), Campaign::Men).unwrap(),
            (vec![1.0], vec![1.0])
        );
        let err = bts_prior(dir.path(), Campaign::Women)
            .unwrap_err()
            .to_string();
        assert!(err.contains("0 alphas and 0 betas"), "{err}");
        std::fs::write(&file, "all:\n  alpha: [2.0]\n").unwrap();
        let err = bts_prior(dir.path(), Campaign::All)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2 is not the prior's layout"), "{err}");
        let err = bts_prior(&dir.path().join("nowhere"), Campaign::All)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cargo xtask setup"), "{err}");
        assert_eq!("men".parse::<Campaign>(), Ok(Campaign::Men));
        assert!("kids"
            .parse::<ObdPolicy>()
            .unwrap_err()
            .contains("random, bts"));
    }
}
