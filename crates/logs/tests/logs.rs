//! The log writer's and reader's tests: logs written, replaced, stopped, damaged and
//! edited.

use std::fs;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use env::Scenario;
use logs::{
    write_log, BasePolicy, LogError, LogMeta, LogReader, LogWriter, NoCheckpoints, Policy,
    PolicySpec, Row, META_FILE, PARQUET_META_KEY, STEPS_FILE,
};
use parquet::file::reader::{FileReader, SerializedFileReader};

/// A progress callback that lets the log run to its end.
fn on(_: u64) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

fn iev() -> Scenario {
    Scenario {
        num_candidates: 10,
        seed: 5,
        ..Scenario::new("interest-evolution")
    }
}

fn greedy(epsilon: f64) -> PolicySpec {
    PolicySpec::EpsilonGreedy {
        base: BasePolicy::Fixed(rollout::FixedPolicy::Greedy),
        epsilon,
    }
}

/// Replays the logging policy on the logged environment and checks that every row
/// holds what the environment showed, the slate the policy drew, and the policy's
/// own probabilities.
fn replay_matches(dir: &Path) -> u64 {
    let reader = LogReader::open(dir).unwrap();
    let meta = reader.meta().clone();
    let mut scenario = meta.scenario.clone();
    let mut policy = Policy::new(
        &meta.policy,
        &mut scenario,
        meta.policy_seed,
        &NoCheckpoints,
    )
    .unwrap();
    assert_eq!(scenario, meta.scenario);
    let mut env = scenario.build().unwrap();
    let mut rows = reader.rows().unwrap();
    let (k, mut count) = (meta.layout.slate_size, 0);
    let mut slate = vec![0; k];
    let mut probs = vec![0.0; k];
    while let Some(row) = rows.next_row().unwrap() {
        if row.step == 0 {
            env.reset(None);
            policy.begin_episode();
        }
        assert_eq!(
            (row.user.as_slice(), row.candidates.as_slice()),
            (env.user(), env.items())
        );
        let dist = policy.distribution(env.as_ref()).unwrap().clone();
        policy.sample(&mut slate);
        assert_eq!(row.slate, slate);
        dist.prefix_probs(&slate, &mut probs);
        assert_eq!(row.prefix_probs, probs);
        assert_eq!(row.slate_prob, probs[k - 1]);
        dist.position_probs(&slate, &mut probs);
        assert_eq!(row.position_probs, probs);
        let t = env.step(&slate).unwrap();
        assert_eq!(
            (row.reward, row.terminated, row.truncated),
            (t.reward, t.terminated, t.truncated)
        );
        assert_eq!(row.position_reward.iter().sum::<f64>(), t.reward);
        assert_eq!(
            row.click.iter().position(|&c| c),
            t.click.map(|c| c.position)
        );
        count += 1;
    }
    assert_eq!(count, meta.steps);
    count
}

#[test]
fn logs_hold_the_policys_own_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (Scenario::default(), PolicySpec::Random),
        (iev(), greedy(0.3)),
        (
            iev(),
            PolicySpec::Softmax {
                base: BasePolicy::Fixed(rollout::FixedPolicy::Kale),
                temperature: 0.2,
            },
        ),
        (
            Scenario {
                slate_size: 3,
                num_candidates: 6,
                ..Scenario::new("interest-exploration")
            },
            greedy(0.0),
        ),
    ];
    for (i, (scenario, spec)) in cases.into_iter().enumerate() {
        let out = dir.path().join(format!("log{i}"));
        let summary = write_log(&scenario, &spec, &NoCheckpoints, 3, &out, on).unwrap();
        assert_eq!(summary.meta.episodes, 3);
        assert!(summary.meta.additive_reward);
        assert_eq!(replay_matches(&out), summary.meta.steps, "{spec}");
    }
}

/// A log longer than a row group: whole row groups of 32,768 rows, then the rest, read
/// back across them.
#[test]
fn long_logs_span_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let summary = write_log(
        &Scenario::default(),
        &PolicySpec::Random,
        &NoCheckpoints,
        300,
        &log,
        on,
    )
    .unwrap();
    let file = SerializedFileReader::new(fs::File::open(log.join(STEPS_FILE)).unwrap()).unwrap();
    let groups: Vec<u64> = file
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows() as u64)
        .collect();
    let full = 32_768;
    assert_eq!(groups, [full, summary.meta.steps - full]);
    assert_eq!(replay_matches(&log), summary.meta.steps);
}

#[test]
fn the_same_seed_writes_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        write_log(&iev(), &greedy(0.5), &NoCheckpoints, 4, out, on).unwrap();
    }
    for file in [STEPS_FILE, META_FILE] {
        assert_eq!(
            fs::read(a.join(file)).unwrap(),
            fs::read(b.join(file)).unwrap()
        );
    }
    // A log is replaced only by a complete one; a user's folder never.
    write_log(
        &Scenario::default(),
        &PolicySpec::Random,
        &NoCheckpoints,
        1,
        &a,
        on,
    )
    .unwrap();
    assert_eq!(LogReader::open(&a).unwrap().meta().steps, 120);
    let mine = dir.path().join("mine");
    fs::create_dir(&mine).unwrap();
    fs::write(mine.join("notes.txt"), "mine").unwrap();
    let err = write_log(&iev(), &PolicySpec::Random, &NoCheckpoints, 1, &mine, on).unwrap_err();
    assert!(err.to_string().contains("is not an rlrec log"), "{err}");
    assert_eq!(fs::read_dir(&mine).unwrap().count(), 1);
}

/// A stopped log writes nothing and leaves the log it would replace; what a killed
/// writer left is removed by the next one (issue 27, finding 6).
#[test]
fn a_stopped_log_leaves_nothing_and_leftovers_go() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write_log(&iev(), &greedy(0.5), &NoCheckpoints, 2, &log, on).unwrap();
    let before = fs::read(log.join(STEPS_FILE)).unwrap();
    let err = write_log(&iev(), &PolicySpec::Random, &NoCheckpoints, 5, &log, |i| {
        if i == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("stopped after 3 of 5 episodes"),
        "{err}"
    );
    assert_eq!(fs::read(log.join(STEPS_FILE)).unwrap(), before);
    let names = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let clean = names(&log);
    let leftover = log.join(format!(".{STEPS_FILE}.999999.tmp"));
    fs::write(&leftover, b"half a log").unwrap();
    write_log(&iev(), &greedy(0.5), &NoCheckpoints, 1, &log, on).unwrap();
    assert_eq!(names(&log), clean);
}

#[test]
fn damaged_logs_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write_log(&iev(), &greedy(0.5), &NoCheckpoints, 2, &log, on).unwrap();
    let reader = LogReader::open(&log).unwrap();
    let open = |path: &Path| recsim_core::error_chain(&LogReader::open(path).unwrap_err());
    assert!(open(dir.path()).contains("is not an rlrec log"));
    // Another log's steps beside this metadata.
    let other = dir.path().join("other");
    write_log(&iev(), &greedy(0.5), &NoCheckpoints, 3, &other, on).unwrap();
    let mixed = dir.path().join("mixed");
    fs::create_dir(&mixed).unwrap();
    fs::copy(log.join(META_FILE), mixed.join(META_FILE)).unwrap();
    fs::copy(other.join(STEPS_FILE), mixed.join(STEPS_FILE)).unwrap();
    assert!(open(&mixed).contains("not from the same log"));
    // Metadata edited to claim no steps, or another world.
    let text = fs::read_to_string(log.join(META_FILE)).unwrap();
    fs::write(
        mixed.join(META_FILE),
        text.replace(
            &format!("\"steps\": {}", reader.meta().steps),
            "\"steps\": 0",
        ),
    )
    .unwrap();
    assert!(open(&mixed).contains("holds no steps"));
    fs::write(
        mixed.join(META_FILE),
        text.replace("interest-evolution", "mars"),
    )
    .unwrap();
    assert!(open(&mixed).contains("unknown environment `mars`"));
    fs::write(mixed.join(META_FILE), "{").unwrap();
    assert!(open(&mixed).contains("not rlrec log metadata"));
    // A Parquet file without the probabilities.
    let meta = reader.meta().clone();
    let text = serde_json::to_string(&meta).unwrap();
    let foreign = |message: &str| {
        let schema = parquet::schema::parser::parse_message_type(message).unwrap();
        let file = fs::File::create(mixed.join(STEPS_FILE)).unwrap();
        let mut w = parquet::file::writer::SerializedFileWriter::new(
            file,
            Arc::new(schema),
            Arc::default(),
        )
        .unwrap();
        w.append_key_value_metadata(parquet::file::metadata::KeyValue::new(
            PARQUET_META_KEY.into(),
            text.clone(),
        ));
        w.close().unwrap();
    };
    foreign("message schema { required int64 episode (INTEGER(64, false)); }");
    fs::write(mixed.join(META_FILE), &text).unwrap();
    let err = open(&mixed);
    assert!(
        err.contains("missing columns: step, user, candidates"),
        "{err}"
    );
    // Columns of another type.
    foreign("message schema { required int64 episode; }");
    let err = open(&mixed);
    assert!(
        err.contains("column `episode` is int64, not the log's type (uint64)"),
        "{err}"
    );
    foreign(
        "message schema { required int64 episode (INTEGER(64, false)); \
         required int32 step (INTEGER(32, false)); \
         required group user (LIST) { repeated group list { required double item; } } }",
    );
    let err = open(&mixed);
    assert!(
        err.contains("column `user` is list<float64>, not the log's type (list<float32>)"),
        "{err}"
    );
    // A flipped value is found by the checksum once the rows are read.
    let mut bytes = fs::read(log.join(STEPS_FILE)).unwrap();
    fs::copy(log.join(META_FILE), mixed.join(META_FILE)).unwrap();
    // A third of the way in: inside the column data, far from the footer.
    let at = bytes.len() / 3;
    bytes[at] ^= 1;
    fs::write(mixed.join(STEPS_FILE), &bytes).unwrap();
    let read_all = || -> Result<(), LogError> {
        let reader = LogReader::open(&mixed)?;
        let mut rows = reader.rows()?;
        while rows.next_row()?.is_some() {}
        Ok(())
    };
    assert!(read_all().is_err());
}

/// Values edited on purpose, the checksum computed again to match: refused on reading,
/// by what is wrong (issue 27, finding 12).
#[test]
fn edited_values_with_a_matching_checksum_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write_log(&iev(), &greedy(0.5), &NoCheckpoints, 2, &log, on).unwrap();
    let good = LogReader::open(&log).unwrap();
    let edited = dir.path().join("edited");
    fs::create_dir(&edited).unwrap();
    let read_edited = |edit: &dyn Fn(&mut Row)| -> String {
        let mut writer = LogWriter::create(&edited.join(STEPS_FILE), &good.meta().layout).unwrap();
        let mut rows = good.rows().unwrap();
        let mut index = 0;
        while let Some(row) = rows.next_row().unwrap() {
            let mut row = row.clone();
            if index == 7 {
                edit(&mut row);
            }
            writer.push(&row).unwrap();
            index += 1;
        }
        let meta = LogMeta {
            checksum: writer.flush().unwrap(),
            ..good.meta().clone()
        };
        let text = serde_json::to_string(&meta).unwrap();
        writer.finish(&text).unwrap();
        fs::write(edited.join(META_FILE), &text).unwrap();
        let reader = LogReader::open(&edited).unwrap();
        let mut rows = reader.rows().unwrap();
        loop {
            match rows.next_row() {
                Ok(Some(_)) => {}
                Ok(None) => return "read whole".into(),
                Err(e) => return recsim_core::error_chain(&e),
            }
        }
    };
    assert_eq!(read_edited(&|_| ()), "read whole");
    // The next observation goes on an episode's last row only: elsewhere the file holds
    // a null, so the writer refuses it rather than drop it.
    let mut writer = LogWriter::create(&edited.join(STEPS_FILE), &good.meta().layout).unwrap();
    let mut row = good.rows().unwrap().next_row().unwrap().unwrap().clone();
    assert!(!row.done());
    row.next_candidates = row.candidates.clone();
    let err = writer.push(&row).unwrap_err().to_string();
    assert!(err.contains("does not fit the layout"), "{err}");
    let nan = read_edited(&|r| r.candidates[3] = f32::NAN);
    assert!(
        nan.contains("row 8 (episode 0, step 7): a feature or score is not finite"),
        "{nan}"
    );
    let huge = read_edited(&|r| {
        r.reward = 1e300;
        r.position_reward[0] = 1e300;
    });
    assert!(
        huge.contains("a reward of 1e300 is not a number within ±1e12"),
        "{huge}"
    );
    let apart = read_edited(&|r| r.position_reward[0] += 1.0);
    assert!(
        apart.contains("do not add up to the step's reward"),
        "{apart}"
    );
}

/// A time-aware log written before layouts named the time feature (its metadata has no
/// `time`) reads as one written now: its environment says where the time is.
#[test]
fn logs_from_before_the_named_time_feature_read_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (log, old) = (dir.path().join("log"), dir.path().join("old"));
    let mut timed = iev();
    timed.wrappers.time_aware = true;
    write_log(&timed, &greedy(0.5), &NoCheckpoints, 1, &log, on).unwrap();
    let new = LogReader::open(&log).unwrap();
    let layout = new.meta().layout;
    assert_eq!(layout.time.map(|t| t.index), Some(layout.user_dim - 1));
    fs::create_dir(&old).unwrap();
    let mut writer = LogWriter::create(&old.join(STEPS_FILE), &layout).unwrap();
    let mut rows = new.rows().unwrap();
    while let Some(row) = rows.next_row().unwrap() {
        writer.push(row).unwrap();
    }
    writer.flush().unwrap();
    let mut meta = serde_json::to_value(new.meta()).unwrap();
    let time = meta["layout"].as_object_mut().unwrap().remove("time");
    assert!(time.is_some_and(|t| !t.is_null()));
    let text = meta.to_string();
    writer.finish(&text).unwrap();
    fs::write(old.join(META_FILE), &text).unwrap();
    assert_eq!(LogReader::open(&old).unwrap().meta(), new.meta());
}

/// The file is what earlier rlrec wrote through Arrow, and pyarrow, pandas and polars read
/// as `docs/logs.md` lists it: its schema, Snappy, no dictionaries, statistics per chunk.
#[test]
fn the_file_keeps_its_format() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write_log(&iev(), &greedy(0.5), &NoCheckpoints, 1, &log, on).unwrap();
    let file = SerializedFileReader::new(fs::File::open(log.join(STEPS_FILE)).unwrap()).unwrap();
    let list = |repetition: &str, name: &str, item: &str| {
        format!("{repetition} group {name} (LIST) {{ repeated group list {{ required {item} item; }} }}")
    };
    let expected = [
        "required int64 episode (INTEGER(64, false));".to_string(),
        "required int32 step (INTEGER(32, false));".to_string(),
        list("required", "user", "float"),
        list("required", "candidates", "float"),
        list("required", "slate", "int32"),
        list("required", "click", "boolean"),
        list("required", "position_reward", "double"),
        list("optional", "quality", "double"),
        "required double reward;".to_string(),
        "required boolean terminated;".to_string(),
        "required boolean truncated;".to_string(),
        "required double slate_prob;".to_string(),
        list("required", "position_probs", "double"),
        list("required", "prefix_probs", "double"),
        list("optional", "policy_slate", "int32"),
        list("optional", "policy_scores", "double"),
        list("optional", "next_user", "float"),
        list("optional", "next_candidates", "float"),
    ];
    let expected = parquet::schema::parser::parse_message_type(&format!(
        "message arrow_schema {{ {} }}",
        expected.join(" ")
    ))
    .unwrap();
    let meta = file.metadata();
    assert_eq!(meta.file_metadata().schema(), &expected);
    assert_eq!(
        meta.file_metadata().created_by(),
        Some(format!("rlrec {}", env!("CARGO_PKG_VERSION")).as_str())
    );
    for column in meta.row_groups().iter().flat_map(|g| g.columns()) {
        assert_eq!(column.compression(), parquet::basic::Compression::SNAPPY);
        assert!(column.dictionary_page_offset().is_none());
        assert!(column.statistics().is_some());
    }
    // Each column holds what its name says: parquet's record reader, which knows nothing
    // of rlrec, finds what the log's reader does.
    use parquet::record::Field;
    let number = |f: &Field| match f {
        Field::Bool(b) => f64::from(u8::from(*b)),
        Field::Int(x) => f64::from(*x),
        Field::UInt(x) => f64::from(*x),
        Field::ULong(x) => *x as f64,
        Field::Float(x) => f64::from(*x),
        Field::Double(x) => *x,
        other => panic!("{other:?}"),
    };
    let numbers = |f: &Field| match f {
        Field::Null => None,
        Field::ListInternal(list) => Some(list.elements().iter().map(number).collect()),
        f => Some(vec![number(f)]),
    };
    let reader = LogReader::open(&log).unwrap();
    let mut rows = reader.rows().unwrap();
    for record in file.get_row_iter(None).unwrap() {
        let record = record.unwrap();
        let r = rows.next_row().unwrap().unwrap();
        let list = |xs: &[f64], valid: bool| valid.then(|| xs.to_vec());
        let f32s =
            |xs: &[f32], valid| list(&xs.iter().map(|&x| f64::from(x)).collect::<Vec<_>>(), valid);
        let usizes =
            |xs: &[usize], valid| list(&xs.iter().map(|&x| x as f64).collect::<Vec<_>>(), valid);
        let bools = |xs: &[bool]| Some(xs.iter().map(|&x| f64::from(u8::from(x))).collect());
        let expected = vec![
            ("episode", Some(vec![r.episode as f64])),
            ("step", Some(vec![f64::from(r.step)])),
            ("user", f32s(&r.user, true)),
            ("candidates", f32s(&r.candidates, true)),
            ("slate", usizes(&r.slate, true)),
            ("click", bools(&r.click)),
            ("position_reward", list(&r.position_reward, true)),
            ("quality", list(&r.quality, !r.quality.is_empty())),
            ("reward", Some(vec![r.reward])),
            ("terminated", bools(&[r.terminated])),
            ("truncated", bools(&[r.truncated])),
            ("slate_prob", Some(vec![r.slate_prob])),
            ("position_probs", list(&r.position_probs, true)),
            ("prefix_probs", list(&r.prefix_probs, true)),
            (
                "policy_slate",
                usizes(&r.policy_slate, !r.policy_slate.is_empty()),
            ),
            (
                "policy_scores",
                list(&r.policy_scores, !r.policy_scores.is_empty()),
            ),
            ("next_user", f32s(&r.next_user, r.done())),
            ("next_candidates", f32s(&r.next_candidates, r.done())),
        ];
        let found: Vec<_> = record
            .get_column_iter()
            .map(|(name, field)| (name.as_str(), numbers(field)))
            .collect();
        assert_eq!(found, expected);
    }
    assert!(rows.next_row().unwrap().is_none());
}
