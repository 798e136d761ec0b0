"""The same sweep on Ray Tune (``rlrec.tune``): bad input, and a real two-node cluster on
this machine whose second node is killed mid-sweep. Runs where Ray is installed (the
tune venv of ``cargo xtask test``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli

pytest.importorskip("ray.tune")
import rlrec.tune  # noqa: E402

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 300

SWEEP = """
[sweep]
iterations = 10
seeds = 2

[base]
algo = "slateq"
steps_per_iteration = 200
checkpoint_every = 2
eval_episodes = 20
[base.slateq]
hidden = [16]
batch_size = 32
buffer_size = 5000
learning_starts = 200
epsilon_steps = 1000
target_update_every = 100

[axes]
"slateq.lr" = { grid = [1e-3, 1e-4] }
"""


def test_bad_input_raises_before_ray_starts(rlrec_bin: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SWEEP + '"slateq.learnin_rate" = { grid = [0.1] }\n')
    with pytest.raises(ValueError, match="unknown field `learnin_rate`"):
        rlrec.tune.run(bad, tmp_path / "out", binary=rlrec_bin)
    assert not (tmp_path / "out").exists()
    good = tmp_path / "good.toml"
    good.write_text(SWEEP)
    with pytest.raises(ValueError, match="max_failures"):
        rlrec.tune.run(good, tmp_path / "out", binary=rlrec_bin, max_failures=-1)
    with pytest.raises(ValueError, match="no rlrec binary"):
        rlrec.tune.run(good, tmp_path / "out", binary=tmp_path / "missing")


def test_a_trial_restored_after_its_last_report_reports_it_again(
    rlrec_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node that dies between a trial's last report and Tune seeing the trial end leaves
    Tune restoring the final checkpoint: the finished run is reported again, not resumed
    (``rlrec train --resume`` refuses a run already at its last iteration)."""
    import ray
    from ray import tune

    run = tmp_path / "run"
    run_cli(rlrec_bin, "train", "--algo", "random", "--iterations", "2", "--steps-per-iteration", "150",
            "--checkpoint-every", "1", "--eval-episodes", "3", "--out", str(run))
    saved = rlrec.tune._snapshot(run, 2, tmp_path / "saved", final=True)
    assert saved is not None
    reports: list[tuple[dict, list[str]]] = []

    def report(line: dict, checkpoint: tune.Checkpoint | None = None) -> None:
        assert checkpoint is not None
        with checkpoint.as_directory() as folder:
            reports.append((line, sorted(p.name for p in Path(folder).iterdir())))

    class Context:
        def get_node_id(self) -> str:
            return "node-b"

    monkeypatch.setattr(tune, "get_checkpoint", lambda: tune.Checkpoint.from_directory(str(saved)))
    monkeypatch.setattr(tune, "report", report)
    monkeypatch.setattr(ray, "get_runtime_context", Context)
    config = (run / "config.toml").read_text()
    rlrec.tune._train_trial({"trial": "t"}, binary=str(rlrec_bin), configs={"t": config})

    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    evaluation = json.loads((run / "evaluation.json").read_text())["evaluation"]
    assert reports == [
        ({**last, "node_id": "node-b", "evaluation": evaluation},
         sorted(["checkpoint-000002", "evaluation.json", "checkpoint_path.txt", ".rlrec-run", "config.toml",
                 "metrics.jsonl", "events.out.tfevents.rlrec"]))
    ]


def _namespace_works() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False).returncode == 0


def _metrics(run: Path) -> list[dict]:
    """A run's metrics without the wall-clock fields."""
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in l.items() if not k.startswith("time_") and k != "timestamp"} for l in lines]


def test_a_two_node_cluster_loses_a_node_and_matches_the_local_sweep(rlrec_bin: Path, tmp_path: Path) -> None:
    if not _namespace_works():
        pytest.skip("Ray runs here only inside `unshare -n`, which needs root and iproute2")
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SWEEP)
    local = tmp_path / "local"
    run_cli(rlrec_bin, "tune", str(sweep), "--out", str(local), "--jobs", "2")

    ray_out, report, release = tmp_path / "ray", tmp_path / "report.json", tmp_path / "release"
    # The trials' rlrec, held after iteration 2 until the node is gone (see gate.py).
    gated = tmp_path / "rlrec"
    gated.write_text(f'#!/bin/sh\nexec {sys.executable} {HERE / "gate.py"} {rlrec_bin} {release} "$@"\n')
    gated.chmod(0o755)
    helper = HERE / "cluster_sweep.py"
    command = (
        f"ip link set lo up; exec {sys.executable} {helper} {sweep} {ray_out} {gated} {report} {release}"
    )
    process = subprocess.Popen(
        ["unshare", "-n", "bash", "-c", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "RAY_DEDUP_LOGS": "0"},
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    finally:
        # Every Ray process of the cluster is in this session: none outlives the test.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    assert process.returncode == 0, output[-6000:]
    result = json.loads(report.read_text())
    print(json.dumps({k: result[k] for k in ("head", "second", "killed", "nodes")}, indent=1))
    head, second, nodes = result["head"], result["second"], result["nodes"]
    assert len(nodes) == 4
    # Trials ran on both nodes; the one on the killed node was restarted on the head.
    assert {n for ids in nodes.values() for n in ids} == {head, second}
    killed = result["killed"]
    assert nodes[killed] == [second, head], nodes
    # Every trial's metrics, and so the table, equal the local sweep's.
    for name in nodes:
        assert _metrics(ray_out / "trials" / name) == _metrics(local / "trials" / name), name
    ours = json.loads((local / "results.json").read_text())
    for results in (ours, result["summary"]):
        results.pop("figures")
    result["summary"].pop("nodes")
    assert result["summary"] == ours
