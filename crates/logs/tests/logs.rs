//! The log writer's and reader's tests: logs written, replaced, stopped, damaged and
//! edited.

use std::fs;
use std::ops::ControlFlow;
use std::path::Path;

use env::Scenario;
use logs::{
    write_log, BasePolicy, LogError, LogMeta, LogReader, LogWriter, NoCheckpoints, Policy,
    PolicySpec, Row, META_FILE, PARQUET_META_KEY, STEPS_FILE,
};

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
    let file = fs::File::create(mixed.join(STEPS_FILE)).unwrap();
    let schema = std::sync::Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "episode",
        arrow_schema::DataType::UInt64,
        false,
    )]));
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
    w.append_key_value_metadata(parquet::file::metadata::KeyValue::new(
        PARQUET_META_KEY.into(),
        text.clone(),
    ));
    w.close().unwrap();
    fs::write(mixed.join(META_FILE), &text).unwrap();
    let err = open(&mixed);
    assert!(
        err.contains("missing columns: step, user, candidates"),
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
