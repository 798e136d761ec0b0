//! `rlrec import`: external logs (CSV or Parquet, one row per item shown) turned into an
//! rlrec log ([`crate::imported`]), given a [`Mapping`] of their columns.
//!
//! Everything is checked before anything is written: a missing column, a propensity
//! outside (0, 1], an item or a position out of range, a position shown twice in one
//! impression, a non-finite number, an empty file. Categorical columns are one-hot
//! encoded, their values in sorted order, so that the same input gives the same log, byte
//! for byte.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use serde::Deserialize;

use crate::imported::{write, ImportMeta, Steps, IMPORT_FORMAT};
use crate::LogError;

/// The most items, positions or features an import takes: far past any real catalogue's
/// slate, and small enough that a mistyped column is refused before it fills memory.
const MAX_ITEMS: usize = 10_000_000;
/// The most positions of a slate.
const MAX_SLATE: usize = 1_000;
/// The most distinct values a categorical column may one-hot encode into.
const MAX_CATEGORIES: usize = 10_000;

/// Which columns of the rows mean what (the mapping file, TOML).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The logging policy's name, for reports (`logged` if not given).
    pub policy: Option<String>,
    /// The item shown: an integer, numbered from `first_item`.
    pub item: String,
    /// The reward it earned (a click: 0 or 1).
    pub reward: String,
    /// The logging policy's probability of showing this item at this position, in (0, 1].
    pub propensity: String,
    /// The position it was shown at: an integer, numbered from `first_position` (no
    /// column: every row at position 0).
    pub position: Option<String>,
    /// The number of the first position (0 or 1, usually).
    #[serde(default)]
    pub first_position: i64,
    /// The positions of a slate (the largest position seen, if not given).
    pub slate_size: Option<usize>,
    /// The number of the first item.
    #[serde(default)]
    pub first_item: i64,
    /// The number of items (the item table's, else the largest item seen, if not given).
    pub items: Option<usize>,
    /// The column that names the impression a row belongs to: rows of one impression form
    /// a slate (none: every row is its own impression).
    pub impression: Option<String>,
    /// The context features: column names, or a prefix ending in `*` for every column
    /// that starts with it.
    #[serde(default)]
    pub context: Vec<String>,
    /// The context columns that hold categories, one-hot encoded (same patterns).
    #[serde(default)]
    pub categorical: Vec<String>,
    /// A table of item features.
    pub item_features: Option<ItemTable>,
}

/// A table of item features: one row per item.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemTable {
    /// The file (CSV or Parquet), relative to the mapping file.
    pub file: PathBuf,
    /// The column of the item's number.
    pub id: String,
    /// The feature columns (patterns as [`Mapping::context`]).
    #[serde(default)]
    pub columns: Vec<String>,
    /// The feature columns that hold categories.
    #[serde(default)]
    pub categorical: Vec<String>,
}

impl Mapping {
    /// Reads a mapping file; an item table's path is taken relative to it.
    pub fn read(path: &Path) -> Result<Self, LogError> {
        let text = std::fs::read_to_string(path).map_err(LogError::io(path))?;
        let mut mapping: Mapping =
            toml::from_str(&text).map_err(LogError::format(path, "reading the mapping"))?;
        if let Some(table) = &mut mapping.item_features {
            let base = path.parent().unwrap_or(Path::new("."));
            table.file = base.join(&table.file);
        }
        Ok(mapping)
    }
}

/// A table read whole, each column as text.
pub struct Table {
    path: PathBuf,
    names: Vec<String>,
    columns: Vec<Vec<String>>,
    /// Per column, why it cannot be imported (a Parquet list or map), if it cannot: only
    /// a column the mapping names is refused for it.
    unusable: Vec<Option<String>>,
}

impl Table {
    /// Reads a CSV (with a header row) or Parquet file, by its extension.
    pub fn read(path: &Path) -> Result<Self, LogError> {
        if !path.is_file() {
            return Err(LogError::invalid(path, "no such file"));
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let table = match ext.to_ascii_lowercase().as_str() {
            "csv" => read_csv(path)?,
            "parquet" => read_parquet(path)?,
            _ => return Err(LogError::invalid(
                path,
                "not a .csv or .parquet file: rlrec imports CSV (with a header row) and Parquet",
            )),
        };
        if table.rows() == 0 {
            return Err(LogError::invalid(path, "no rows"));
        }
        Ok(table)
    }

    fn rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// The column named `name`.
    fn column(&self, name: &str, role: &str) -> Result<&[String], LogError> {
        match self.names.iter().position(|n| n == name) {
            Some(i) => match &self.unusable[i] {
                Some(why) => Err(LogError::invalid(
                    &self.path,
                    format!("`{name}` (the mapping's {role}) {why}"),
                )),
                None => Ok(&self.columns[i]),
            },
            None => Err(LogError::invalid(
                &self.path,
                format!(
                    "no column `{name}` (the mapping's {role}); the columns are {}",
                    self.listed()
                ),
            )),
        }
    }

    fn listed(&self) -> String {
        let shown: Vec<&str> = self.names.iter().take(12).map(String::as_str).collect();
        let more = self.names.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        format!("{}{tail}", shown.join(", "))
    }

    /// The columns that `patterns` name, in the file's order, each once.
    fn matching(&self, patterns: &[String], role: &str) -> Result<Vec<String>, LogError> {
        let mut chosen = BTreeSet::new();
        for p in patterns {
            let hits: Vec<usize> = match p.strip_suffix('*') {
                Some(prefix) => (0..self.names.len())
                    .filter(|&i| self.names[i].starts_with(prefix))
                    .collect(),
                None => self.names.iter().position(|n| n == p).into_iter().collect(),
            };
            if hits.is_empty() {
                return Err(LogError::invalid(
                    &self.path,
                    format!(
                        "no column matches `{p}` (the mapping's {role}); the columns are {}",
                        self.listed()
                    ),
                ));
            }
            chosen.extend(hits);
        }
        Ok(chosen.into_iter().map(|i| self.names[i].clone()).collect())
    }

    /// Features from `patterns` (`categorical` one-hot encoded): their names, and per row
    /// their values.
    fn features(
        &self,
        patterns: &[String],
        categorical: &[String],
        role: &str,
    ) -> Result<(Vec<String>, Vec<Vec<f32>>), LogError> {
        let names = self.matching(patterns, role)?;
        let cats = self.matching(categorical, &format!("{role}'s categorical"))?;
        if let Some(stray) = cats.iter().find(|c| !names.contains(c)) {
            return Err(LogError::invalid(
                &self.path,
                format!("`{stray}` is categorical but not among the {role} columns"),
            ));
        }
        let mut out_names = Vec::new();
        let mut rows = vec![Vec::new(); self.rows()];
        for name in &names {
            let column = self.column(name, role)?;
            if cats.contains(name) {
                let values: BTreeSet<&str> = column.iter().map(String::as_str).collect();
                if values.len() > MAX_CATEGORIES {
                    return Err(LogError::invalid(
                        &self.path,
                        format!("`{name}` holds {} distinct values, more than the {MAX_CATEGORIES} a categorical column may", values.len()),
                    ));
                }
                let index: HashMap<&str, usize> =
                    values.iter().enumerate().map(|(i, v)| (*v, i)).collect();
                out_names.extend(values.iter().map(|v| format!("{name}={v}")));
                for (row, v) in rows.iter_mut().zip(column) {
                    let at = row.len();
                    row.resize(at + values.len(), 0.0);
                    row[at + index[v.as_str()]] = 1.0;
                }
            } else {
                out_names.push(name.clone());
                for (i, (row, v)) in rows.iter_mut().zip(column).enumerate() {
                    let x = self.number(v, i, name)? as f32;
                    if !x.is_finite() {
                        return Err(self.row_error(
                            i,
                            format!("`{name}` is {v}, out of a 32-bit float's range"),
                        ));
                    }
                    row.push(x);
                }
            }
        }
        Ok((out_names, rows))
    }

    fn row_error(&self, i: usize, why: String) -> LogError {
        LogError::invalid(&self.path, format!("row {}: {why}", i + 1))
    }

    /// Row `i`'s `v` in column `name` as a finite number.
    fn number(&self, v: &str, i: usize, name: &str) -> Result<f64, LogError> {
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            Ok(_) => Err(self.row_error(i, format!("`{name}` is {v}, not a finite number"))),
            Err(_) => Err(self.row_error(i, format!("`{name}` is `{v}`, not a number"))),
        }
    }

    /// Row `i`'s `v` in column `name` as an integer from `first`, below `limit`.
    fn index(
        &self,
        v: &str,
        i: usize,
        name: &str,
        first: i64,
        limit: usize,
    ) -> Result<usize, LogError> {
        let x: i64 = v
            .trim()
            .parse()
            .map_err(|_| self.row_error(i, format!("`{name}` is `{v}`, not an integer")))?;
        match x.checked_sub(first).and_then(|x| usize::try_from(x).ok()) {
            Some(at) if at < limit => Ok(at),
            _ => Err(self.row_error(
                i,
                format!(
                    "`{name}` is {x}, out of range (from {first} to {})",
                    first + limit as i64 - 1
                ),
            )),
        }
    }
}

/// Splits CSV text into records (RFC 4180: quoted fields may hold commas, quotes doubled,
/// and line breaks).
fn csv_records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let (mut quoted, mut line) = (false, 1);
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                line += usize::from(c == '\n');
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                line += 1;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("a quoted field opened by line {line} never closes"));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

fn read_csv(path: &Path) -> Result<Table, LogError> {
    let bytes = std::fs::read(path).map_err(LogError::io(path))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        LogError::invalid(
            path,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })?;
    let mut records = csv_records(&text)
        .map_err(|why| LogError::invalid(path, why))?
        .into_iter();
    let names = records
        .next()
        .ok_or_else(|| LogError::invalid(path, "empty: no header row"))?;
    if let Some(twice) = names
        .iter()
        .enumerate()
        .find(|(i, n)| names[..*i].contains(n))
    {
        return Err(LogError::invalid(
            path,
            format!("the header names `{}` twice", twice.1),
        ));
    }
    let mut columns = vec![Vec::new(); names.len()];
    // A blank line (often the last) is no row.
    for (i, record) in records
        .filter(|r| r.len() > 1 || !r[0].is_empty())
        .enumerate()
    {
        if record.len() != names.len() {
            return Err(LogError::invalid(
                path,
                format!(
                    "row {} has {} fields, the header {}",
                    i + 1,
                    record.len(),
                    names.len()
                ),
            ));
        }
        for (column, v) in columns.iter_mut().zip(record) {
            column.push(v);
        }
    }
    Ok(Table {
        path: path.to_path_buf(),
        unusable: vec![None; names.len()],
        names,
        columns,
    })
}

fn read_parquet(path: &Path) -> Result<Table, LogError> {
    let fault = || LogError::format(path, "reading the table");
    let file = std::fs::File::open(path).map_err(LogError::io(path))?;
    let reader = SerializedFileReader::new(file).map_err(fault())?;
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let mut columns = vec![Vec::new(); names.len()];
    let mut unusable = vec![None; names.len()];
    for (i, row) in reader.get_row_iter(None).map_err(fault())?.enumerate() {
        let row = row.map_err(fault())?;
        for ((column, unusable), (_, field)) in columns
            .iter_mut()
            .zip(&mut unusable)
            .zip(row.get_column_iter())
        {
            let text = match field {
                Field::Bool(b) => u8::from(*b).to_string(),
                Field::Byte(_) | Field::Short(_) | Field::Int(_) | Field::Long(_) => {
                    field.to_string()
                }
                Field::UByte(_) | Field::UShort(_) | Field::UInt(_) | Field::ULong(_) => {
                    field.to_string()
                }
                Field::Float(x) => x.to_string(),
                Field::Double(x) => x.to_string(),
                Field::Str(s) => s.clone(),
                Field::Null => String::new(),
                _ => {
                    unusable.get_or_insert_with(|| {
                        format!("holds a list, map or group at row {}, where rlrec imports numbers and text", i + 1)
                    });
                    String::new()
                }
            };
            column.push(text);
        }
    }
    Ok(Table {
        path: path.to_path_buf(),
        names,
        columns,
        unusable,
    })
}

/// What [`import`] wrote.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    /// The log's folder.
    pub path: PathBuf,
    /// Its metadata.
    pub meta: ImportMeta,
}

/// Reads `source` by `mapping` and writes it as an imported log into `out` (new, empty, or
/// a log, which is replaced); `label` names the source in the log, and `campaign` the Open
/// Bandit Dataset's campaign where it is one. Nothing is written if anything is refused.
pub fn import(
    source: &Path,
    mapping: &Mapping,
    label: &str,
    campaign: Option<String>,
    out: &Path,
) -> Result<ImportSummary, LogError> {
    let table = Table::read(source)?;
    let rows = table.rows();
    let (item_feature_names, item_features) = match &mapping.item_features {
        Some(t) => item_table(t, mapping)?,
        None => (Vec::new(), Vec::new()),
    };
    let items = match (mapping.items, item_features.len()) {
        (Some(n), 0) => n,
        (Some(n), m) if n != m => {
            return Err(LogError::invalid(
                source,
                format!("the mapping says {n} items, the item table holds {m}"),
            ))
        }
        (_, m) if m > 0 => m,
        _ => {
            let column = table.column(&mapping.item, "item")?;
            let mut top = 0;
            for (i, v) in column.iter().enumerate() {
                top = top.max(table.index(v, i, &mapping.item, mapping.first_item, MAX_ITEMS)? + 1);
            }
            top
        }
    };
    if items == 0 || items > MAX_ITEMS {
        return Err(LogError::invalid(
            source,
            format!("{items} items: an import takes 1 to {MAX_ITEMS}"),
        ));
    }
    let item_col = table.column(&mapping.item, "item")?;
    let reward_col = table.column(&mapping.reward, "reward")?;
    let prop_col = table.column(&mapping.propensity, "propensity")?;
    let position_col = mapping
        .position
        .as_ref()
        .map(|p| table.column(p, "position"))
        .transpose()?;
    let slate_size = match (mapping.slate_size, position_col) {
        (Some(k), _) => k,
        (None, None) => 1,
        (None, Some(column)) => {
            let name = mapping.position.as_deref().unwrap_or_default();
            let mut top = 0;
            for (i, v) in column.iter().enumerate() {
                top = top.max(table.index(v, i, name, mapping.first_position, MAX_SLATE)? + 1);
            }
            top
        }
    };
    if slate_size == 0 || slate_size > MAX_SLATE {
        return Err(LogError::invalid(
            source,
            format!("slate size {slate_size}: an import takes 1 to {MAX_SLATE}"),
        ));
    }
    let (context_features, context) =
        table.features(&mapping.context, &mapping.categorical, "context")?;
    let mut item = Vec::with_capacity(rows);
    let mut position = Vec::with_capacity(rows);
    let mut reward = Vec::with_capacity(rows);
    let mut propensity = Vec::with_capacity(rows);
    for i in 0..rows {
        item.push(table.index(&item_col[i], i, &mapping.item, mapping.first_item, items)? as u32);
        position.push(match (position_col, &mapping.position) {
            (Some(column), Some(name)) => {
                table.index(&column[i], i, name, mapping.first_position, slate_size)? as u32
            }
            _ => 0,
        });
        reward.push(table.number(&reward_col[i], i, &mapping.reward)?);
        let p = table.number(&prop_col[i], i, &mapping.propensity)?;
        if !(p > 0.0 && p <= 1.0) {
            return Err(table.row_error(
                i,
                format!("`{}` is {p}, not a probability in (0, 1]: importance weights need the logging policy's probability of what it showed", mapping.propensity),
            ));
        }
        propensity.push(p);
    }
    // Impressions numbered by first appearance; rows of each gathered, by position.
    let key = mapping
        .impression
        .as_ref()
        .map(|k| table.column(k, "impression"))
        .transpose()?;
    let mut impression = Vec::with_capacity(rows);
    let mut ids: HashMap<&str, u64> = HashMap::new();
    for i in 0..rows {
        impression.push(match key {
            Some(column) => {
                let next = ids.len() as u64;
                *ids.entry(column[i].as_str()).or_insert(next)
            }
            None => i as u64,
        });
    }
    let mut order: Vec<usize> = (0..rows).collect();
    order.sort_by_key(|&i| (impression[i], position[i]));
    for pair in order.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if impression[a] == impression[b] && position[a] == position[b] {
            return Err(table.row_error(
                b,
                format!(
                    "impression `{}` shows position {} twice (rows {} and {})",
                    key.map_or("", |c| c[b].as_str()),
                    position[b],
                    a + 1,
                    b + 1
                ),
            ));
        }
    }
    let impressions = impression.iter().max().map_or(0, |m| m + 1);
    let mut sizes = vec![0usize; impressions as usize];
    for &e in &impression {
        sizes[e as usize] += 1;
    }
    let partial = sizes.iter().filter(|&&s| s != slate_size).count();
    let (grouped, grouping) = match (&mapping.impression, partial) {
        (None, _) => (false, "no impression column: each row is its own step".to_string()),
        (Some(k), 0) => (true, format!("rows grouped by `{k}` into slates of {slate_size}")),
        (Some(k), n) => (
            false,
            format!("{n} of {impressions} impressions by `{k}` do not hold all {slate_size} positions: each row is its own step, in its impression"),
        ),
    };
    let dim = context_features.len();
    let steps = Steps {
        impression: order.iter().map(|&i| impression[i]).collect(),
        position: order.iter().map(|&i| position[i]).collect(),
        item: order.iter().map(|&i| item[i]).collect(),
        reward: order.iter().map(|&i| reward[i]).collect(),
        propensity: order.iter().map(|&i| propensity[i]).collect(),
        context: order
            .iter()
            .flat_map(|&i| context[i].iter().copied())
            .collect(),
        dim,
    };
    let meta = ImportMeta {
        rlrec_import: IMPORT_FORMAT,
        rlrec_version: env!("CARGO_PKG_VERSION").to_string(),
        source: label.to_string(),
        policy: mapping.policy.clone().unwrap_or_else(|| "logged".into()),
        campaign,
        rows: rows as u64,
        impressions,
        slate_size,
        items,
        grouped,
        grouping,
        context_features,
        item_feature_names,
        item_features,
        checksum: String::new(),
    };
    let meta = write(out, meta, &steps)?;
    Ok(ImportSummary {
        path: out.to_path_buf(),
        meta,
    })
}

/// The item table's feature names and, per item in order, its features.
fn item_table(t: &ItemTable, mapping: &Mapping) -> Result<(Vec<String>, Vec<Vec<f32>>), LogError> {
    let table = Table::read(&t.file)?;
    let n = table.rows();
    let ids = table.column(&t.id, "item table's id")?;
    let (names, rows) = table.features(&t.columns, &t.categorical, "item table's")?;
    let mut features = vec![None; n];
    for (i, v) in ids.iter().enumerate() {
        let at = table.index(v, i, &t.id, mapping.first_item, n)?;
        if features[at].replace(rows[i].clone()).is_some() {
            return Err(table.row_error(i, format!("item {v} appears twice in the item table")));
        }
    }
    // n rows, each of the n ids in range and none twice: every item has its row.
    Ok((names, features.into_iter().flatten().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_follow_rfc_4180() {
        let text = "a,b,c\r\n1,\"x,y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",\n";
        let records = csv_records(text).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[1], ["1", "x,y", "say \"hi\""]);
        assert_eq!(records[2], ["2", "two\nlines", ""]);
        assert!(csv_records("a\n\"open")
            .unwrap_err()
            .contains("never closes"));
    }
}
