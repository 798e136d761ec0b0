//! SARDINE's worlds in the gym layer: presets, spaces and flat observations, resuming,
//! determinism, and the refusals.

use env::flat::{env_flat_dim, flat_bounds, flatten_observation};
use env::{EnvError, Scenario, SlateEnv, Space, TimeFeature, Value};
use recsim_core::StepError;
use sardine::Preset;

fn history(mut s: Scenario, decay: f64) -> Scenario {
    s.params.insert("click_history".into(), decay);
    s
}

fn scenario(name: &str, user_observation: bool) -> Scenario {
    let mut s = Scenario::new(name);
    s.wrappers.user_observation = user_observation;
    s
}

/// SARDINE's observation, its ideal state, both with the time left, the bandit's item
/// matrix, and SARDINE's observation with the click history.
fn views(name: &str) -> [(&'static str, Scenario); 6] {
    let mut bandit = scenario(name, false);
    bandit.wrappers.bandit_observation = true;
    let timed = |mut s: Scenario| {
        s.wrappers.time_aware = true;
        s
    };
    [
        ("sardine", scenario(name, false)),
        ("ideal", scenario(name, true)),
        ("sardine+time", timed(scenario(name, false))),
        ("ideal+time", timed(scenario(name, true))),
        ("bandit", bandit),
        ("sardine+history", history(scenario(name, false), 0.5)),
    ]
}

#[test]
fn every_preset_starts_from_sardines_sizes_and_episode_length() {
    for preset in Preset::all() {
        let s = Scenario::new(preset.name);
        assert_eq!(
            (s.num_candidates, s.slate_size, s.resample_documents),
            (preset.num_items, preset.slate_size, false),
            "{}",
            preset.name
        );
        let mut env = s.build().unwrap();
        env.reset(Some(1));
        let k = preset.slate_size;
        let mut steps = 0;
        loop {
            let slate: Vec<usize> = (0..k).map(|i| (steps + i) % preset.num_items).collect();
            let t = env.step(&slate).unwrap();
            steps += 1;
            assert!(t.reward >= 0.0 && t.reward <= k as f64 && !t.truncated);
            if t.terminated {
                break;
            }
        }
        assert_eq!(steps, preset.params.horizon(), "{}", preset.name);
        assert!(matches!(
            env.step(&vec![0; k]),
            Err(EnvError::Step(StepError::EpisodeOver))
        ));
    }
}

#[test]
fn the_fast_flat_observation_is_gymnasiums_flatten_of_sardines_spaces() {
    for name in [
        "sardine-slate-top-k-bored-inf",
        "sardine-slate-rerank-bored",
    ] {
        for (view, s) in views(name) {
            let mut env = s.build().unwrap();
            let (space, action) = env.spaces();
            let l = env.layout();
            assert_eq!(
                action,
                Space::MultiDiscrete(vec![l.num_candidates as u64; l.slate_size])
            );
            let user_dim = match view {
                "sardine" => 10,
                "ideal" => 30,
                "sardine+time" => 11,
                "ideal+time" => 31,
                "sardine+history" => 20,
                _ => 0,
            };
            assert_eq!(l.user_dim, user_dim);
            env.reset(Some(3));
            let steps = s.resolve().unwrap().time_aware_steps();
            let time = view.ends_with("time").then(|| TimeFeature {
                index: user_dim - 1,
                steps: steps.unwrap(),
            });
            assert_eq!(
                l.time, time,
                "{name} {view}: the layout names the time left"
            );
            if let Some(t) = time {
                assert_eq!(env.user()[t.index], 1.0, "the whole episode to run");
            }
            assert_eq!((l.doc_dim, env.items().len()), (10, l.num_candidates * 10));
            let dim = env_flat_dim(env.as_ref());
            let (low, high) = flat_bounds(&space);
            assert_eq!((low.len(), high.len()), (dim, dim));
            let mut flat = vec![f32::NAN; dim];
            env.reset(Some(3));
            for step in 0..30 {
                env.write_flat(&mut flat);
                let value = env.observation_value();
                assert!(space.contains(&value), "{name} {view} step {step}");
                assert_eq!(flat, flatten_observation(&space, &value));
                let slate: Vec<usize> = (0..l.slate_size)
                    .map(|i| (7 * step + i) % l.num_candidates)
                    .collect();
                if env.step(&slate).unwrap().done() {
                    env.reset(None);
                }
            }
        }
    }
}

#[test]
fn a_saved_state_resumes_the_same_episode_and_a_foreign_one_is_refused() {
    let s = scenario("sardine-slate-top-k-bored-inf", true);
    let mut env = s.build().unwrap();
    env.reset(Some(5));
    let slate: Vec<usize> = (0..10).collect();
    for _ in 0..20 {
        env.step(&slate).unwrap();
    }
    let state = env.save_state();
    let run = |env: &mut Box<dyn SlateEnv>| -> Vec<(u64, Vec<f32>)> {
        (0..30)
            .map(|t| {
                let slate: Vec<usize> = (0..10).map(|i| (t * 31 + i * 97) % 1000).collect();
                let r = env.step(&slate).unwrap().reward;
                (r.to_bits(), env.user().to_vec())
            })
            .collect()
    };
    let expected = run(&mut env);
    let mut other = s.build().unwrap();
    other.load_state(&state).unwrap();
    assert_eq!(run(&mut other), expected, "bit for bit");
    // A state of another world (slates of 1) or of RecSim changes nothing.
    let mut single = Scenario::new("sardine-single-item-static").build().unwrap();
    single.reset(Some(1));
    assert!(single.load_state(&state).is_err());
    let lts = Scenario::new("strong-lts").build().unwrap().save_state();
    let before = single.user().to_vec();
    assert!(other.load_state(&lts).is_err());
    assert_eq!(single.user(), before);
}

#[test]
fn the_same_seed_gives_the_same_episode() {
    let play = |seed| {
        let mut env = scenario("sardine-slate-top-k-uncertain", false)
            .build()
            .unwrap();
        env.reset(Some(seed));
        let mut out = Vec::new();
        for t in 0..100 {
            let slate: Vec<usize> = (0..10).map(|i| (t * 13 + i * 101) % 1000).collect();
            out.push(env.step(&slate).unwrap().reward);
            out.extend(env.user().iter().map(|&x| f64::from(x)));
        }
        out
    };
    assert_eq!(play(9), play(9));
    assert_ne!(play(9), play(10));
}

#[test]
fn bad_slates_options_and_parameters_are_refused_with_the_reason() {
    let mut env = Scenario::new("sardine-slate-top-k-bored").build().unwrap();
    let slate: Vec<usize> = (0..10).collect();
    assert!(matches!(env.step(&slate), Err(EnvError::NotReset)));
    env.reset(Some(0));
    let before = env.save_state();
    for (bad, why) in [
        (&slate[..9], "shorter than slate_size 10"),
        (&[0; 11][..], "longer than slate_size 10"),
        (
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 1000][..],
            "position 1000 is out of range",
        ),
    ] {
        let e = env.step(bad).unwrap_err().to_string();
        assert!(e.contains(why), "{e}");
    }
    assert_eq!(env.save_state(), before, "a refused slate changes nothing");
    // SARDINE's MultiDiscrete action allows repeats.
    env.step(&[3; 10]).unwrap();

    let refused = |change: &dyn Fn(&mut Scenario), why: &str| {
        let mut s = Scenario::new("sardine-slate-top-k-bored");
        change(&mut s);
        let e = env::error_chain(&s.build().err().expect("refused"));
        assert!(e.contains(why), "{e}");
    };
    refused(
        &|s| s.resample_documents = true,
        "resample_documents to false",
    );
    refused(
        &|s| s.num_candidates = 5,
        "slate_size (10) must not exceed num_candidates (5)",
    );
    refused(
        &|s| s.wrappers.discrete_action = true,
        "the discrete action space) = 1000000000000000000000000000000 is too large",
    );
    for (name, value, why) in [
        ("num_topics", 2.0, "`num_topics` = 2 is invalid"),
        ("env_alpha", 1.5, "`env_alpha` = 1.5 is invalid"),
        ("boredom_threshold", 2.5, "whole number"),
        ("rel_threshold", f64::NAN, "`rel_threshold` = NaN"),
        ("diversity_penalty", 0.5, "`diversity_penalty` = 0.5"),
        (
            "click_history",
            1.5,
            "must be -1 (off) or a decay in [0, 1]",
        ),
        ("boredom", 1.0, "unknown parameter `boredom` for SARDINE"),
    ] {
        refused(
            &|s| {
                s.params.insert(name.into(), value);
            },
            why,
        );
    }
}

#[test]
fn switching_to_a_sardine_world_takes_its_candidate_set() {
    let mut s = Scenario::new("strong-lts");
    s.seed = 4;
    s.switch_world("sardine-single-item-static");
    assert_eq!(
        (s.num_candidates, s.slate_size, s.resample_documents, s.seed),
        (1000, 1, false, 4)
    );
    s.switch_world("interest-evolution");
    assert_eq!(
        (s.num_candidates, s.slate_size, s.resample_documents),
        (20, 2, true)
    );
    // Between RecSim's worlds a chosen candidate set stays.
    s.num_candidates = 10;
    s.switch_world("lts");
    assert_eq!(s.num_candidates, 10);
}

/// A `.npy` file of `rows × 3` float64 items, each topic `i % 3` alone.
fn npy_file(rows: usize) -> std::path::PathBuf {
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, 3), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for i in 0..rows * 3 {
        let x: f64 = if i % 3 == (i / 3) % 3 { 1.0 } else { 0.0 };
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let path =
        std::env::temp_dir().join(format!("rlrec-sardine-{}-{rows}.npy", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn item_embeddings_come_from_the_file_the_scenario_names() {
    let path = npy_file(6);
    let mut s = Scenario::new("sardine-slate-rerank-static");
    s.item_embeddings = Some(path.clone());
    s.params.insert("num_topics".into(), 3.0);
    s.num_candidates = 6;
    s.slate_size = 2;
    let env = s.build().unwrap();
    assert_eq!(&env.items()[..6], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    // The file's rows are the catalogue: another candidate count is refused, and so is
    // another topic count, and an item file for RecSim's worlds.
    s.num_candidates = 7;
    let e = env::error_chain(&s.build().err().unwrap());
    assert!(e.contains("set num_candidates to 6"), "{e}");
    s.num_candidates = 6;
    s.params.clear();
    let e = env::error_chain(&s.build().err().unwrap());
    assert!(
        e.contains("the item embeddings have 3 topics, but num_topics = 10"),
        "{e}"
    );
    let mut lts = Scenario::new("strong-lts");
    lts.item_embeddings = Some(path.clone());
    let e = env::error_chain(&lts.build().err().unwrap());
    assert!(
        e.contains("only SARDINE's worlds read item embeddings"),
        "{e}"
    );
    std::fs::remove_file(path).unwrap();
}

/// The click history is the clicked items' embeddings, averaged with weights that decay
/// by `λ` a step, from the reset's slate on: checked against a sum kept here from what
/// the observation shows (its `slate` and `clicks`), and through a saved state.
#[test]
fn the_click_history_averages_what_the_observation_showed() {
    let decay = 0.5;
    let s = history(scenario("sardine-slate-top-k-bored", false), decay);
    let mut env = s.build().unwrap();
    let t = 10;
    let (mut sums, mut weight) = (vec![0.0f64; t], 0.0f64);
    let mut remember = |env: &dyn SlateEnv, keep: f64| {
        let Value::Dict(parts) = env.observation_value() else {
            panic!("a dict")
        };
        let get = |key: &str| parts.iter().find(|(k, _)| k == key).unwrap().1.clone();
        let (Value::Ints(slate), Value::Ints(clicks)) = (get("slate"), get("clicks")) else {
            panic!("slate and clicks")
        };
        sums.iter_mut().for_each(|x| *x *= keep);
        weight *= keep;
        for (&item, _) in slate.iter().zip(&clicks).filter(|(_, &c)| c == 1) {
            for (x, &e) in sums.iter_mut().zip(&env.items()[item as usize * t..][..t]) {
                *x += f64::from(e);
            }
            weight += 1.0;
        }
        let Value::Array(shown) = get("history") else {
            panic!("the history")
        };
        for (x, &y) in sums.iter().zip(&shown) {
            let expected = if weight > 0.0 { x / weight } else { 0.0 };
            assert!((expected - y).abs() < 1e-6, "{expected} vs {y}");
        }
        assert_eq!(
            &env.user()[t..],
            &shown.iter().map(|&x| x as f32).collect::<Vec<_>>()[..]
        );
        weight
    };
    env.reset(Some(2));
    remember(env.as_ref(), 0.0);
    let mut clicked = 0.0f64;
    for step in 0..40 {
        // The oracle's favourites are clicked: slates of the items this user likes.
        let mut scores = vec![0.0; 1000];
        assert!(env.unwrapped().oracle_scores(&mut scores));
        let mut order: Vec<usize> = (0..1000).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let slate: Vec<usize> = order[step % 3..step % 3 + 10].to_vec();
        env.step(&slate).unwrap();
        clicked = clicked.max(remember(env.as_ref(), decay));
    }
    assert!(clicked > 0.0, "some clicks were remembered");
    // A saved state carries the history; one saved without it is refused.
    let state = env.save_state();
    let mut other = s.build().unwrap();
    other.load_state(&state).unwrap();
    assert_eq!(other.user(), env.user());
    let mut plain = scenario("sardine-slate-top-k-bored", false)
        .build()
        .unwrap();
    plain.reset(Some(2));
    assert!(plain.load_state(&state).is_err());
    assert!(other.load_state(&plain.save_state()).is_err());
    assert_eq!(other.user(), env.user(), "a refused state changes nothing");
}
