//! The configuration's tests: defaults, files merged over them, refusals.

use super::*;

#[test]
fn round_trips_with_only_its_own_section() {
    for algo in Algo::ALL {
        let config = TrainConfig::new(algo);
        let text = config.to_toml();
        for other in ["linucb", "lints", "slateq", "es"] {
            assert_eq!(
                text.contains(&format!("[{other}]")),
                other == algo.name(),
                "{algo}: {text}"
            );
        }
        assert_eq!(TrainConfig::from_toml(&text).unwrap(), config);
    }
}

#[test]
fn unknown_keys_anywhere_are_errors() {
    let base = TrainConfig::new(Algo::Slateq);
    for text in [
        "num_candiates = 7",
        "[env]\nnum_candiates = 7",
        "[env.wrappers]\nuser_obs = true",
        "[slateq]\nlearning_rate = 0.1",
    ] {
        let err = base.merged(text).unwrap_err().to_string();
        assert!(err.contains("unknown field"), "{text}: {err}");
    }
    let err = base.merged("[linucb]\nalpha = 2.0").unwrap_err();
    assert!(matches!(
        err,
        InvalidConfig::ForeignSection {
            section: "linucb",
            algo: Algo::Slateq
        }
    ));
}

#[test]
fn a_partial_file_merges_over_the_defaults() {
    let base = TrainConfig::new(Algo::Slateq);
    let merged = base
        .merged("[slateq]\nlr = 0.001\n[env]\nseed = 4")
        .unwrap();
    let AlgoConfig::Slateq(c) = &merged.agent else {
        panic!("still SlateQ")
    };
    assert_eq!(c.lr, 0.001);
    assert_eq!(c.gamma, SlateQConfig::default().gamma);
    assert_eq!((merged.env.seed, merged.iterations), (4, base.iterations));
    // Naming another algorithm starts from its defaults.
    let bandit = base
        .merged("algo = \"linucb\"\n[linucb]\nalpha = 2.0")
        .unwrap();
    assert_eq!(bandit.algo(), Algo::Linucb);
    assert_eq!(bandit.iterations, 100);
    assert_eq!(
        bandit.differences(&base)[..1],
        [("algo".into(), "\"linucb\"".into(), "\"slateq\"".into())]
    );
    let mut expected = TrainConfig::new(Algo::Linucb);
    expected.agent = AlgoConfig::Linucb(LinUcbConfig {
        alpha: 2.0,
        ..Default::default()
    });
    assert_eq!(bandit, expected);
}

#[test]
fn differences_name_each_key() {
    let a = TrainConfig::new(Algo::Linucb);
    let mut b = a.clone();
    b.env.seed = 3;
    b.iterations = 7;
    let d = a.differences(&b);
    let keys: Vec<&str> = d.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(keys, ["env.seed", "iterations"]);
    assert_eq!(d[0].1, "0");
    assert_eq!(d[0].2, "3");
}

#[test]
fn settings_are_bounded() {
    let mut c = TrainConfig::new(Algo::Linucb);
    c.iterations = 0;
    assert!(c.validate().unwrap_err().to_string().contains("iterations"));
    c.iterations = 1;
    c.steps_per_iteration = 1_000_000_000_000;
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("steps_per_iteration"));
    c.steps_per_iteration = 0;
    c.eval_episodes = 1_000_000_000_000;
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("eval_episodes"));
}

#[test]
fn offline_defaults_hold_the_log_and_a_file_goes_over_them() {
    let source = OfflineSource {
        logs: PathBuf::from("log"),
        checksum: "0".into(),
        steps: 150_000,
        holdout: 0.0,
    };
    let slateq = TrainConfig::offline(Algo::Slateq, Scenario::default(), source.clone());
    let AlgoConfig::Slateq(c) = &slateq.agent else {
        panic!("not SlateQ")
    };
    assert_eq!(
        (c.batch_size, c.buffer_size),
        (OFFLINE_SLATEQ_BATCH_SIZE, 150_000)
    );
    assert_eq!(slateq.iterations, OFFLINE_SLATEQ_ITERATIONS);
    assert_eq!(
        slateq.evaluation_interval,
        OFFLINE_SLATEQ_EVALUATION_INTERVAL
    );
    assert_eq!(c.n_step, 3, "3-step returns from a log");
    assert_eq!(
        (c.gamma, c.lr_decay_steps),
        (0.995, 100_000),
        "the online discount; the learning rate decays over the run"
    );
    assert_eq!(
        (c.hidden.as_slice(), c.target_update_every),
        ([64, 64].as_slice(), 2_000)
    );
    let edited = slateq.merged("[slateq]\nbatch_size = 64\n").unwrap();
    let AlgoConfig::Slateq(c) = &edited.agent else {
        panic!("not SlateQ")
    };
    assert_eq!(c.batch_size, 64);
    // SlateQ holds out a fifth of the log to choose among its checkpoints, each one kept.
    let held_out = OfflineSource {
        holdout: OFFLINE_SLATEQ_HOLDOUT,
        ..source.clone()
    };
    assert_eq!(edited.offline, Some(held_out.clone()));
    let none = slateq.merged("[offline]\nholdout = 0.0\n").unwrap();
    assert_eq!(none.offline.unwrap().holdout, 0.0);
    for bad in ["holdout = 0.95", "holdout = -0.1", "holdout = nan"] {
        let err = slateq
            .merged(&format!("[offline]\n{bad}\n"))
            .unwrap()
            .resolve();
        assert!(
            err.unwrap_err().to_string().contains("offline.holdout"),
            "{bad}"
        );
    }
    // A bandit takes in each logged step once: one pass of 120-step iterations, nothing
    // held out, and refused a held-out share.
    let linucb = TrainConfig::offline(Algo::Linucb, Scenario::default(), source);
    assert_eq!(linucb.iterations, 150_000_u64.div_ceil(120));
    assert_eq!(linucb.offline.as_ref().unwrap().holdout, 0.0);
    let err = linucb
        .merged("[offline]\nholdout = 0.2\n")
        .unwrap()
        .resolve();
    assert!(err.unwrap_err().to_string().contains("for slateq"));
}
