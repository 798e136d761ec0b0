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
