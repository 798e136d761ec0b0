//! The true values the estimators estimate, measured in the simulator: what no real log
//! offers, and what makes rlrec a place to test estimators.

use env::SlateEnv;
use serde::Serialize;

use logs::{LoadPolicy, LogError, LogMeta, Policy, PolicySpec};

use crate::estimators::{clustered_ratio, Estimate, Outcome};
use crate::target::target_policy;
use rollout::finite;

/// A target policy's values in the simulator, for logs like `meta`'s.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    /// The per-step value: the target's expected reward at the states the logging policy
    /// meets, measured by showing the target's slate in a copy of every state of the
    /// logging policy's episodes.
    pub per_step: Estimate,
    /// The target's expected return, running its own episodes.
    pub per_episode: Estimate,
    /// Episodes of each.
    pub episodes: usize,
    /// The environment's seed: the logs' plus 1000003, so that no logged user recurs.
    pub seed: u64,
}

/// Measures [`Truth`] over `episodes` episodes of each kind; `progress` hears them (two
/// per episode index).
pub fn simulate_truth(
    meta: &LogMeta,
    target: &PolicySpec,
    checkpoints: &dyn LoadPolicy,
    episodes: usize,
    mut progress: impl FnMut(usize),
) -> Result<Truth, LogError> {
    let mut scenario = meta.scenario.clone();
    scenario.seed = rollout::eval_seed(scenario.seed);
    let seed = scenario.seed;
    let mut pi = target_policy(target, &scenario, checkpoints)?;
    let mut logging = Policy::new(&meta.policy, &mut scenario.clone(), seed, checkpoints)?;
    let k = scenario.slate_size;
    let (mut shown, mut logged) = (vec![0; k], vec![0; k]);

    // The per-step value: for every state of the logging policy's episodes, the reward of
    // the target's slate in a copy of the state.
    let mut env = scenario.build()?;
    let (mut a, mut b) = (Vec::with_capacity(episodes), Vec::with_capacity(episodes));
    for e in 0..episodes {
        env.reset(None);
        logging.begin_episode();
        pi.begin_episode();
        let (mut sum, mut len) = (0.0, 0.0);
        loop {
            pi.distribution(env.as_ref())?;
            pi.sample(&mut shown);
            let state = env.save_state();
            sum += finite(env.step(&shown)?)?.reward;
            len += 1.0;
            env.load_state(&state)?;
            logging.distribution(env.as_ref())?;
            logging.sample(&mut logged);
            if finite(env.step(&logged)?)?.done() {
                break;
            }
        }
        a.push(sum);
        b.push(len);
        progress(2 * e + 1);
    }
    let per_step = clustered_ratio(&a, &b, 1);

    // The return: the target's own episodes, on a fresh environment of the same seed.
    let mut env = scenario.build()?;
    pi = target_policy(target, &scenario, checkpoints)?;
    let mut returns = Vec::with_capacity(episodes);
    for e in 0..episodes {
        returns.push(episode_return(env.as_mut(), &mut pi, &mut shown)?);
        progress(2 * e + 2);
    }
    let ones = vec![1.0; returns.len()];
    let per_episode = clustered_ratio(&returns, &ones, 1);
    let estimate = |o: Outcome| {
        o.estimate()
            .copied()
            .expect("a mean over at least one episode")
    };
    Ok(Truth {
        per_step: estimate(per_step),
        per_episode: estimate(per_episode),
        episodes,
        seed,
    })
}

fn episode_return(
    env: &mut dyn SlateEnv,
    policy: &mut Policy,
    slate: &mut [usize],
) -> Result<f64, LogError> {
    env.reset(None);
    policy.begin_episode();
    let mut total = 0.0;
    loop {
        policy.distribution(env)?;
        policy.sample(slate);
        let t = finite(env.step(slate)?)?;
        total += t.reward;
        if t.done() {
            return Ok(total);
        }
    }
}
