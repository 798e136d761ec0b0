//! Offline training: an agent learns from a log ([`crate::logs`]) instead of acting in its
//! environment. The log's steps reach the agent as the transitions it would have observed
//! ([`Agent::add_logged`]), and it learns from them without acting
//! ([`Agent::learn_offline`]); [`crate::Algorithm`] runs the iterations, checkpoints and
//! evaluations as for every run.

use agents::{Agent, LoggedStep};
use env::{Click, Scenario, Transition};

use crate::logs::{LogError, LogReader, Row, Rows};
use crate::{OfflineSource, TrainError};

/// The log's steps, handed to an agent in order, each with the observation after it.
pub(crate) struct OfflineFeed {
    rows: Rows,
    /// A step read but not yet handed over: the one after it gives its next observation.
    pending: Option<Row>,
}

impl OfflineFeed {
    /// The log of `source`, which must be the very log (by its checksum) of `scenario`.
    pub(crate) fn open(source: &OfflineSource, scenario: &Scenario) -> Result<Self, TrainError> {
        let reader = LogReader::open(&source.logs)?;
        let meta = reader.meta();
        if meta.checksum != source.checksum {
            return Err(LogError::invalid(
                &source.logs,
                "this is not the log the run learns from (its checksum differs): it was \
                 replaced since",
            )
            .into());
        }
        if &meta.scenario != scenario {
            return Err(
                LogError::invalid(&source.logs, "the log's environment is not the run's").into(),
            );
        }
        Ok(Self {
            rows: reader.rows()?,
            pending: None,
        })
    }

    /// Hands up to `max` steps to `take`, in order; returns the steps and the episodes
    /// (last steps) handed over.
    pub(crate) fn feed(
        &mut self,
        max: u64,
        mut take: impl FnMut(&LoggedStep) -> Result<(), TrainError>,
    ) -> Result<(u64, u64), TrainError> {
        let (mut fed, mut episodes) = (0, 0);
        while fed < max {
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

/// Takes `steps` into `agent`, as [`OfflineFeed::feed`] hands them.
pub(crate) fn add(agent: &mut dyn Agent) -> impl FnMut(&LoggedStep) -> Result<(), TrainError> + '_ {
    move |step| agent.add_logged(step).map_err(TrainError::from)
}
