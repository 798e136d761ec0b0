//! Reading a log back: its metadata and schema checked when it is opened, every row
//! checked as it is read (lengths, positions, probabilities, the order of episodes and
//! steps), and the rows' checksum at the end.

use std::fs::File;
use std::path::{Path, PathBuf};

use env::Layout;

use parquet::basic::Encoding;
use parquet::basic::Repetition;
use parquet::column::page::{Page, PageMetadata, PageReader};
use parquet::column::reader::{get_column_reader, ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::errors::ParquetError;
use parquet::file::reader::{FileReader, RowGroupReader, SerializedFileReader};
use parquet::schema::types::SchemaDescriptor;

use super::columns::{
    describe, repetition, Block, Checksum, ColMut, Lists, Scratch, BATCH_ROWS, COLUMNS,
};
use super::{
    adds_up, LogError, LogMeta, Row, LOG_FORMAT, MAX_REWARD, META_FILE, PARQUET_META_KEY,
    STEPS_FILE,
};
use recsim_core::Number;

/// An opened log: its metadata, checked against its Parquet file.
#[derive(Debug, Clone)]
pub struct LogReader {
    path: PathBuf,
    meta: LogMeta,
}

impl LogReader {
    /// Opens the log folder `path`: its metadata must be readable and of a format this
    /// build reads, its environment registered and of the recorded layout, and its steps
    /// file must have every column, hold as many rows as the metadata says (at least one),
    /// and carry the same metadata.
    pub fn open(path: &Path) -> Result<Self, LogError> {
        if path.is_file() {
            return Err(LogError::NotAFolder(path.to_path_buf()));
        }
        let meta_file = path.join(META_FILE);
        if !meta_file.is_file() {
            return Err(LogError::NotALog(path.to_path_buf()));
        }
        let text = std::fs::read_to_string(&meta_file).map_err(LogError::io(&meta_file))?;
        if crate::imported::marks_import(&text) {
            return Err(LogError::invalid(
                path,
                "an imported log (`rlrec import`), with no environment behind it: `rlrec ope \
                 --target` evaluates it; training and `rlrec ope --policy` need a log of `rlrec log`",
            ));
        }
        let version = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("rlrec_log").and_then(serde_json::Value::as_u64));
        match version {
            Some(v) if v > u64::from(LOG_FORMAT) => {
                return Err(LogError::invalid(
                    &meta_file,
                    format!(
                    "log format {v} is newer than this rlrec reads ({LOG_FORMAT}); upgrade rlrec"
                ),
                ))
            }
            _ => {}
        }
        let mut meta: LogMeta = serde_json::from_str(&text)
            .map_err(LogError::format(&meta_file, "not rlrec log metadata"))?;
        let invalid = |why: String| LogError::invalid(path, why);
        let layout = meta
            .scenario
            .build()
            .map_err(LogError::format(path, "the logged environment"))?
            .layout();
        // A log written before layouts named the time feature has none in its metadata;
        // its environment says where it is.
        let named = Layout {
            time: meta.layout.time.or(layout.time),
            ..meta.layout
        };
        if layout != named {
            return Err(invalid(format!(
                "the metadata's layout {:?} is not its environment's {layout:?}",
                meta.layout
            )));
        }
        if meta.steps == 0 || meta.episodes == 0 {
            return Err(invalid("the log holds no steps".into()));
        }
        let steps = path.join(STEPS_FILE);
        let file = open(&steps)?;
        leaves(file.metadata().file_metadata().schema_descr(), &steps)?;
        let file_meta = file.metadata().file_metadata();
        let embedded = file_meta
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|e| e.key == PARQUET_META_KEY))
            .and_then(|e| e.value.as_deref())
            .and_then(|v| serde_json::from_str::<LogMeta>(v).ok());
        if embedded.as_ref() != Some(&meta) {
            return Err(invalid(format!(
                "{STEPS_FILE} and {META_FILE} are not from the same log (the metadata stored in \
                 the steps differs): the log was interrupted while being replaced, or its files \
                 were mixed; write it again"
            )));
        }
        meta.layout = named;
        if file_meta.num_rows() as u64 != meta.steps {
            return Err(invalid(format!(
                "{STEPS_FILE} holds {} rows, the metadata says {}",
                file_meta.num_rows(),
                meta.steps
            )));
        }
        Ok(Self {
            path: path.to_path_buf(),
            meta,
        })
    }

    /// The log folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its metadata.
    pub fn meta(&self) -> &LogMeta {
        &self.meta
    }

    /// The rows from the first, each checked.
    pub fn rows(&self) -> Result<Rows, LogError> {
        let steps = self.path.join(STEPS_FILE);
        let file = open(&steps)?;
        let leaves = leaves(file.metadata().file_metadata().schema_descr(), &steps)?;
        Ok(Rows {
            path: steps,
            meta: self.meta.clone(),
            file,
            leaves,
            next_group: 0,
            readers: Vec::new(),
            group_left: 0,
            scratch: Scratch::default(),
            block: Block::new(),
            at: 0,
            index: 0,
            row: Row::default(),
            episodes: 0,
            checksum: Checksum::new(),
        })
    }
}

fn open(steps: &Path) -> Result<SerializedFileReader<File>, LogError> {
    let file = File::open(steps).map_err(LogError::io(steps))?;
    SerializedFileReader::new(file).map_err(LogError::format(steps, "not a readable Parquet file"))
}

/// Where one of the log's columns is in a file, and what its definition levels mean.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    /// The leaf column's index.
    index: usize,
    /// A list column's definition level of a row that is not null: 1 where the column
    /// is optional, else 0 (a scalar column's is unused).
    list_def: i16,
    /// The definition level of a value that is not null.
    max_def: i16,
}

/// The log's columns in a file's schema, in the order of [`COLUMNS`], each of the log's
/// type (however nullable: nulls are refused where the log has none as the rows are
/// read); other columns are ignored.
fn leaves(schema: &SchemaDescriptor, steps: &Path) -> Result<Vec<Leaf>, LogError> {
    let fields = schema.root_schema().get_fields();
    let mut first_leaf = vec![None; fields.len()];
    for leaf in (0..schema.num_columns()).rev() {
        first_leaf[schema.get_column_root_idx(leaf)] = Some(leaf);
    }
    let mut missing = Vec::new();
    let mut leaves = Vec::new();
    for (name, kind, _) in &COLUMNS {
        let Some(at) = fields.iter().position(|f| f.name() == *name) else {
            missing.push(*name);
            continue;
        };
        let found = describe(&fields[at]);
        let index = first_leaf[at].filter(|_| found == kind.name());
        let Some(index) = index else {
            return Err(LogError::invalid(
                steps,
                format!(
                    "column `{name}` is {found}, not the log's type ({})",
                    kind.name()
                ),
            ));
        };
        leaves.push(Leaf {
            index,
            list_def: i16::from(repetition(&fields[at]) == Some(Repetition::OPTIONAL)),
            max_def: schema.column(index).max_def_level(),
        });
    }
    if !missing.is_empty() {
        return Err(LogError::invalid(
            steps,
            format!("missing columns: {}", missing.join(", ")),
        ));
    }
    Ok(leaves)
}

/// The rows of a log, read batch by batch into one reused [`Row`].
// A batch is the next `BATCH_ROWS` rows (fewer at the end), wherever row groups end, so
// that the checksum takes the runs the writer took.
pub struct Rows {
    path: PathBuf,
    meta: LogMeta,
    file: SerializedFileReader<File>,
    leaves: Vec<Leaf>,
    /// The row group to open next.
    next_group: usize,
    /// The open row group's column readers, and its rows not yet read.
    readers: Vec<ColumnReader>,
    group_left: usize,
    scratch: Scratch,
    block: Block,
    /// The batch's next row.
    at: usize,
    index: u64,
    row: Row,
    episodes: u64,
    checksum: Checksum,
}

/// The reader of column `index` of a row group, which checks what parquet's reader would
/// otherwise panic on in a damaged file: the chunk's place in the file, and that its data
/// pages refer to a dictionary only after one.
fn column_reader(group: &dyn RowGroupReader, index: usize) -> Result<ColumnReader, ParquetError> {
    let chunk = group
        .metadata()
        .columns()
        .get(index)
        .ok_or_else(|| ParquetError::General("a row group lacks a column".into()))?;
    let start = chunk
        .dictionary_page_offset()
        .unwrap_or(chunk.data_page_offset());
    if start < 0 || chunk.compressed_size() < 0 {
        return Err(ParquetError::General(
            "a column chunk's offset or size is negative".into(),
        ));
    }
    let pages = Pages {
        inner: group.get_column_page_reader(index)?,
        dictionary: false,
    };
    Ok(get_column_reader(chunk.column_descr_ptr(), Box::new(pages)))
}

/// A column chunk's pages, refused from a data page that refers to a dictionary where no
/// dictionary page came before it.
struct Pages {
    inner: Box<dyn PageReader>,
    dictionary: bool,
}

impl Iterator for Pages {
    type Item = Result<Page, ParquetError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.get_next_page().transpose()
    }
}

impl PageReader for Pages {
    fn get_next_page(&mut self) -> Result<Option<Page>, ParquetError> {
        let page = self.inner.get_next_page()?;
        match &page {
            Some(Page::DictionaryPage { .. }) => self.dictionary = true,
            Some(page)
                if !self.dictionary
                    && matches!(
                        page.encoding(),
                        Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY
                    ) =>
            {
                return Err(ParquetError::General(
                    "a data page refers to a dictionary its column lacks".into(),
                ))
            }
            _ => {}
        }
        Ok(page)
    }

    fn peek_next_page(&mut self) -> Result<Option<PageMetadata>, ParquetError> {
        self.inner.peek_next_page()
    }

    fn skip_next_page(&mut self) -> Result<(), ParquetError> {
        self.inner.skip_next_page()
    }

    fn at_record_boundary(&mut self) -> Result<bool, ParquetError> {
        self.inner.at_record_boundary()
    }
}

/// A column chunk that ends before its row group does.
fn short() -> ParquetError {
    ParquetError::General("a column holds fewer rows than its row group".into())
}

impl Scratch {
    /// Reads the next `n` rows of a column: its values appended to `values`, its levels
    /// into `self.def` and `self.rep`.
    fn read_rows<T: DataType>(
        &mut self,
        r: &mut ColumnReaderImpl<T>,
        n: usize,
        values: &mut Vec<T::T>,
    ) -> Result<(), ParquetError> {
        self.def.clear();
        self.rep.clear();
        let mut read = 0;
        while read < n {
            let (rows, _, _) =
                r.read_records(n - read, Some(&mut self.def), Some(&mut self.rep), values)?;
            if rows == 0 {
                return Err(short());
            }
            read += rows;
        }
        Ok(())
    }

    /// Reads `n` rows of a scalar column; whether none is null.
    fn read_scalars<T: DataType>(
        &mut self,
        r: &mut ColumnReaderImpl<T>,
        n: usize,
        values: &mut Vec<T::T>,
    ) -> Result<bool, ParquetError> {
        let before = values.len();
        self.read_rows(r, n, values)?;
        Ok(values.len() - before == n)
    }

    /// Reads `n` rows of a list column; whether no value is null, nor a row where the
    /// log has no nulls. A row starts at repetition level 0; its definition levels say
    /// whether it is null (below `leaf.list_def`), empty (at it) or holds a value (at
    /// `leaf.max_def`; between the two, a null value).
    fn read_list<T: DataType>(
        &mut self,
        r: &mut ColumnReaderImpl<T>,
        n: usize,
        l: &mut Lists<T::T>,
        leaf: Leaf,
        nullable: bool,
    ) -> Result<bool, ParquetError> {
        let (rows, start) = (l.valid.len(), l.values.len());
        self.read_rows(r, n, &mut l.values)?;
        let (mut end, mut complete) = (start, true);
        for (i, (&def, &rep)) in self.def.iter().zip(&self.rep).enumerate() {
            if rep == 0 || i == 0 {
                if i > 0 {
                    l.offsets.push(end);
                }
                l.valid.push(def >= leaf.list_def);
                complete &= nullable || def >= leaf.list_def;
            }
            if def == leaf.max_def {
                end += 1;
            } else if def > leaf.list_def {
                complete = false;
            }
        }
        l.offsets.push(end);
        if l.valid.len() != rows + n || end != l.values.len() {
            return Err(ParquetError::General(
                "a list column's levels do not match its rows".into(),
            ));
        }
        Ok(complete)
    }

    /// Reads `n` rows of the log's column `column` from `reader`; whether none holds a
    /// null where the log has none.
    fn read_column(
        &mut self,
        reader: &mut ColumnReader,
        column: ColMut<'_>,
        leaf: Leaf,
        nullable: bool,
        n: usize,
    ) -> Result<bool, ParquetError> {
        match (column, reader) {
            (ColMut::U64(v), ColumnReader::Int64ColumnReader(r)) => {
                let mut i64s = std::mem::take(&mut self.i64s);
                i64s.clear();
                let complete = self.read_scalars(r, n, &mut i64s)?;
                v.extend(i64s.iter().map(|&x| x as u64));
                self.i64s = i64s;
                Ok(complete)
            }
            (ColMut::U32(v), ColumnReader::Int32ColumnReader(r)) => {
                let mut i32s = std::mem::take(&mut self.i32s);
                i32s.clear();
                let complete = self.read_scalars(r, n, &mut i32s)?;
                v.extend(i32s.iter().map(|&x| x as u32));
                self.i32s = i32s;
                Ok(complete)
            }
            (ColMut::F64(v), ColumnReader::DoubleColumnReader(r)) => self.read_scalars(r, n, v),
            (ColMut::Bool(v), ColumnReader::BoolColumnReader(r)) => self.read_scalars(r, n, v),
            (ColMut::F32s(l), ColumnReader::FloatColumnReader(r)) => {
                self.read_list(r, n, l, leaf, nullable)
            }
            (ColMut::F64s(l), ColumnReader::DoubleColumnReader(r)) => {
                self.read_list(r, n, l, leaf, nullable)
            }
            (ColMut::I32s(l), ColumnReader::Int32ColumnReader(r)) => {
                self.read_list(r, n, l, leaf, nullable)
            }
            (ColMut::Bools(l), ColumnReader::BoolColumnReader(r)) => {
                self.read_list(r, n, l, leaf, nullable)
            }
            _ => Err(ParquetError::General(
                "a column's reader is not of the log's type".into(),
            )),
        }
    }
}

/// Positions, or `false` for a negative one.
fn positions(xs: &[i32], out: &mut Vec<usize>) -> bool {
    out.clear();
    for &p in xs {
        match usize::try_from(p) {
            Ok(p) => out.push(p),
            Err(_) => return false,
        }
    }
    true
}

impl Rows {
    /// The next row, checked; `None` after the last, once the checksum matched.
    pub fn next_row(&mut self) -> Result<Option<&Row>, LogError> {
        if self.at == self.block.len() {
            self.at = 0;
            // A batch that fails to load is dropped whole, so that no row of it is read.
            if let Err(e) = self.load() {
                self.block.clear();
                return Err(e);
            }
            if self.block.len() == 0 {
                return self.finish().map(|()| None);
            }
        }
        let i = self.at;
        self.at += 1;
        self.read(i)?;
        Ok(Some(&self.row))
    }

    /// Reads the next batch into `self.block`, checks that it holds no null where the
    /// log has none, and adds it to the checksum.
    fn load(&mut self) -> Result<(), LogError> {
        self.block.clear();
        let mut complete = true;
        let reading = LogError::format(&self.path, "reading the steps");
        let loaded = (|| -> Result<(), ParquetError> {
            while self.block.len() < BATCH_ROWS {
                if self.group_left == 0 {
                    if self.next_group == self.file.num_row_groups() {
                        break;
                    }
                    let group = self.file.get_row_group(self.next_group)?;
                    self.next_group += 1;
                    self.group_left = usize::try_from(group.metadata().num_rows()).unwrap_or(0);
                    self.readers = self
                        .leaves
                        .iter()
                        .map(|leaf| column_reader(group.as_ref(), leaf.index))
                        .collect::<Result<_, _>>()?;
                    continue;
                }
                let n = self.group_left.min(BATCH_ROWS - self.block.len());
                let columns = self.block.columns_mut();
                for (((column, reader), leaf), (_, _, nullable)) in columns
                    .into_iter()
                    .zip(&mut self.readers)
                    .zip(&self.leaves)
                    .zip(&COLUMNS)
                {
                    complete &= self
                        .scratch
                        .read_column(reader, column, *leaf, *nullable, n)?;
                }
                self.group_left -= n;
            }
            Ok(())
        })();
        loaded.map_err(reading)?;
        if !complete {
            return Err(LogError::invalid(
                &self.path,
                format!(
                    "rows {}..{}: a required value is missing",
                    self.index,
                    self.index + self.block.len() as u64
                ),
            ));
        }
        self.checksum.add(&self.block, 0, self.block.len());
        Ok(())
    }

    fn finish(&mut self) -> Result<(), LogError> {
        if self.index > 0 && !self.row.done() {
            return Err(self.bad("the last episode does not end"));
        }
        if self.episodes != self.meta.episodes {
            return Err(LogError::invalid(
                &self.path,
                format!(
                    "the rows hold {} episodes, the metadata says {}",
                    self.episodes, self.meta.episodes
                ),
            ));
        }
        if self.checksum.hex() != self.meta.checksum {
            return Err(LogError::invalid(
                &self.path,
                "the rows do not match the checksum the metadata records: the file was changed \
                 or damaged",
            ));
        }
        Ok(())
    }

    fn bad(&self, why: &str) -> LogError {
        LogError::invalid(
            &self.path,
            format!(
                "row {} (episode {}, step {}): {why}",
                self.index, self.row.episode, self.row.step
            ),
        )
    }

    /// Reads row `i` of the current batch into `self.row` and checks it.
    fn read(&mut self, i: usize) -> Result<(), LogError> {
        let c = &self.block;
        let first = self.index == 0;
        let (prev_episode, prev_step, prev_done) =
            (self.row.episode, self.row.step, self.row.done());
        let r = &mut self.row;
        r.episode = c.episode[i];
        r.step = c.step[i];
        c.user.read(i, &mut r.user);
        c.candidates.read(i, &mut r.candidates);
        let slate_ok = positions(c.slate.get(i).unwrap_or_default(), &mut r.slate);
        c.click.read(i, &mut r.click);
        c.position_reward.read(i, &mut r.position_reward);
        c.quality.read(i, &mut r.quality);
        r.reward = c.reward[i];
        r.terminated = c.terminated[i];
        r.truncated = c.truncated[i];
        r.slate_prob = c.slate_prob[i];
        c.position_probs.read(i, &mut r.position_probs);
        c.prefix_probs.read(i, &mut r.prefix_probs);
        let base_ok = positions(
            c.policy_slate.get(i).unwrap_or_default(),
            &mut r.policy_slate,
        );
        c.policy_scores.read(i, &mut r.policy_scores);
        let has_next = c.next_user.read(i, &mut r.next_user);
        let has_next_items = c.next_candidates.read(i, &mut r.next_candidates);
        self.index += 1;
        let r = &self.row;
        let l = self.meta.layout;
        let (n, k) = (l.num_candidates, l.slate_size);
        if !slate_ok || !base_ok {
            return Err(self.bad("a slate position is negative"));
        }
        if r.user.len() != l.user_dim || r.candidates.len() != n * l.doc_dim {
            return Err(self.bad(&format!(
                "{} user and {} candidate features, not {} and {}",
                r.user.len(),
                r.candidates.len(),
                l.user_dim,
                n * l.doc_dim
            )));
        }
        let per_position = [
            r.slate.len(),
            r.click.len(),
            r.position_reward.len(),
            r.position_probs.len(),
            r.prefix_probs.len(),
        ];
        if per_position.iter().any(|&len| len != k)
            || ![0, k].contains(&r.quality.len())
            || ![0, k].contains(&r.policy_slate.len())
            || ![0, n].contains(&r.policy_scores.len())
        {
            return Err(self.bad(&format!(
                "a per-position column is not of the slate size {k}"
            )));
        }
        if r.slate.iter().chain(&r.policy_slate).any(|&p| p >= n) {
            return Err(self.bad(&format!("a slate position is not below {n}")));
        }
        let probability = |p: f64| p.is_finite() && p > 0.0 && p <= 1.0 + 1e-12;
        if !probability(r.slate_prob)
            || !r
                .position_probs
                .iter()
                .chain(&r.prefix_probs)
                .all(|&p| probability(p))
            || (r.prefix_probs[k - 1] - r.slate_prob).abs() > 1e-12 * r.slate_prob.max(1e-300)
        {
            return Err(self.bad(
                "the logging probabilities are not in (0, 1], or the last prefix's is not the slate's",
            ));
        }
        // No finite feature or score is too large for a simulator or a learner, but one
        // that is not finite turns every estimate into NaN, blamed on something else.
        if !r
            .user
            .iter()
            .chain(&r.candidates)
            .chain(&r.next_user)
            .chain(&r.next_candidates)
            .all(|x| x.is_finite())
            || !r
                .quality
                .iter()
                .chain(&r.policy_scores)
                .all(|x| x.is_finite())
        {
            return Err(self.bad("a feature or score is not finite"));
        }
        if let Some(x) = std::iter::once(&r.reward)
            .chain(&r.position_reward)
            .find(|x| x.is_nan() || x.abs() > MAX_REWARD)
        {
            return Err(self.bad(&format!(
                "a reward of {} is not a number within ±{MAX_REWARD:e}",
                Number(*x)
            )));
        }
        if self.meta.additive_reward && !adds_up(&r.position_reward, r.reward) {
            return Err(self.bad(&format!(
                "the positions' rewards do not add up to the step's reward {}, though the log \
                 says they do",
                Number(r.reward)
            )));
        }
        let expected = if first || prev_done {
            (if first { 0 } else { prev_episode + 1 }, 0)
        } else {
            (prev_episode, prev_step + 1)
        };
        if (r.episode, r.step) != expected {
            return Err(self.bad(&format!(
                "expected episode {} step {}: rows must come episode by episode, step by step",
                expected.0, expected.1
            )));
        }
        if r.step == 0 {
            self.episodes += 1;
        }
        if r.done() != (has_next && has_next_items)
            || (r.done()
                && (r.next_user.len() != l.user_dim || r.next_candidates.len() != n * l.doc_dim))
        {
            return Err(self.bad(
                "next_user and next_candidates must hold the observation after exactly the \
                 episode's last step",
            ));
        }
        Ok(())
    }
}
