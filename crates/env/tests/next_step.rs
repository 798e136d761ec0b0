//! The vector environment's NEXT_STEP autoreset and flat batches, as Python's vector
//! environment uses them: each slot is the plain environment with its slot seed, ended
//! episodes keep their last observation until the slot's next step resets it, and the
//! flat batch is each slot's own flat observation.

use std::num::NonZeroUsize;

use env::flat::env_flat_dim;
use env::{
    slot_seed, Autoreset, Execution, Scenario, SlateEnv, Transition, VectorEnv, VectorError,
};
use rand::Rng;
use recsim_core::{stream, StreamId};

/// Interest evolution (episodes of different lengths) cut at 25 steps, so that both ends
/// occur, with the user observation.
fn scenario() -> Scenario {
    let mut s = Scenario {
        num_candidates: 6,
        max_episode_steps: Some(25),
        ..Scenario::new("interest-evolution")
    };
    s.params.insert("time_budget".into(), 12.0);
    s.wrappers.user_observation = true;
    s
}

fn next_step_vector(b: usize, execution: Execution) -> VectorEnv {
    let envs = (0..b).map(|_| scenario().build().unwrap()).collect();
    VectorEnv::new(envs, execution)
        .unwrap()
        .with_autoreset(Autoreset::NextStep)
}

/// Random slates for `b` slots, `steps` steps.
fn slates(b: usize, k: usize, steps: usize) -> Vec<Vec<usize>> {
    let mut rng = stream(17, StreamId::Documents);
    (0..steps)
        .map(|_| (0..b * k).map(|_| rng.random_range(0..6)).collect())
        .collect()
}

fn flat(env: &dyn SlateEnv) -> Vec<f32> {
    let mut out = vec![0.0; env_flat_dim(env)];
    env.write_flat(&mut out);
    out
}

/// The flat batches and transitions of `steps` steps.
fn run(mut v: VectorEnv, steps: &[Vec<usize>]) -> (Vec<Vec<f32>>, Vec<Vec<Transition>>) {
    v.reset(5);
    let mut batch = vec![0.0; v.num_envs() * v.flat_dim()];
    let (mut obs, mut transitions) = (Vec::new(), Vec::new());
    for slates in steps {
        v.step_flat(slates, &mut batch).unwrap();
        obs.push(batch.clone());
        transitions.push(v.transitions().to_vec());
    }
    (obs, transitions)
}

#[test]
fn each_slot_resets_at_the_step_after_its_episode_ends() {
    let (b, k) = (4, 2);
    let steps = slates(b, k, 200);
    let (obs, transitions) = run(next_step_vector(b, Execution::Sequential), &steps);
    let dim = obs[0].len() / b;
    let mut ends = 0;
    for slot in 0..b {
        let mut plain = scenario().build().unwrap();
        plain.reset(Some(slot_seed(5, slot)));
        let mut ended = false;
        for (t, slates) in steps.iter().enumerate() {
            let got = transitions[t][slot];
            if ended {
                // The reset step: no transition, and the next episode's first observation.
                plain.reset(None);
                assert_eq!(got, Transition::default(), "slot {slot} step {t}");
                ended = false;
            } else {
                let expected = plain.step(&slates[slot * k..(slot + 1) * k]).unwrap();
                assert_eq!(got, expected, "slot {slot} step {t}");
                ended = expected.done();
                ends += usize::from(ended);
            }
            // After an end the batch holds the ended episode's last observation.
            assert_eq!(
                obs[t][slot * dim..(slot + 1) * dim],
                flat(plain.as_ref())[..]
            );
        }
    }
    assert!(ends > 10, "{ends} episodes ended");
}

#[test]
fn flat_batches_are_the_same_on_any_number_of_threads() {
    let steps = slates(7, 2, 120);
    let sequential = run(next_step_vector(7, Execution::Sequential), &steps);
    for threads in [1, 2, 3] {
        let execution = Execution::Parallel(NonZeroUsize::new(threads).unwrap());
        assert_eq!(run(next_step_vector(7, execution), &steps), sequential);
    }
}

#[test]
fn an_unseeded_reset_continues_each_slots_streams() {
    let mut v = next_step_vector(3, Execution::Sequential);
    v.reset(8);
    v.reset_unseeded();
    for slot in 0..3 {
        let mut plain = scenario().build().unwrap();
        plain.reset(Some(slot_seed(8, slot)));
        plain.reset(None);
        assert_eq!(flat(v.env(slot).unwrap()), flat(plain.as_ref()));
    }
}

#[test]
fn a_flat_buffer_of_the_wrong_length_is_refused_and_changes_nothing() {
    let steps = slates(2, 2, 3);
    let mut v = next_step_vector(2, Execution::Sequential);
    v.reset(5);
    let before = flat(v.env(1).unwrap());
    let mut short = vec![0.0; 2 * v.flat_dim() - 1];
    assert!(matches!(
        v.step_flat(&steps[0], &mut short),
        Err(VectorError::FlatLength { .. })
    ));
    assert_eq!(flat(v.env(1).unwrap()), before);
    let mut batch = vec![0.0; 2 * v.flat_dim()];
    v.step_flat(&steps[0], &mut batch).unwrap();
    assert_eq!(v.autoreset(), Autoreset::NextStep);
}

/// DISABLED autoreset, as training uses it: an ended slot keeps its last observation for
/// the learner, refuses a step until `reset_ended`, and then runs as the same-step
/// autoreset would have; saved states restore the batch exactly.
#[test]
fn a_disabled_autoreset_waits_for_the_caller() {
    let (b, k) = (3, 2);
    let steps = slates(b, k, 120);
    let build = |autoreset| {
        let envs = (0..b).map(|_| scenario().build().unwrap()).collect();
        let mut v = VectorEnv::new(envs, Execution::Sequential)
            .unwrap()
            .with_autoreset(autoreset);
        v.reset(5);
        v
    };
    let (mut disabled, mut same) = (build(Autoreset::Disabled), build(Autoreset::SameStep));
    let mut ends = 0;
    for slates in &steps {
        disabled.step(slates).unwrap();
        same.step(slates).unwrap();
        assert_eq!(disabled.transitions(), same.transitions());
        let ended: Vec<usize> = (0..b)
            .filter(|&i| disabled.transitions()[i].done())
            .collect();
        for &slot in &ended {
            // The ended episode's last observation, still there to learn from.
            let env = disabled.env(slot).unwrap();
            let d = env.layout().num_candidates * env.layout().doc_dim;
            assert_eq!(&disabled.items()[slot * d..(slot + 1) * d], env.items());
        }
        ends += ended.len();
        disabled.reset_ended();
        assert_eq!(disabled.users(), same.users());
        assert_eq!(disabled.items(), same.items());
    }
    assert!(ends >= 3, "episodes must end: {ends}");
    // Stepping an ended slot before resetting it is refused.
    let mut waiting = build(Autoreset::Disabled);
    let ended = steps
        .iter()
        .find_map(|slates| {
            waiting.step(slates).unwrap();
            waiting.transitions().iter().position(Transition::done)
        })
        .unwrap();
    assert!(matches!(waiting.step(&steps[0]), Err(VectorError::Ended(s)) if s == ended));
    // A vector restored from saved states steps as the original does.
    let states: Vec<_> = disabled.envs().iter().map(|e| e.save_state()).collect();
    let envs = (0..b).map(|_| scenario().build().unwrap()).collect();
    let mut restored = VectorEnv::new(envs, Execution::Sequential)
        .unwrap()
        .with_autoreset(Autoreset::Disabled);
    restored.load_states(&states).unwrap();
    assert_eq!(restored.items(), disabled.items());
    for slates in &steps[..20] {
        restored.step(slates).unwrap();
        disabled.step(slates).unwrap();
        assert_eq!(restored.transitions(), disabled.transitions());
        restored.reset_ended();
        disabled.reset_ended();
    }
    assert!(matches!(
        restored.load_states(&states[..1]),
        Err(VectorError::StatesLength {
            states: 1,
            slots: 3
        })
    ));
}
