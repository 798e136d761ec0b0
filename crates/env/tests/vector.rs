//! The vector environment: lockstep stepping, same-step autoreset, per-slot seeds, and the
//! same results whatever the execution.

mod common;

use std::num::NonZeroUsize;

use env::{
    slot_seed, BanditObservation, DiscreteAction, Execution, RecSimEnv, SlateEnv, SlotPolicy,
    Transition, VectorEnv, VectorError,
};
use rand::Rng;
use recsim_core::{
    stream, EnvConfig, LongTermSatisfaction, LtsParams, Model, SimRng, StepError, StreamId,
};

fn lts(config: EnvConfig) -> Box<dyn SlateEnv> {
    let model = LongTermSatisfaction::from_params(LtsParams::strong()).unwrap();
    Box::new(RecSimEnv::new(model, config).unwrap())
}

/// Interest evolution: episodes of different lengths, so slots end at different steps.
/// (The vector reseeds every slot, so the construction seed does not matter.)
fn iev() -> Box<dyn SlateEnv> {
    Box::new(common::iev(10, 2))
}

/// Interest exploration cut at 7 steps (truncation), with the bandit view.
fn ie_bandit() -> Box<dyn SlateEnv> {
    Box::new(DiscreteAction::new(BanditObservation::new(common::ie(
        10, 2, 7,
    ))))
}

/// Uniform slates from the slot's own stream; counts the episodes it was told about.
struct RandomSlates {
    rng: SimRng,
    episodes: usize,
}

impl RandomSlates {
    fn for_slots(b: usize) -> Vec<Self> {
        (0..b)
            .map(|i| Self {
                rng: stream(slot_seed(99, i), StreamId::Baseline),
                episodes: 0,
            })
            .collect()
    }
}

impl SlotPolicy for RandomSlates {
    fn episode_started(&mut self) {
        self.episodes += 1;
    }
    fn act(&mut self, env: &dyn SlateEnv, slate: &mut [usize]) {
        let n = env.layout().num_candidates;
        slate
            .iter_mut()
            .for_each(|s| *s = self.rng.random_range(0..n));
    }
}

fn vector(make: fn() -> Box<dyn SlateEnv>, b: usize, execution: Execution) -> VectorEnv {
    VectorEnv::new((0..b).map(|_| make()).collect(), execution).unwrap()
}

/// Everything a run shows: every step's transitions, slates and batch observations.
fn record(mut v: VectorEnv, steps: usize) -> (Vec<Transition>, Vec<usize>, Vec<f32>, Vec<usize>) {
    let mut policies = RandomSlates::for_slots(v.num_envs());
    v.reset(5);
    let (mut transitions, mut slates, mut obs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..steps {
        v.step_with(&mut policies).unwrap();
        transitions.extend_from_slice(v.transitions());
        slates.extend_from_slice(v.slates());
        obs.extend_from_slice(v.users());
        obs.extend_from_slice(v.items());
    }
    let episodes = policies.iter().map(|p| p.episodes).collect();
    (transitions, slates, obs, episodes)
}

fn threads(n: usize) -> Execution {
    Execution::Parallel(NonZeroUsize::new(n).unwrap())
}

#[test]
fn every_execution_gives_the_same_run_bit_for_bit() {
    for make in [iev as fn() -> Box<dyn SlateEnv>, ie_bandit] {
        let sequential = record(vector(make, 7, Execution::Sequential), 300);
        for execution in [threads(1), threads(2), threads(3)] {
            assert!(
                record(vector(make, 7, execution), 300) == sequential,
                "{execution:?} differs from the sequential run"
            );
        }
        assert!(
            sequential.3.iter().all(|&e| e > 1),
            "every slot ran several episodes"
        );
    }
}

#[test]
fn each_slot_is_the_plain_environment_with_its_slot_seed() {
    let b = 4;
    let mut v = vector(iev, b, threads(2));
    let mut policies = RandomSlates::for_slots(b);
    v.reset(5);
    let mut plain: Vec<_> = (0..b)
        .map(|i| {
            let mut e = iev();
            e.reset(Some(slot_seed(5, i)));
            e
        })
        .collect();
    let mut twins = RandomSlates::for_slots(b);
    let (ud, id) = (
        v.layout().user_dim,
        v.layout().num_candidates * v.layout().doc_dim,
    );
    let k = v.layout().slate_size;
    let mut slate = vec![0; k];
    let mut ends = 0;
    for _ in 0..400 {
        v.step_with(&mut policies).unwrap();
        for (i, e) in plain.iter_mut().enumerate() {
            twins[i].act(e.as_ref(), &mut slate);
            assert_eq!(slate, v.slates()[i * k..(i + 1) * k]);
            let t = e.step(&slate).unwrap();
            assert_eq!(t, v.transitions()[i]);
            if t.done() {
                // Same-step autoreset: the batch already shows the next episode.
                e.reset(None);
                ends += 1;
            }
            assert_eq!(e.user(), &v.users()[i * ud..(i + 1) * ud]);
            assert_eq!(e.items(), &v.items()[i * id..(i + 1) * id]);
            assert_eq!(Some(e.user()), v.env(i).map(|s| s.user()));
        }
    }
    assert!(ends >= b, "episodes ended and restarted");
}

#[test]
fn one_slot_is_the_plain_environment_with_the_seed() {
    let config = EnvConfig {
        seed: 11,
        ..EnvConfig::default()
    };
    let mut v = VectorEnv::new(vec![lts(config)], Execution::Sequential).unwrap();
    v.reset(11);
    let mut plain = lts(config);
    plain.reset(None);
    for t in 0..300 {
        let slate = [t % 20, (t * 7) % 20];
        v.step(&slate).unwrap();
        let expected = plain.step(&slate).unwrap();
        if expected.done() {
            plain.reset(None);
        }
        assert_eq!(v.transitions(), [expected]);
        assert_eq!(v.items(), plain.items());
    }
    assert_eq!(slot_seed(11, 0), 11);
}

#[test]
fn slot_seeds_differ_between_slots_and_nearby_seeds() {
    let mut seeds: Vec<u64> = (0..4)
        .flat_map(|s| (0..64).map(move |i| slot_seed(s, i)))
        .collect();
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(seeds.len(), 4 * 64);
}

#[test]
fn bad_input_is_an_error_and_changes_nothing() {
    let mut v = vector(iev, 3, threads(2));
    let slates = [0; 6];
    assert!(matches!(v.step(&slates), Err(VectorError::NotReset)));
    v.reset(1);
    let before = (v.items().to_vec(), v.users().to_vec());
    assert!(matches!(
        v.step(&[0; 5]),
        Err(VectorError::SlatesLength {
            len: 5,
            slots: 3,
            slate_size: 2
        })
    ));
    let mut bad = [1; 6];
    bad[4] = 10;
    match v.step(&bad) {
        Err(VectorError::Slot { slot: 2, source }) => assert!(matches!(
            source,
            env::EnvError::Step(StepError::PositionOutOfRange {
                position: 10,
                num_candidates: 10
            })
        )),
        other => panic!("expected slot 2's position error, got {other:?}"),
    }
    assert_eq!((v.items().to_vec(), v.users().to_vec()), before);
    assert!(matches!(
        v.step_with(&mut RandomSlates::for_slots(2)),
        Err(VectorError::PoliciesLength {
            policies: 2,
            slots: 3
        })
    ));
    v.step(&slates).unwrap();
}

#[test]
fn a_policy_that_writes_a_bad_slate_stops_the_batch_until_reset() {
    struct Broken;
    impl SlotPolicy for Broken {
        fn act(&mut self, _env: &dyn SlateEnv, slate: &mut [usize]) {
            slate.fill(99);
        }
    }
    let mut v = vector(iev, 2, Execution::Sequential);
    v.reset(0);
    assert!(matches!(
        v.step_with(&mut [Broken, Broken]),
        Err(VectorError::Slot { slot: 0, .. })
    ));
    assert!(matches!(v.step(&[0; 4]), Err(VectorError::NotReset)));
    v.reset(0);
    v.step(&[0; 4]).unwrap();
}

#[test]
fn construction_refuses_no_environments_and_mixed_layouts() {
    assert!(matches!(
        VectorEnv::new(Vec::new(), Execution::Sequential),
        Err(VectorError::Empty)
    ));
    let small = EnvConfig {
        num_candidates: 5,
        ..EnvConfig::default()
    };
    let mixed = vec![lts(EnvConfig::default()), lts(small)];
    match VectorEnv::new(mixed, Execution::Sequential) {
        Err(VectorError::MixedLayouts { slot: 1, found, .. }) => {
            assert_eq!(found.num_candidates, 5)
        }
        other => panic!("expected mixed layouts, got {other:?}"),
    }
    assert_eq!(Execution::for_slots(2, 1), Execution::Sequential);
    assert_eq!(Execution::for_slots(1, 8), Execution::Sequential);
    assert_eq!(Execution::for_slots(4, 3), threads(3));
    assert_eq!(vector(iev, 3, Execution::for_slots(8, 3)).threads(), 3);
}

#[test]
fn a_rollout_is_its_steps_one_by_one() {
    let b = 5;
    let steps = 23;
    // Per slot, the transitions of 3 × 23 single steps.
    let mut single = vector(iev, b, Execution::Sequential);
    let mut policies = RandomSlates::for_slots(b);
    single.reset(8);
    let mut expected = vec![Vec::new(); b];
    for _ in 0..3 * steps {
        single.step_with(&mut policies).unwrap();
        for (slot, t) in single.transitions().iter().enumerate() {
            expected[slot].push(*t);
        }
    }
    for execution in [Execution::Sequential, threads(2), threads(4)] {
        let mut v = vector(iev, b, execution);
        let mut policies = RandomSlates::for_slots(b);
        v.reset(8);
        let mut got = vec![Vec::new(); b];
        for _ in 0..3 {
            v.rollout(&mut policies, steps).unwrap();
            assert_eq!(v.transitions().len(), b * steps);
            assert_eq!(v.fragment_steps(), steps);
            for (slot, fragment) in v.transitions().chunks(steps).enumerate() {
                got[slot].extend_from_slice(fragment);
            }
        }
        assert_eq!(got, expected, "{execution:?}");
        assert_eq!(v.items(), single.items());
        assert_eq!(v.slates(), single.slates());
        v.step_with(&mut policies).unwrap();
        assert_eq!(v.transitions().len(), b, "back to one step per slot");
    }
}
