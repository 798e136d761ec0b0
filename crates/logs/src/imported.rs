//! Logs that rlrec did not write: a practitioner's own rows, turned into an rlrec log by
//! `rlrec import` ([`crate::import`]). Such a log has no environment behind it, only what
//! the rows say: one row per item shown, at a position, with the reward it earned and the
//! logging policy's probability of showing it there.
//!
//! The folder is laid out as a simulated log's: `_rlrec.json` ([`ImportMeta`], told apart
//! by its `rlrec_import` key) and `steps.parquet`, whose columns are `impression`
//! (`uint64`), `position` (`uint32`), `item` (`uint32`), `reward` (`float64`),
//! `propensity` (`float64`) and `context` (`list<float32>`). Rows of one impression are
//! contiguous, in the order of their positions.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::types::Type;
use serde::{Deserialize, Serialize};

use crate::columns::{Col, Kind, Lists, Scratch, ROW_GROUP_ROWS};
use crate::{claim, replace, LogError, META_FILE, PARQUET_META_KEY, STEPS_FILE};

/// The imported-log format this build writes and reads.
pub const IMPORT_FORMAT: u32 = 1;

/// The columns of an imported log's `steps.parquet`, in order.
const COLUMNS: [(&str, Kind); 6] = [
    ("impression", Kind::U64),
    ("position", Kind::U32),
    ("item", Kind::U32),
    ("reward", Kind::F64),
    ("propensity", Kind::F64),
    ("context", Kind::F32s),
];

/// What an imported log holds beyond its rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportMeta {
    /// The imported-log format version.
    pub rlrec_import: u32,
    /// The rlrec that imported it.
    pub rlrec_version: String,
    /// What was imported (a file, or a built-in data set).
    pub source: String,
    /// The logging policy, as the import named it.
    pub policy: String,
    /// The Open Bandit Dataset's campaign, for a log imported from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// Rows: items shown.
    pub rows: u64,
    /// Impressions: the slates (or single items) shown.
    pub impressions: u64,
    /// The positions of a slate.
    pub slate_size: usize,
    /// The items, numbered from 0.
    pub items: usize,
    /// Whether every impression holds every position once, so that its rows form a slate.
    pub grouped: bool,
    /// How the rows were grouped, or why they were not, in words.
    pub grouping: String,
    /// The name of each context feature (`column`, or `column=value` for a category).
    pub context_features: Vec<String>,
    /// The name of each item feature.
    pub item_feature_names: Vec<String>,
    /// Per item, its features (empty where the import had no item table).
    pub item_features: Vec<Vec<f32>>,
    /// CRC-32 of the rows (hexadecimal): it pairs this file with the steps.
    pub checksum: String,
}

/// An imported log's rows, column by column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Steps {
    /// The impression of each row, numbered from 0 in order of appearance.
    pub impression: Vec<u64>,
    /// The position of each row, from 0.
    pub position: Vec<u32>,
    /// The item shown, from 0.
    pub item: Vec<u32>,
    /// The reward it earned.
    pub reward: Vec<f64>,
    /// The logging policy's probability of showing this item at this position.
    pub propensity: Vec<f64>,
    /// The context features, `dim` per row.
    pub context: Vec<f32>,
    /// Context features per row.
    pub dim: usize,
}

impl Steps {
    /// Rows.
    pub fn len(&self) -> usize {
        self.item.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.item.is_empty()
    }

    /// Row `i`'s context features.
    pub fn context(&self, i: usize) -> &[f32] {
        &self.context[i * self.dim..(i + 1) * self.dim]
    }

    /// The rows' checksum: CRC-32 of each row's fields in column order, little-endian.
    fn checksum(&self) -> String {
        let mut h = crc32fast::Hasher::new();
        for i in 0..self.len() {
            h.update(&self.impression[i].to_le_bytes());
            h.update(&self.position[i].to_le_bytes());
            h.update(&self.item[i].to_le_bytes());
            h.update(&self.reward[i].to_le_bytes());
            h.update(&self.propensity[i].to_le_bytes());
            for x in self.context(i) {
                h.update(&x.to_le_bytes());
            }
        }
        format!("{:08x}", h.finalize())
    }

    /// What is wrong with these rows under `meta`, if anything: the import checks its
    /// input row by row; this checks a log read back, which anyone may have edited.
    fn fault(&self, meta: &ImportMeta) -> Option<String> {
        let n = self.len();
        if n == 0 {
            return Some("no rows".into());
        }
        if n as u64 != meta.rows {
            return Some(format!("{n} rows where the metadata says {}", meta.rows));
        }
        if self.dim != meta.context_features.len() {
            return Some(format!(
                "{} context features per row where the metadata names {}",
                self.dim,
                meta.context_features.len()
            ));
        }
        if self.checksum() != meta.checksum {
            return Some("the rows' checksum differs from the metadata's".into());
        }
        let bad_row = (0..n).find(|&i| {
            self.item[i] as usize >= meta.items
                || self.position[i] as usize >= meta.slate_size
                || !self.reward[i].is_finite()
                || !(self.propensity[i] > 0.0 && self.propensity[i] <= 1.0)
                || self.context(i).iter().any(|x| !x.is_finite())
                || (i > 0 && self.impression[i] < self.impression[i - 1])
        });
        bad_row.map(|i| format!("row {i} is out of range or out of order"))
    }
}

/// An imported log, read whole.
#[derive(Debug, Clone)]
pub struct ImportedLog {
    /// Its folder.
    pub path: PathBuf,
    /// Its metadata.
    pub meta: ImportMeta,
    /// Its rows.
    pub steps: Steps,
}

/// Whether the metadata file at `dir` is an imported log's.
pub fn is_imported(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(META_FILE)).is_ok_and(|text| marks_import(&text))
}

/// Whether a metadata file's text is an imported log's (its `rlrec_import` key).
pub(crate) fn marks_import(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.get("rlrec_import").is_some())
}

impl ImportedLog {
    /// The log cut in time: its first impressions, and the last `held_out` share of them
    /// (at least one on each side), as a deployment would meet them after learning.
    pub fn split(&self, held_out: f64) -> Result<(ImportedLog, ImportedLog), String> {
        let n = self.meta.impressions;
        let cut = ((1.0 - held_out) * n as f64).round() as u64;
        if !(held_out > 0.0 && held_out < 1.0) || cut == 0 || cut >= n {
            return Err(format!(
                "a held-out share of {held_out} leaves no impression on one side of {n}"
            ));
        }
        let part = |keep: &dyn Fn(u64) -> bool| {
            let s = &self.steps;
            let rows: Vec<usize> = (0..s.len()).filter(|&i| keep(s.impression[i])).collect();
            let steps = Steps {
                impression: rows.iter().map(|&i| s.impression[i]).collect(),
                position: rows.iter().map(|&i| s.position[i]).collect(),
                item: rows.iter().map(|&i| s.item[i]).collect(),
                reward: rows.iter().map(|&i| s.reward[i]).collect(),
                propensity: rows.iter().map(|&i| s.propensity[i]).collect(),
                context: rows
                    .iter()
                    .flat_map(|&i| s.context(i).iter().copied())
                    .collect(),
                dim: s.dim,
            };
            let impressions = rows
                .iter()
                .filter(|&&i| i == 0 || s.impression[i] != s.impression[i - 1])
                .count();
            let meta = ImportMeta {
                rows: rows.len() as u64,
                impressions: impressions as u64,
                checksum: steps.checksum(),
                ..self.meta.clone()
            };
            ImportedLog {
                path: self.path.clone(),
                meta,
                steps,
            }
        };
        Ok((part(&|e| e < cut), part(&|e| e >= cut)))
    }

    /// Reads the log in `dir`, checking that its rows are whole and in range.
    pub fn open(dir: &Path) -> Result<Self, LogError> {
        if dir.is_file() {
            return Err(LogError::NotAFolder(dir.to_path_buf()));
        }
        let meta_path = dir.join(META_FILE);
        if !meta_path.is_file() {
            return Err(LogError::NotALog(dir.to_path_buf()));
        }
        let text = std::fs::read_to_string(&meta_path).map_err(LogError::io(&meta_path))?;
        if !marks_import(&text) {
            return Err(LogError::invalid(
                dir,
                "a log written by `rlrec log`, not an imported one",
            ));
        }
        let meta: ImportMeta = serde_json::from_str(&text)
            .map_err(LogError::format(&meta_path, "reading the metadata"))?;
        if meta.rlrec_import != IMPORT_FORMAT {
            return Err(LogError::invalid(
                dir,
                format!(
                    "imported-log format {}, where this rlrec reads {IMPORT_FORMAT}; import it again",
                    meta.rlrec_import
                ),
            ));
        }
        let steps_path = dir.join(STEPS_FILE);
        let steps = read_steps(&steps_path)?;
        if let Some(why) = steps.fault(&meta) {
            return Err(LogError::invalid(&steps_path, why));
        }
        Ok(Self {
            path: dir.to_path_buf(),
            meta,
            steps,
        })
    }
}

/// Writes `steps` with `meta` (its checksum filled in here) into the folder `out`, which
/// must be new, empty, or a log (replaced once the new one is complete).
pub(crate) fn write(
    out: &Path,
    mut meta: ImportMeta,
    steps: &Steps,
) -> Result<ImportMeta, LogError> {
    meta.checksum = steps.checksum();
    let text = serde_json::to_string_pretty(&meta).expect("import metadata serialises");
    let _lock = claim(out)?;
    let tmp = out.join(format!(".{STEPS_FILE}.{}.tmp", std::process::id()));
    let result = write_steps(&tmp, steps, &text).and_then(|()| replace(out, &tmp, &text));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| meta)
}

fn write_steps(path: &Path, steps: &Steps, meta: &str) -> Result<(), LogError> {
    let file = File::create(path).map_err(LogError::io(path))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(format!("rlrec {}", env!("CARGO_PKG_VERSION")))
        .build();
    let fields = COLUMNS
        .iter()
        .map(|(name, kind)| Arc::new(kind.parquet_type(name, false)))
        .collect();
    let schema = Type::group_type_builder("schema")
        .with_fields(fields)
        .build()
        .expect("a group of valid fields");
    let write = || -> Result<(), ParquetError> {
        let mut writer = SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props))?;
        let mut scratch = Scratch::default();
        let mut context = Lists::new();
        for from in (0..steps.len()).step_by(ROW_GROUP_ROWS) {
            let to = steps.len().min(from + ROW_GROUP_ROWS);
            context.clear();
            for i in from..to {
                context.push(steps.context(i).iter().copied(), true);
            }
            let columns = [
                Col::U64(&steps.impression[from..to]),
                Col::U32(&steps.position[from..to]),
                Col::U32(&steps.item[from..to]),
                Col::F64(&steps.reward[from..to]),
                Col::F64(&steps.propensity[from..to]),
                Col::F32s(&context),
            ];
            let mut group = writer.next_row_group()?;
            for column in &columns {
                let mut out = group
                    .next_column()?
                    .ok_or_else(|| ParquetError::General("fewer columns than the log's".into()))?;
                scratch.write(out.untyped(), column, false, 0, to - from)?;
                out.close()?;
            }
            group.close()?;
        }
        writer.append_key_value_metadata(KeyValue::new(PARQUET_META_KEY.into(), meta.to_string()));
        let file = writer.into_inner()?;
        file.sync_all()?;
        Ok(())
    };
    write().map_err(LogError::format(path, "writing the steps"))
}

fn read_steps(path: &Path) -> Result<Steps, LogError> {
    let fault = LogError::format(path, "reading the steps");
    let file = File::open(path).map_err(LogError::io(path))?;
    let reader = SerializedFileReader::new(file).map_err(fault)?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let names: Vec<&str> = schema
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name())
        .collect();
    let expected: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
    if names != expected {
        return Err(LogError::invalid(
            path,
            format!("columns {names:?}, where an imported log has {expected:?}"),
        ));
    }
    let mut steps = Steps::default();
    let mut dim = None;
    let rows = reader
        .get_row_iter(None)
        .map_err(LogError::format(path, "reading the steps"))?;
    for (i, row) in rows.enumerate() {
        let row = row.map_err(LogError::format(path, "reading the steps"))?;
        let bad = || {
            LogError::invalid(
                path,
                format!("row {i} does not hold an imported log's types"),
            )
        };
        let fields: Vec<&Field> = row.get_column_iter().map(|(_, f)| f).collect();
        let [impression, position, item, reward, propensity, context] = fields[..] else {
            return Err(bad());
        };
        steps.impression.push(unsigned(impression).ok_or_else(bad)?);
        steps.position.push(
            unsigned(position)
                .and_then(|x| u32::try_from(x).ok())
                .ok_or_else(bad)?,
        );
        steps.item.push(
            unsigned(item)
                .and_then(|x| u32::try_from(x).ok())
                .ok_or_else(bad)?,
        );
        let (Field::Double(r), Field::Double(p), Field::ListInternal(xs)) =
            (reward, propensity, context)
        else {
            return Err(bad());
        };
        steps.reward.push(*r);
        steps.propensity.push(*p);
        let start = steps.context.len();
        for x in xs.elements() {
            let Field::Float(x) = x else {
                return Err(bad());
            };
            steps.context.push(*x);
        }
        let len = steps.context.len() - start;
        if *dim.get_or_insert(len) != len {
            return Err(LogError::invalid(
                path,
                format!(
                    "row {i} holds {len} context features, where row 0 holds {}",
                    dim.unwrap_or(0)
                ),
            ));
        }
    }
    steps.dim = dim.unwrap_or(0);
    Ok(steps)
}

/// An unsigned integer field's value.
fn unsigned(f: &Field) -> Option<u64> {
    match *f {
        Field::ULong(x) => Some(x),
        Field::UInt(x) => Some(u64::from(x)),
        _ => None,
    }
}
