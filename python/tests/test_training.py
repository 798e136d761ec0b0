"""``rlrec.train``: a run started from Python is the command line's run, its configuration
given as keyword arguments, dotted keys or sections alike."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rlrec
from conftest import run_cli

# A LinUCB run of three one-episode iterations: quick, and its figures depend on every key.
KEYS: dict[str, Any] = {"iterations": 3, "eval_episodes": 5}


def test_a_run_from_python_is_the_command_lines_run(rlrec_bin: Path, tmp_path: Path) -> None:
    heard: list[int] = []
    result = rlrec.train(
        "linucb",
        out=tmp_path / "python",
        binary=rlrec_bin,
        on_iteration=lambda line: heard.append(int(line["training_iteration"])),
        linucb={"alpha": 2.0},
        env={"seed": 3, "num_candidates": 10},
        **KEYS,
    )
    assert heard == [1, 2, 3]
    assert [line["training_iteration"] for line in result["iterations"]] == [1, 2, 3]
    assert result["run"] == (tmp_path / "python").resolve()
    assert result["checkpoint"] == result["run"] / "checkpoint-000003"
    saved = tomllib.loads((result["run"] / "config.toml").read_text())
    assert saved["linucb"]["alpha"] == 2.0
    assert saved["env"]["seed"] == 3
    assert saved["env"]["num_candidates"] == 10
    lines = run_cli(
        rlrec_bin,
        "train",
        "--algo",
        "linucb",
        "--iterations",
        "3",
        "--eval-episodes",
        "5",
        "--seed",
        "3",
        "--num-candidates",
        "10",
        "--set",
        "linucb.alpha=2",
        "--json",
        "--out",
        str(tmp_path / "cli"),
    ).splitlines()
    cli = json.loads(lines[-1])
    assert result["evaluation"] == cli["evaluation"]
    # Dotted keys set what sections set.
    dotted = rlrec.train(
        "linucb",
        out=tmp_path / "dotted",
        binary=rlrec_bin,
        **{"linucb.alpha": 2.0, "env.seed": 3, "env.num_candidates": 10},
        **KEYS,
    )
    assert dotted["evaluation"] == cli["evaluation"]
    assert dotted["plot"] == dotted["run"] / "linucb-training.png"
    assert dotted["random_baseline"] == cli["random_baseline"]


def test_the_configuration_as_toml(tmp_path: Path) -> None:
    text = rlrec.config_toml(
        {
            "algo": "slateq",
            "slateq.hidden": np.array([64, 64]),
            "slateq": {"lr": np.logspace(-5, -3, 3)[1], "double_q": np.bool_(True)},
            "env": {"env": "lts", "seed": np.int64(3)},
            "offline": {"logs": tmp_path, "odd key": "é😀"},
        }
    )
    assert tomllib.loads(text) == {
        "algo": "slateq",
        "slateq": {"hidden": [64, 64], "lr": float(np.logspace(-5, -3, 3)[1]), "double_q": True},
        "env": {"env": "lts", "seed": 3},
        "offline": {"logs": str(tmp_path), "odd key": "é😀"},
    }


@pytest.mark.parametrize(
    ("keys", "error", "match"),
    [
        ({"linucb": {"alpah": 1.0}}, ValueError, "alpah"),
        ({"iterations": 0}, ValueError, "iterations"),
        ({"linucb.alpha": 1.0, "linucb": {"alpha": 2.0}}, ValueError, "twice"),
        ({"linucb": 1, "linucb.alpha": 2.0}, ValueError, "section"),
        ({"env": {"wrappers.time_aware": True}, "env.wrappers": {"time_aware": False}}, ValueError, "env.wrappers.time_aware is given twice"),
        ({"linucb.": 1.0}, ValueError, "configuration key"),
        ({"linucb.alpha": float("nan")}, ValueError, "finite"),
        ({"linucb.alpha": object()}, TypeError, "object"),
    ],
)
def test_a_refused_configuration_raises_and_writes_no_run(
    rlrec_bin: Path, tmp_path: Path, keys: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        rlrec.train("linucb", out=tmp_path / "run", binary=rlrec_bin, **keys)
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def test_a_missing_binary_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no rlrec binary"):
        rlrec.train("linucb", binary=tmp_path / "nothing")
