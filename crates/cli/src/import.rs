//! `rlrec import`: logs from outside rlrec (CSV or Parquet, by a mapping file), or a sample
//! of the Open Bandit Dataset, turned into an rlrec log that `rlrec ope` reads.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use logs::import::{import, Mapping};
use logs::obd::{self, Campaign, ObdPolicy};
use logs::{ImportMeta, ImportedLog};
use ope::{evaluate_imported, learn, on_policy, ActionDist, Line, Outcome};
use serde_json::json;

use crate::args::{any_path, folder_path};
use crate::ope::OpeArgs;
use crate::output::{outln, print_line};
use crate::plot;

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

/// `rlrec ope` on an imported log: a distribution over items per position as the target,
/// optionally against a log of the target itself.
pub fn ope_imported(args: &OpeArgs) -> Result<()> {
    let [dir] = args.logs.as_slice() else {
        bail!("give one imported log at a time (--logs DIR)");
    };
    let whole =
        ImportedLog::open(dir).with_context(|| format!("reading the log {}", dir.display()))?;
    let (items, k) = (whole.meta.items, whole.meta.slate_size);
    let target = match (&args.target, args.learn) {
        (Some(target), _) => target.as_str(),
        (None, Some(learner)) => {
            let (train, held_out) = whole.split(args.holdout).map_err(anyhow::Error::msg)?;
            let dist = learn(&train, learner, obd::BTS_DRAWS, obd::BTS_SEED)
                .map_err(anyhow::Error::msg)?;
            return report_imported(args, dir, &held_out, &dist);
        }
        (None, None) => bail!(
            "{} is an imported log: give the target as --target uniform, bts or FILE (a \
             distribution over its items per position) or --learn, not --policy or --checkpoint",
            dir.display()
        ),
    };
    let dist = match target {
        "uniform" => ActionDist::uniform(items, k),
        "bts" => {
            let Some(campaign) = &whole.meta.campaign else {
                bail!("--target bts is the Open Bandit Dataset's policy, and {} was not imported from it", dir.display());
            };
            let campaign: Campaign = campaign.parse().map_err(anyhow::Error::msg)?;
            let (alpha, beta) = obd::bts_prior(&obd_root()?, campaign)?;
            ActionDist::thompson(&alpha, &beta, k, obd::BTS_DRAWS, obd::BTS_SEED)
                .map_err(anyhow::Error::msg)?
        }
        file => ActionDist::read_csv(Path::new(file), items, k)
            .with_context(|| format!("reading the target {file}"))?,
    };
    report_imported(args, dir, &whole, &dist)
}

/// Evaluates `dist` on `log` (the folder `dir`'s, or its held-out part) and reports it,
/// against --on-policy's log where one is given.
fn report_imported(args: &OpeArgs, dir: &Path, log: &ImportedLog, dist: &ActionDist) -> Result<()> {
    let (items, k) = (log.meta.items, log.meta.slate_size);
    if let Some(path) = &args.write_target {
        storage::write_atomic(path, dist.to_csv().as_bytes())?;
    }
    let report = evaluate_imported(log, dist).map_err(anyhow::Error::msg)?;
    let truth = match &args.on_policy {
        Some(other) => {
            let on = ImportedLog::open(other)
                .with_context(|| format!("reading the on-policy log {}", other.display()))?;
            if (on.meta.items, on.meta.slate_size) != (items, k) {
                bail!(
                    "{} holds {} items × {} positions, {} holds {items} × {k}: not logs of one catalogue",
                    other.display(),
                    on.meta.items,
                    on.meta.slate_size,
                    dir.display()
                );
            }
            Some((other.clone(), on.meta.policy.clone(), on_policy(&on)))
        }
        None => None,
    };
    // A learned target has no log of its own: --on-policy's is another policy's, to
    // compare with, not this target's truth.
    let learned = args.learn.is_some();
    let on_value = truth
        .as_ref()
        .and_then(|(_, _, o)| o.estimate())
        .map(|e| e.value);
    let truth_value = on_value.filter(|_| !learned);
    if let Some(path) = &args.plot {
        let series: Vec<plot::Estimates> = report
            .estimates
            .iter()
            .map(|l| plot::Estimates {
                label: l.estimator.short.to_string(),
                points: l
                    .outcome
                    .estimate()
                    .map(|x| (x.value, x.ci95))
                    .into_iter()
                    .collect(),
            })
            .collect();
        let title = format!(
            "{} from {} ({}): reward per row",
            report.target,
            dir.display(),
            report.logging
        );
        plot::estimates_chart(
            path,
            &title,
            &series,
            on_value.map(|t| {
                let name = if learned {
                    "the other policy's on-policy value"
                } else {
                    "on-policy value"
                };
                (name, t)
            }),
        )
        .with_context(|| format!("writing {}", path.display()))?;
    }
    let relative = |l: &Line| {
        let (e, t) = (l.outcome.estimate()?, truth_value?);
        (t != 0.0).then(|| (e.value - t).abs() / t.abs())
    };
    if args.json {
        let errors: serde_json::Map<String, serde_json::Value> = report
            .estimates
            .iter()
            .map(|l| (l.estimator.id.to_string(), json!(relative(l))))
            .collect();
        let truth = truth
            .as_ref()
            .map(|(path, policy, o)| json!({"log": path, "policy": policy, "outcome": o}));
        outln!(
            "{}",
            json!({"report": report, "on_policy": truth, "relative_error": errors, "learned": learned})
        );
        return Ok(());
    }
    outln!(
        "off-policy evaluation of {} on {} ({}: {} rows, {} impressions)",
        report.target,
        dir.display(),
        report.logging,
        report.rows,
        report.impressions
    );
    outln!("reward per row (the target's, at the logged contexts and positions):");
    for line in &report.estimates {
        print_line(line, truth_value, 5)?;
    }
    outln!(
        "  weights: effective sample size {:.0} of {} rows, largest {:.2}",
        report.ess,
        report.rows,
        report.max_weight
    );
    if let Some(e) = report.logged.estimate() {
        outln!(
            "logged: the logging policy's own reward per row {:.5} [{:.5}, {:.5}]",
            e.value,
            e.ci95[0],
            e.ci95[1]
        );
    }
    if learned {
        outln!(
            "learned from the log's first {} of impressions, evaluated on the last {} ({} rows)",
            format_share(1.0 - args.holdout),
            format_share(args.holdout),
            report.rows
        );
    }
    if let (true, Some((path, policy, Outcome::Estimate(e)))) = (learned, &truth) {
        outln!(
            "compared with: {policy}'s own reward per row in {} {:.5} [{:.5}, {:.5}]",
            path.display(),
            e.value,
            e.ci95[0],
            e.ci95[1]
        );
    }
    if let (false, Some((path, policy, Outcome::Estimate(e)))) = (learned, &truth) {
        outln!(
            "on-policy: {policy}'s own reward per row in {} {:.5} [{:.5}, {:.5}]",
            path.display(),
            e.value,
            e.ci95[0],
            e.ci95[1]
        );
        let errors: Vec<String> = report
            .estimates
            .iter()
            .filter_map(|l| {
                Some(format!(
                    "{} {:.1}%",
                    l.estimator.short,
                    100.0 * relative(l)?
                ))
            })
            .collect();
        outln!("  relative error: {}", errors.join(", "));
    }
    if let Some(path) = &args.plot {
        outln!("chart written to {}", path.display());
    }
    Ok(())
}

/// A share as a percentage.
fn format_share(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}
