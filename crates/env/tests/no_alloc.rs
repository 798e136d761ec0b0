//! The simulators' step functions must not allocate: a counting allocator watches them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use env::{BanditObservation, DiscreteAction, RecSimEnv, SlateEnv, UserObservation};
use recsim_core::{EnvConfig, LongTermSatisfaction, LtsParams, Model};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn steps_allocate(env: &mut dyn SlateEnv) -> usize {
    env.start(None);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for t in 0..5_000usize {
        let t = env.recommend(&[t % 20, (t / 3) % 20]).unwrap();
        if t.done() {
            env.start(None);
        }
    }
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn reset_and_step_do_not_allocate() {
    let model = LongTermSatisfaction::from_params(LtsParams::strong()).unwrap();
    let config = EnvConfig::default();
    let base = || RecSimEnv::new(model.clone(), config).unwrap();
    let mut envs: Vec<(&str, Box<dyn SlateEnv>)> = vec![
        ("plain", Box::new(base())),
        ("user", Box::new(UserObservation::new(base()))),
        (
            "bandit+discrete",
            Box::new(DiscreteAction::new(BanditObservation::new(base()))),
        ),
    ];
    for (name, env) in envs.iter_mut() {
        assert_eq!(
            steps_allocate(env.as_mut()),
            0,
            "{name} ({}) allocated",
            LongTermSatisfaction::NAME
        );
    }
}
