//! Policies written as ONNX read back as they were, and damaged or foreign files are
//! refused with the reason.

use agents::config::SlateOptimizer;
use agents::portable::{Choice, Dense, Portable, Scorer, Scores, SlateQNet};
use env::{Layout, TimeFeature};
use export::{load, onnx, save, sidecar_path, ExportError};

/// Numbers that look like learned ones: a fixed sequence, no two alike.
fn numbers(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i + 7 * seed) as f32) * 0.618_034).fract() - 0.5)
        .collect()
}

fn dense(inputs: usize, outputs: usize, seed: usize) -> Dense {
    Dense {
        inputs,
        outputs,
        weights: numbers(inputs * outputs, seed),
        bias: numbers(outputs, seed + 1),
    }
}

fn layout(user_dim: usize, time: bool) -> Layout {
    Layout {
        num_candidates: 5,
        slate_size: 2,
        doc_dim: 3,
        user_dim,
        time: TimeFeature::last(user_dim, time.then_some(120)),
    }
}

fn slateq(choice: Choice, time: bool) -> Portable {
    let (u, d) = (4, 3);
    Portable {
        algorithm: "slateq".into(),
        layout: layout(u, time),
        scorer: Scorer::SlateQ(Box::new(SlateQNet {
            user_mean: numbers(u, 2),
            user_sd: numbers(u, 3).iter().map(|v| v + 1.0).collect(),
            doc_mean: numbers(d, 4),
            doc_sd: numbers(d, 5).iter().map(|v| v + 1.0).collect(),
            time_ceiling: time.then_some(-0.25),
            item_net: vec![dense(u + d + 1, 6, 6), dense(6, 1, 8)],
            state_net: time.then(|| vec![dense(u, 3, 10), dense(3, 1, 12)]),
            choice,
            optimizer: SlateOptimizer::Greedy,
        })),
    }
}

fn every_kind() -> Vec<Portable> {
    let logit = Choice::Logit {
        w: numbers(12, 20),
        a: numbers(3, 21),
        b: 0.3,
        c: numbers(4, 22),
    };
    let proportional = Choice::Proportional {
        no_click_mass: 1.0,
        min_normalizer: -0.5,
    };
    let linear = |user_dim| Portable {
        algorithm: "linucb".into(),
        layout: layout(user_dim, false),
        scorer: Scorer::Linear {
            theta: (0..user_dim + 3).map(|i| 0.1 * i as f64 - 0.2).collect(),
        },
    };
    vec![
        slateq(Choice::FirstPosition, true),
        slateq(logit, false),
        slateq(proportional, true),
        linear(0),
        linear(2),
    ]
}

#[test]
fn every_kind_of_policy_reads_back_as_it_was_and_scores_alike() {
    let dir = tempfile::tempdir().unwrap();
    for (k, policy) in every_kind().into_iter().enumerate() {
        let path = dir.path().join(format!("policy-{k}.onnx"));
        save(&policy, &path).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back, policy, "kind {k}");
        let side: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sidecar_path(&path)).unwrap()).unwrap();
        assert_eq!(side["algorithm"], policy.algorithm.as_str());
        assert_eq!(side["layout"]["user_dim"], policy.layout.user_dim);
        let (u, d) = (policy.layout.user_dim, policy.layout.doc_dim);
        let user = numbers(u, 30);
        let items = numbers(5 * d, 31);
        let (mut a, mut b) = (Scores::default(), Scores::default());
        let (mut slate_a, mut slate_b) = ([0; 2], [0; 2]);
        policy.slate(&user, &items, &mut a, &mut slate_a);
        back.slate(&user, &items, &mut b, &mut slate_b);
        assert_eq!(
            (a.values, a.weights, slate_a),
            (b.values, b.weights, slate_b)
        );
    }
}

#[test]
fn damaged_and_foreign_models_are_refused() {
    let policy = slateq(Choice::FirstPosition, true);
    let bytes = onnx::write(&policy).unwrap();
    // Every truncation is refused, none panics.
    for cut in (0..bytes.len()).step_by(7) {
        assert!(onnx::read(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    // A model without rlrec's metadata: another exporter's.
    let foreign = export::proto::Message::new().int(1, 8).into_bytes();
    let err = onnx::read(&foreign).unwrap_err().to_string();
    assert!(err.contains("not a model rlrec exported"), "{err}");
    // A weight of another length than its layer, or one that is not finite.
    let mut short = policy.clone();
    let Scorer::SlateQ(net) = &mut short.scorer else {
        unreachable!()
    };
    net.item_net[0].weights.pop();
    assert!(matches!(onnx::write(&short), Err(ExportError::Policy(_))));
    let mut nan = policy.clone();
    let Scorer::SlateQ(net) = &mut nan.scorer else {
        unreachable!()
    };
    net.user_sd[0] = f32::NAN;
    assert!(matches!(onnx::write(&nan), Err(ExportError::Policy(_))));
    // Bytes flipped inside the metadata's JSON.
    let at = bytes.windows(9).position(|w| w == b"\"layout\":").unwrap();
    let mut flipped = bytes.clone();
    flipped[at + 1] = b'X';
    let err = onnx::read(&flipped).unwrap_err().to_string();
    assert!(err.contains("metadata does not read"), "{err}");
    let missing = std::path::Path::new("no/such/policy.onnx");
    assert!(matches!(load(missing), Err(ExportError::Io { .. })));
}
