//! `rlrec import`: logs from outside rlrec (CSV or Parquet, by a mapping file), or a sample
//! of the Open Bandit Dataset, turned into an rlrec log that `rlrec ope` reads.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use logs::import::{import, Mapping};
use logs::obd::{self, Campaign, ObdPolicy};
use logs::ImportMeta;
use serde_json::json;

use crate::args::{any_path, folder_path};
use crate::output::outln;

/// Options of `rlrec import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: Source,
}

/// What to import.
#[derive(Debug, clap::Subcommand)]
pub enum Source {
    /// A CSV (with a header row) or Parquet file of one row per item shown, its columns
    /// named by a mapping file (TOML; see docs/import.md).
    File {
        /// The file.
        #[arg(value_name = "FILE", value_parser = any_path)]
        path: PathBuf,
        /// The mapping file.
        #[arg(long, value_name = "TOML", value_parser = any_path)]
        mapping: PathBuf,
        /// The log folder to write (new, empty, or a log, which is replaced).
        #[arg(long, value_name = "DIR", value_parser = folder_path)]
        out: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// A 10,000-row sample of the Open Bandit Dataset (ZOZOTOWN; Saito et al., NeurIPS
    /// 2021), which `cargo xtask setup` downloads into the cache folder.
    Obd {
        /// The campaign: all, men or women.
        #[arg(long, default_value = "all", value_parser = |s: &str| s.parse::<Campaign>())]
        campaign: Campaign,
        /// The logging policy: random or bts (Bernoulli Thompson sampling).
        #[arg(long, value_parser = |s: &str| s.parse::<ObdPolicy>())]
        policy: ObdPolicy,
        /// The log folder to write (new, empty, or a log, which is replaced).
        #[arg(long, value_name = "DIR", value_parser = folder_path)]
        out: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// The unpacked Open Bandit Dataset in the cache folder.
pub fn obd_root() -> Result<PathBuf> {
    let cache = storage::cache_root().context(
        "no cache folder: set RLREC_CACHE (or HOME) to where `cargo xtask setup` put the data",
    )?;
    Ok(obd::root(&cache))
}

pub fn run(args: &ImportArgs) -> Result<()> {
    let (summary, json) = match &args.source {
        Source::File {
            path,
            mapping,
            out,
            json,
        } => {
            let map = Mapping::read(mapping)
                .with_context(|| format!("reading the mapping {}", mapping.display()))?;
            let label = path.display().to_string();
            let summary = import(path, &map, &label, None, out)
                .with_context(|| format!("importing {}", path.display()))?;
            (summary, *json)
        }
        Source::Obd {
            campaign,
            policy,
            out,
            json,
        } => {
            let summary =
                obd::import_obd(&obd_root()?, *campaign, *policy, out).with_context(|| {
                    format!("importing the Open Bandit Dataset's {policy} sample of {campaign}")
                })?;
            (summary, *json)
        }
    };
    report(&summary.path, &summary.meta, json)
}

fn report(path: &Path, meta: &ImportMeta, json: bool) -> Result<()> {
    if json {
        outln!("{}", json!({"log": path, "meta": meta}));
        return Ok(());
    }
    outln!(
        "imported {} rows ({} impressions) of {} from {} into {}",
        meta.rows,
        meta.impressions,
        meta.policy,
        meta.source,
        path.display()
    );
    outln!(
        "  {} items, {} positions, {} context features, {} item features; {}",
        meta.items,
        meta.slate_size,
        meta.context_features.len(),
        meta.item_feature_names.len(),
        meta.grouping
    );
    Ok(())
}
