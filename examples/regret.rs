//! Where a trained policy loses return against the optimum of long-term satisfaction.
//!
//! `cargo run --release -p trainer --features slateq --example regret -- CHECKPOINT [EPISODES]`
//!
//! Plays the checkpoint's policy without exploration on its run's evaluation episodes and,
//! at every step, asks the planner what the slate cost: the optimal value of the best
//! candidate less that of the one served, `Q*_t(s, best) − Q*_t(s, served)`, for the
//! budget left. Summed over an episode these regrets are, in expectation, the gap between
//! the optimum's return and the policy's, so the table shows when in the episode the gap
//! arises, and whether the policy serves more clickbait than the optimum (`c − c*` > 0)
//! or less.

use std::error::Error;
use std::path::Path;

use planner::LtsPlanner;
use trainer::Checkpoint;

/// Steps per row of the table.
const ROW: usize = 10;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: regret CHECKPOINT [EPISODES]")?;
    let episodes: usize = match args.next() {
        Some(n) => n.parse().map_err(|_| "EPISODES is a count")?,
        None => 1000,
    };
    if episodes == 0 {
        return Err("EPISODES is at least 1".into());
    }
    let checkpoint = Checkpoint::read(Path::new(&path))?;
    let scenario = checkpoint.config.eval_scenario();
    let planner = LtsPlanner::for_scenario(&scenario)?;
    let spec = scenario.resolve()?;
    let mut env = spec.make();
    let mut agent = checkpoint.agent(&spec)?;

    let horizon = planner.horizon();
    // Per step of the episode: the summed regret and clickbait served less the optimum's.
    let (mut regret, mut excess) = (vec![0.0; horizon], vec![0.0; horizon]);
    let mut total_return = 0.0;
    let mut slate = vec![0; env.layout().slate_size];
    let mut values = Vec::new();
    for _ in 0..episodes {
        env.reset(None);
        agent.begin_episode();
        for t in 0..horizon {
            let satisfaction = *env
                .user()
                .first()
                .ok_or("the run's environment hides the satisfaction")?;
            let npe = planner.exposure(f64::from(satisfaction));
            values.clear();
            values.extend(
                env.items()
                    .iter()
                    .map(|&c| planner.q_value(npe, horizon - t, f64::from(c))),
            );
            let best = (0..values.len())
                .max_by(|&a, &b| values[a].total_cmp(&values[b]))
                .ok_or("no candidates")?;
            agent.act(env.as_ref(), false, &mut slate);
            let served = slate[0];
            regret[t] += values[best] - values[served];
            excess[t] += f64::from(env.items()[served] - env.items()[best]);
            let transition = env.step(&slate)?;
            total_return += transition.reward;
            if transition.done() {
                break;
            }
        }
    }
    let n = episodes as f64;
    let total: f64 = regret.iter().sum::<f64>() / n;
    println!(
        "{episodes} episodes: mean return {:.2}; the optimum {:.2} less the summed regret {total:.3} = {:.2}",
        total_return / n,
        planner.predicted_value(),
        planner.predicted_value() - total
    );
    println!("steps      regret   c − c*");
    for start in (0..horizon).step_by(ROW) {
        let end = (start + ROW).min(horizon);
        let r: f64 = regret[start..end].iter().sum::<f64>() / n;
        let c: f64 = excess[start..end].iter().sum::<f64>() / (n * (end - start) as f64);
        println!("{start:>3}–{:<3}  {r:>8.4}  {c:>+7.3}", end - 1);
    }
    Ok(())
}
