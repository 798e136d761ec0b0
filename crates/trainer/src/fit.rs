//! The run driver: a whole training run as one library call, as RLlib's `Algorithm` runs
//! under Tune or TorchRL's `Trainer` does. [`Trainer`] owns an [`Algorithm`] and its
//! [`RunDir`]: it starts a run in a new folder or continues one from a checkpoint, then
//! [`Trainer::fit`] iterates, writes each iteration's metrics, checkpoints on the
//! configured cadence (keeping the newest N), evaluates the final policy and returns what
//! a report or a training curve needs. The CLI's `rlrec train` only parses and prints.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use logs::LoadPolicy;
use planner::LtsPlanner;
use rollout::{evaluate_on, Evaluation, FixedPolicy};
use serde::Serialize;

use crate::algorithm::Selected;
use crate::checkpoint::{CheckpointError, EVALUATION_FILE};
use crate::{
    Algo, Algorithm, Checkpoint, Checkpoints, IterationResult, RunDir, RunError, TrainConfig,
    TrainError,
};

/// Hears a run's progress; every method does nothing unless overridden.
pub trait FitEvents {
    /// An iteration finished, its metrics written and, where due, its checkpoint;
    /// `Break` stops the run there ([`TrainError::Stopped`]), as a Tune stopper does,
    /// with a checkpoint of that iteration.
    fn iteration(&mut self, _result: &IterationResult, _last: bool) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// The final evaluation starts, over this many episodes.
    fn evaluation_started(&mut self, _episodes: usize) {}
    /// Episodes of the final evaluation done so far.
    fn evaluated(&mut self, _episodes: usize) {}
}

/// A [`FitEvents`] that hears nothing.
pub struct Quiet;

impl FitEvents for Quiet {}

/// A reference line of a training curve: a baseline's or the planner's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    /// What it is; its first word picks the colour of a plot.
    pub label: String,
    /// The value.
    pub value: f64,
}

/// A policy evaluated without exploration: a mean with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Where on the x axis (an iteration, a policy's slot).
    pub x: f64,
    /// The mean return.
    pub mean: f64,
    /// Its 95% interval.
    pub ci95: [f64; 2],
}

/// What a finished run reports: its last checkpoint, its final evaluation, and its
/// training curve's data.
#[derive(Debug, Clone)]
pub struct FitReport {
    /// The run folder.
    pub run: PathBuf,
    /// The last checkpoint.
    pub checkpoint: PathBuf,
    /// The iteration the final evaluation was made at.
    pub iteration: u64,
    /// The final evaluation, without exploration.
    pub evaluation: Evaluation,
    /// An offline run's choice among its checkpoints without the simulator, where it held
    /// episodes out of training.
    pub selected: Option<Selected>,
    /// Every iteration's metrics, as `metrics.jsonl` holds them.
    pub metrics: Vec<IterationResult>,
    /// The random policy's mean return on the training scenario.
    pub random_baseline: f64,
    /// The planner's optimum and best stationary value, where the world has a planner.
    pub optimum: Vec<Reference>,
}

impl FitReport {
    /// `episode_reward_mean` by iteration (under exploration).
    pub fn training(&self) -> Vec<(f64, f64)> {
        self.metrics
            .iter()
            .filter_map(|m| {
                m.episode_reward_mean
                    .map(|v| (m.training_iteration as f64, v))
            })
            .collect()
    }

    /// The periodic evaluations and the final one, by iteration.
    pub fn evaluations(&self) -> Vec<Point> {
        let periodic = self.metrics.iter().filter_map(|m| {
            let s = &m.evaluation.as_ref()?.summary;
            Some((m.training_iteration, s))
        });
        periodic
            .chain([(self.iteration, &self.evaluation.summary)])
            .map(|(x, s)| Point {
                x: x as f64,
                mean: s.mean,
                ci95: s.ci95,
            })
            .collect()
    }

    /// The reference lines: the random baseline, then the planner's values.
    pub fn references(&self) -> Vec<Reference> {
        lines(self.random_baseline, &self.optimum)
    }
}

/// The reference lines of `config`'s scenario, as a run's training curve draws them: the
/// random baseline, then the planner's values where the world has a planner.
pub fn reference_lines(config: &TrainConfig) -> Result<Vec<Reference>, TrainError> {
    Ok(lines(random_baseline(config)?, &optimum(config)))
}

fn lines(random_baseline: f64, optimum: &[Reference]) -> Vec<Reference> {
    let random = Reference {
        label: "random baseline".into(),
        value: random_baseline,
    };
    [random]
        .into_iter()
        .chain(optimum.iter().cloned())
        .collect()
}

/// How a run continues from a checkpoint (`rlrec train --resume` or `--checkpoint`).
#[derive(Debug, Clone, Copy)]
pub struct Continue<'a> {
    /// A checkpoint folder, or a run folder (its latest checkpoint).
    pub source: &'a Path,
    /// Where the continuation goes: by default the run's own folder from its latest
    /// checkpoint (or with `rewind`), else a new run folder (a branch).
    pub out: Option<&'a Path>,
    /// From an older checkpoint, continue its run in place, dropping what followed.
    pub rewind: bool,
    /// Refuse a checkpoint of another algorithm.
    pub algo: Option<Algo>,
}

/// A training run: an [`Algorithm`] and the folder it writes.
pub struct Trainer {
    algorithm: Algorithm,
    run: RunDir,
    notes: Vec<String>,
}

impl Trainer {
    /// A new run of `config` in `out` (new or empty), or by default in a new folder
    /// `runs/<algo>-<env>-<UTC time>`. The configuration is checked and the algorithm
    /// built before any folder is made.
    pub fn new(config: TrainConfig, out: Option<&Path>) -> Result<Self, TrainError> {
        let algorithm = Algorithm::new(config)?;
        let run = match out {
            Some(out) => RunDir::create(out, algorithm.config())?,
            None => new_run(algorithm.config())?,
        };
        Ok(Self {
            algorithm,
            run,
            notes: Vec::new(),
        })
    }

    /// Continues a run from a checkpoint: in place from its latest checkpoint, rewound
    /// with [`Continue::rewind`], or branched into a new folder, as RLlib's restore
    /// starts a new trial. `reconfigure` gives the configuration to continue under from
    /// the saved one, the checkpoint's iteration and whether the run was evaluated there;
    /// it may change only [`crate::RESUMABLE_KEYS`], and must train further (or, for a run
    /// stopped before its final evaluation, reach the same iteration). A checkpoint that
    /// cannot continue leaves no folder behind.
    pub fn resume<E: From<TrainError>>(
        how: Continue<'_>,
        reconfigure: impl FnOnce(&TrainConfig, u64, bool) -> Result<TrainConfig, E>,
    ) -> Result<Self, E> {
        let source = how.source;
        let mut ckpt = match Checkpoint::read_to_restore(source) {
            Err(CheckpointError::Missing(_))
                if RunDir::run_id_in(source)
                    .map_err(TrainError::from)?
                    .is_some() =>
            {
                return Err(
                    TrainError::from(RunError::NoCheckpointYet(source.to_path_buf())).into(),
                )
            }
            read => read.map_err(TrainError::from)?,
        };
        if let Some(algo) = how.algo {
            ckpt.expect_algo(algo).map_err(TrainError::from)?;
        }
        let iteration = ckpt.iteration();
        let home = RunDir::folder_of(source);
        let evaluated = evaluated_at(&home) == Some(iteration);
        let saved = ckpt.config.clone();
        ckpt.config = reconfigure(&saved, iteration, evaluated)?;
        check_resumable(&saved, &ckpt.config, iteration, evaluated).map_err(TrainError::from)?;
        Ok(Self::continued(ckpt, &saved, &home, how)?)
    }

    fn continued(
        ckpt: Checkpoint,
        saved: &TrainConfig,
        home: &Path,
        how: Continue<'_>,
    ) -> Result<Self, TrainError> {
        let iteration = ckpt.iteration();
        let is_latest = RunDir::latest_in(home)? == Some(iteration);
        let target = match how.out {
            Some(out) => Some(out.to_path_buf()),
            None if is_latest || how.rewind => Some(home.to_path_buf()),
            // An older checkpoint, no rewind: a branch into a new default folder.
            None => None,
        };
        let target_id = match &target {
            Some(t) => RunDir::run_id_in(t)?,
            None => None,
        };
        let mut notes = Vec::new();
        if target_id.as_deref() != Some(ckpt.run_id.as_str()) {
            // Another run's folder: never write one run's continuation into another. One
            // that stopped before its first checkpoint (a branch that failed) starts again.
            if let Some(t) = &target {
                if target_id.is_some() && RunDir::latest_in(t)?.is_some() {
                    return Err(RunError::ForeignCheckpoint(t.clone()).into());
                }
            }
            let config = ckpt.config.clone();
            // Restored before any folder is made.
            let algorithm = ckpt.into_algorithm()?;
            let run = match &target {
                None => new_run(&config)?,
                Some(t) => RunDir::create(t, &config)?,
            };
            run.adopt_history(home, iteration)?;
            notes.push(format!(
                "branching from iteration {iteration} of {} into the new run folder {}",
                home.display(),
                run.path().display()
            ));
            return Ok(Self {
                algorithm,
                run,
                notes,
            });
        }
        let target = target.expect("a folder with the checkpoint's run id");
        let mut run = RunDir::open(&target)?;
        for edit in run.check_continue(&ckpt, saved, how.rewind)? {
            notes.push(format!(
                "{}: {edit}: a run continues with its checkpoint's settings (give the option \
                 to change one); the file is written again",
                run.path().join(crate::CONFIG_FILE).display()
            ));
        }
        let config = ckpt.config.clone();
        let algorithm = ckpt.into_algorithm()?;
        run.continue_at(iteration, &config, how.rewind)?;
        Ok(Self {
            algorithm,
            run,
            notes,
        })
    }

    /// The algorithm, as restored or built.
    pub fn algorithm(&self) -> &Algorithm {
        &self.algorithm
    }

    /// The run folder.
    pub fn run(&self) -> &RunDir {
        &self.run
    }

    /// What the start did that a user should hear: a branch into a new folder, a
    /// `config.toml` edited behind the run's back and written again.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Trains to the configured iteration count, writing metrics and checkpoints as it
    /// goes, then evaluates the final policy without exploration (`evaluation.json`).
    /// A finished run continued for its evaluation only evaluates, from its last
    /// checkpoint.
    pub fn fit(&mut self, events: &mut dyn FitEvents) -> Result<FitReport, TrainError> {
        let config = self.algorithm.config().clone();
        let mut last_checkpoint = None;
        while !self.algorithm.is_done() {
            let result = self.algorithm.train()?;
            self.run.append_metrics(&result)?;
            // The checkpoint before anyone hears of the iteration: whoever reads its line
            // (`rlrec tune`, the Ray driver) may take the checkpoint it reports.
            let every = config.checkpoint_every;
            let done = self.algorithm.is_done();
            // A policy scored on held-out episodes may be the run's choice: it is kept.
            let due = (every > 0 && result.training_iteration.is_multiple_of(every))
                || done
                || result.held_out.is_some();
            if due {
                last_checkpoint = Some(self.run.save(&self.algorithm, config.keep_checkpoints)?);
            }
            if events.iteration(&result, done).is_break() {
                // A stopped run continues from where it stopped, not from its last
                // checkpoint on the cadence.
                if !due {
                    self.run.save(&self.algorithm, config.keep_checkpoints)?;
                }
                return Err(TrainError::Stopped(result.training_iteration));
            }
        }
        let checkpoint = match (last_checkpoint, self.run.checkpoints()?.pop()) {
            (Some(c), _) => c,
            // Nothing trained: a run resumed for its final evaluation only.
            (None, Some((_, c))) => c,
            // The same, branched into a new folder, which has no checkpoint of its own yet.
            (None, None) => self.run.save(&self.algorithm, config.keep_checkpoints)?,
        };
        events.evaluation_started(config.eval_episodes);
        let evaluation = self
            .algorithm
            .evaluate(config.eval_episodes, |i| events.evaluated(i))?;
        let iteration = self.algorithm.state().iteration;
        let selected = self.selected(iteration, &evaluation, events)?;
        self.run
            .write_final_evaluation(iteration, &evaluation, selected.as_ref())?;
        Ok(FitReport {
            run: self.run.path().to_path_buf(),
            checkpoint,
            iteration,
            evaluation,
            selected,
            metrics: self.run.metrics()?,
            random_baseline: random_baseline(&config)?,
            optimum: optimum(&config),
        })
    }

    /// The checkpoint with the best held-out score, where the run held episodes out,
    /// evaluated in the simulator as the final policy was (the same evaluation where it is
    /// the final policy).
    fn selected(
        &self,
        iteration: u64,
        last: &Evaluation,
        events: &mut dyn FitEvents,
    ) -> Result<Option<Selected>, TrainError> {
        let checkpoints = self.run.checkpoints()?;
        let Some((chosen, checkpoint, Some(held_out))) = self.run.best_checkpoint(&checkpoints)?
        else {
            return Ok(None);
        };
        let config = self.algorithm.config();
        let evaluation = if chosen == iteration {
            last.clone()
        } else {
            events.evaluation_started(config.eval_episodes);
            let policy = Checkpoints.load_policy(&checkpoint, &config.env)?;
            evaluate_on(&config.eval_scenario(), policy, config.eval_episodes, |i| {
                events.evaluated(i)
            })?
        };
        Ok(Some(Selected {
            training_iteration: chosen,
            checkpoint,
            held_out,
            evaluation,
        }))
    }
}

/// Refuses a continuation under `config` of a run saved under `saved` at `iteration`:
/// only the resumable keys may change, and it must train further, unless the run stopped
/// before its final evaluation, which a resume to the same iteration count finishes.
fn check_resumable(
    saved: &TrainConfig,
    config: &TrainConfig,
    iteration: u64,
    evaluated: bool,
) -> Result<(), RunError> {
    let changes: Vec<String> = saved
        .differences(config)
        .into_iter()
        .filter(|(key, _, _)| !crate::RESUMABLE_KEYS.contains(&key.as_str()))
        .map(|(key, run, asked)| format!("  {key}: the run has {run}, the options give {asked}"))
        .collect();
    if !changes.is_empty() {
        return Err(RunError::Unresumable {
            changes: changes.join("\n"),
        });
    }
    let finishing = config.iterations == iteration && !evaluated;
    if config.iterations <= iteration && !finishing {
        return Err(RunError::NothingToTrain {
            iteration,
            iterations: config.iterations,
        });
    }
    Ok(())
}

/// `runs/<algo>-<env>-<UTC time>`, made unique by [`RunDir::create_new`].
fn new_run(config: &TrainConfig) -> Result<RunDir, RunError> {
    let stem = format!(
        "{}-{}-{}",
        config.algo(),
        config.env.env.replace('/', "_"),
        crate::UtcTime::now().compact()
    );
    RunDir::create_new(Path::new("runs"), &stem, config)
}

/// The iteration a run folder's final evaluation was made at, if it has one.
pub fn evaluated_at(run: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(run.join(EVALUATION_FILE)).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["training_iteration"].as_u64()
}

/// The random policy's mean return on the training scenario, without wrappers.
fn random_baseline(config: &TrainConfig) -> Result<f64, TrainError> {
    let mut scenario = config.env.clone();
    scenario.wrappers = Default::default();
    let report = rollout::baseline(FixedPolicy::Random, &scenario, 500, 1, 1, |_| ())?;
    Ok(report.evaluation.summary.mean)
}

/// The planner's optimum and its best stationary value, where the world has a planner.
fn optimum(config: &TrainConfig) -> Vec<Reference> {
    let Ok(planner) = LtsPlanner::for_scenario(&config.env) else {
        return Vec::new();
    };
    vec![
        Reference {
            label: "optimal planner".into(),
            value: planner.predicted_value(),
        },
        Reference {
            label: "optimal-stationary policy".into(),
            value: planner.stationary_value(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LinUCB on StrongLTS 20/2, one 120-step episode an iteration.
    fn config(iterations: u64) -> TrainConfig {
        let mut config = TrainConfig::new(Algo::Linucb);
        config.iterations = iterations;
        config.checkpoint_every = 2;
        config.eval_episodes = 20;
        config
    }

    /// What a run let its caller hear.
    #[derive(Default)]
    struct Heard {
        iterations: Vec<(u64, bool)>,
        evaluation: Option<usize>,
        evaluated: usize,
        stop_at: Option<u64>,
    }

    impl FitEvents for Heard {
        fn iteration(&mut self, result: &IterationResult, last: bool) -> ControlFlow<()> {
            self.iterations.push((result.training_iteration, last));
            if self.stop_at == Some(result.training_iteration) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        fn evaluation_started(&mut self, episodes: usize) {
            self.evaluation = Some(episodes);
        }
        fn evaluated(&mut self, episodes: usize) {
            self.evaluated = episodes;
        }
    }

    #[test]
    fn a_run_writes_metrics_keeps_its_newest_checkpoints_and_evaluates_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let mut c = config(6);
        c.keep_checkpoints = 2;
        let mut trainer = Trainer::new(c, Some(&out)).unwrap();
        // What a process killed while pruning left (issue 27, finding 6): a checkpoint
        // being removed is out of the run's view, and the next prune removes it.
        let half = out.join(".checkpoint-000009.removing");
        std::fs::create_dir(&half).unwrap();
        std::fs::write(half.join("config.toml"), "").unwrap();
        let mut heard = Heard::default();
        let report = trainer.fit(&mut heard).unwrap();
        assert!(!half.exists());
        // The final evaluation is in the TensorBoard events too (issue 28, §4).
        let events = std::fs::read(out.join(crate::tensorboard::EVENTS_FILE)).unwrap();
        assert!(events
            .windows(b"final_evaluation/mean".len())
            .any(|w| w == b"final_evaluation/mean"));
        assert_eq!(
            heard.iterations,
            [1, 2, 3, 4, 5, 6].map(|i| (i, i == 6)).to_vec()
        );
        assert_eq!((heard.evaluation, heard.evaluated), (Some(20), 20));
        assert_eq!(report.iteration, 6);
        assert_eq!(report.metrics.len(), 6);
        assert_eq!(report.checkpoint, out.join("checkpoint-000006"));
        let kept: Vec<u64> = trainer
            .run()
            .checkpoints()
            .unwrap()
            .iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(kept, [4, 6]);
        assert_eq!(evaluated_at(&out), Some(6));
        assert_eq!(report.evaluation.summary.episodes, 20);
        assert_eq!(report.training().len(), 6);
        let last = *report.evaluations().last().unwrap();
        assert_eq!((last.x, last.mean), (6.0, report.evaluation.summary.mean));
        let labels: Vec<String> = report.references().into_iter().map(|r| r.label).collect();
        assert_eq!(
            labels,
            [
                "random baseline",
                "optimal planner",
                "optimal-stationary policy"
            ]
        );
        // While the run holds its folder, a second writer is refused; then a new run there
        // is, and nothing there changes.
        assert!(matches!(
            Trainer::new(config(6), Some(&out)),
            Err(TrainError::Run(RunError::Lock(_)))
        ));
        drop(trainer);
        assert!(matches!(
            Trainer::new(config(6), Some(&out)),
            Err(TrainError::Run(RunError::RunExists(_)))
        ));
        assert_eq!(evaluated_at(&out), Some(6));
    }

    #[test]
    fn a_stopped_run_resumed_ends_as_an_uninterrupted_one() {
        let dir = tempfile::tempdir().unwrap();
        let whole = dir.path().join("whole");
        let expected = Trainer::new(config(6), Some(&whole))
            .unwrap()
            .fit(&mut Quiet)
            .unwrap();

        let parts = dir.path().join("parts");
        let mut stop = Heard {
            stop_at: Some(4),
            ..Heard::default()
        };
        let stopped = Trainer::new(config(6), Some(&parts))
            .unwrap()
            .fit(&mut stop);
        assert!(matches!(stopped, Err(TrainError::Stopped(4))));
        assert_eq!(evaluated_at(&parts), None);
        let how = Continue {
            source: &parts,
            out: None,
            rewind: false,
            algo: Some(Algo::Linucb),
        };
        // A continuation may change only the resumable keys, and must train further;
        // a refused one changes nothing in the folder.
        let files = |dir: &Path| -> Vec<(PathBuf, Vec<u8>)> {
            let mut out: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file())
                .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
                .collect();
            out.sort();
            out
        };
        let before = files(&parts);
        let reseeded = Trainer::resume(how, |saved, _, _| {
            let mut config = saved.clone();
            config.env.seed += 1;
            Ok::<_, TrainError>(config)
        });
        assert!(matches!(
            reseeded,
            Err(TrainError::Run(RunError::Unresumable { ref changes })) if changes.contains("env.seed")
        ));
        let backwards = Trainer::resume(how, |saved, _, _| {
            let mut config = saved.clone();
            config.iterations = 3;
            Ok::<_, TrainError>(config)
        });
        assert!(matches!(
            backwards,
            Err(TrainError::Run(RunError::NothingToTrain {
                iteration: 4,
                iterations: 3
            }))
        ));
        assert_eq!(files(&parts), before);
        let mut resumed = Trainer::resume(how, |saved, iteration, evaluated| {
            assert_eq!((iteration, evaluated), (4, false));
            Ok::<_, TrainError>(saved.clone())
        })
        .unwrap();
        assert!(resumed.notes().is_empty());
        let report = resumed.fit(&mut Quiet).unwrap();
        assert_eq!(report.evaluation, expected.evaluation);
        let numbers = |m: &[IterationResult]| -> Vec<_> {
            m.iter()
                .map(|r| {
                    (
                        r.training_iteration,
                        r.episode_reward_mean,
                        r.learner.clone(),
                    )
                })
                .collect()
        };
        assert_eq!(numbers(&report.metrics), numbers(&expected.metrics));

        // Another algorithm's checkpoint is refused before anything is written.
        let wrong = Continue {
            algo: Some(Algo::Lints),
            ..how
        };
        let refused = Trainer::resume(wrong, |saved, _, _| Ok::<_, TrainError>(saved.clone()));
        assert!(matches!(
            refused,
            Err(TrainError::Checkpoint(
                CheckpointError::WrongAlgorithm { .. }
            ))
        ));
    }

    #[test]
    fn an_older_checkpoint_branches_into_a_new_folder_with_its_history() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        Trainer::new(config(4), Some(&home))
            .unwrap()
            .fit(&mut Quiet)
            .unwrap();
        let branch = dir.path().join("branch");
        let older = home.join("checkpoint-000002");
        let how = Continue {
            source: &older,
            out: Some(&branch),
            rewind: false,
            algo: None,
        };
        let mut trainer = Trainer::resume(how, |saved, iteration, _| {
            let mut config = saved.clone();
            config.iterations = iteration + 1;
            Ok::<_, TrainError>(config)
        })
        .unwrap();
        assert!(trainer.notes()[0].starts_with("branching from iteration 2 of"));
        let report = trainer.fit(&mut Quiet).unwrap();
        let iterations: Vec<u64> = report
            .metrics
            .iter()
            .map(|m| m.training_iteration)
            .collect();
        assert_eq!(iterations, [1, 2, 3]);
        // The home run keeps its own four iterations.
        assert_eq!(RunDir::latest_in(&home).unwrap(), Some(4));

        // A run stopped after its last iteration, before its final evaluation, branched
        // as it is: nothing to train, and the branch gets its checkpoint and evaluation.
        let stopped = dir.path().join("stopped");
        let mut stop = Heard {
            stop_at: Some(4),
            ..Heard::default()
        };
        let result = Trainer::new(config(4), Some(&stopped))
            .unwrap()
            .fit(&mut stop);
        assert!(matches!(result, Err(TrainError::Stopped(4))));
        let finished = dir.path().join("finished");
        let how = Continue {
            source: &stopped.join("checkpoint-000004"),
            out: Some(&finished),
            rewind: false,
            algo: None,
        };
        let report = Trainer::resume(how, |saved, _, evaluated| {
            assert!(!evaluated);
            Ok::<_, TrainError>(saved.clone())
        })
        .unwrap()
        .fit(&mut Quiet)
        .unwrap();
        assert_eq!(report.checkpoint, finished.join("checkpoint-000004"));
        assert_eq!(evaluated_at(&finished), Some(4));
        assert_eq!(evaluated_at(&stopped), None);
    }
}
