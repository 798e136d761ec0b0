"""TensorBoard's own reader reads a run folder's event file back with the values of its
``metrics.jsonl`` and its final evaluation, through a rewind that cut both back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import run_cli

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _flatten(prefix: str, value: Any, out: dict[str, float]) -> None:
    """Every number under ``value`` by its ``/``-joined path, as rlrec tags them."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, (int, float)):
        out[prefix] = float(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}/{k}", v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(f"{prefix}/{i}", v, out)


def test_tensorboard_reads_the_metrics_back(rlrec_bin: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    common = ["--eval-episodes", "3"]
    # Interest evolution has the video metrics (nested), evaluations every 2 iterations
    # add nested objects with arrays.
    run_cli(
        rlrec_bin, "train", "--algo", "linucb", "--env", "interest-evolution", "--num-candidates", "10",
        "--iterations", "6", "--steps-per-iteration", "200", "--checkpoint-every", "2",
        "--evaluation-interval", "2", "--out", str(run), *common,
    )
    # Back to iteration 4 and on to 8: iterations 5 and 6 are replaced.
    run_cli(
        rlrec_bin, "train", "--rewind", "--iterations", "8", "--checkpoint", str(run / "checkpoint-000004"), *common,
    )
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [l["training_iteration"] for l in lines] == list(range(1, 9))
    files = sorted(run.glob("*tfevents*"))
    assert [f.name for f in files] == ["events.out.tfevents.rlrec"]

    acc = event_accumulator.EventAccumulator(str(run), size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    expected: dict[str, list[tuple[int, float, float]]] = {}
    for line in lines:
        flat: dict[str, float] = {}
        for key, value in line.items():
            if key not in ("training_iteration", "timestamp"):
                _flatten(key, value, flat)
        for tag, value in flat.items():
            expected.setdefault(tag, []).append((line["training_iteration"], value, line["timestamp"]))
    # The finished run's final evaluation is one more record, at its last iteration.
    final = json.loads((run / "evaluation.json").read_text())
    final_flat: dict[str, float] = {}
    _flatten("final_evaluation", final["evaluation"], final_flat)
    assert {t for t in tags if t.startswith("final_evaluation/")} == set(final_flat)
    for tag, value in final_flat.items():
        read = acc.Scalars(tag)
        assert [(e.step, e.value) for e in read] == [(final["training_iteration"], float(np.float32(value)))], tag
    tags -= set(final_flat)
    assert tags == set(expected), tags ^ set(expected)
    # The nested parts are there: RecSim's video metrics and the evaluations' intervals.
    assert {"episode_reward_mean", "metrics/CTR", "evaluation/ci95/1"} <= tags
    for tag, points in expected.items():
        read = acc.Scalars(tag)
        assert [e.step for e in read] == [p[0] for p in points], tag
        # Scalars are 32-bit floats in TensorBoard's format: exactly the float32 of the value.
        assert [e.value for e in read] == [float(np.float32(p[1])) for p in points], tag
        assert [e.wall_time for e in read] == [p[2] for p in points], tag
