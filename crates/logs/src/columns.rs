//! The columns of `steps.parquet`, which the writer and the reader share: their names and
//! Parquet types, rows held column by column ([`Block`]), and the rows' checksum.
//!
//! The schema is the one earlier rlrec wrote through Arrow, so that pyarrow, pandas and
//! polars read logs of every rlrec alike: `uint64` and `uint32` as unsigned integer
//! logical types, lists as the standard three-level `LIST` groups with the element named
//! `item`. Arrow's writer also stored its schema, encoded, under `ARROW:schema`; pyarrow
//! derives the same one from the Parquet schema, so the key is left out.

use std::sync::Arc;

use parquet::basic::{ConvertedType, LogicalType, Repetition, Type as Physical};
use parquet::schema::types::{Type, TypePtr};

use super::Row;

/// Rows per run of the checksum, and per batch the reader checks.
pub(crate) const BATCH_ROWS: usize = 8192;
/// Rows per Parquet row group: the writer holds one row group's rows in memory (about
/// 30 MB for interest evolution's 10 × 20 candidate features).
pub(crate) const ROW_GROUP_ROWS: usize = 32_768;

/// A column's type: a scalar, or a list of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    U64,
    U32,
    F64,
    Bool,
    F32s,
    F64s,
    I32s,
    Bools,
}

/// Every column in order: name, type, nullable.
pub(crate) const COLUMNS: [(&str, Kind, bool); 18] = [
    ("episode", Kind::U64, false),
    ("step", Kind::U32, false),
    ("user", Kind::F32s, false),
    ("candidates", Kind::F32s, false),
    ("slate", Kind::I32s, false),
    ("click", Kind::Bools, false),
    ("position_reward", Kind::F64s, false),
    ("quality", Kind::F64s, true),
    ("reward", Kind::F64, false),
    ("terminated", Kind::Bool, false),
    ("truncated", Kind::Bool, false),
    ("slate_prob", Kind::F64, false),
    ("position_probs", Kind::F64s, false),
    ("prefix_probs", Kind::F64s, false),
    ("policy_slate", Kind::I32s, true),
    ("policy_scores", Kind::F64s, true),
    ("next_user", Kind::F32s, true),
    ("next_candidates", Kind::F32s, true),
];

impl Kind {
    /// The physical type and the logical one of a scalar, or of a list's element.
    fn physical(self) -> (Physical, Option<LogicalType>) {
        match self {
            Kind::U64 => (Physical::INT64, Some(LogicalType::integer(64, false))),
            Kind::U32 => (Physical::INT32, Some(LogicalType::integer(32, false))),
            Kind::F64 | Kind::F64s => (Physical::DOUBLE, None),
            Kind::Bool | Kind::Bools => (Physical::BOOLEAN, None),
            Kind::F32s => (Physical::FLOAT, None),
            Kind::I32s => (Physical::INT32, None),
        }
    }

    fn is_list(self) -> bool {
        matches!(self, Kind::F32s | Kind::F64s | Kind::I32s | Kind::Bools)
    }

    /// The type's name in errors, as [`describe`] names a file's.
    pub(crate) fn name(self) -> String {
        let (physical, logical) = self.physical();
        let name = scalar_name(physical, logical.as_ref(), ConvertedType::NONE);
        if self.is_list() {
            format!("list<{name}>")
        } else {
            name
        }
    }

    pub(crate) fn parquet_type(self, name: &str, nullable: bool) -> Type {
        let repetition = if nullable {
            Repetition::OPTIONAL
        } else {
            Repetition::REQUIRED
        };
        let (physical, logical) = self.physical();
        let build = || {
            if !self.is_list() {
                return Type::primitive_type_builder(name, physical)
                    .with_repetition(repetition)
                    .with_logical_type(logical)
                    .build();
            }
            let item = Type::primitive_type_builder("item", physical)
                .with_repetition(Repetition::REQUIRED)
                .build()?;
            let list = Type::group_type_builder("list")
                .with_repetition(Repetition::REPEATED)
                .with_fields(vec![Arc::new(item)])
                .build()?;
            Type::group_type_builder(name)
                .with_repetition(repetition)
                .with_logical_type(Some(LogicalType::List))
                .with_fields(vec![Arc::new(list)])
                .build()
        };
        build().expect("the log's types are valid Parquet types")
    }
}

/// The Parquet schema of `steps.parquet`. The root keeps the name Arrow gave it in
/// earlier logs (readers ignore it).
pub(crate) fn schema() -> TypePtr {
    let fields = COLUMNS
        .iter()
        .map(|(name, kind, nullable)| Arc::new(kind.parquet_type(name, *nullable)))
        .collect();
    Arc::new(
        Type::group_type_builder("arrow_schema")
            .with_fields(fields)
            .build()
            .expect("a group of valid fields"),
    )
}

/// A primitive type's name: the log's as the docs write them, others as Parquet does.
fn scalar_name(
    physical: Physical,
    logical: Option<&LogicalType>,
    converted: ConvertedType,
) -> String {
    let name = match (physical, logical, converted) {
        (Physical::INT32 | Physical::INT64, Some(LogicalType::Integer(t)), _) => {
            let sign = if t.is_signed { "" } else { "u" };
            return format!("{sign}int{}", t.bit_width);
        }
        (Physical::INT64, None, ConvertedType::UINT_64) => "uint64",
        (Physical::INT32, None, ConvertedType::UINT_32) => "uint32",
        (Physical::INT64, None, ConvertedType::NONE) => "int64",
        (Physical::INT32, None, ConvertedType::NONE) => "int32",
        (Physical::FLOAT, None, ConvertedType::NONE) => "float32",
        (Physical::DOUBLE, None, ConvertedType::NONE) => "float64",
        (Physical::BOOLEAN, None, ConvertedType::NONE) => "bool",
        (_, Some(logical), _) => return format!("{physical} ({logical:?})"),
        _ => return format!("{physical} ({converted})"),
    };
    name.to_string()
}

/// A field's repetition, where the file sets one.
pub(crate) fn repetition(t: &Type) -> Option<Repetition> {
    let info = t.get_basic_info();
    info.has_repetition().then(|| info.repetition())
}

/// The element of a standard three-level list (a `LIST` group holding one repeated group
/// of one primitive field), the form every current writer uses; `None` for another type.
fn list_element(t: &Type) -> Option<&Type> {
    let Type::GroupType { basic_info, fields } = t else {
        return None;
    };
    let annotated = matches!(basic_info.logical_type_ref(), Some(LogicalType::List))
        || basic_info.converted_type() == ConvertedType::LIST;
    let [repeated] = fields.as_slice() else {
        return None;
    };
    match repeated.as_ref() {
        Type::GroupType { fields, .. }
            if annotated && repetition(repeated) == Some(Repetition::REPEATED) =>
        {
            match fields.as_slice() {
                [item] if item.is_primitive() && repetition(item) != Some(Repetition::REPEATED) => {
                    Some(item)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// A file's column type, named as [`Kind::name`] names the log's.
pub(crate) fn describe(t: &Type) -> String {
    let primitive = |t: &Type| match t {
        Type::PrimitiveType {
            basic_info,
            physical_type,
            ..
        } => scalar_name(
            *physical_type,
            basic_info.logical_type_ref(),
            basic_info.converted_type(),
        ),
        Type::GroupType { .. } => "a group".to_string(),
    };
    match list_element(t) {
        Some(item) => format!("list<{}>", primitive(item)),
        None if repetition(t) == Some(Repetition::REPEATED) => format!("repeated {}", primitive(t)),
        None => primitive(t),
    }
}

/// A list column's rows: their values end to end, where each row ends, and whether it is
/// not null (a null row holds no values).
pub(crate) struct Lists<T> {
    pub(crate) values: Vec<T>,
    /// Row `i` holds `values[offsets[i]..offsets[i + 1]]`.
    pub(crate) offsets: Vec<usize>,
    pub(crate) valid: Vec<bool>,
}

impl<T: Copy> Lists<T> {
    pub(crate) fn new() -> Self {
        Self {
            values: Vec::new(),
            offsets: vec![0],
            valid: Vec::new(),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.values.clear();
        self.offsets.truncate(1);
        self.valid.clear();
    }

    /// One row: `xs`, or a null where `valid` is false (`xs` is then empty).
    pub(crate) fn push(&mut self, xs: impl IntoIterator<Item = T>, valid: bool) {
        self.values.extend(xs);
        self.offsets.push(self.values.len());
        self.valid.push(valid);
    }

    /// Row `i`, or `None` where it is null.
    pub(crate) fn get(&self, i: usize) -> Option<&[T]> {
        self.valid[i].then(|| &self.values[self.offsets[i]..self.offsets[i + 1]])
    }

    /// Copies row `i` into `out` (empty where null); whether it was not null.
    pub(crate) fn read(&self, i: usize, out: &mut Vec<T>) -> bool {
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

/// Slate positions as the file holds them.
fn positions(s: &[usize]) -> impl Iterator<Item = i32> + '_ {
    s.iter().map(|&p| p as i32)
}

/// Rows held column by column: the writer's next row group, the reader's batch.
pub(crate) struct Block {
    pub(crate) episode: Vec<u64>,
    pub(crate) step: Vec<u32>,
    pub(crate) user: Lists<f32>,
    pub(crate) candidates: Lists<f32>,
    pub(crate) slate: Lists<i32>,
    pub(crate) click: Lists<bool>,
    pub(crate) position_reward: Lists<f64>,
    pub(crate) quality: Lists<f64>,
    pub(crate) reward: Vec<f64>,
    pub(crate) terminated: Vec<bool>,
    pub(crate) truncated: Vec<bool>,
    pub(crate) slate_prob: Vec<f64>,
    pub(crate) position_probs: Lists<f64>,
    pub(crate) prefix_probs: Lists<f64>,
    pub(crate) policy_slate: Lists<i32>,
    pub(crate) policy_scores: Lists<f64>,
    pub(crate) next_user: Lists<f32>,
    pub(crate) next_candidates: Lists<f32>,
}

/// One column of a [`Block`], of the type [`COLUMNS`] gives it.
pub(crate) enum Col<'a> {
    U64(&'a [u64]),
    U32(&'a [u32]),
    F64(&'a [f64]),
    Bool(&'a [bool]),
    F32s(&'a Lists<f32>),
    F64s(&'a Lists<f64>),
    I32s(&'a Lists<i32>),
    Bools(&'a Lists<bool>),
}

/// [`Col`], to fill.
pub(crate) enum ColMut<'a> {
    U64(&'a mut Vec<u64>),
    U32(&'a mut Vec<u32>),
    F64(&'a mut Vec<f64>),
    Bool(&'a mut Vec<bool>),
    F32s(&'a mut Lists<f32>),
    F64s(&'a mut Lists<f64>),
    I32s(&'a mut Lists<i32>),
    Bools(&'a mut Lists<bool>),
}

impl Block {
    pub(crate) fn new() -> Self {
        Self {
            episode: Vec::new(),
            step: Vec::new(),
            user: Lists::new(),
            candidates: Lists::new(),
            slate: Lists::new(),
            click: Lists::new(),
            position_reward: Lists::new(),
            quality: Lists::new(),
            reward: Vec::new(),
            terminated: Vec::new(),
            truncated: Vec::new(),
            slate_prob: Vec::new(),
            position_probs: Lists::new(),
            prefix_probs: Lists::new(),
            policy_slate: Lists::new(),
            policy_scores: Lists::new(),
            next_user: Lists::new(),
            next_candidates: Lists::new(),
        }
    }

    /// Rows held.
    pub(crate) fn len(&self) -> usize {
        self.episode.len()
    }

    /// Empties it, keeping its memory for the next rows.
    pub(crate) fn clear(&mut self) {
        for column in self.columns_mut() {
            match column {
                ColMut::U64(v) => v.clear(),
                ColMut::U32(v) => v.clear(),
                ColMut::F64(v) => v.clear(),
                ColMut::Bool(v) => v.clear(),
                ColMut::F32s(l) => l.clear(),
                ColMut::F64s(l) => l.clear(),
                ColMut::I32s(l) => l.clear(),
                ColMut::Bools(l) => l.clear(),
            }
        }
    }

    /// Adds a row; its null columns (see [`Row`]) must be empty.
    pub(crate) fn push(&mut self, r: &Row) {
        self.episode.push(r.episode);
        self.step.push(r.step);
        self.user.push(r.user.iter().copied(), true);
        self.candidates.push(r.candidates.iter().copied(), true);
        self.slate.push(positions(&r.slate), true);
        self.click.push(r.click.iter().copied(), true);
        self.position_reward
            .push(r.position_reward.iter().copied(), true);
        self.quality
            .push(r.quality.iter().copied(), !r.quality.is_empty());
        self.reward.push(r.reward);
        self.terminated.push(r.terminated);
        self.truncated.push(r.truncated);
        self.slate_prob.push(r.slate_prob);
        self.position_probs
            .push(r.position_probs.iter().copied(), true);
        self.prefix_probs.push(r.prefix_probs.iter().copied(), true);
        self.policy_slate
            .push(positions(&r.policy_slate), !r.policy_slate.is_empty());
        self.policy_scores
            .push(r.policy_scores.iter().copied(), !r.policy_scores.is_empty());
        self.next_user.push(r.next_user.iter().copied(), r.done());
        self.next_candidates
            .push(r.next_candidates.iter().copied(), r.done());
    }

    /// The columns in the order of [`COLUMNS`].
    pub(crate) fn columns(&self) -> [Col<'_>; 18] {
        [
            Col::U64(&self.episode),
            Col::U32(&self.step),
            Col::F32s(&self.user),
            Col::F32s(&self.candidates),
            Col::I32s(&self.slate),
            Col::Bools(&self.click),
            Col::F64s(&self.position_reward),
            Col::F64s(&self.quality),
            Col::F64(&self.reward),
            Col::Bool(&self.terminated),
            Col::Bool(&self.truncated),
            Col::F64(&self.slate_prob),
            Col::F64s(&self.position_probs),
            Col::F64s(&self.prefix_probs),
            Col::I32s(&self.policy_slate),
            Col::F64s(&self.policy_scores),
            Col::F32s(&self.next_user),
            Col::F32s(&self.next_candidates),
        ]
    }

    /// [`Self::columns`], to fill.
    pub(crate) fn columns_mut(&mut self) -> [ColMut<'_>; 18] {
        [
            ColMut::U64(&mut self.episode),
            ColMut::U32(&mut self.step),
            ColMut::F32s(&mut self.user),
            ColMut::F32s(&mut self.candidates),
            ColMut::I32s(&mut self.slate),
            ColMut::Bools(&mut self.click),
            ColMut::F64s(&mut self.position_reward),
            ColMut::F64s(&mut self.quality),
            ColMut::F64(&mut self.reward),
            ColMut::Bool(&mut self.terminated),
            ColMut::Bool(&mut self.truncated),
            ColMut::F64(&mut self.slate_prob),
            ColMut::F64s(&mut self.position_probs),
            ColMut::F64s(&mut self.prefix_probs),
            ColMut::I32s(&mut self.policy_slate),
            ColMut::F64s(&mut self.policy_scores),
            ColMut::F32s(&mut self.next_user),
            ColMut::F32s(&mut self.next_candidates),
        ]
    }
}

/// Buffers reused from run to run: a list column's definition and repetition levels, and
/// the unsigned columns' values as Parquet's signed types hold them.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) def: Vec<i16>,
    pub(crate) rep: Vec<i16>,
    pub(crate) i64s: Vec<i64>,
    pub(crate) i32s: Vec<i32>,
}

/// The rows' checksum: one CRC-32 per column, then one CRC-32 of the columns' sums. The
/// rows go in runs of [`BATCH_ROWS`] (the last one shorter): per run, a list column adds
/// each row's length (`u32`) and whether it is not null (a byte), then the run's values;
/// a scalar column adds its values. Values are little-endian, a `bool` one byte.
#[derive(Clone)]
pub(crate) struct Checksum {
    columns: Vec<crc32fast::Hasher>,
}

/// Adds `xs` as bytes, through a buffer on the stack rather than one per call.
fn add_values<T: Copy, const N: usize>(
    h: &mut crc32fast::Hasher,
    xs: &[T],
    bytes: fn(T) -> [u8; N],
) {
    let mut buf = [0u8; 4096];
    for chunk in xs.chunks(buf.len() / N) {
        for (out, &x) in buf.chunks_exact_mut(N).zip(chunk) {
            out.copy_from_slice(&bytes(x));
        }
        h.update(&buf[..chunk.len() * N]);
    }
}

/// Adds rows `from..to` of a list column: their shapes, then their values.
fn add_list<T: Copy, const N: usize>(
    h: &mut crc32fast::Hasher,
    l: &Lists<T>,
    from: usize,
    to: usize,
    bytes: fn(T) -> [u8; N],
) {
    let shape: Vec<[u8; 5]> = (from..to)
        .map(|i| {
            let len = (l.offsets[i + 1] - l.offsets[i]) as u32;
            let [a, b, c, d] = len.to_le_bytes();
            [a, b, c, d, u8::from(l.valid[i])]
        })
        .collect();
    h.update(shape.as_flattened());
    add_values(h, &l.values[l.offsets[from]..l.offsets[to]], bytes);
}

impl Checksum {
    pub(crate) fn new() -> Self {
        Self {
            columns: vec![crc32fast::Hasher::new(); COLUMNS.len()],
        }
    }

    /// Adds rows `from..to` of `block` as one run.
    pub(crate) fn add(&mut self, block: &Block, from: usize, to: usize) {
        let bool_byte = |b: bool| [u8::from(b)];
        for (h, column) in self.columns.iter_mut().zip(block.columns()) {
            match column {
                Col::U64(v) => add_values(h, &v[from..to], u64::to_le_bytes),
                Col::U32(v) => add_values(h, &v[from..to], u32::to_le_bytes),
                Col::F64(v) => add_values(h, &v[from..to], f64::to_le_bytes),
                Col::Bool(v) => add_values(h, &v[from..to], bool_byte),
                Col::F32s(l) => add_list(h, l, from, to, f32::to_le_bytes),
                Col::F64s(l) => add_list(h, l, from, to, f64::to_le_bytes),
                Col::I32s(l) => add_list(h, l, from, to, i32::to_le_bytes),
                Col::Bools(l) => add_list(h, l, from, to, bool_byte),
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
