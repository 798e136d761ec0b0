//! Reading a log back: its metadata and schema checked when it is opened, every row
//! checked as it is read (lengths, positions, probabilities, the order of episodes and
//! steps), and the rows' checksum at the end.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrowPrimitiveType, BooleanArray, RecordBatch};
use arrow_buffer::{ArrowNativeType, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::writer::{Checksum, Column, BATCH_ROWS, COLUMNS};
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
        let meta: LogMeta = serde_json::from_str(&text)
            .map_err(LogError::format(&meta_file, "not rlrec log metadata"))?;
        let invalid = |why: String| LogError::invalid(path, why);
        let layout = meta
            .scenario
            .build()
            .map_err(LogError::format(path, "the logged environment"))?
            .layout();
        if layout != meta.layout {
            return Err(invalid(format!(
                "the metadata's layout {:?} is not its environment's {layout:?}",
                meta.layout
            )));
        }
        if meta.steps == 0 || meta.episodes == 0 {
            return Err(invalid("the log holds no steps".into()));
        }
        let steps = path.join(STEPS_FILE);
        let builder = builder(&steps)?;
        let schema = builder.schema();
        let mut missing = Vec::new();
        for (name, column, _) in &COLUMNS {
            match schema.field_with_name(name) {
                Err(_) => missing.push(*name),
                Ok(field) => {
                    let ok = match (column, field.data_type()) {
                        (Column::Scalar(t), found) => t == found,
                        (Column::List(item), DataType::List(found)) => {
                            found.data_type() == &item.data_type()
                        }
                        _ => false,
                    };
                    if !ok {
                        return Err(LogError::invalid(
                            &steps,
                            format!(
                                "column `{name}` is {}, not the log's type",
                                field.data_type()
                            ),
                        ));
                    }
                }
            }
        }
        if !missing.is_empty() {
            return Err(LogError::invalid(
                &steps,
                format!("missing columns: {}", missing.join(", ")),
            ));
        }
        let file_meta = builder.metadata().file_metadata();
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
        let reader = builder(&steps)?
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(LogError::format(&steps, "reading the steps"))?;
        Ok(Rows {
            path: steps,
            meta: self.meta.clone(),
            reader,
            batch: None,
            at: 0,
            index: 0,
            row: Row::default(),
            episodes: 0,
            checksum: Checksum::new(),
        })
    }
}

fn builder(steps: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, LogError> {
    let file = File::open(steps).map_err(LogError::io(steps))?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(LogError::format(steps, "not a readable Parquet file"))
}

/// The rows of a log, read batch by batch into one reused [`Row`].
pub struct Rows {
    path: PathBuf,
    meta: LogMeta,
    reader: ParquetRecordBatchReader,
    batch: Option<Cols>,
    at: usize,
    index: u64,
    row: Row,
    episodes: u64,
    checksum: Checksum,
}

/// A list column's offsets, values and nulls.
struct Lists<T: ArrowNativeType> {
    offsets: OffsetBuffer<i32>,
    values: ScalarBuffer<T>,
    nulls: Option<NullBuffer>,
}

impl<T: ArrowNativeType> Lists<T> {
    fn of<P: ArrowPrimitiveType<Native = T>>(batch: &RecordBatch, name: &str) -> Self {
        let list = column(batch, name).as_list::<i32>();
        Self {
            offsets: list.offsets().clone(),
            values: list.values().as_primitive::<P>().values().clone(),
            nulls: list.nulls().cloned(),
        }
    }

    /// Row `i`, or `None` where it is null.
    fn get(&self, i: usize) -> Option<&[T]> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(i)) {
            return None;
        }
        Some(&self.values[self.offsets[i] as usize..self.offsets[i + 1] as usize])
    }

    /// Copies row `i` into `out` (empty where null); whether it was not null.
    fn read(&self, i: usize, out: &mut Vec<T>) -> bool {
        out.clear();
        match self.get(i) {
            Some(xs) => {
                out.extend_from_slice(xs);
                true
            }
            None => false,
        }
    }
}

/// One batch's columns, looked up and cast once.
struct Cols {
    len: usize,
    episode: ScalarBuffer<u64>,
    step: ScalarBuffer<u32>,
    user: Lists<f32>,
    candidates: Lists<f32>,
    slate: Lists<i32>,
    click: (OffsetBuffer<i32>, BooleanArray),
    position_reward: Lists<f64>,
    quality: Lists<f64>,
    reward: ScalarBuffer<f64>,
    terminated: BooleanArray,
    truncated: BooleanArray,
    slate_prob: ScalarBuffer<f64>,
    position_probs: Lists<f64>,
    prefix_probs: Lists<f64>,
    policy_slate: Lists<i32>,
    policy_scores: Lists<f64>,
    next_user: Lists<f32>,
    next_candidates: Lists<f32>,
}

impl Cols {
    fn new(batch: &RecordBatch) -> Self {
        let click = column(batch, "click").as_list::<i32>();
        Self {
            len: batch.num_rows(),
            episode: column(batch, "episode")
                .as_primitive::<UInt64Type>()
                .values()
                .clone(),
            step: column(batch, "step")
                .as_primitive::<UInt32Type>()
                .values()
                .clone(),
            user: Lists::of::<Float32Type>(batch, "user"),
            candidates: Lists::of::<Float32Type>(batch, "candidates"),
            slate: Lists::of::<Int32Type>(batch, "slate"),
            click: (click.offsets().clone(), click.values().as_boolean().clone()),
            position_reward: Lists::of::<Float64Type>(batch, "position_reward"),
            quality: Lists::of::<Float64Type>(batch, "quality"),
            reward: column(batch, "reward")
                .as_primitive::<Float64Type>()
                .values()
                .clone(),
            terminated: column(batch, "terminated").as_boolean().clone(),
            truncated: column(batch, "truncated").as_boolean().clone(),
            slate_prob: column(batch, "slate_prob")
                .as_primitive::<Float64Type>()
                .values()
                .clone(),
            position_probs: Lists::of::<Float64Type>(batch, "position_probs"),
            prefix_probs: Lists::of::<Float64Type>(batch, "prefix_probs"),
            policy_slate: Lists::of::<Int32Type>(batch, "policy_slate"),
            policy_scores: Lists::of::<Float64Type>(batch, "policy_scores"),
            next_user: Lists::of::<Float32Type>(batch, "next_user"),
            next_candidates: Lists::of::<Float32Type>(batch, "next_candidates"),
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

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a dyn Array {
    batch
        .column_by_name(name)
        .expect("the schema was checked when the log was opened")
        .as_ref()
}

impl Rows {
    /// The next row, checked; `None` after the last, once the checksum matched.
    pub fn next_row(&mut self) -> Result<Option<&Row>, LogError> {
        loop {
            if let Some(batch) = &self.batch {
                if self.at < batch.len {
                    let i = self.at;
                    self.at += 1;
                    self.read(i)?;
                    return Ok(Some(&self.row));
                }
            }
            match self.reader.next() {
                Some(batch) => {
                    let batch = batch.map_err(LogError::format(&self.path, "reading the steps"))?;
                    let list_nulls = batch.columns().iter().any(|c| {
                        c.as_list_opt::<i32>()
                            .is_some_and(|l| l.values().null_count() > 0)
                    });
                    let required_nulls = COLUMNS
                        .iter()
                        .zip(batch.columns())
                        .any(|((_, _, nullable), c)| !nullable && c.null_count() > 0);
                    if list_nulls || required_nulls {
                        return Err(LogError::invalid(
                            &self.path,
                            format!(
                                "rows {}..{}: a required value is missing",
                                self.index,
                                self.index + batch.num_rows() as u64
                            ),
                        ));
                    }
                    self.checksum.add(&batch);
                    self.batch = Some(Cols::new(&batch));
                    self.at = 0;
                }
                None => {
                    return self.finish().map(|()| None);
                }
            }
        }
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
        let c = self.batch.as_ref().expect("a batch is loaded");
        let first = self.index == 0;
        let (prev_episode, prev_step, prev_done) =
            (self.row.episode, self.row.step, self.row.done());
        let r = &mut self.row;
        r.episode = c.episode[i];
        r.step = c.step[i];
        c.user.read(i, &mut r.user);
        c.candidates.read(i, &mut r.candidates);
        let slate_ok = positions(c.slate.get(i).unwrap_or_default(), &mut r.slate);
        r.click.clear();
        r.click
            .extend((c.click.0[i] as usize..c.click.0[i + 1] as usize).map(|j| c.click.1.value(j)));
        c.position_reward.read(i, &mut r.position_reward);
        c.quality.read(i, &mut r.quality);
        r.reward = c.reward[i];
        r.terminated = c.terminated.value(i);
        r.truncated = c.truncated.value(i);
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
