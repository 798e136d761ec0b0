//! Parity with RecSim 0.2.4 (figures in `docs/reference.md`), through the CLI.
//!
//! Tolerances: RecSim's figures are 500-episode means, so each carries a standard error of
//! sd/√500 (StrongLTS: 11/√500 ≈ 0.49; LTS 10/3: ≈ 7.4–8.7). Ours use 2000 episodes
//! (StrongLTS ≈ 0.25; LTS ≈ 3.7–4.3). The difference of two such means has a standard error
//! of about 0.55 (StrongLTS) and 8.3–9.7 (LTS), so the tolerances of 1.5 and 25 are
//! 2.7 and ~2.6–3.0 standard errors: a faithful model passes with > 99% probability for a
//! random seed, and the seed here is fixed, so the test is deterministic.
//!
//! The interest environments (10 candidates, slate 2, random slates) are held to the same
//! standard. Interest evolution: return sd 11.4 and length sd 11.5 give a difference of
//! means a standard error of ≈ 0.57, so 1.5 is 2.6 of them; CTR and average clicked
//! quality vary between 500-episode runs with sd 0.0032 and 0.016 (measured over 40
//! seeds), so 0.01 and 0.05 are ≈ 2.8 standard errors of the difference. Interest
//! exploration: 500-episode click means vary with sd ≈ 0.28, so 0.5 is ≈ 1.6 standard
//! errors (the tightest bound here; seed 0 sits 0.01 from RecSim); CTR sd 0.0028 makes
//! 0.01 ≈ 3.2. Its average clicked quality varies with sd 0.008 only, yet RecSim's 1.72
//! sits 0.03 above this model's expectation (1.691, which an independent Monte Carlo of
//! the specification's formulas reproduces), so the 0.05 bound is what absorbs it.

use crate::util::rlrec;

fn mean(policy: &str, extra: &[&str]) -> serde_json::Value {
    rlrec([
        "baseline",
        "--policy",
        policy,
        "--episodes",
        "2000",
        "--json",
    ])
    .args(extra)
    .json()
}

fn assert_close(policy: &str, extra: &[&str], reference: f64, tolerance: f64, length: f64) {
    let s = mean(policy, extra);
    let m = s["mean"].as_f64().unwrap();
    assert!(
        (m - reference).abs() <= tolerance,
        "{policy} {extra:?}: mean {m:.2}, RecSim {reference} ± {tolerance}"
    );
    assert_eq!(s["episodes"].as_u64(), Some(2000));
    assert_eq!(s["mean_length"].as_f64(), Some(length));
    let ci = s["ci95"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() < m && m < ci[1].as_f64().unwrap());
}

#[test]
fn strong_lts_20_2_matches_recsim() {
    assert_close("random", &[], 1157.87, 1.5, 120.0);
    assert_close("greedy", &[], 1155.56, 1.5, 120.0);
    assert_close("kale", &[], 1090.71, 1.5, 120.0);
}

#[test]
fn lts_defaults_10_3_matches_recsim() {
    let lts = [
        "--env",
        "lts",
        "--num-candidates",
        "10",
        "--slate-size",
        "3",
    ];
    assert_close("random", &lts, 945.3, 25.0, 60.0);
    assert_close("greedy", &lts, 1111.1, 25.0, 60.0);
    assert_close("kale", &lts, 781.8, 25.0, 60.0);
}

#[test]
fn the_same_seed_gives_the_same_figures() {
    let a = mean("random", &["--seed", "5"]);
    let b = mean("random", &["--seed", "5"]);
    assert_eq!(a, b);
    assert_ne!(a, mean("random", &["--seed", "6"]));
}

/// The random-slate figures of an interest environment at 10 candidates, slate 2.
fn interest(env: &str) -> serde_json::Value {
    let s = mean(
        "random",
        &["--env", env, "--num-candidates", "10", "--slate-size", "2"],
    );
    assert_eq!(s["episodes"].as_u64(), Some(2000));
    s
}

fn assert_near(what: &str, value: &serde_json::Value, reference: f64, tolerance: f64) {
    let v = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is missing"));
    assert!(
        (v - reference).abs() <= tolerance,
        "{what}: {v:.4}, RecSim {reference} ± {tolerance}"
    );
}

#[test]
fn interest_evolution_10_2_matches_recsim() {
    let s = interest("interest-evolution");
    assert_near("mean return", &s["mean"], 153.6, 1.5);
    assert_near("mean episode length", &s["mean_length"], 84.2, 1.5);
    let m = &s["metrics"];
    assert_near("CTR", &m["CTR"], 0.463, 0.01);
    assert_near(
        "average clicked quality",
        &m["AverageQuality"],
        -0.615,
        0.05,
    );
    // Every step either clicks one cluster or none.
    let fractions: f64 = (0..20)
        .map(|k| {
            m[format!("cluster_watch_count_frac/cluster_{k}")]
                .as_f64()
                .unwrap()
        })
        .sum();
    let no_click = m["cluster_watch_count_frac/no_click"].as_f64().unwrap();
    assert!((fractions - m["CTR"].as_f64().unwrap()).abs() < 1e-9);
    assert!((fractions + no_click - 1.0).abs() < 1e-9);
}

#[test]
fn interest_exploration_10_2_matches_recsim() {
    let s = interest("interest-exploration");
    assert_eq!(
        s["mean_length"].as_f64(),
        Some(100.0),
        "the 100-step horizon"
    );
    assert_near("clicks per episode", &s["mean"], 22.9, 0.5);
    let m = &s["metrics"];
    assert_near("CTR", &m["CTR"], 0.228, 0.01);
    assert_near("average clicked quality", &m["AverageQuality"], 1.72, 0.05);
    assert_near(
        "no-click fraction",
        &m["cluster_watch_count_frac/no_click"],
        0.772,
        0.01,
    );
}
