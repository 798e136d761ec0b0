//! The simulators' step functions must not allocate: a counting allocator watches them.

use env::{Autoreset, Execution, Scenario, SlateEnv, SlotPolicy, VectorEnv, Wrappers};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

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

/// The registered worlds, each cut at its default horizon as the registry makes it.
const WORLDS: [&str; 4] = [
    "strong-lts",
    "lts",
    "interest-evolution",
    "interest-exploration",
];

/// The plain environment, the user-features view with the time left, and the bandit view
/// with discrete actions.
const VARIANTS: [(&str, Wrappers); 3] = [
    (
        "plain",
        Wrappers {
            user_observation: false,
            bandit_observation: false,
            discrete_action: false,
            time_aware: false,
        },
    ),
    (
        "user+time",
        Wrappers {
            user_observation: true,
            bandit_observation: false,
            discrete_action: false,
            time_aware: true,
        },
    ),
    (
        "bandit+discrete",
        Wrappers {
            user_observation: false,
            bandit_observation: true,
            discrete_action: true,
            time_aware: false,
        },
    ),
];

/// `world` with `n` candidates, slates of 2 and `wrappers`, made by name.
fn made(world: &str, n: usize, wrappers: Wrappers) -> Box<dyn SlateEnv> {
    let mut scenario = Scenario::new(world);
    scenario.num_candidates = n;
    scenario.wrappers = wrappers;
    scenario.build().unwrap()
}

#[test]
fn reset_and_step_do_not_allocate() {
    for world in WORLDS {
        for (variant, wrappers) in VARIANTS {
            let mut env = made(world, 20, wrappers);
            assert_eq!(
                steps_allocate(env.as_mut()),
                0,
                "{world} ({variant}) allocated"
            );
        }
    }
}

#[test]
fn sardine_does_not_allocate_either() {
    for (world, k) in [
        ("sardine-slate-top-k-bored-inf", 10),
        ("sardine-single-item-bored-inf", 1),
    ] {
        for ideal in [false, true] {
            let mut scenario = Scenario::new(world);
            scenario.wrappers.user_observation = ideal;
            let mut env = scenario.build().unwrap();
            env.reset(None);
            let mut flat = vec![0.0; env::flat::env_flat_dim(env.as_ref())];
            let mut slate = vec![0; k];
            let mut scores = vec![0.0; 1000];
            let before = allocations();
            for t in 0..5_000usize {
                for (j, s) in slate.iter_mut().enumerate() {
                    *s = (t * 7 + j * 31) % 1000;
                }
                let t = env.step(&slate).unwrap();
                env.write_flat(&mut flat);
                assert!(env.oracle_scores(&mut scores));
                if t.done() {
                    env.reset(None);
                }
            }
            assert_eq!(allocations() - before, 0, "{world} (ideal: {ideal})");
        }
    }
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
    for world in WORLDS {
        for (variant, wrappers) in VARIANTS {
            for autoreset in [Autoreset::SameStep, Autoreset::NextStep] {
                assert_eq!(
                    vector_allocates(&|| made(world, 10, wrappers), autoreset),
                    0,
                    "{world} ({variant}), {autoreset:?} allocated"
                );
            }
        }
    }
}
