use std::num::NonZeroUsize;

use env::{
    decode_action, encode_action, BanditObservation, DiscreteAction, Env, EnvError, ModelSpaces,
    Simulator, Space, TimeAwareObservation, TimeLimit, UserObservation, Wrapper,
};
use recsim_core::{InterestEvolution, LongTermSatisfaction, Model, StepError};

mod common;

use common::{ie, iev, lts};

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
    assert!(matches!(env.step(&[0, 1]).unwrap_err(), EnvError::NotReset));
    let first = env.reset(Some(17)).clone();
    assert_eq!(
        first.response,
        [Default::default(); 2],
        "empty responses (no click) before the first step"
    );
    let step = env.step(&[0, 1]).unwrap();
    assert!(!step.transition.terminated && !step.transition.truncated);
    assert_eq!(step.transition.click.map(|c| c.position), Some(0));
    assert_eq!(step.obs.response.len(), 2);
    assert!(step.obs.response[0].click && !step.obs.response[1].click);
    // The observation clips the engagement at 100; the reward does not.
    assert_eq!(
        step.obs.response[0].engagement,
        step.transition.reward.min(100.0)
    );
    // reset(seed) restarts every stream: the same seed gives the same observation.
    assert_eq!(env.reset(Some(17)), &first);
    let again = env.step(&[0, 1]).unwrap().transition.reward;
    env.reset(Some(17));
    assert_eq!(env.step(&[0, 1]).unwrap().transition.reward, again);
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
    assert!(matches!(
        decode_action(400, 20, &mut out).unwrap_err(),
        StepError::ActionOutOfRange {
            action: 400,
            n: 400
        }
    ));

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
    let expected = plain.step(&[3, 1]).unwrap().transition.reward;
    assert_eq!(env.step(&23).unwrap().transition.reward, expected);
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
    assert_eq!(env::SlateEnv::layout(&env).user_dim, 0);
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
    assert_eq!(env::SlateEnv::layout(&env).user_dim, 1);
}

#[test]
fn slate_env_view_encodes_through_the_discrete_wrapper() {
    let mut a: Box<dyn env::SlateEnv> =
        Box::new(DiscreteAction::new(BanditObservation::new(lts(20, 2))));
    let mut b: Box<dyn env::SlateEnv> = Box::new(lts(20, 2));
    let layout = a.layout();
    assert_eq!(
        (layout.num_candidates, layout.slate_size, layout.doc_dim),
        (20, 2, 1)
    );
    a.reset(None);
    b.reset(None);
    for t in 0..30 {
        let slate = [t % 20, (t * 7) % 20];
        assert_eq!(a.step(&slate).unwrap(), b.step(&slate).unwrap());
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
            copy.step(&slate).unwrap().transition.reward,
            env.step(&slate).unwrap().transition.reward
        );
    }
    let mut truncated = saved.clone();
    truncated.simulator.truncate(saved.simulator.len() / 2);
    assert!(copy.load_state(&truncated).is_err());
    assert!(
        lts(12, 2).load_state(&saved).is_err(),
        "another layout is refused"
    );
}

#[test]
fn interest_evolution_spaces_and_observations() {
    let mut env = iev(10, 2);
    let space = env.observation_space().to_string();
    assert!(
        space.contains("'0': Box(-1.0, 1.0, (20,), float32)"),
        "{space}"
    );
    assert!(space.contains("'user': Box(-1.0, 1.0, (20,), float32)"));
    assert!(space.contains("'cluster_id': Discrete(20), 'liked': Discrete(2)"));
    let obs = env.reset(None).clone();
    let user = env.simulator().user();
    assert_eq!(obs.user, user.interests.map(|x| x as f32));
    for (i, doc) in env.simulator().candidates().iter().enumerate() {
        assert_eq!(obs.doc(i).iter().sum::<f32>(), 1.0);
        assert_eq!(obs.doc(i)[doc.cluster], 1.0);
    }
    let response_space = InterestEvolution::response_space();
    let mut clicks = 0;
    for _ in 0..200 {
        let step = env.step(&[0, 1]).unwrap();
        for r in &step.obs.response {
            assert!(response_space.contains(&InterestEvolution::response_value(r)));
        }
        if let Some(click) = step.transition.click {
            clicks += 1;
            let r = step.obs.response[click.position];
            assert_eq!(click.quality, Some(r.quality));
            assert_eq!(click.cluster, Some(r.cluster_id));
            assert_eq!(step.transition.reward, r.watch_time);
        } else {
            assert_eq!(step.transition.reward, 0.0);
        }
        if step.transition.terminated {
            env.reset(None);
        }
    }
    assert!(clicks > 50, "{clicks} clicks in 200 steps");
}

#[test]
fn interest_evolution_wrappers() {
    let mut user = UserObservation::new(iev(10, 2));
    assert!(user
        .observation_space()
        .to_string()
        .contains("'user': Box(-1.0, 1.0, (21,), float32)"));
    user.reset(None);
    user.step(&[0, 1]).unwrap();
    let budget = user.inner().simulator().user().time_budget / 200.0;
    assert_eq!(
        user.observation().user[20],
        budget as f32,
        "interests, then the budget"
    );
    let bandit = DiscreteAction::new(BanditObservation::new(iev(10, 2)));
    assert_eq!(
        bandit.observation_space().to_string(),
        "Dict('item': Box(-1.0, 1.0, (10, 20), float32))"
    );
    assert_eq!(bandit.action_space(), Space::Discrete(100));
    // Greedy by interest: the myopic score of a document is the interest in its cluster.
    let mut plain = iev(10, 2);
    plain.reset(None);
    let mut scores = [0.0; 10];
    env::SlateEnv::myopic_scores(&plain, &mut scores);
    let interests = plain.simulator().user().interests;
    for (doc, score) in plain.simulator().candidates().iter().zip(scores) {
        assert_eq!(score, f64::from(interests[doc.cluster] as f32));
    }
}

#[test]
fn interest_exploration_flattens_documents() {
    let env = ie(10, 2, 100);
    let space = env.observation_space().to_string();
    assert!(
        space.contains(
            "'0': Dict('cluster_id': Discrete(2), 'quality': Box(0.0, inf, (), float32))"
        ),
        "{space}"
    );
    let mut bandit = BanditObservation::new(ie(10, 2, 100));
    assert_eq!(
        bandit.observation_space().to_string(),
        "Dict('item': Box(0.0, inf, (10, 3), float32))"
    );
    bandit.reset(None);
    let docs = bandit.inner().inner().simulator().candidates().to_vec();
    for (row, doc) in bandit.observation().item.chunks_exact(3).zip(&docs) {
        let mut expected = [0.0f32; 3];
        expected[doc.topic] = 1.0;
        expected[2] = doc.quality as f32;
        assert_eq!(row, expected);
    }
    let mut user = UserObservation::new(ie(10, 2, 100));
    assert!(user
        .observation_space()
        .to_string()
        .contains("'user': Box(0.0, inf, (2,), float32)"));
    user.reset(None);
    let affinity = user.inner().inner().simulator().user().affinity;
    assert_eq!(user.observation().user, affinity.map(|a| a as f32));
}

#[test]
fn time_limit_truncates_and_does_not_terminate() {
    let mut env = ie(10, 2, 5);
    assert!(matches!(env.step(&[0, 1]).unwrap_err(), EnvError::NotReset));
    for episode in 0..3 {
        env.reset(None);
        for t in 1..=5 {
            let step = env.step(&[t % 10, 0]).unwrap();
            assert!(
                !step.transition.terminated,
                "interest exploration never terminates"
            );
            assert_eq!(
                step.transition.truncated,
                t == 5,
                "episode {episode}, step {t}"
            );
        }
        assert_eq!(env.elapsed_steps(), 5);
        assert!(
            matches!(
                env.step(&[0, 1]).unwrap_err(),
                EnvError::Step(StepError::EpisodeOver)
            ),
            "a truncated episode needs a reset"
        );
    }
    env.reset(None);
    assert_eq!(env.elapsed_steps(), 0, "reset restarts the count");
    // A refused slate does not count.
    assert!(env.step(&[10, 0]).is_err());
    assert_eq!(env.elapsed_steps(), 0);

    // The model's own end passes through: StrongLTS ends after 120 steps.
    let mut longer = TimeLimit::new(lts(5, 2), NonZeroUsize::new(200).unwrap());
    longer.reset(None);
    let ends: Vec<_> = (0..120)
        .map(|_| {
            let s = longer.step(&[0, 1]).unwrap();
            (s.transition.terminated, s.transition.truncated)
        })
        .collect();
    assert_eq!(ends[118], (false, false));
    assert_eq!(ends[119], (true, false));
    // Both at once when the limit falls on the model's last step, as in gymnasium.
    let mut both = TimeLimit::new(lts(5, 2), NonZeroUsize::new(120).unwrap());
    both.reset(None);
    for _ in 0..119 {
        both.step(&[0, 1]).unwrap();
    }
    let s = both.step(&[0, 1]).unwrap();
    assert!(s.transition.terminated && s.transition.truncated);
}

#[test]
fn time_limit_count_is_saved_and_restored() {
    let mut env = DiscreteAction::new(ie(10, 2, 8));
    env.reset(None);
    for a in [3, 14, 15] {
        env.step(&a).unwrap();
    }
    let saved = env.save_state();
    let mut copy = DiscreteAction::new(ie(10, 2, 8));
    copy.load_state(&saved).unwrap();
    assert_eq!(copy.inner().elapsed_steps(), 3);
    for t in 4..=8u64 {
        let (a, b) = (env.step(&t).unwrap(), copy.step(&t).unwrap());
        assert_eq!(
            (a.transition.reward, a.transition.truncated),
            (b.transition.reward, b.transition.truncated)
        );
        assert_eq!(a.transition.truncated, t == 8);
    }
    // The count is the time limit's own part of the state: the environment below every
    // wrapper saves the same simulator without it.
    assert_eq!(saved.elapsed_steps, Some(3));
    let below = env.unwrapped().save_state();
    assert_eq!(below.elapsed_steps, None);
    assert_eq!(below.simulator, env.save_state().simulator);
    assert_eq!(env.unwrapped().slate_size(), 2);
    let mut fresh = ie(10, 2, 8);
    fresh.load_state(&saved).unwrap();
    fresh.reset(None);
    assert_eq!(fresh.save_state().elapsed_steps, Some(0));
    // A count past the limit, or no count at all, is refused and changes nothing.
    let mut short = ie(10, 2, 2);
    short.reset(None);
    let before = short.save_state();
    assert!(matches!(short.load_state(&saved), Err(EnvError::State(_))));
    let no_count = env::EnvState {
        elapsed_steps: None,
        ..saved.clone()
    };
    assert!(short.load_state(&no_count).is_err());
    assert_eq!(short.save_state(), before);
}

#[test]
fn time_aware_observation_counts_down_the_episode_and_resumes_exactly() {
    // StrongLTS: 120 steps; the satisfaction, then the time left.
    let steps = NonZeroUsize::new(120).unwrap();
    let mut env = TimeAwareObservation::new(UserObservation::new(lts(5, 2)), steps);
    let first = env.reset(Some(4)).user.clone();
    assert_eq!(first.len(), 2);
    assert_eq!(first[1], 1.0, "the whole episode is left at reset");
    for t in 1..=30 {
        let step = env.step(&[0, 1]).unwrap();
        assert_eq!(step.obs.user[1], (120 - t) as f32 / 120.0);
    }
    // A copy loaded from the saved state continues bit for bit, to the episode's end.
    let saved = env.save_state();
    assert_eq!(saved.elapsed_steps, Some(30));
    let mut copy = TimeAwareObservation::new(UserObservation::new(lts(5, 2)), steps);
    copy.load_state(&saved).unwrap();
    assert_eq!(copy.observation(), env.observation());
    for t in 31..=120 {
        let (a, b) = (env.step(&[1, 0]).unwrap(), copy.step(&[1, 0]).unwrap());
        assert_eq!(a.transition, b.transition);
        assert_eq!(a.obs, b.obs);
        assert_eq!(a.transition.terminated, t == 120);
    }
    assert_eq!(
        env.remaining_fraction(),
        0.0,
        "nothing is left after the last step"
    );
    assert_eq!(env.reset(None).user[1], 1.0);
    // The feature lies in the observation space.
    assert!(env
        .observation_space()
        .contains(&env.observation().to_value()));
    // A state without a step count, or past this length, is refused and changes nothing.
    let plain = lts(5, 2).save_state();
    let before = copy.save_state();
    assert!(matches!(copy.load_state(&plain), Err(EnvError::State(_))));
    let mut short = TimeAwareObservation::new(lts(5, 2), NonZeroUsize::new(10).unwrap());
    short.reset(None);
    assert!(short.load_state(&saved).is_err());
    assert_eq!(copy.save_state(), before);
}

#[test]
fn responses_lie_in_their_spaces() {
    fn check<M: ModelSpaces>(env: &mut impl Env<Obs = env::RecSimObs<M>, Act = [usize]>) {
        env.reset(None);
        for t in 0..50 {
            let step = env.step(&[t % 4, 1]).unwrap();
            let (terminated, responses) = (step.transition.terminated, step.obs.response.clone());
            for r in &responses {
                assert!(M::response_space().contains(&M::response_value(r)), "{r:?}");
            }
            if terminated {
                env.reset(None);
            }
        }
    }
    check(&mut lts(5, 2));
    check(&mut iev(5, 2));
    check(&mut ie(5, 2, 1000));
}

#[test]
fn interest_evolution_state_round_trips_with_its_cluster_means() {
    let mut env = iev(10, 2);
    env.reset(None);
    env.step(&[1, 2]).unwrap();
    let mut copy = iev(10, 2);
    copy.load_state(&env.save_state()).unwrap();
    assert_eq!(copy.simulator().model(), env.simulator().model());
    for t in 0..50 {
        let slate = [t % 10, 3];
        let (a, b) = (copy.step(&slate), env.step(&slate));
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(
                (a.transition.reward, a.transition.terminated),
                (b.transition.reward, b.transition.terminated)
            ),
            (a, b) => assert_eq!(a.is_err(), b.is_err()),
        }
        assert_eq!(copy.observation(), env.observation());
    }
}

/// Every observation, from reset on, lies in the observation space, for every world and
/// wrapper (Gymnasium's checker requires it; RecSim's reset response `None` would fail).
#[test]
fn every_observation_lies_in_its_space() {
    for world in [
        "strong-lts",
        "lts",
        "interest-evolution",
        "interest-exploration",
    ] {
        for (user, bandit, discrete, time_aware) in [
            (false, false, false, false),
            (true, false, false, false),
            (false, true, true, false),
            (false, true, false, false),
            (false, false, false, true),
            (true, false, true, true),
        ] {
            let mut scenario = env::Scenario {
                num_candidates: 5,
                slate_size: 3,
                ..env::Scenario::new(world)
            };
            scenario.wrappers = env::Wrappers {
                user_observation: user,
                bandit_observation: bandit,
                discrete_action: discrete,
                time_aware,
            };
            let mut e = scenario.build().unwrap();
            let (space, _) = e.spaces();
            e.reset(Some(3));
            assert!(space.contains(&e.observation_value()), "{world} reset");
            for t in 0..40 {
                // Slates of one, two and three documents.
                let slate: Vec<usize> = (0..1 + t % 3).map(|j| (t + j) % 5).collect();
                if e.step(&slate).unwrap().done() {
                    e.reset(None);
                }
                let value = e.observation_value();
                assert!(space.contains(&value), "{world} {user} {bandit}: {value:?}");
            }
        }
    }
}
