//! Criterion micro-benchmarks of the step functions: one `SlateEnv::recommend` (choice,
//! response, transition, resampled candidates, observation) of each simulator scenario,
//! with a reset whenever an episode ends.
//!
//! `cargo bench -p env --bench step`. The whole-program figures (a policy included, side
//! by side with RecSim) come from `cargo xtask bench`.

use std::hint::black_box;
use std::num::NonZeroUsize;

use criterion::{criterion_group, criterion_main, Criterion};
use env::{RecSimEnv, SlateEnv, TimeLimit};
use recsim_core::{
    EnvConfig, IeParams, IevParams, InterestEvolution, InterestExploration, LongTermSatisfaction,
    LtsParams, Model,
};

/// The four scenarios of `cargo xtask bench` under its names (StrongLTS 20/2, LTS
/// defaults 10/3, interest evolution 10/2, interest exploration 10/2 cut at 100 steps),
/// seed 0, candidates resampled every step.
fn scenarios() -> Vec<(&'static str, Box<dyn SlateEnv>)> {
    let config = |num_candidates, slate_size| EnvConfig {
        num_candidates,
        slate_size,
        ..EnvConfig::default()
    };
    let strong = LongTermSatisfaction::from_params(LtsParams::strong()).unwrap();
    let lts = LongTermSatisfaction::from_params(LtsParams::default()).unwrap();
    let iev = InterestEvolution::from_params(IevParams::default()).unwrap();
    let ie = InterestExploration::from_params(IeParams::default()).unwrap();
    let horizon = NonZeroUsize::new(100).unwrap();
    vec![
        (
            "strong-lts",
            Box::new(RecSimEnv::new(strong, config(20, 2)).unwrap()),
        ),
        ("lts", Box::new(RecSimEnv::new(lts, config(10, 3)).unwrap())),
        (
            "interest-evolution",
            Box::new(RecSimEnv::new(iev, config(10, 2)).unwrap()),
        ),
        (
            "interest-exploration",
            Box::new(TimeLimit::new(
                RecSimEnv::new(ie, config(10, 2)).unwrap(),
                horizon,
            )),
        ),
    ]
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
