//! The LTS planner's figures: predicted and simulated returns of the optimal and the best
//! stationary policy, next to the fixed baselines, for StrongLTS 20/2 and LTS 10/3.
//!
//! `cargo run --release -p rollout --example lts_planner [EPISODES]`

use std::sync::Arc;
use std::time::Instant;

use agents::Policy;
use agents_bandit::{Baseline, BaselineKind};
use env::Scenario;
use planner::{LtsPlanner, OptimalPolicy, PolicyKind};
use rollout::{evaluate, Summary};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let episodes = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 2000,
    };
    let mut lts = Scenario {
        num_candidates: 10,
        slate_size: 3,
        ..Scenario::new("lts")
    };
    let mut strong = Scenario::default();
    for scenario in [&mut strong, &mut lts] {
        scenario.wrappers.user_observation = true;
        let start = Instant::now();
        let planner = Arc::new(LtsPlanner::for_scenario(scenario)?);
        let built = start.elapsed();
        println!(
            "{} {}/{}: planner built in {:.3} s, long-run gain {:.4} per step",
            scenario.env,
            scenario.num_candidates,
            scenario.slate_size,
            built.as_secs_f64(),
            planner.gain()
        );
        let run = |policy: &mut dyn Policy| -> Result<Summary, Box<dyn std::error::Error>> {
            let mut env = scenario.build()?;
            Ok(evaluate(&mut *env, policy, episodes, false, |_| {})?)
        };
        for (kind, predicted) in [
            (PolicyKind::FiniteHorizon, planner.predicted_value()),
            (PolicyKind::Stationary, planner.stationary_value()),
        ] {
            let layout = scenario.build()?.layout();
            let s = run(&mut OptimalPolicy::new(planner.clone(), kind, &layout)?)?;
            println!(
                "  {:<19} predicted {predicted:9.3}  simulated {:9.3} ± {:.3} \
                 [{:.3}, {:.3}] (sd {:.2}, {} episodes)",
                kind.name(),
                s.mean,
                s.ci95[1] - s.mean,
                s.ci95[0],
                s.ci95[1],
                s.std,
                s.episodes
            );
        }
        for kind in [BaselineKind::Random, BaselineKind::Greedy] {
            let s = run(&mut Baseline::new(kind, 0))?;
            println!(
                "  {:<19} {:>19}  simulated {:9.3} ± {:.3}",
                kind.name(),
                "",
                s.mean,
                s.ci95[1] - s.mean
            );
        }
    }
    Ok(())
}
