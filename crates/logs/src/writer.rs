//! Writing rows to `steps.parquet` as they come: rows gather in flat column buffers,
//! become an Arrow record batch every [`BATCH_ROWS`] rows, and the Parquet writer flushes
//! a row group every [`ROW_GROUP_ROWS`], so memory stays constant however long the log.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, Float32Array, Float64Array, Int32Array,
    ListArray, PrimitiveArray, RecordBatch, UInt32Array, UInt64Array,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use env::Layout;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::{LogError, Row, PARQUET_META_KEY};

/// Rows per record batch handed to the Parquet writer.
pub const BATCH_ROWS: usize = 8192;
/// Rows per Parquet row group: the writer holds one row group's encoded pages in memory
/// (about 30 MB for interest evolution's 10 × 20 candidate features).
pub const ROW_GROUP_ROWS: usize = 32_768;

/// The element type of a list column.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Item {
    F32,
    F64,
    I32,
    Bool,
}

impl Item {
    pub(crate) fn data_type(self) -> DataType {
        match self {
            Item::F32 => DataType::Float32,
            Item::F64 => DataType::Float64,
            Item::I32 => DataType::Int32,
            Item::Bool => DataType::Boolean,
        }
    }
}

/// Every column in order: name, type (a list of an [`Item`], or a scalar), nullable.
pub(crate) const COLUMNS: [(&str, Column, bool); 18] = [
    ("episode", Column::Scalar(DataType::UInt64), false),
    ("step", Column::Scalar(DataType::UInt32), false),
    ("user", Column::List(Item::F32), false),
    ("candidates", Column::List(Item::F32), false),
    ("slate", Column::List(Item::I32), false),
    ("click", Column::List(Item::Bool), false),
    ("position_reward", Column::List(Item::F64), false),
    ("quality", Column::List(Item::F64), true),
    ("reward", Column::Scalar(DataType::Float64), false),
    ("terminated", Column::Scalar(DataType::Boolean), false),
    ("truncated", Column::Scalar(DataType::Boolean), false),
    ("slate_prob", Column::Scalar(DataType::Float64), false),
    ("position_probs", Column::List(Item::F64), false),
    ("prefix_probs", Column::List(Item::F64), false),
    ("policy_slate", Column::List(Item::I32), true),
    ("policy_scores", Column::List(Item::F64), true),
    ("next_user", Column::List(Item::F32), true),
    ("next_candidates", Column::List(Item::F32), true),
];

/// A column's type.
#[derive(Debug, Clone)]
pub(crate) enum Column {
    Scalar(DataType),
    List(Item),
}

fn item_field(item: Item) -> Arc<Field> {
    Arc::new(Field::new("item", item.data_type(), false))
}

/// The Arrow schema of `steps.parquet`.
pub(crate) fn schema() -> SchemaRef {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .map(|(name, column, nullable)| match column {
            Column::Scalar(t) => Field::new(*name, t.clone(), *nullable),
            Column::List(item) => Field::new(*name, DataType::List(item_field(*item)), *nullable),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The flat buffers of one list column.
struct List<T> {
    values: Vec<T>,
    offsets: Vec<i32>,
    valid: Vec<bool>,
}

impl<T: Copy> List<T> {
    fn new() -> Self {
        Self {
            values: Vec::new(),
            offsets: vec![0],
            valid: Vec::new(),
        }
    }

    /// One row: `xs`, or a null where `valid` is false.
    fn push(&mut self, xs: impl IntoIterator<Item = T>, valid: bool) -> Result<(), String> {
        self.values.extend(xs);
        let end = i32::try_from(self.values.len())
            .map_err(|_| "a record batch's list column outgrew 32-bit offsets".to_string())?;
        self.offsets.push(end);
        self.valid.push(valid);
        Ok(())
    }

    fn take(&mut self, item: Item, array: impl FnOnce(Vec<T>) -> ArrayRef) -> ArrayRef {
        let values = array(std::mem::take(&mut self.values));
        let offsets = OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(
            &mut self.offsets,
            vec![0],
        )));
        let valid = std::mem::take(&mut self.valid);
        let nulls = valid.iter().any(|v| !v).then(|| NullBuffer::from(valid));
        Arc::new(
            ListArray::try_new(item_field(item), offsets, values, nulls)
                .expect("offsets and values agree by construction"),
        )
    }
}

/// Rows gathered for the next record batch.
struct Buffers {
    episode: Vec<u64>,
    step: Vec<u32>,
    user: List<f32>,
    candidates: List<f32>,
    slate: List<i32>,
    click: List<bool>,
    position_reward: List<f64>,
    quality: List<f64>,
    reward: Vec<f64>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    slate_prob: Vec<f64>,
    position_probs: List<f64>,
    prefix_probs: List<f64>,
    policy_slate: List<i32>,
    policy_scores: List<f64>,
    next_user: List<f32>,
    next_candidates: List<f32>,
}

fn f32s(v: Vec<f32>) -> ArrayRef {
    Arc::new(Float32Array::from(v))
}
fn f64s(v: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}
fn i32s(v: Vec<i32>) -> ArrayRef {
    Arc::new(Int32Array::from(v))
}
fn bools(v: Vec<bool>) -> ArrayRef {
    Arc::new(BooleanArray::from(v))
}

impl Buffers {
    fn new() -> Self {
        Self {
            episode: Vec::new(),
            step: Vec::new(),
            user: List::new(),
            candidates: List::new(),
            slate: List::new(),
            click: List::new(),
            position_reward: List::new(),
            quality: List::new(),
            reward: Vec::new(),
            terminated: Vec::new(),
            truncated: Vec::new(),
            slate_prob: Vec::new(),
            position_probs: List::new(),
            prefix_probs: List::new(),
            policy_slate: List::new(),
            policy_scores: List::new(),
            next_user: List::new(),
            next_candidates: List::new(),
        }
    }

    fn push(&mut self, r: &Row) -> Result<(), String> {
        let positions = |s: &[usize]| s.iter().map(|&p| p as i32).collect::<Vec<_>>();
        self.episode.push(r.episode);
        self.step.push(r.step);
        self.user.push(r.user.iter().copied(), true)?;
        self.candidates.push(r.candidates.iter().copied(), true)?;
        self.slate.push(positions(&r.slate), true)?;
        self.click.push(r.click.iter().copied(), true)?;
        self.position_reward
            .push(r.position_reward.iter().copied(), true)?;
        self.quality
            .push(r.quality.iter().copied(), !r.quality.is_empty())?;
        self.reward.push(r.reward);
        self.terminated.push(r.terminated);
        self.truncated.push(r.truncated);
        self.slate_prob.push(r.slate_prob);
        self.position_probs
            .push(r.position_probs.iter().copied(), true)?;
        self.prefix_probs
            .push(r.prefix_probs.iter().copied(), true)?;
        self.policy_slate
            .push(positions(&r.policy_slate), !r.policy_slate.is_empty())?;
        self.policy_scores
            .push(r.policy_scores.iter().copied(), !r.policy_scores.is_empty())?;
        self.next_user.push(r.next_user.iter().copied(), r.done())?;
        self.next_candidates
            .push(r.next_candidates.iter().copied(), r.done())
    }

    fn batch(&mut self, schema: &SchemaRef) -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(std::mem::take(&mut self.episode))),
            Arc::new(UInt32Array::from(std::mem::take(&mut self.step))),
            self.user.take(Item::F32, f32s),
            self.candidates.take(Item::F32, f32s),
            self.slate.take(Item::I32, i32s),
            self.click.take(Item::Bool, bools),
            self.position_reward.take(Item::F64, f64s),
            self.quality.take(Item::F64, f64s),
            f64s(std::mem::take(&mut self.reward)),
            bools(std::mem::take(&mut self.terminated)),
            bools(std::mem::take(&mut self.truncated)),
            f64s(std::mem::take(&mut self.slate_prob)),
            self.position_probs.take(Item::F64, f64s),
            self.prefix_probs.take(Item::F64, f64s),
            self.policy_slate.take(Item::I32, i32s),
            self.policy_scores.take(Item::F64, f64s),
            self.next_user.take(Item::F32, f32s),
            self.next_candidates.take(Item::F32, f32s),
        ];
        RecordBatch::try_new(schema.clone(), columns).expect("columns follow the schema")
    }
}

/// The rows' checksum: one CRC-32 per column, over its values and, for a list column,
/// each row's length and whether it is null; streamed batch by batch (so it does not
/// depend on how the rows are batched), then one CRC-32 of the columns' sums.
#[derive(Clone)]
pub(crate) struct Checksum {
    columns: Vec<crc32fast::Hasher>,
}

/// The bytes of values `from..to` of a primitive array (little-endian, as Arrow holds
/// them on every platform rlrec builds for).
fn value_bytes<T: ArrowPrimitiveType>(a: &PrimitiveArray<T>, from: usize, to: usize) -> &[u8] {
    let size = std::mem::size_of::<T::Native>();
    &a.values().inner().as_slice()[from * size..to * size]
}

fn add_values(h: &mut crc32fast::Hasher, a: &dyn Array, from: usize, to: usize) {
    match a.data_type() {
        DataType::Float32 => h.update(value_bytes(a.as_primitive::<Float32Type>(), from, to)),
        DataType::Float64 => h.update(value_bytes(a.as_primitive::<Float64Type>(), from, to)),
        DataType::Int32 => h.update(value_bytes(a.as_primitive::<Int32Type>(), from, to)),
        DataType::UInt32 => h.update(value_bytes(a.as_primitive::<UInt32Type>(), from, to)),
        DataType::UInt64 => h.update(value_bytes(a.as_primitive::<UInt64Type>(), from, to)),
        DataType::Boolean => {
            let b = a.as_boolean();
            let bytes: Vec<u8> = (from..to).map(|i| u8::from(b.value(i))).collect();
            h.update(&bytes);
        }
        other => unreachable!("no column of the log holds {other}"),
    }
}

impl Checksum {
    pub(crate) fn new() -> Self {
        Self {
            columns: vec![crc32fast::Hasher::new(); COLUMNS.len()],
        }
    }

    /// Adds a batch of the log's schema.
    pub(crate) fn add(&mut self, batch: &RecordBatch) {
        for (h, column) in self.columns.iter_mut().zip(batch.columns()) {
            match column.as_list_opt::<i32>() {
                Some(list) => {
                    let o = list.value_offsets();
                    let mut shape = Vec::with_capacity(5 * list.len());
                    for i in 0..list.len() {
                        shape.extend_from_slice(&((o[i + 1] - o[i]) as u32).to_le_bytes());
                        shape.push(u8::from(list.is_valid(i)));
                    }
                    h.update(&shape);
                    let (from, to) = (o[0] as usize, o[list.len()] as usize);
                    add_values(h, list.values().as_ref(), from, to);
                }
                None => add_values(h, column.as_ref(), 0, column.len()),
            }
        }
    }

    /// The checksum as the metadata records it.
    pub(crate) fn hex(&self) -> String {
        let mut all = crc32fast::Hasher::new();
        for h in &self.columns {
            all.update(&h.clone().finalize().to_le_bytes());
        }
        format!("{:08x}", all.finalize())
    }
}

/// Writes rows into one Parquet file, as they come.
pub struct LogWriter {
    path: PathBuf,
    layout: Layout,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    buffers: Buffers,
    pending: usize,
    rows: u64,
    checksum: Checksum,
}

impl LogWriter {
    /// A new file at `path` for rows of `layout`.
    pub fn create(path: &Path, layout: &Layout) -> Result<Self, LogError> {
        let schema = schema();
        let file = File::create(path).map_err(LogError::io(path))?;
        // Snappy, as pyarrow writes by default; no dictionaries (the features are mostly
        // distinct floats, where dictionaries cost time and save nothing); min/max
        // statistics per column chunk only.
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("rlrec {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(LogError::format(path, "writing the steps"))?;
        Ok(Self {
            path: path.to_path_buf(),
            layout: *layout,
            schema,
            writer,
            buffers: Buffers::new(),
            pending: 0,
            rows: 0,
            checksum: Checksum::new(),
        })
    }

    /// Adds a row, which must fit the layout.
    pub fn push(&mut self, row: &Row) -> Result<(), LogError> {
        let Layout {
            num_candidates: n,
            slate_size: k,
            doc_dim: d,
            user_dim: u,
        } = self.layout;
        let fits = row.user.len() == u
            && row.candidates.len() == n * d
            && [
                row.slate.len(),
                row.click.len(),
                row.position_reward.len(),
                row.position_probs.len(),
                row.prefix_probs.len(),
            ]
            .iter()
            .all(|&len| len == k)
            && [row.quality.len(), row.policy_slate.len()]
                .iter()
                .all(|&len| len == 0 || len == k)
            && (row.policy_scores.is_empty() || row.policy_scores.len() == n)
            && (!row.done() || (row.next_user.len() == u && row.next_candidates.len() == n * d));
        if !fits {
            return Err(LogError::invalid(
                &self.path,
                format!("a row does not fit the layout {:?}", self.layout),
            ));
        }
        self.buffers
            .push(row)
            .map_err(|why| LogError::invalid(&self.path, why))?;
        self.pending += 1;
        self.rows += 1;
        if self.pending == BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), LogError> {
        if self.pending == 0 {
            return Ok(());
        }
        let batch = self.buffers.batch(&self.schema);
        self.checksum.add(&batch);
        self.pending = 0;
        self.writer
            .write(&batch)
            .map_err(LogError::format(&self.path, "writing the steps"))
    }

    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes what is left and returns the rows' checksum, which the metadata records.
    pub fn flush(&mut self) -> Result<String, LogError> {
        self.flush_batch()?;
        Ok(self.checksum.hex())
    }

    /// Writes what is left and the metadata `meta` (JSON) into the file's key-value
    /// metadata, closes the file and syncs it; returns its size in bytes.
    pub fn finish(mut self, meta: &str) -> Result<u64, LogError> {
        self.flush_batch()?;
        self.writer
            .append_key_value_metadata(KeyValue::new(PARQUET_META_KEY.into(), meta.to_string()));
        let path = self.path.clone();
        self.writer
            .finish()
            .map_err(LogError::format(&path, "writing the steps"))?;
        let file = self.writer.inner_mut();
        file.sync_all().map_err(LogError::io(&path))?;
        Ok(file.metadata().map_err(LogError::io(&path))?.len())
    }
}
