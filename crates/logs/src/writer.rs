//! Writing rows to `steps.parquet` as they come: rows gather column by column, and every
//! [`ROW_GROUP_ROWS`] rows are written as a row group through parquet's column writers,
//! so memory stays constant however long the log.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use env::Layout;
use parquet::basic::Compression;
use parquet::column::writer::{ColumnWriter, ColumnWriterImpl};
use parquet::data_type::DataType;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, DEFAULT_WRITE_BATCH_SIZE};
use parquet::file::writer::SerializedFileWriter;

use super::columns::{
    schema, Block, Checksum, Col, Lists, Scratch, BATCH_ROWS, COLUMNS, ROW_GROUP_ROWS,
};
use super::{LogError, Row, PARQUET_META_KEY};

/// Levels handed to a column writer at once, at most (about).
const MAX_LEVELS: usize = 1 << 16;

/// Writes rows into one Parquet file, as they come.
pub struct LogWriter {
    path: PathBuf,
    layout: Layout,
    writer: SerializedFileWriter<File>,
    /// The rows of the next row group.
    block: Block,
    rows: u64,
    checksum: Checksum,
}

impl LogWriter {
    /// A new file at `path` for rows of `layout`.
    pub fn create(path: &Path, layout: &Layout) -> Result<Self, LogError> {
        let file = File::create(path).map_err(LogError::io(path))?;
        // Snappy, as pyarrow writes by default; no dictionaries (the features are mostly
        // distinct floats, where dictionaries cost time and save nothing); min/max
        // statistics per column chunk only.
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_created_by(format!("rlrec {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = SerializedFileWriter::new(file, schema(), Arc::new(props))
            .map_err(LogError::format(path, "writing the steps"))?;
        Ok(Self {
            path: path.to_path_buf(),
            layout: *layout,
            writer,
            block: Block::new(),
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
            ..
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
            // The next observation on an episode's last row only: elsewhere the file
            // holds a null, which no value can follow into the checksum.
            && if row.done() {
                row.next_user.len() == u && row.next_candidates.len() == n * d
            } else {
                row.next_user.is_empty() && row.next_candidates.is_empty()
            };
        if !fits {
            return Err(LogError::invalid(
                &self.path,
                format!("a row does not fit the layout {:?}", self.layout),
            ));
        }
        self.block.push(row);
        self.rows += 1;
        if self.block.len() == ROW_GROUP_ROWS {
            self.write_row_group()?;
        }
        Ok(())
    }

    /// Writes the rows gathered as one row group: column by column, each in runs of
    /// [`BATCH_ROWS`] rows, as the checksum takes them.
    fn write_row_group(&mut self) -> Result<(), LogError> {
        let len = self.block.len();
        if len == 0 {
            return Ok(());
        }
        let runs: Vec<(usize, usize)> = (0..len)
            .step_by(BATCH_ROWS)
            .map(|from| (from, len.min(from + BATCH_ROWS)))
            .collect();
        for &(from, to) in &runs {
            self.checksum.add(&self.block, from, to);
        }
        let write = |writer: &mut SerializedFileWriter<File>, block: &Block| {
            let mut group = writer.next_row_group()?;
            let mut scratch = Scratch::default();
            for (column, (_, _, nullable)) in block.columns().into_iter().zip(&COLUMNS) {
                let mut out = group
                    .next_column()?
                    .ok_or_else(|| ParquetError::General("fewer columns than the log's".into()))?;
                for &(from, to) in &runs {
                    scratch.write(out.untyped(), &column, *nullable, from, to)?;
                }
                out.close()?;
            }
            group.close().map(drop)
        };
        write(&mut self.writer, &self.block)
            .map_err(LogError::format(&self.path, "writing the steps"))?;
        self.block.clear();
        Ok(())
    }

    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the rows left, once all are pushed, as a last row group, and returns the
    /// rows' checksum, which the metadata records.
    pub fn flush(&mut self) -> Result<String, LogError> {
        self.write_row_group()?;
        Ok(self.checksum.hex())
    }

    /// Writes what is left and the metadata `meta` (JSON) into the file's key-value
    /// metadata, closes the file and syncs it; returns its size in bytes.
    pub fn finish(mut self, meta: &str) -> Result<u64, LogError> {
        self.write_row_group()?;
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

impl Scratch {
    /// Writes rows `from..to` of `column` (nullable or not) to `out`.
    pub(crate) fn write(
        &mut self,
        out: &mut ColumnWriter<'_>,
        column: &Col<'_>,
        nullable: bool,
        from: usize,
        to: usize,
    ) -> Result<(), ParquetError> {
        match (column, out) {
            (Col::U64(v), ColumnWriter::Int64ColumnWriter(w)) => {
                // Reinterpreted, as Arrow and Parquet's C++ writer store uint64.
                self.i64s.clear();
                self.i64s.extend(v[from..to].iter().map(|&x| x as i64));
                w.write_batch(&self.i64s, None, None).map(drop)
            }
            (Col::U32(v), ColumnWriter::Int32ColumnWriter(w)) => {
                self.i32s.clear();
                self.i32s.extend(v[from..to].iter().map(|&x| x as i32));
                w.write_batch(&self.i32s, None, None).map(drop)
            }
            (Col::F64(v), ColumnWriter::DoubleColumnWriter(w)) => {
                w.write_batch(&v[from..to], None, None).map(drop)
            }
            (Col::Bool(v), ColumnWriter::BoolColumnWriter(w)) => {
                w.write_batch(&v[from..to], None, None).map(drop)
            }
            (Col::F32s(l), ColumnWriter::FloatColumnWriter(w)) => {
                self.write_list(w, l, nullable, from, to)
            }
            (Col::F64s(l), ColumnWriter::DoubleColumnWriter(w)) => {
                self.write_list(w, l, nullable, from, to)
            }
            (Col::I32s(l), ColumnWriter::Int32ColumnWriter(w)) => {
                self.write_list(w, l, nullable, from, to)
            }
            (Col::Bools(l), ColumnWriter::BoolColumnWriter(w)) => {
                self.write_list(w, l, nullable, from, to)
            }
            _ => Err(ParquetError::General(
                "a column's writer is not of the column's type".into(),
            )),
        }
    }

    /// A list column: a row's first value has repetition level 0, the others 1; a value's
    /// definition level is the highest, an empty row's one less, a null row's 0.
    fn write_list<T: DataType>(
        &mut self,
        w: &mut ColumnWriterImpl<'_, T>,
        l: &Lists<T::T>,
        nullable: bool,
        from: usize,
        to: usize,
    ) -> Result<(), ParquetError> {
        let empty = i16::from(nullable);
        let (mut first, mut since) = (from, 0);
        self.def.clear();
        self.rep.clear();
        for i in from..to {
            let len = l.offsets[i + 1] - l.offsets[i];
            if !l.valid[i] {
                self.def.push(0);
                self.rep.push(0);
            } else if len == 0 {
                self.def.push(empty);
                self.rep.push(0);
            } else {
                self.def.extend(std::iter::repeat_n(empty + 1, len));
                self.rep.push(0);
                self.rep.extend(std::iter::repeat_n(1, len - 1));
            }
            // The writer cuts the levels it is given into mini-batches of at least
            // DEFAULT_WRITE_BATCH_SIZE, ending at a row's end, and checks the page size
            // between them. Splitting long runs (SARDINE's rows hold 10,000 features) only
            // at such a cut bounds the levels held and writes the pages one call would.
            since += len.max(1);
            if since >= DEFAULT_WRITE_BATCH_SIZE {
                since = 0;
                if self.def.len() >= MAX_LEVELS {
                    let values = &l.values[l.offsets[first]..l.offsets[i + 1]];
                    w.write_batch(values, Some(&self.def), Some(&self.rep))?;
                    self.def.clear();
                    self.rep.clear();
                    first = i + 1;
                }
            }
        }
        if first < to {
            let values = &l.values[l.offsets[first]..l.offsets[to]];
            w.write_batch(values, Some(&self.def), Some(&self.rep))?;
        }
        Ok(())
    }
}
