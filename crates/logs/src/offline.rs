//! Offline training: an agent learns from a log ([`crate::LogReader`]) instead of acting in its
//! environment. The log's steps reach the agent as the transitions it would have observed
//! ([`agents::Agent::add_logged`]), and it learns from them without acting
//! ([`agents::Agent::learn_offline`]); `trainer::Algorithm` runs the iterations, checkpoints and
//! evaluations as for every run.

use std::path::Path;

use agents::LoggedStep;
use env::{Click, Scenario, Transition};

use crate::{LogError, LogReader, Row, Rows};

/// The log's steps, handed to an agent in order, each with the observation after it.
pub struct OfflineFeed {
    rows: Rows,
    /// A step read but not yet handed over: the one after it gives its next observation.
    pending: Option<Row>,
    /// The episodes handed over, and the most there are to hand over: the rest of the
    /// log is held out of training.
    episodes: u64,
    train_episodes: u64,
    /// The rows of the held-out episodes, kept as the log was checked.
    held_out: Vec<Row>,
}

impl OfflineFeed {
    /// The log in `logs`, which must be the very log (by its `checksum`) of `scenario`;
    /// its last `holdout` share of episodes (rounded) is never handed over.
    pub fn open(
        logs: &Path,
        checksum: &str,
        scenario: &Scenario,
        holdout: f64,
    ) -> Result<Self, LogError> {
        let reader = LogReader::open(logs)?;
        let meta = reader.meta();
        if meta.checksum != checksum {
            return Err(LogError::invalid(
                logs,
                "this is not the log the run learns from (its checksum differs): it was \
                 replaced since",
            ));
        }
        if &meta.scenario != scenario {
            return Err(LogError::invalid(
                logs,
                format!(
                    "the log's environment is not the run's: {}",
                    meta.scenario.differences(scenario).join("; ")
                ),
            ));
        }
        // Every row, and the checksum, checked before the first step is handed over: a
        // damaged log is refused before any learning, whatever the algorithm (a bandit
        // takes the log a piece at a time, and would reach the damage only later).
        let train_episodes = meta
            .episodes
            .saturating_sub((holdout * meta.episodes as f64).round() as u64);
        let mut check = reader.rows()?;
        let mut held_out = Vec::new();
        while let Some(row) = check.next_row()? {
            if row.episode >= train_episodes {
                held_out.push(row.clone());
            }
        }
        Ok(Self {
            rows: reader.rows()?,
            pending: None,
            episodes: 0,
            train_episodes,
            held_out,
        })
    }

    /// Takes the rows of the episodes held out of training, in order (none where nothing
    /// is held out, or once taken).
    pub fn take_held_out(&mut self) -> Vec<Row> {
        std::mem::take(&mut self.held_out)
    }

    /// Hands up to `max` steps to `take`, in order; returns the steps and the episodes
    /// (last steps) handed over.
    pub fn feed<E: From<LogError>>(
        &mut self,
        max: u64,
        mut take: impl FnMut(&LoggedStep) -> Result<(), E>,
    ) -> Result<(u64, u64), E> {
        let (mut fed, mut episodes) = (0, 0);
        while fed < max && self.episodes < self.train_episodes {
            let current = match self.pending.take() {
                Some(row) => row,
                None => match self.rows.next_row()? {
                    Some(row) => row.clone(),
                    None => break,
                },
            };
            if current.done() {
                take(&step(
                    &current,
                    &current.next_user,
                    &current.next_candidates,
                ))?;
                episodes += 1;
                self.episodes += 1;
            } else {
                // The reader checked that an episode ends in its last step.
                let next = self
                    .rows
                    .next_row()?
                    .expect("an unfinished episode has a next step");
                take(&step(&current, &next.user, &next.candidates))?;
                self.pending = Some(next.clone());
            }
            fed += 1;
        }
        Ok((fed, episodes))
    }
}

/// A logged row as the step an agent observes.
fn step<'a>(row: &'a Row, next_user: &'a [f32], next_items: &'a [f32]) -> LoggedStep<'a> {
    let click = row.click.iter().position(|&c| c).map(|position| Click {
        position,
        quality: row.quality.get(position).copied(),
        cluster: None,
    });
    LoggedStep {
        user: &row.user,
        items: &row.candidates,
        slate: &row.slate,
        transition: Transition {
            reward: row.reward,
            terminated: row.terminated,
            truncated: row.truncated,
            click,
        },
        next_user,
        next_items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{write_log, NoCheckpoints, PolicySpec};

    /// What an agent would observe online, step by step: the observation it acted on, the
    /// slate, the transition, and the observation after the step (before any reset).
    #[derive(Debug, PartialEq)]
    struct Observed {
        user: Vec<f32>,
        items: Vec<f32>,
        slate: Vec<usize>,
        transition: Transition,
        next_user: Vec<f32>,
        next_items: Vec<f32>,
    }

    impl Observed {
        fn of(step: &LoggedStep) -> Self {
            Self {
                user: step.user.to_vec(),
                items: step.items.to_vec(),
                slate: step.slate.to_vec(),
                transition: step.transition,
                next_user: step.next_user.to_vec(),
                next_items: step.next_items.to_vec(),
            }
        }
    }

    /// The offline feed hands an agent exactly what [`Agent::observe`] receives online
    /// from the same slates: the state acted on, the consumed position, the reward, the
    /// episode-end flags, and the next state, across episode boundaries and in feeds cut
    /// at any size.
    #[test]
    fn the_feed_hands_over_what_an_online_agent_observes() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            Scenario {
                wrappers: env::Wrappers {
                    user_observation: true,
                    ..Default::default()
                },
                max_episode_steps: Some(7),
                seed: 3,
                ..Scenario::default()
            },
            Scenario {
                num_candidates: 5,
                seed: 4,
                max_episode_steps: Some(9),
                ..Scenario::new("interest-evolution")
            },
        ];
        for (i, scenario) in cases.into_iter().enumerate() {
            let logs = dir.path().join(format!("log{i}"));
            write_log(
                &scenario,
                &PolicySpec::Random,
                &NoCheckpoints,
                3,
                &logs,
                |_| std::ops::ControlFlow::Continue(()),
            )
            .unwrap();
            // Online: the logged slates, played again in the same environment.
            let reader = LogReader::open(&logs).unwrap();
            let slates: Vec<Vec<usize>> = {
                let mut rows = reader.rows().unwrap();
                let mut out = Vec::new();
                while let Some(row) = rows.next_row().unwrap() {
                    out.push(row.slate.clone());
                }
                out
            };
            let mut live = scenario.build().unwrap();
            let mut online = Vec::new();
            live.reset(None);
            for slate in &slates {
                let (user, items) = (live.user().to_vec(), live.items().to_vec());
                let mut transition = live.step(slate).unwrap();
                // The log holds no topic cluster (no learner reads it).
                if let Some(click) = transition.click.as_mut() {
                    click.cluster = None;
                }
                online.push(Observed {
                    user,
                    items,
                    slate: slate.clone(),
                    transition,
                    next_user: live.user().to_vec(),
                    next_items: live.items().to_vec(),
                });
                if transition.done() {
                    live.reset(None);
                }
            }
            assert_eq!(online.iter().filter(|o| o.transition.done()).count(), 3);
            // Offline, fed in pieces that cut episodes anywhere.
            let mut feed =
                OfflineFeed::open(&logs, &reader.meta().checksum, &scenario, 0.0).unwrap();
            let mut offline = Vec::new();
            let mut episodes = 0;
            for size in [1, 5, 2, 100] {
                let (_, e) = feed
                    .feed(size, |step| {
                        offline.push(Observed::of(step));
                        Ok::<_, LogError>(())
                    })
                    .unwrap();
                episodes += e;
            }
            assert_eq!(episodes, 3);
            assert_eq!(offline.len(), online.len());
            for (t, (off, on)) in offline.iter().zip(&online).enumerate() {
                assert_eq!(off, on, "case {i}, step {t}");
            }
            // With a third held out, the last episode is never handed over.
            let checksum = &reader.meta().checksum;
            let mut feed = OfflineFeed::open(&logs, checksum, &scenario, 1.0 / 3.0).unwrap();
            let (fed, episodes) = feed.feed(u64::MAX, |_| Ok::<_, LogError>(())).unwrap();
            let second_end = online
                .iter()
                .enumerate()
                .filter(|(_, o)| o.transition.done())
                .nth(1)
                .unwrap()
                .0;
            assert_eq!((fed, episodes), (second_end as u64 + 1, 2), "case {i}");
            let held_out = feed.take_held_out();
            assert_eq!(held_out.len(), online.len() - fed as usize, "case {i}");
            assert!(held_out.iter().all(|row| row.episode == 2), "case {i}");
        }
    }

    /// A log damaged anywhere is refused when the feed opens, before any step is handed
    /// over: before, a bandit learned from the log's first pieces and met the damage
    /// iterations later (issue 27, finding 2).
    #[test]
    fn a_damaged_log_is_refused_before_the_first_step() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("log");
        let scenario = Scenario {
            seed: 5,
            ..Scenario::default()
        };
        write_log(
            &scenario,
            &PolicySpec::Random,
            &NoCheckpoints,
            40,
            &logs,
            |_| std::ops::ControlFlow::Continue(()),
        )
        .unwrap();
        let checksum = LogReader::open(&logs).unwrap().meta().checksum.clone();
        assert!(OfflineFeed::open(&logs, &checksum, &scenario, 0.0).is_ok());
        let steps = logs.join(crate::STEPS_FILE);
        let mut bytes = std::fs::read(&steps).unwrap();
        // A byte late in the data pages, far from the first row and from the footer.
        let at = bytes.len() * 3 / 5;
        bytes[at] ^= 0x55;
        std::fs::write(&steps, &bytes).unwrap();
        assert!(OfflineFeed::open(&logs, &checksum, &scenario, 0.0).is_err());
    }
}
