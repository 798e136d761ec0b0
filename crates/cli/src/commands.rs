//! The commands of the first two labs: look at the environment, play episodes, baselines.

use std::fs;
use std::num::NonZeroUsize;
use std::path::Path;

use anyhow::{Context, Result};
use env::{Scenario, SlateEnv, Space, Value};
use serde::Serialize;
use trainer::{fixed_policy, record_episode, FixedPolicy, Summary, VideoMetrics, VideoReport};

use crate::args::EnvArgs;
use crate::{plot, progress};

/// The first lab: spaces, a reset observation and one step, with and without resampling,
/// as the wrapped environment shows them.
pub fn show_env(args: &EnvArgs) -> Result<()> {
    let scenario = args.scenario()?;
    let horizon = match scenario.horizon()? {
        Some(steps) => format!(", horizon {steps}"),
        None => String::new(),
    };
    println!(
        "environment: {} ({} candidates, slate of {}, resample_documents={}, seed {}{horizon})",
        scenario.env,
        scenario.num_candidates,
        scenario.slate_size,
        scenario.resample_documents,
        scenario.seed
    );
    let (observation_space, action_space) = scenario.build()?.spaces();
    println!("observation space: {observation_space}");
    println!("action space: {action_space}");
    for resample in [scenario.resample_documents, !scenario.resample_documents] {
        let mut env = Scenario {
            resample_documents: resample,
            ..scenario.clone()
        }
        .build()?;
        println!("\n== resample_documents={resample} ==");
        env.reset(None);
        print_obs("reset observation", env.as_ref(), &observation_space);
        let slate: Vec<usize> = (0..scenario.slate_size).collect();
        let reward = env.step(&slate)?.reward;
        print_obs(
            &format!("after step with slate {slate:?}"),
            env.as_ref(),
            &observation_space,
        );
        println!("  reward: {reward:.3}");
    }
    Ok(())
}

/// A gym value as Python prints it, three decimals for reals; a `Box` of several rows as
/// a list of rows.
fn format_value(space: &Space, value: &Value) -> String {
    let list = |items: Vec<String>| items.join(", ");
    match (space, value) {
        (Space::Box { shape, .. }, Value::Array(xs)) if shape.len() == 2 && shape[1] > 0 => {
            let rows: Vec<String> = xs
                .chunks(shape[1])
                .map(|row| {
                    format!(
                        "[{}]",
                        list(row.iter().map(|x| format!("{x:.3}")).collect())
                    )
                })
                .collect();
            format!("[{}]", list(rows))
        }
        (_, Value::Array(xs))
            if xs.len() == 1 && matches!(space, Space::Box { shape, .. } if shape.is_empty()) =>
        {
            format!("{:.3}", xs[0])
        }
        (_, Value::Array(xs)) => {
            format!("[{}]", list(xs.iter().map(|x| format!("{x:.3}")).collect()))
        }
        (_, Value::Int(n)) => n.to_string(),
        (_, Value::Ints(ns)) => format!("{ns:?}"),
        (Space::Dict(spaces), Value::Dict(entries)) => format!(
            "{{{}}}",
            list(
                entries
                    .iter()
                    .zip(spaces)
                    .map(|((k, v), (_, s))| format!("{k}: {}", format_value(s, v)))
                    .collect()
            )
        ),
        (Space::Tuple(spaces), Value::Tuple(items)) => format!(
            "({})",
            list(
                items
                    .iter()
                    .zip(spaces)
                    .map(|(v, s)| format_value(s, v))
                    .collect()
            )
        ),
        (_, other) => format!("{other:?}"),
    }
}

/// The observation's entries, one a line; documents with their ids.
fn print_obs(title: &str, env: &dyn SlateEnv, space: &Space) {
    println!("{title}:");
    let (Space::Dict(spaces), Value::Dict(entries)) = (space, env.observation_value()) else {
        return;
    };
    for ((key, value), (_, sub)) in entries.iter().zip(spaces) {
        match (key.as_str(), sub, value) {
            ("doc", Space::Dict(docs), Value::Dict(values)) => {
                let shown: Vec<String> = values
                    .iter()
                    .zip(docs)
                    .enumerate()
                    .map(|(i, ((k, v), (_, s)))| {
                        format!("{k} (id {}): {}", env.doc_id(i), format_value(s, v))
                    })
                    .collect();
                println!("  doc: {{{}}}", shown.join(", "));
            }
            _ => println!("  {key}: {}", format_value(sub, value)),
        }
    }
}

/// Plays one episode with a fixed policy.
pub fn episode(
    policy: FixedPolicy,
    args: &EnvArgs,
    plot_path: Option<&Path>,
    json: bool,
) -> Result<()> {
    let mut scenario = args.scenario()?;
    let (make_agent, _) = fixed_policy(policy, &mut scenario)?;
    let mut env = scenario.build()?;
    let episode = record_episode(env.as_mut(), make_agent(scenario.seed).as_mut(), false)?;
    let metrics = VideoMetrics::for_scenario(&scenario).map(|mut m| {
        for step in &episode.steps {
            m.record_transition(&step.transition);
        }
        m.report()
    });
    if let Some(path) = plot_path {
        let rewards: Vec<f64> = episode.steps.iter().map(|s| s.transition.reward).collect();
        let title = format!(
            "{} policy on {}: per-step reward (total {:.1})",
            policy.name(),
            scenario.env,
            episode.total_reward
        );
        plot::episode_rewards(path, &title, &rewards)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        println!("{}", with_metrics(&episode, metrics.as_ref())?);
    } else {
        println!(
            "{} policy, {}: {} steps, total reward {:.3}",
            policy.name(),
            scenario.env,
            episode.steps.len(),
            episode.total_reward
        );
        if let Some(report) = &metrics {
            print_metrics(report);
        }
        if let Some(path) = plot_path {
            println!("plot written to {}", path.display());
        }
    }
    Ok(())
}

/// Evaluates a fixed policy over many episodes, on `num_envs` environments stepped in
/// lockstep across the cores.
pub fn baseline(
    policy: FixedPolicy,
    episodes: usize,
    num_envs: usize,
    args: &EnvArgs,
    save: Option<&Path>,
    json: bool,
) -> Result<()> {
    anyhow::ensure!(episodes > 0, "--episodes must be at least 1");
    anyhow::ensure!(num_envs > 0, "--num-envs must be at least 1");
    let scenario = args.scenario()?;
    let bar = progress::bar(episodes as u64, "episodes", json);
    let threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let report = trainer::baseline(policy, &scenario, episodes, num_envs, threads, |i| {
        bar.set_position(i as u64)
    })?;
    bar.finish_and_clear();
    let (summary, predicted) = (&report.evaluation.summary, report.predicted);
    let object = serde_json::to_value(&report)?;
    let name = policy.name();
    if let Some(dir) = save {
        save_baseline(dir, name, summary, &object)?;
    }
    if json {
        println!("{object}");
    } else {
        print_summary(&format!("{name} policy on {}", scenario.env), summary);
        if let Some(value) = predicted {
            println!("  planner's predicted mean return {value:.2} (an oracle: it reads the user's true state)");
        }
        if let Some(metrics) = &report.evaluation.metrics {
            print_metrics(metrics);
        }
    }
    Ok(())
}

/// `value` as a JSON object, with RecSim's video-cluster metrics under `metrics` where
/// the environment has them.
fn with_metrics(
    value: &impl Serialize,
    metrics: Option<&VideoReport>,
) -> Result<serde_json::Value> {
    let mut object = serde_json::to_value(value)?;
    if let (Some(report), Some(fields)) = (metrics, object.as_object_mut()) {
        fields.insert("metrics".into(), serde_json::to_value(report)?);
    }
    Ok(object)
}

pub fn print_metrics(r: &VideoReport) {
    let quality = r
        .average_quality
        .map_or("none".to_string(), |q| format!("{q:.3}"));
    println!(
        "  CTR {:.3}, average clicked quality {quality}, no-click fraction {:.3} ({} steps)",
        r.ctr, r.no_click_fraction, r.impressions
    );
    let clusters: Vec<String> = r
        .cluster_watch_fractions
        .iter()
        .enumerate()
        .map(|(k, f)| format!("{k}: {f:.3}"))
        .collect();
    println!("  clicks per step by cluster: {}", clusters.join(", "));
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

/// The tutorial's `<name>_baseline.txt` (the mean) and the printed JSON object.
fn save_baseline(
    dir: &Path,
    name: &str,
    summary: &Summary,
    object: &serde_json::Value,
) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let txt = dir.join(format!("{name}_baseline.txt"));
    fs::write(&txt, format!("{}\n", summary.mean))
        .with_context(|| format!("writing {}", txt.display()))?;
    let json = dir.join(format!("{name}_baseline.json"));
    fs::write(&json, serde_json::to_string_pretty(object)?)
        .with_context(|| format!("writing {}", json.display()))?;
    Ok(())
}
