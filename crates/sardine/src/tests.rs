//! The model's dynamics on hand-made catalogues, each against what `simulator.py` does.

use recsim_core::{stream, SimRng, StreamId, Streams};

use crate::{Catalogue, Preset, Sardine, SardineParams, User};

/// Three topics; item `i` is topic `i` alone. Relevance is a step at score 0.5 (slope
/// 1000): an item of the user's only topic is always clicked, any other never.
fn world(change: impl FnOnce(&mut SardineParams)) -> Sardine {
    let mut params = SardineParams {
        num_topics: 3.0,
        env_offset: 0.5,
        env_slope: 1000.0,
        click_prop: 1.0,
        ..Preset::all()[0].params
    };
    change(&mut params);
    let catalogue = Catalogue {
        embeddings: vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        num_topics: 3,
    };
    Sardine::new(params, catalogue, 1).unwrap()
}

fn user_of(world: &Sardine, interests: [f64; 3]) -> User {
    let mut user = world.new_user();
    user.embedding.copy_from_slice(&interests);
    user.current.copy_from_slice(&interests);
    user
}

/// Preset `index` over a catalogue generated from `seed`.
fn preset_world(index: usize, seed: u64) -> Sardine {
    let preset = Preset::all()[index];
    let catalogue = Catalogue::generate(preset.num_items, 10, seed);
    Sardine::new(preset.params, catalogue, preset.slate_size).unwrap()
}

fn rng() -> SimRng {
    stream(0, StreamId::Noise)
}

#[test]
fn a_click_pulls_interests_toward_the_scalar_mean_of_the_clicked_embedding() {
    // SARDINE's `np.mean` of a list of vectors is one number: item 2 = [0, 0, 1] has mean
    // 1/3, added to every topic; ω = 0.5: [0, 0, 1]/2 + 1/6 = [1/6, 1/6, 2/3], normalised.
    let w = world(|p| p.env_omega = 0.5);
    let mut user = user_of(&w, [0.0, 0.0, 1.0]);
    assert_eq!(w.step(&mut user, &[2], &mut rng()).unwrap(), 1);
    let norm = (2.0 / 36.0 + 4.0 / 9.0f64).sqrt();
    for (x, want) in user.embedding.iter().zip([1.0 / 6.0, 1.0 / 6.0, 2.0 / 3.0]) {
        assert!((x - want / norm).abs() < 1e-12, "{:?}", user.embedding);
    }
    // The corrected rule moves toward the embedding itself: it is already there.
    let w = world(|p| {
        p.env_omega = 0.5;
        p.vector_influence = 1.0;
    });
    let mut user = user_of(&w, [0.0, 0.0, 1.0]);
    w.step(&mut user, &[2], &mut rng()).unwrap();
    assert_eq!(user.embedding, [0.0, 0.0, 1.0]);
}

#[test]
fn boredom_zeroes_every_interest_then_returns_once_the_clicks_leave_the_window() {
    // Two clicks on topic 0 within a window of 3 steps bore the user (churn and return).
    let w = world(|p| {
        p.boredom_threshold = 2.0;
        p.boredom_moving_window = 3.0;
    });
    let mut user = user_of(&w, [1.0, 0.0, 0.0]);
    let mut rng = rng();
    let mut clicks = Vec::new();
    let mut interested = Vec::new();
    for _ in 0..7 {
        clicks.push(w.step(&mut user, &[0], &mut rng).unwrap());
        interested.push(user.current[0] > 0.0);
    }
    assert_eq!(clicks, [1, 1, 0, 0, 0, 1, 1]);
    // Bored after the second click; the clicks leave the window at steps 3 and 4; the
    // user is interested again after step 4, clicks twice more and is bored again.
    assert_eq!(interested, [true, false, false, false, true, true, false]);
    assert_eq!(
        user.embedding,
        [1.0, 0.0, 0.0],
        "boredom leaves the long-term interests"
    );
}

#[test]
fn temporary_loss_of_interest_zeroes_the_boring_topic_only() {
    let w = world(|p| {
        p.boredom_threshold = 2.0;
        p.boredom_type = 1.0;
    });
    let s = 0.5f64.sqrt();
    let mut user = user_of(&w, [s, s, 0.0]);
    let mut rng = rng();
    // Score s > 0.5 on either topic: both items are clicked until one topic bores.
    w.step(&mut user, &[0], &mut rng).unwrap();
    w.step(&mut user, &[0], &mut rng).unwrap();
    assert_eq!(user.current, [0.0, s, 0.0]);
    assert_eq!(w.step(&mut user, &[0], &mut rng).unwrap(), 0);
    assert_eq!(w.step(&mut user, &[1], &mut rng).unwrap(), 1);
}

#[test]
fn reset_draws_a_user_of_three_to_five_topics_and_makes_a_first_interaction() {
    let w = preset_world(3, 0);
    let mut user = w.new_user();
    let mut counts = [0; 11];
    for seed in 0..2000 {
        w.reset(&mut user, &mut Streams::new(seed));
        assert_eq!(
            user.t, 1,
            "the reset's random slate is the first interaction"
        );
        let norm: f64 = user.embedding.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-12);
        counts[user.embedding.iter().filter(|&&x| x > 0.0).count()] += 1;
    }
    assert_eq!(counts[3] + counts[4] + counts[5], 2000, "{counts:?}");
    // Each topic on with probability 0.4, drawn again unless 3 to 5 are: the binomial
    // (10, 0.4) conditioned on 3..=5 puts 0.2150/0.2508/0.2007 of 0.6665 on 3/4/5, so 4
    // topics come 37.6% of the time (sd 1.1% over 2000): within 5 sds.
    let four = f64::from(counts[4]) / 2000.0;
    assert!((four - 0.3763).abs() < 0.055, "{counts:?}");
}

#[test]
fn the_mixed_position_model_averages_the_propensities_of_both_orders() {
    let params = SardineParams {
        click_model: 1.0,
        ..Preset::all()[3].params
    };
    let w = Sardine::new(params, Catalogue::generate(20, 10, 0), 10).unwrap();
    let mut user = w.new_user();
    w.reset(&mut user, &mut Streams::new(0));
    // Relevance is the same for a slate of one item repeated, so clicks per position
    // follow the propensities: symmetric, 0.5·(1 + 0.85⁹) at either end.
    let mut by_position = [0u32; 10];
    let mut rng = rng();
    let mut relevance = vec![0.0; 20];
    w.relevances(&user, &mut relevance);
    let best = (0..20)
        .max_by(|&a, &b| relevance[a].total_cmp(&relevance[b]))
        .unwrap();
    for _ in 0..4000 {
        let mut u = user.clone();
        w.step(&mut u, &[best; 10], &mut rng).unwrap();
        for (n, &c) in by_position.iter_mut().zip(&u.clicks) {
            *n += u32::from(c);
        }
    }
    let (first, last) = (by_position[0], by_position[9]);
    // Equal expectations; 4000 Bernoulli draws of p ≤ 0.62 differ by under 4.5 sds (≈ 150).
    assert!(first.abs_diff(last) < 150, "{by_position:?}");
    assert!(by_position[4] < first, "{by_position:?}");
}

#[test]
fn the_oracles_scores_rank_the_items_as_their_relevances_do() {
    let w = preset_world(4, 3);
    let mut user = w.new_user();
    let (mut relevance, mut score) = (vec![0.0; 1000], vec![0.0; 1000]);
    for seed in 0..50 {
        w.reset(&mut user, &mut Streams::new(seed));
        w.relevances(&user, &mut relevance);
        w.oracle_scores(&user, &mut score);
        for i in 0..999 {
            // Never in the opposite order; equal relevances may have any scores.
            let (a, b) = (i, i + 1);
            if relevance[a] != relevance[b] {
                assert_eq!(relevance[a] < relevance[b], score[a] < score[b]);
            }
        }
    }
}

#[test]
fn a_restored_user_the_model_could_not_have_reached_is_refused() {
    let w = world(|p| p.boredom_threshold = 2.0);
    let mut user = user_of(&w, [1.0, 0.0, 0.0]);
    w.step(&mut user, &[0], &mut rng()).unwrap();
    assert_eq!(w.check_user(&mut user.clone()), Ok(()));
    type Break = fn(&mut User);
    let broken: [(&str, Break); 5] = [
        ("timers", |u| {
            u.bored[1] = true;
            u.bored_timeout[1] = 0;
        }),
        ("click counts", |u| u.hist[2] = 5),
        ("not finite", |u| u.current[0] = f64::NAN),
        ("items past", |u| u.slate[0] = 3),
        ("does not fit", |u| {
            u.hist.pop();
        }),
    ];
    for (why, break_it) in broken {
        let mut bad = user.clone();
        break_it(&mut bad);
        let e = w.check_user(&mut bad).unwrap_err();
        assert!(e.contains(why), "{e}");
    }
}
