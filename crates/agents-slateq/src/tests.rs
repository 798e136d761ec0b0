//! The agent's behaviour across its parts: n-step returns per environment and from a
//! log, the time window, acting on averaged parameters, divergence, batched acting.

use super::*;
use env::Scenario;

/// StrongLTS environments seeded 0, 1, … with the user's satisfaction in view, reset,
/// and an agent for them.
fn agent_and_envs(config: SlateQConfig) -> (SlateQ, Vec<Box<dyn SlateEnv>>) {
    let envs: Vec<_> = (0..config.num_envs as u64)
        .map(|seed| {
            let mut scenario = Scenario::default();
            scenario.wrappers.user_observation = true;
            scenario.seed = seed;
            let mut env = scenario.build().unwrap();
            env.reset(None);
            env
        })
        .collect();
    let episodes = Episodes {
        fixed_length: true,
        same_candidates: false,
    };
    let (layout, known) = (envs[0].layout(), envs[0].known_choice());
    let agent = SlateQ::new(config, layout, known, episodes, 0).unwrap();
    (agent, envs)
}

#[test]
fn each_environment_keeps_its_own_n_step_returns() {
    let config = SlateQConfig {
        num_envs: 2,
        n_step: 3,
        learning_starts: 1000,
        ..SlateQConfig::default()
    };
    let (mut agent, mut envs) = agent_and_envs(config);
    let (mut slates, mut transitions) = ([0; 4], [Transition::default(); 2]);
    // Per environment: each step's state and reward.
    let mut seen: [Vec<(Vec<f32>, f64)>; 2] = Default::default();
    for _ in 0..10 {
        agent.act_batch(&envs, true, &mut slates);
        for (i, env) in envs.iter_mut().enumerate() {
            let mut state = Vec::new();
            push_state(None, env.user(), env.items(), &mut state);
            transitions[i] = env.step(&slates[2 * i..2 * i + 2]).unwrap();
            seen[i].push((state, transitions[i].reward));
        }
        agent.observe_batch(&slates, &transitions, &envs);
    }
    // Eight steps of each have a closed 3-step return, stored as they close: entry
    // 2t + i is environment i's step t.
    assert_eq!(agent.replay.len(), 16);
    let gamma = agent.policy.config.gamma;
    for t in 0..8 {
        for (i, seen) in seen.iter().enumerate() {
            let s = agent.replay.get(2 * t + i);
            let mut state = Vec::new();
            s.push_state(&mut state);
            assert_eq!(state, seen[t].0, "step {t} of environment {i}");
            let ret: f64 = (0..3).map(|j| gamma.powi(j) * seen[t + j as usize].1).sum();
            assert_eq!(s.reward, ret as f32, "step {t} of environment {i}");
            if let Some((next, _)) = seen.get(t + 3) {
                let mut next_state = Vec::new();
                s.push_next_state(&mut next_state);
                assert_eq!(&next_state, next);
            }
        }
    }
}

/// Offline, the logged steps of an episode make the same `n`-step returns as the steps an
/// environment gives: before, a log's steps were one-step returns whatever `n_step` said.
#[test]
fn logged_steps_make_n_step_returns() {
    let config = SlateQConfig {
        num_envs: 1,
        n_step: 3,
        // The episode's end is terminal: the last three returns stop there.
        bootstrap_at_episode_end: Some(false),
        ..SlateQConfig::default()
    };
    let (mut agent, mut envs) = agent_and_envs(config);
    let env = &mut envs[0];
    let mut seen = Vec::new();
    for t in 0..5 {
        let (user, items) = (env.user().to_vec(), env.items().to_vec());
        let mut transition = env.step(&[0, 1]).unwrap();
        // The log's episode ends at its fifth step.
        transition.terminated = t == 4;
        agent
            .add_logged(&LoggedStep {
                user: &user,
                items: &items,
                slate: &[0, 1],
                transition,
                next_user: env.user(),
                next_items: env.items(),
            })
            .unwrap();
        seen.push(transition.reward);
    }
    let gamma = agent.policy.config.gamma;
    assert_eq!(agent.replay.len(), 5);
    for (t, steps) in [3u8, 3, 3, 2, 1].into_iter().enumerate() {
        let s = agent.replay.get(t);
        let ret: f64 = (0..steps as usize)
            .map(|j| gamma.powi(j as i32) * seen[t + j])
            .sum();
        assert_eq!(
            (s.steps, s.reward, s.done),
            (steps, ret as f32, t >= 2),
            "step {t}"
        );
    }
}

#[test]
fn the_candidates_values_see_the_time_left_only_within_the_window() {
    let mut scenario = Scenario::default();
    scenario.wrappers.user_observation = true;
    scenario.wrappers.time_aware = true;
    let mut env = scenario.build().unwrap();
    env.reset(None);
    let episodes = Episodes {
        fixed_length: true,
        same_candidates: false,
    };
    let config = SlateQConfig::default();
    let window = config.time_window;
    let agent = SlateQ::new(config, env.layout(), env.known_choice(), episodes, 0).unwrap();
    let time = env.layout().time.expect("a time-aware layout");
    assert_eq!(
        time.steps,
        scenario.resolve().unwrap().time_aware_steps().unwrap()
    );
    let steps = time.steps;
    // The values of the same user and candidates with `left` steps to go, and each
    // candidate's value less the first's.
    let values = |left: usize| {
        let mut user = env.user().to_vec();
        user[time.index] = left as f32 / steps as f32;
        let mut state = Vec::new();
        push_state(Some(time), &user, env.items(), &mut state);
        let (user, items) = agent.policy.split(&state, 1);
        to_vec(&agent.policy.item_values(&agent.policy.theta, &user, &items))
    };
    let gaps = |q: &[f32]| q.iter().map(|v| v - q[0]).collect::<Vec<_>>();
    let whole = values(steps);
    for left in [steps / 2, window + 1, window] {
        let q = values(left);
        assert_ne!(q[0], whole[0], "the state's value sees {left} steps left");
        for (a, b) in gaps(&q).iter().zip(gaps(&whole)) {
            assert!((a - b).abs() < 1e-5, "{left} steps left: {a} against {b}");
        }
    }
    let near = gaps(&values(window / 4));
    let moved = near
        .iter()
        .zip(gaps(&whole))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        moved > 1e-3,
        "inside the window the candidates' values move: {moved}"
    );
}

#[test]
fn acting_without_exploration_follows_the_averaged_parameters() {
    let train = |average_steps| {
        let config = SlateQConfig {
            learning_starts: 10,
            average_steps,
            ..SlateQConfig::default()
        };
        let (mut agent, mut envs) = agent_and_envs(config);
        let env = envs[0].as_mut();
        let mut slate = [0; 2];
        for _ in 0..300 {
            agent.act(env, true, &mut slate);
            let t = env.step(&slate).unwrap();
            agent.observe(&slate, &t, env);
            if t.done() {
                env.reset(None);
            }
        }
        agent
    };
    let (plain, averaged, one) = (train(0), train(1000), train(1));
    let online = to_vec(&plain.policy.theta);
    // Averaging changes nothing of training.
    assert_eq!(to_vec(&averaged.policy.theta), online);
    assert!(plain.policy.average.is_none());
    // A window of one step is the online network itself; a longer one lags it.
    assert_eq!(to_vec(one.policy.average.as_ref().unwrap()), online);
    let average = to_vec(averaged.policy.average.as_ref().unwrap());
    assert_ne!(average, online);
    // The average is part of the agent's state.
    let (mut restored, envs) = agent_and_envs(averaged.policy.config.clone());
    restored.load(&averaged.save()).unwrap();
    assert_eq!(to_vec(restored.policy.average.as_ref().unwrap()), average);
    // Acting without exploration values the candidates with the average.
    let mut slate = [0; 2];
    restored.policy.average = Some(restored.policy.theta.zeros_like());
    restored.act(envs[0].as_ref(), false, &mut slate);
    assert_eq!(slate, [0, 1], "equal values: the first candidates");
}

/// Parameters gone non-finite make the next gradient step's loss non-finite: training
/// stops with a clear error instead of acting on a NaN network for ever.
#[test]
fn a_diverged_network_stops_training() {
    // One environment with a gradient step after every step, so that the next step
    // learns.
    let config = SlateQConfig {
        learning_starts: 10,
        num_envs: 1,
        train_every: 1,
        ..SlateQConfig::default()
    };
    let (mut agent, mut envs) = agent_and_envs(config);
    let env = envs[0].as_mut();
    let mut slate = [0; 2];
    let mut step = |agent: &mut SlateQ, env: &mut dyn SlateEnv| {
        agent.act(env, true, &mut slate);
        let t = env.step(&slate).unwrap();
        agent.observe(&slate, &t, env);
    };
    for _ in 0..20 {
        step(&mut agent, env);
    }
    assert!(agent.health().is_ok());
    let _ = tch::no_grad(|| agent.policy.theta.fill_(f64::NAN));
    step(&mut agent, env);
    match agent.health() {
        Err(AgentError::Diverged(why)) => assert!(why.contains("lower slateq.lr"), "{why}"),
        other => panic!("expected a divergence, got {other:?}"),
    }
}

#[test]
fn one_forward_pass_chooses_what_one_pass_per_environment_would() {
    let config = SlateQConfig {
        num_envs: 3,
        ..SlateQConfig::default()
    };
    let (mut agent, envs) = agent_and_envs(config);
    let mut batch = [0; 6];
    agent.act_batch(&envs, false, &mut batch);
    let mut each = [0; 6];
    for (env, slate) in envs.iter().zip(each.chunks_exact_mut(2)) {
        agent.act(env.as_ref(), false, slate);
    }
    assert_eq!(batch, each);
}

/// Evaluation plays a copy of the policy while the agent trains on: the copy must act as
/// the agent (and as the agent saved and loaded again) does, and stay as it was.
#[test]
fn a_policy_copy_acts_as_the_agent_and_keeps_its_parameters() {
    let config = SlateQConfig {
        learning_starts: 10,
        num_envs: 1,
        train_every: 1,
        average_steps: 100,
        choice_model: ChoiceModelKind::Learned,
        ..SlateQConfig::default()
    };
    let (mut agent, mut envs) = agent_and_envs(config.clone());
    let mut slate = [0; 2];
    let mut train = |agent: &mut SlateQ, steps: usize| {
        let env = envs[0].as_mut();
        for _ in 0..steps {
            agent.act(env, true, &mut slate);
            let t = env.step(&slate).unwrap();
            agent.observe(&slate, &t, env);
            if t.done() {
                env.reset(None);
            }
        }
    };
    train(&mut agent, 300);
    let (mut restored, _) = agent_and_envs(config);
    restored.load(&agent.save()).unwrap();
    let mut copy = agent.policy();
    let (_, probes) = agent_and_envs(SlateQConfig {
        num_envs: 20,
        ..SlateQConfig::default()
    });
    let slates = |policy: &mut dyn Policy, explore: bool| -> Vec<[usize; 2]> {
        let mut out = Vec::new();
        for env in &probes {
            let mut slate = [0; 2];
            policy.act(env.as_ref(), explore, &mut slate);
            out.push(slate);
        }
        out
    };
    let greedy = slates(&mut agent, false);
    assert!(
        greedy.iter().any(|s| s != &greedy[0]),
        "the probes must tell policies apart"
    );
    assert_eq!(slates(copy.as_mut(), false), greedy);
    assert_eq!(slates(&mut restored, false), greedy);
    // Exploring draws from a copy of the same random stream.
    assert_eq!(slates(copy.as_mut(), true), slates(&mut agent, true));
    let described = copy.describe();
    let learned = to_vec(&agent.policy.theta);
    train(&mut agent, 200);
    assert_ne!(to_vec(&agent.policy.theta), learned, "the agent learned on");
    assert_eq!(slates(copy.as_mut(), false), greedy);
    assert_eq!(copy.describe(), described, "the copy shares no parameter");
}

/// The portable policy (what `rlrec export` writes) chooses the agent's slates without
/// exploring, and its values and weights are the networks' to float rounding: with the
/// first-position, the proportional and the learned choice model, with and without the
/// time in view, after enough learning that the standardisation and the averaged
/// parameters are no longer the identity and the initial ones.
#[test]
fn the_portable_policy_acts_as_the_agent() {
    use agents::portable::Scores;
    for (world, learned, time_aware) in [
        ("strong-lts", false, true),
        ("strong-lts", true, false),
        ("interest-evolution", false, true),
    ] {
        let mut scenario = Scenario::new(world);
        scenario.num_candidates = 10;
        scenario.wrappers.user_observation = true;
        scenario.wrappers.time_aware = time_aware;
        let mut env = scenario.build().unwrap();
        let config = SlateQConfig {
            learning_starts: 100,
            num_envs: 1,
            average_steps: 50,
            choice_model: if learned {
                ChoiceModelKind::Learned
            } else {
                ChoiceModelKind::Auto
            },
            ..SlateQConfig::default()
        };
        let (layout, known) = (env.layout(), env.known_choice());
        let episodes = Episodes {
            fixed_length: true,
            same_candidates: false,
        };
        let mut agent = SlateQ::new(config, layout, known, episodes, 0).unwrap();
        env.reset(None);
        let mut slate = vec![0; layout.slate_size];
        for _ in 0..400 {
            agent.act(env.as_ref(), true, &mut slate);
            let t = env.step(&slate).unwrap();
            agent.observe(&slate, &t, env.as_ref());
            if t.done() {
                env.reset(None);
            }
        }
        let portable = agent.portable().unwrap();
        portable.check().unwrap();
        let (mut scores, mut exported) = (Scores::default(), vec![0; layout.slate_size]);
        let mut ties = 0;
        for step in 0..200 {
            agent.act(env.as_ref(), false, &mut slate);
            portable.slate(env.user(), env.items(), &mut scores, &mut exported);
            let p = &agent.policy;
            let theta = p.average.as_ref().unwrap_or(&p.theta);
            let (user, items) = p.split(&p.shown, 1);
            let q = to_vec(&p.item_values(theta, &user, &items));
            let w = p.choice_weights(&p.shown, &user, &items);
            // Interest evolution repeats documents: a tie between identical candidates
            // may fall on either side of an ulp, but never changes the slate's value.
            if exported != slate {
                let value = |s: &[usize]| slate_value(p.rule, &q, &w, s);
                let (a, b) = (value(&exported), value(&slate));
                assert!(
                    (a - b).abs() <= 1e-6 * a.abs(),
                    "{world} step {step}: {exported:?} {a} against {slate:?} {b}"
                );
                ties += 1;
            }
            let close = |a: &[f32], b: &[f32]| {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|(x, y)| (x - y).abs() <= 1e-5 * x.abs().max(1.0))
            };
            assert!(
                close(&scores.values, &q),
                "{world}: {:?} {q:?}",
                scores.values
            );
            assert!(
                close(&scores.weights, &w),
                "{world}: {:?} {w:?}",
                scores.weights
            );
            let t = env.step(&slate).unwrap();
            if t.done() {
                env.reset(None);
            }
        }
        assert!(ties <= 4, "{world}: {ties} of 200 slates differ");
    }
}
