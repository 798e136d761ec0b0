//! The simulators' step functions must not allocate: a counting allocator watches them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::num::NonZeroUsize;

use env::{
    BanditObservation, DiscreteAction, Env, ModelSpaces, RecSimEnv, RecSimObs, Simulator, SlateEnv,
    TimeLimit, UserObservation,
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

fn steps_allocate(env: &mut dyn SlateEnv) -> usize {
    env.start(None);
    let before = allocations();
    for t in 0..5_000usize {
        let t = env.recommend(&[t % 20, (t / 3) % 20]).unwrap();
        if t.done() {
            env.start(None);
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
