//! Criterion micro-benchmarks of the step functions: one `SlateEnv::step` (choice,
//! response, transition, resampled candidates, observation) of each simulator scenario,
//! with a reset whenever an episode ends.
//!
//! `cargo bench -p env --bench step`. The whole-program figures (a policy included, side
//! by side with RecSim) come from `cargo xtask bench`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use env::{Scenario, SlateEnv};

/// The four scenarios of `cargo xtask bench` under its names (StrongLTS 20/2, LTS
/// defaults 10/3, interest evolution 10/2, interest exploration 10/2 cut at its default
/// 100 steps), made by name, seed 0, candidates resampled every step.
fn scenarios() -> Vec<(&'static str, Box<dyn SlateEnv>)> {
    [
        ("strong-lts", 20, 2),
        ("lts", 10, 3),
        ("interest-evolution", 10, 2),
        ("interest-exploration", 10, 2),
    ]
    .into_iter()
    .map(|(name, num_candidates, slate_size)| {
        let mut scenario = Scenario::new(name);
        scenario.num_candidates = num_candidates;
        scenario.slate_size = slate_size;
        (name, scenario.build().unwrap())
    })
    .collect()
}

fn step(c: &mut Criterion) {
    let mut group = c.benchmark_group("step");
    for (name, mut env) in scenarios() {
        let layout = env.layout();
        let mut slate = vec![0; layout.slate_size];
        let mut t = 0usize;
        env.reset(None);
        group.bench_function(name, |b| {
            b.iter(|| {
                // Slates that walk through the candidates, so no position is favoured.
                t = t.wrapping_add(1);
                for (j, s) in slate.iter_mut().enumerate() {
                    *s = (t * (2 * j + 7)) % layout.num_candidates;
                }
                let transition = env.step(black_box(&slate)).unwrap();
                if transition.done() {
                    env.reset(None);
                }
                transition.reward
            })
        });
    }
    group.finish();
}

criterion_group!(benches, step);
criterion_main!(benches);
