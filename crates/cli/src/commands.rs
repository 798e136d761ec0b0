//! The commands of the first two labs: look at the environment, play episodes, baselines.

use std::fs;
use std::path::Path;

use agents_bandit::{Agent, Baseline, BaselineKind};
use anyhow::{Context, Result};
use env::Env;
use trainer::{evaluate, record_episode, Summary};

use crate::args::{EnvArgs, PolicyArg};
use crate::{plot, progress};

fn fixed_policy(policy: PolicyArg, seed: u64) -> Box<dyn Agent> {
    let kind = match policy {
        PolicyArg::Random => BaselineKind::Random,
        PolicyArg::Greedy => BaselineKind::Greedy,
        PolicyArg::Kale => BaselineKind::Kale,
    };
    Box::new(Baseline::new(kind, seed))
}

fn policy_name(policy: PolicyArg) -> &'static str {
    match policy {
        PolicyArg::Random => "random",
        PolicyArg::Greedy => "greedy",
        PolicyArg::Kale => "kale",
    }
}

/// The first lab: spaces, a reset observation and one step, with and without resampling.
pub fn show_env(args: &EnvArgs) -> Result<()> {
    let scenario = args.scenario()?;
    let wrapped = scenario.build()?;
    println!(
        "environment: {} ({} candidates, slate of {}, resample_documents={}, seed {})",
        scenario.env,
        scenario.num_candidates,
        scenario.slate_size,
        scenario.resample_documents,
        scenario.seed
    );
    let (observation_space, action_space) = wrapped.spaces();
    println!("observation space: {observation_space}");
    println!("action space: {action_space}");
    for resample in [scenario.resample_documents, !scenario.resample_documents] {
        let mut s = scenario.clone();
        s.resample_documents = resample;
        let mut lts = s.build_lts()?;
        println!("\n== resample_documents={resample} ==");
        lts.reset(None);
        print_obs("reset observation", &lts);
        let slate: Vec<usize> = (0..s.slate_size).collect();
        let step = lts.step(&slate)?;
        let reward = step.reward;
        print_obs(&format!("after step with slate {slate:?}"), &lts);
        let responses: Vec<String> = lts
            .observation()
            .response
            .iter()
            .map(|r| {
                format!(
                    "{{click: {}, engagement: {:.3}}}",
                    u8::from(r.click),
                    r.engagement
                )
            })
            .collect();
        println!("  response: ({})", responses.join(", "));
        println!("  reward: {reward:.3}");
    }
    Ok(())
}

fn print_obs<M: env::ModelSpaces>(title: &str, env: &env::RecSimEnv<M>) {
    let obs = env.observation();
    let sim = env.simulator();
    println!("{title}:");
    println!("  user: {:?}", obs.user);
    let docs: Vec<String> = (0..obs.num_docs())
        .map(|i| format!("{i} (id {}): {:?}", sim.doc_id(i), obs.doc(i)))
        .collect();
    println!("  doc: {{{}}}", docs.join(", "));
}

/// Plays one episode with a fixed policy.
pub fn episode(
    policy: PolicyArg,
    args: &EnvArgs,
    plot_path: Option<&Path>,
    json: bool,
) -> Result<()> {
    let scenario = args.scenario()?;
    let mut env = scenario.build()?;
    let mut agent = fixed_policy(policy, scenario.seed);
    let episode = record_episode(env.as_mut(), agent.as_mut(), false)?;
    if let Some(path) = plot_path {
        let rewards: Vec<f64> = episode.steps.iter().map(|s| s.reward).collect();
        let title = format!(
            "{} policy on {}: per-step reward (total {:.1})",
            policy_name(policy),
            scenario.env,
            episode.total_reward
        );
        plot::episode_rewards(path, &title, &rewards)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string(&episode)?);
    } else {
        println!(
            "{} policy, {}: {} steps, total reward {:.3}",
            policy_name(policy),
            scenario.env,
            episode.steps.len(),
            episode.total_reward
        );
        if let Some(path) = plot_path {
            println!("plot written to {}", path.display());
        }
    }
    Ok(())
}

/// Evaluates a fixed policy over many episodes.
pub fn baseline(
    policy: PolicyArg,
    episodes: usize,
    args: &EnvArgs,
    save: Option<&Path>,
    json: bool,
) -> Result<()> {
    anyhow::ensure!(episodes > 0, "--episodes must be at least 1");
    let scenario = args.scenario()?;
    let mut env = scenario.build()?;
    let mut agent = fixed_policy(policy, scenario.seed);
    let bar = progress::bar(episodes as u64, "episodes", json);
    let summary = evaluate(env.as_mut(), agent.as_mut(), episodes, false, |i| {
        bar.set_position(i as u64)
    })?;
    bar.finish_and_clear();
    let name = policy_name(policy);
    if let Some(dir) = save {
        save_baseline(dir, name, &summary)?;
    }
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&format!("{name} policy on {}", scenario.env), &summary);
    }
    Ok(())
}

pub fn print_summary(title: &str, s: &Summary) {
    println!("{title}: {} episodes", s.episodes);
    println!(
        "  mean return {:.2} (sd {:.2}, 95% interval [{:.2}, {:.2}])",
        s.mean, s.std, s.ci95[0], s.ci95[1]
    );
    println!(
        "  min {:.2}, max {:.2}, mean episode length {:.1}",
        s.min, s.max, s.mean_length
    );
}

fn save_baseline(dir: &Path, name: &str, summary: &Summary) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let txt = dir.join(format!("{name}_baseline.txt"));
    fs::write(&txt, format!("{}\n", summary.mean))
        .with_context(|| format!("writing {}", txt.display()))?;
    let json = dir.join(format!("{name}_baseline.json"));
    fs::write(&json, serde_json::to_string_pretty(summary)?)
        .with_context(|| format!("writing {}", json.display()))?;
    Ok(())
}
