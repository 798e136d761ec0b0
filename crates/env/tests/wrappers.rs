use env::{
    decode_action, encode_action, BanditObservation, DiscreteAction, Env, EnvError, RecSimEnv,
    Simulator, SlateEnv, Space, UserObservation,
};
use recsim_core::{EnvConfig, LongTermSatisfaction, LtsParams, Model, StepError};

fn lts(n: usize, k: usize) -> RecSimEnv<LongTermSatisfaction> {
    let model = LongTermSatisfaction::from_params(LtsParams::strong()).unwrap();
    let config = EnvConfig {
        num_candidates: n,
        slate_size: k,
        resample_documents: true,
        seed: 4,
    };
    RecSimEnv::new(model, config).unwrap()
}

#[test]
fn spaces_are_fixed_and_positional() {
    let env = lts(20, 2);
    assert_eq!(env.action_space().to_string(), "MultiDiscrete([20 20])");
    let Space::Dict(entries) = env.observation_space() else {
        panic!("a Dict")
    };
    let keys: Vec<_> = entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["doc", "response", "user"]);
    let Space::Dict(docs) = &entries[0].1 else {
        panic!("docs are a Dict")
    };
    let doc_keys: Vec<_> = docs.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(doc_keys, (0..20).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[test]
fn gym_semantics_reset_then_step() {
    let mut env = lts(5, 2);
    assert_eq!(env.step(&[0, 1]).unwrap_err(), EnvError::NotReset);
    let first = env.reset(Some(17)).clone();
    assert!(
        first.response.is_empty(),
        "no response before the first step"
    );
    let step = env.step(&[0, 1]).unwrap();
    assert!(!step.terminated && !step.truncated);
    assert_eq!(step.info.clicked, Some(0));
    assert_eq!(step.obs.response.len(), 2);
    assert!(step.obs.response[0].click && !step.obs.response[1].click);
    assert!((step.reward - step.obs.response[0].engagement).abs() < 1e-12 || step.reward > 100.0);
    // reset(seed) restarts every stream: the same seed gives the same observation.
    assert_eq!(env.reset(Some(17)), &first);
    let again = env.step(&[0, 1]).unwrap().reward;
    env.reset(Some(17));
    assert_eq!(env.step(&[0, 1]).unwrap().reward, again);
}

#[test]
fn discrete_actions_decode_little_endian_in_base_n() {
    assert_eq!(encode_action(&[3, 1], 20), 23);
    let mut out = [0; 2];
    decode_action(23, 20, &mut out).unwrap();
    assert_eq!(out, [3, 1]);
    for a in 0..125 {
        let mut slate = [0; 3];
        decode_action(a, 5, &mut slate).unwrap();
        assert_eq!(encode_action(&slate, 5), a);
    }
    assert_eq!(
        decode_action(400, 20, &mut out).unwrap_err(),
        StepError::ActionOutOfRange {
            action: 400,
            n: 400
        }
    );

    let mut env = DiscreteAction::new(lts(20, 2));
    assert_eq!(env.action_space(), Space::Discrete(400));
    env.reset(None);
    let before = env.save_state();
    assert!(matches!(
        env.step(&400),
        Err(EnvError::Step(StepError::ActionOutOfRange { .. }))
    ));
    assert_eq!(env.save_state(), before, "a refused action changes nothing");
    // Action 23 = slate [3, 1]: the clicked document is position 3.
    let mut plain = lts(20, 2);
    plain.reset(None);
    let expected = plain.step(&[3, 1]).unwrap().reward;
    assert_eq!(env.step(&23).unwrap().reward, expected);
}

#[test]
fn bandit_observation_is_the_item_matrix() {
    let mut env = BanditObservation::new(lts(6, 2));
    assert_eq!(
        env.observation_space().to_string(),
        "Dict('item': Box(-1.0, 1.0, (6, 1), float32))"
    );
    let mut plain = lts(6, 2);
    assert_eq!(env.reset(None).item, plain.reset(None).docs);
    let step = env.step(&[0, 1]).unwrap();
    assert_eq!(step.obs.item, plain.step(&[0, 1]).unwrap().obs.docs);
    assert_eq!(SlateEnv::layout(&env).user_dim, 0);
}

#[test]
fn user_observation_reveals_the_true_satisfaction() {
    let mut env = UserObservation::new(lts(6, 2));
    env.reset(None);
    for _ in 0..5 {
        let sat = env.step(&[2, 0]).unwrap().obs.user[0];
        let truth = env.inner().simulator().user().satisfaction as f32;
        assert_eq!(sat, truth);
    }
    assert_eq!(
        env.observation().user.len(),
        LongTermSatisfaction::USER_OBS_DIM + 1
    );
    assert_eq!(SlateEnv::layout(&env).user_dim, 1);
}

#[test]
fn slate_env_view_encodes_through_the_discrete_wrapper() {
    let mut a: Box<dyn SlateEnv> =
        Box::new(DiscreteAction::new(BanditObservation::new(lts(20, 2))));
    let mut b: Box<dyn SlateEnv> = Box::new(lts(20, 2));
    let layout = a.layout();
    assert_eq!(
        (layout.num_candidates, layout.slate_size, layout.doc_dim),
        (20, 2, 1)
    );
    a.start(None);
    b.start(None);
    for t in 0..30 {
        let slate = [t % 20, (t * 7) % 20];
        assert_eq!(a.recommend(&slate).unwrap(), b.recommend(&slate).unwrap());
        assert_eq!(a.items(), b.items());
    }
}

#[test]
fn state_round_trips_exactly() {
    let mut env = UserObservation::new(lts(10, 2));
    env.reset(None);
    env.step(&[1, 2]).unwrap();
    let saved = env.save_state();
    let mut copy = UserObservation::new(lts(10, 2));
    copy.load_state(&saved).unwrap();
    assert_eq!(copy.observation(), env.observation());
    for t in 0..50 {
        let slate = [t % 10, 0];
        assert_eq!(
            copy.step(&slate).unwrap().reward,
            env.step(&slate).unwrap().reward
        );
    }
    assert!(copy.load_state(&saved[..saved.len() / 2]).is_err());
    assert!(
        lts(12, 2).load_state(&saved).is_err(),
        "another layout is refused"
    );
}
