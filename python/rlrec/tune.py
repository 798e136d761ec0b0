"""The same sweep on a Ray cluster: ``python -m rlrec.tune SWEEP.toml --address ADDR``.

The sweep is expanded by ``rlrec tune --plan`` (the same trials, names and configurations
as a local ``rlrec tune``), and each trial runs as a Ray Tune function trainable that
drives the ``rlrec`` binary in a subprocess (``rlrec train --json``): SlateQ's libtorch
stays out of the Python process. Every iteration is reported with ``tune.report``, and
every checkpoint ``rlrec train`` writes becomes a Tune checkpoint (the run folder at that
iteration). A trial that Tune restarts, on another node if its own died
(``FailureConfig(max_failures=...)``), continues from ``tune.get_checkpoint()`` with
``rlrec train --resume``: rlrec's checkpoints continue exactly, so every trial's metrics
equal the local sweep's bit for bit (wall-clock fields aside). At the end the finished run
folders are laid into the sweep folder and ``rlrec tune --resume`` makes the local sweep's
table and figures from them.

Needs ``ray[tune]`` and the ``rlrec`` binary on every node (``RLREC_BIN``, ``--binary``,
or on the ``PATH``); the storage path must be reachable from every node (docs/sweeps.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlrec.training import binary_path, json_lines

__all__ = ["main", "run"]

# rlrec's run-folder files that a Tune checkpoint carries (the lock stays behind).
_RUN_FILES = (".rlrec-run", "config.toml", "metrics.jsonl", "events.out.tfevents.rlrec")
_POINTER = "checkpoint_path.txt"
_EVALUATION = "evaluation.json"
_FINAL_FILES = (_EVALUATION,)


def _plan(binary: str, sweep: Path, out: Path) -> list[dict[str, Any]]:
    """``rlrec tune SWEEP --out OUT --plan --json``: the trials, with the sweep folder
    written; raises ``ValueError`` with rlrec's message for a sweep it refuses."""
    done = subprocess.run(
        [binary, "tune", str(sweep), "--out", str(out), "--plan", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ValueError(done.stderr.strip().removeprefix("error: "))
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _snapshot(run: Path, iteration: int, into: Path, final: bool) -> Path | None:
    """A Tune checkpoint of the run folder at ``iteration``: its files and that checkpoint
    folder. ``None`` when ``rlrec train`` moved past it meanwhile (a newer checkpoint
    may then have taken the older one's replay buffer); the next checkpoint serves."""
    name = f"checkpoint-{iteration:06d}"
    pointer = run / _POINTER

    def latest() -> str:
        return Path(pointer.read_text().strip()).name if pointer.is_file() else ""

    if latest() != name:
        return None
    into.mkdir(parents=True)
    shutil.copytree(run / name, into / name)
    for file in _RUN_FILES + (_FINAL_FILES if final else ()):
        if (run / file).is_file():
            shutil.copy2(run / file, into / file)
    if latest() != name:
        shutil.rmtree(into)
        return None
    # The pointer names the checkpoint by its folder name, which a restored run has too.
    (into / _POINTER).write_text(f"{into / name}\n")
    return into


def _train_trial(config: dict[str, Any], binary: str, configs: dict[str, str]) -> None:
    """The Tune function trainable of one trial (``config["trial"]`` names it)."""
    import ray
    from ray import tune

    name = str(config["trial"])
    settings = tomllib.loads(configs[name])
    iterations, every = int(settings["iterations"]), int(settings["checkpoint_every"])
    node_id = ray.get_runtime_context().get_node_id()
    work = Path(tempfile.mkdtemp(prefix=f"rlrec-{name}-"))
    run = work / "run"
    try:
        restored = tune.get_checkpoint()
        if restored is None:
            config_file = work / "config.toml"
            config_file.write_text(configs[name])
            command = [binary, "train", "--json", "--out", str(run), "--config", str(config_file)]
        else:
            with restored.as_directory() as saved:
                shutil.copytree(saved, run)
            if (run / _EVALUATION).is_file():
                # The node died after the trial's last report and before Tune saw it end:
                # the run is complete, so its last report is made again, not the run.
                _report(_final_line(run, node_id), run, work, final=True)
                return
            command = [binary, "train", "--json", "--resume", "--out", str(run)]
        log_path = work / "train.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
            try:
                held: dict[str, Any] | None = None
                for line in json_lines(process):
                    if "checkpoint" in line:
                        # The last line: the run is evaluated and its folder complete.
                        assert held is not None, "the last iteration comes first"
                        held["evaluation"] = line["evaluation"]
                        _report(held, run, work, final=True)
                        held = None
                        continue
                    line["node_id"] = node_id
                    iteration = int(line["training_iteration"])
                    if iteration == iterations:
                        held = line
                    else:
                        due = every > 0 and iteration % every == 0
                        _report(line, run, work, final=False, checkpoint=due)
            finally:
                if process.poll() is None:
                    process.kill()
                process.wait()
        if process.returncode != 0:
            raise RuntimeError(f"trial {name}: rlrec train failed:\n{log_path.read_text()[-2000:]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _final_line(run: Path, node_id: str) -> dict[str, Any]:
    """The last report of a finished run folder: its last iteration's metrics with the
    final evaluation, as ``_train_trial`` made it from ``rlrec train --json``."""
    line: dict[str, Any] = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    line["node_id"] = node_id
    line["evaluation"] = json.loads((run / _EVALUATION).read_text())["evaluation"]
    return line


def _report(line: dict[str, Any], run: Path, work: Path, *, final: bool, checkpoint: bool = True) -> None:
    """``tune.report`` of one iteration's metrics, with the run folder at that iteration
    as the Tune checkpoint where it has one."""
    from ray import tune

    iteration = int(line["training_iteration"])
    staged = _snapshot(run, iteration, work / f"report-{iteration}", final) if checkpoint else None
    try:
        tune.report(line, checkpoint=tune.Checkpoint.from_directory(str(staged)) if staged else None)
    finally:
        # Tune has copied the checkpoint into its storage by now.
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)


def run(
    sweep: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    address: str | None = None,
    storage_path: str | os.PathLike[str] | None = None,
    max_failures: int = 3,
    cpus_per_trial: float = 1.0,
    binary: str | os.PathLike[str] | None = None,
    verbose: int = 1,
) -> dict[str, Any]:
    """Runs the sweep file ``sweep`` on Ray Tune into the sweep folder ``out`` (new or
    empty), as ``rlrec tune SWEEP --out OUT`` would locally, and returns its results
    (``results.json``'s object) with ``nodes``: each trial's node ids, in the order it ran
    on them. Connects to ``address`` (``"auto"``, ``"HOST:PORT"``) unless Ray is already
    initialised; ``storage_path`` (a path or a URI such as ``s3://bucket/sweeps``; default
    ``OUT/ray``) must be reachable from every node.
    Raises ``ValueError`` for a sweep rlrec refuses and ``RuntimeError`` when a trial fails
    more than ``max_failures`` times."""
    import ray
    from ray import tune

    if not isinstance(max_failures, int) or max_failures < 0:
        raise ValueError(f"max_failures must be a whole number of at least 0, not {max_failures!r}")
    if not cpus_per_trial > 0:
        raise ValueError(f"cpus_per_trial must be above 0, not {cpus_per_trial!r}")
    rlrec = binary_path(binary)
    sweep_path, out_path = Path(sweep).resolve(), Path(out).resolve()
    trials = _plan(rlrec, sweep_path, out_path)
    storage = str(storage_path) if storage_path is not None else str(out_path / "ray")
    if "://" not in storage:  # a path, not a URI such as s3://bucket/sweeps
        storage = str(Path(storage).resolve())
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=verbose > 1)
    configs = {t["trial"]: str(t["config"]) for t in trials}
    trainable = tune.with_resources(
        tune.with_parameters(_train_trial, binary=rlrec, configs=configs), {"cpu": cpus_per_trial}
    )
    tuner = tune.Tuner(
        trainable,
        param_space={"trial": tune.grid_search([t["trial"] for t in trials])},
        run_config=tune.RunConfig(
            name=out_path.name,
            storage_path=storage,
            failure_config=tune.FailureConfig(max_failures=max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            verbose=verbose,
        ),
    )
    grid = tuner.fit()
    outcomes = [grid[i] for i in range(len(grid))]
    failed = [str(r.error) for r in outcomes if r.error is not None]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(trials)} trials failed:\n" + "\n".join(failed))
    nodes: dict[str, list[str]] = {}
    for result in outcomes:
        name = str((result.config or {})["trial"])
        if result.checkpoint is None:
            raise RuntimeError(f"trial {name} ended without a checkpoint")
        with result.checkpoint.as_directory() as saved:
            shutil.copytree(saved, out_path / "trials" / name)
        # Every report, those before a restart included, in the order they came.
        history = result.metrics_dataframe
        ran_on = history["node_id"] if history is not None and "node_id" in history else []
        nodes[name] = list(dict.fromkeys(ran_on))
    done = subprocess.run(
        [rlrec, "tune", str(sweep_path), "--out", str(out_path), "--resume", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"rlrec tune --resume failed: {done.stderr.strip()}")
    results: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    results["nodes"] = {name: nodes[name] for name in sorted(nodes)}
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rlrec.tune``: the command line of :func:`run`."""
    parser = argparse.ArgumentParser(
        prog="python -m rlrec.tune",
        description="Run an rlrec sweep file on a Ray cluster (the same trials as `rlrec tune`).",
    )
    parser.add_argument("sweep", help="the sweep file (TOML), as `rlrec tune` takes it")
    parser.add_argument("--out", required=True, help="the sweep folder (new or empty)")
    parser.add_argument("--address", default=None, help="the Ray cluster: auto, or HOST:PORT of its head")
    parser.add_argument("--storage-path", default=None, help="Tune's storage, reachable from every node [OUT/ray]")
    parser.add_argument("--max-failures", type=int, default=3, help="restarts of a failed trial [3]")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs a trial takes [1]")
    parser.add_argument("--binary", default=None, help="the rlrec binary [RLREC_BIN, else rlrec on the PATH]")
    args = parser.parse_args(argv)
    try:
        results = run(
            args.sweep,
            args.out,
            address=args.address,
            storage_path=args.storage_path,
            max_failures=args.max_failures,
            cpus_per_trial=args.cpus_per_trial,
            binary=args.binary,
        )
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for name, ids in results["nodes"].items():
        print(f"{name}: ran on node {' then '.join(i[:12] for i in ids)}")
    table = subprocess.run(
        [binary_path(args.binary), "tune", args.sweep, "--out", args.out, "--resume"],
        capture_output=True,
        text=True,
        check=False,
    )
    print(table.stdout, end="")
    return table.returncode


if __name__ == "__main__":
    sys.exit(main())
