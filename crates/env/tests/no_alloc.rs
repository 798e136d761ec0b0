//! The simulators' step functions must not allocate: a counting allocator watches them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::num::NonZeroUsize;

use env::{
    Autoreset, BanditObservation, DiscreteAction, Env, Execution, ModelSpaces, RecSimEnv,
    RecSimObs, Simulator, SlateEnv, SlotPolicy, TimeLimit, UserObservation, VectorEnv,
};
use recsim_core::{
    EnvConfig, IeParams, IevParams, InterestEvolution, InterestExploration, LongTermSatisfaction,
    LtsParams, Model,
};

struct Counting;

thread_local! {
    // Per thread: the test harness's own threads may allocate while a test measures.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    ALLOCATIONS.with(|n| n.set(n.get() + 1));
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Steps and flat observations ([`SlateEnv::write_flat`]).
fn steps_allocate(env: &mut dyn SlateEnv) -> usize {
    env.reset(None);
    let mut flat = vec![0.0; env::flat::env_flat_dim(env)];
    let before = allocations();
    for t in 0..5_000usize {
        let t = env.step(&[t % 20, (t / 3) % 20]).unwrap();
        env.write_flat(&mut flat);
        if t.done() {
            env.reset(None);
        }
    }
    allocations() - before
}

/// The plain environment, the user-features view and the bandit view with discrete
/// actions, each built on `base`.
fn variants<M, E>(base: impl Fn() -> E) -> Vec<(&'static str, Box<dyn SlateEnv>)>
where
    M: ModelSpaces,
    E: Env<Obs = RecSimObs<M>, Act = [usize]> + Simulator + Send + 'static,
{
    vec![
        ("plain", Box::new(base())),
        ("user", Box::new(UserObservation::new(base()))),
        (
            "bandit+discrete",
            Box::new(DiscreteAction::new(BanditObservation::new(base()))),
        ),
    ]
}

fn assert_no_allocations<M: Model>(mut envs: Vec<(&str, Box<dyn SlateEnv>)>) {
    for (name, env) in envs.iter_mut() {
        assert_eq!(
            steps_allocate(env.as_mut()),
            0,
            "{name} ({}) allocated",
            M::NAME
        );
    }
}

#[test]
fn reset_and_step_do_not_allocate() {
    let config = EnvConfig::default();
    let lts = LongTermSatisfaction::from_params(LtsParams::strong()).unwrap();
    assert_no_allocations::<LongTermSatisfaction>(variants(|| {
        RecSimEnv::new(lts.clone(), config).unwrap()
    }));
    let iev = InterestEvolution::from_params(IevParams::default()).unwrap();
    assert_no_allocations::<InterestEvolution>(variants(|| {
        RecSimEnv::new(iev.clone(), config).unwrap()
    }));
    let ie = InterestExploration::from_params(IeParams::default()).unwrap();
    let horizon = NonZeroUsize::new(100).unwrap();
    assert_no_allocations::<InterestExploration>(variants(|| {
        TimeLimit::new(RecSimEnv::new(ie.clone(), config).unwrap(), horizon)
    }));
}

/// Slates that walk through the candidates.
struct Walk {
    t: usize,
}

impl SlotPolicy for Walk {
    fn act(&mut self, env: &dyn SlateEnv, slate: &mut [usize]) {
        let n = env.layout().num_candidates;
        self.t += 1;
        for (j, s) in slate.iter_mut().enumerate() {
            *s = (self.t + 3 * j) % n;
        }
    }
}

/// Builds one environment of a vector.
type Make<'a> = Box<dyn Fn() -> Box<dyn SlateEnv> + 'a>;

/// Reset, steps with given slates (into the batch buffers and flat), steps with per-slot policies and rollouts of a
/// sequential vector of 8 environments from `make`.
fn vector_allocates(make: &dyn Fn() -> Box<dyn SlateEnv>, autoreset: Autoreset) -> usize {
    let mut v = VectorEnv::new((0..8).map(|_| make()).collect(), Execution::Sequential)
        .unwrap()
        .with_autoreset(autoreset);
    let mut policies: Vec<Walk> = (0..8).map(|t| Walk { t }).collect();
    let slates: Vec<usize> = (0..8 * v.layout().slate_size).map(|i| i % 10).collect();
    let mut ends = 0;
    let mut flat = vec![0.0; 8 * v.flat_dim()];
    let before = allocations();
    v.reset(7);
    let reset = allocations() - before;
    // Rollouts no longer than the first one reuse its transition buffer.
    v.rollout(&mut policies, 16).unwrap();
    let before = allocations();
    for i in 0..1_000 {
        v.step(&slates).unwrap();
        ends += v.transitions().iter().filter(|t| t.done()).count();
        v.step_flat(&slates, &mut flat).unwrap();
        ends += v.transitions().iter().filter(|t| t.done()).count();
        v.step_with(&mut policies).unwrap();
        ends += v.transitions().iter().filter(|t| t.done()).count();
        v.rollout(&mut policies, 1 + i % 16).unwrap();
    }
    let allocated = allocations() - before;
    assert!(ends > 16, "episodes ended and restarted");
    reset + allocated
}

#[test]
fn the_sequential_vector_env_does_not_allocate() {
    let config = EnvConfig {
        num_candidates: 10,
        ..EnvConfig::default()
    };
    let lts = LongTermSatisfaction::from_params(LtsParams::strong()).unwrap();
    let iev = InterestEvolution::from_params(IevParams::default()).unwrap();
    let ie = InterestExploration::from_params(IeParams::default()).unwrap();
    let horizon = NonZeroUsize::new(100).unwrap();
    let cases: [(&str, Make); 3] = [
        (
            "long-term satisfaction",
            Box::new(|| Box::new(RecSimEnv::new(lts.clone(), config).unwrap())),
        ),
        (
            "interest evolution, user features",
            Box::new(|| {
                Box::new(UserObservation::new(
                    RecSimEnv::new(iev.clone(), config).unwrap(),
                ))
            }),
        ),
        (
            "interest exploration, bandit view, discrete actions, time limit",
            Box::new(|| {
                let env = TimeLimit::new(RecSimEnv::new(ie.clone(), config).unwrap(), horizon);
                Box::new(DiscreteAction::new(BanditObservation::new(env)))
            }),
        ),
    ];
    for (name, make) in cases {
        for autoreset in [Autoreset::SameStep, Autoreset::NextStep] {
            assert_eq!(
                vector_allocates(&make, autoreset),
                0,
                "{name}, {autoreset:?} allocated"
            );
        }
    }
}
