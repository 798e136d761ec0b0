//! The commands of the first two labs: look at the environment, play episodes, baselines.

use std::num::NonZeroUsize;
use std::path::Path;

use anyhow::{bail, Context, Result};
use env::{Scenario, SlateEnv, Space, Value};
use rollout::{fixed_policy, record_episode, FixedPolicy, Summary, VideoMetrics};
use serde_json::json;
use trainer::Checkpoint;

use crate::args::{check_evaluation_size, EnvArgs};
use crate::checkpoint::evaluation_scenario;
use crate::output::{outln, print_metrics, print_summary};
use crate::{plot, progress};

/// The first lab: spaces, a reset observation and one step, with and without resampling,
/// as the wrapped environment shows them.
pub fn show_env(args: &EnvArgs, json: bool) -> Result<()> {
    let scenario = args.scenario()?;
    let spec = scenario.resolve()?;
    let (observation_space, action_space) = spec.make().spaces();
    let slate: Vec<usize> = (0..scenario.slate_size).collect();
    let mut runs = Vec::new();
    for resample in [scenario.resample_documents, !scenario.resample_documents] {
        let mut env = Scenario {
            resample_documents: resample,
            ..scenario.clone()
        }
        .build()?;
        env.reset(None);
        let reset = (env.observation_value(), ids(env.as_ref()));
        let reward = env.step(&slate)?.reward;
        let stepped = (env.observation_value(), ids(env.as_ref()));
        runs.push((resample, reset, stepped, reward));
    }
    if json {
        let runs: Vec<_> = runs
            .iter()
            .map(|(resample, reset, stepped, reward)| {
                json!({
                    "resample_documents": resample,
                    "reset": {"observation": to_json(&reset.0), "doc_ids": reset.1},
                    "step": {"slate": slate, "observation": to_json(&stepped.0), "doc_ids": stepped.1, "reward": reward},
                })
            })
            .collect();
        outln!(
            "{}",
            json!({
                "scenario": serde_json::to_value(&scenario)?,
                "horizon": spec.horizon().map(NonZeroUsize::get),
                "observation_space": observation_space.to_string(),
                "action_space": action_space.to_string(),
                "runs": runs,
            })
        );
        return Ok(());
    }
    let horizon = match spec.horizon() {
        Some(steps) => format!(", horizon {steps}"),
        None => String::new(),
    };
    outln!(
        "environment: {} ({} candidates, slate of {}, resample_documents={}, seed {}{horizon})",
        scenario.env,
        scenario.num_candidates,
        scenario.slate_size,
        scenario.resample_documents,
        scenario.seed
    );
    outln!("observation space: {observation_space}");
    outln!("action space: {action_space}");
    for (resample, reset, stepped, reward) in &runs {
        outln!("\n== resample_documents={resample} ==");
        print_obs("reset observation", &reset.0, &reset.1, &observation_space)?;
        print_obs(
            &format!("after step with slate {slate:?}"),
            &stepped.0,
            &stepped.1,
            &observation_space,
        )?;
        outln!("  reward: {reward:.3}");
    }
    Ok(())
}

/// The ids of the candidates, by position.
fn ids(env: &dyn SlateEnv) -> Vec<u64> {
    (0..env.layout().num_candidates)
        .map(|i| env.doc_id(i))
        .collect()
}

/// A gym value as JSON: arrays as lists, dicts as objects.
fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Int(n) => (*n).into(),
        Value::Ints(ns) => ns.clone().into(),
        Value::Array(xs) => xs.clone().into(),
        Value::Dict(entries) => entries
            .iter()
            .map(|(k, v)| (k.clone(), to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Value::Tuple(items) => items.iter().map(to_json).collect::<Vec<_>>().into(),
    }
}

/// A gym value as Python prints it, three decimals for reals; a `Box` of several rows as
/// a list of rows.
fn format_value(space: &Space, value: &Value) -> String {
    let reals = |xs: &[f64]| {
        xs.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (space, value) {
        (Space::Box { shape, .. }, Value::Array(xs)) if shape.len() == 2 && shape[1] > 0 => {
            let rows: Vec<String> = xs
                .chunks(shape[1])
                .map(|r| format!("[{}]", reals(r)))
                .collect();
            format!("[{}]", rows.join(", "))
        }
        (Space::Box { shape, .. }, Value::Array(xs)) if shape.is_empty() && xs.len() == 1 => {
            format!("{:.3}", xs[0])
        }
        (_, Value::Array(xs)) => format!("[{}]", reals(xs)),
        (_, Value::Int(n)) => n.to_string(),
        (_, Value::Ints(ns)) => format!("{ns:?}"),
        (Space::Dict(spaces), Value::Dict(entries)) => {
            let items: Vec<String> = entries
                .iter()
                .zip(spaces)
                .map(|((k, v), (_, s))| format!("{k}: {}", format_value(s, v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        (Space::Tuple(spaces), Value::Tuple(items)) => {
            let items: Vec<String> = items
                .iter()
                .zip(spaces)
                .map(|(v, s)| format_value(s, v))
                .collect();
            format!("({})", items.join(", "))
        }
        (_, other) => format!("{other:?}"),
    }
}

/// The observation's entries, one a line; documents with their ids.
fn print_obs(title: &str, value: &Value, ids: &[u64], space: &Space) -> Result<()> {
    outln!("{title}:");
    let (Space::Dict(spaces), Value::Dict(entries)) = (space, value) else {
        outln!("  {}", format_value(space, value));
        return Ok(());
    };
    for ((key, value), (_, sub)) in entries.iter().zip(spaces) {
        match (key.as_str(), sub, value) {
            ("doc", Space::Dict(docs), Value::Dict(values)) => {
                let shown: Vec<String> = values
                    .iter()
                    .zip(docs)
                    .zip(ids)
                    .map(|(((k, v), (_, s)), id)| format!("{k} (id {id}): {}", format_value(s, v)))
                    .collect();
                outln!("  doc: {{{}}}", shown.join(", "));
            }
            _ => outln!("  {key}: {}", format_value(sub, value)),
        }
    }
    Ok(())
}

/// Plays one episode with a fixed policy.
pub fn episode(
    policy: Option<FixedPolicy>,
    checkpoint: Option<&Path>,
    args: &EnvArgs,
    plot_path: Option<&Path>,
    json: bool,
) -> Result<()> {
    let (name, scenario, episode) = match (policy, checkpoint) {
        (Some(policy), None) => {
            let mut scenario = args.scenario()?;
            let (make_policy, _) = fixed_policy(policy, &mut scenario)?;
            let mut env = scenario.build()?;
            let mut acting = make_policy(scenario.seed);
            let episode = record_episode(env.as_mut(), acting.as_mut(), false)?;
            (policy.name().to_string(), scenario, episode)
        }
        (None, Some(path)) => {
            let ckpt = Checkpoint::read(path)?;
            let scenario = evaluation_scenario(&ckpt, args, None)?;
            let spec = scenario.resolve()?;
            let mut env = spec.make();
            let mut agent = ckpt.agent(&spec)?;
            let episode = record_episode(env.as_mut(), agent.as_mut(), false)?;
            // The algorithm names the policy; a run folder named otherwise follows it.
            let (algo, run) = (ckpt.algo().to_string(), ckpt.run_name());
            let name = if run == algo {
                algo
            } else {
                format!("{algo} ({run})")
            };
            (name, scenario, episode)
        }
        _ => bail!("give either --policy or --checkpoint"),
    };
    let metrics = VideoMetrics::for_scenario(&scenario).map(|mut m| {
        for step in &episode.steps {
            m.record_transition(&step.transition);
        }
        m.report()
    });
    if let Some(path) = plot_path {
        let title = format!(
            "{name} policy on {}: one episode (return {:.1})",
            scenario.env, episode.total_reward
        );
        plot::episode(path, &title, &episode)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        let mut object = serde_json::to_value(&episode)?;
        if let (Some(report), Some(fields)) = (&metrics, object.as_object_mut()) {
            fields.insert("metrics".into(), serde_json::to_value(report)?);
        }
        outln!("{object}");
    } else {
        outln!(
            "{name} policy, {}: {} steps, total reward {:.3}",
            scenario.env,
            episode.steps.len(),
            episode.total_reward
        );
        if let Some(report) = &metrics {
            print_metrics(report)?;
        }
        if let Some(path) = plot_path {
            outln!("plot written to {}", path.display());
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
    let scenario = args.scenario()?;
    check_evaluation_size(&scenario, episodes, num_envs)?;
    let bar = progress::bar(episodes as u64, "episodes", json);
    let threads = crate::args::cores();
    let report = rollout::baseline(policy, &scenario, episodes, num_envs, threads, |i| {
        bar.set_position(i as u64)
    })?;
    bar.finish_and_clear();
    let (summary, predicted) = (&report.evaluation.summary, report.predicted);
    let object = serde_json::to_value(&report)?;
    if let Some(dir) = save {
        save_baseline(dir, policy.name(), summary, &object)?;
    }
    if json {
        outln!("{object}");
    } else {
        print_summary(
            &format!("{} policy on {}", policy.name(), scenario.env),
            summary,
        )?;
        if let Some(value) = predicted {
            outln!("  planner's predicted mean return {value:.2} (an oracle: it reads the user's true state)");
        }
        if let Some(metrics) = &report.evaluation.metrics {
            print_metrics(metrics)?;
        }
    }
    Ok(())
}

/// The tutorial's `<name>_baseline.txt` (the mean) and the printed JSON object, each
/// written whole or not at all.
fn save_baseline(
    dir: &Path,
    name: &str,
    summary: &Summary,
    object: &serde_json::Value,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    storage::write_atomic(
        &dir.join(format!("{name}_baseline.txt")),
        format!("{}\n", summary.mean).as_bytes(),
    )?;
    storage::write_atomic(
        &dir.join(format!("{name}_baseline.json")),
        serde_json::to_string_pretty(object)?.as_bytes(),
    )?;
    Ok(())
}
