"""Python gives the CLI's figures: the same episodes bit for bit, and the same baselines."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rlrec
from conftest import run_cli

# (CLI arguments, the same options for Python).
SCENARIOS: list[tuple[list[str], dict[str, Any]]] = [
    ([], {}),
    (["--env", "lts", "--num-candidates", "10", "--slate-size", "3", "--seed", "5"], {"num_candidates": 10, "slate_size": 3, "seed": 5}),
    (["--env", "interest-evolution", "--num-candidates", "10", "--seed", "2"], {"num_candidates": 10, "seed": 2}),
    (
        ["--env", "interest-exploration", "--num-candidates", "10", "--horizon", "50", "--seed", "3"],
        {"num_candidates": 10, "horizon": 50, "seed": 3},
    ),
    (
        ["--env", "strong-lts", "--discrete-action", "--bandit-observation", "--set", "sensitivity=0.1", "--seed", "9"],
        {"discrete_action": True, "bandit_observation": True, "sensitivity": 0.1, "seed": 9},
    ),
    (
        ["--env", "interest-evolution", "--num-candidates", "6", "--user-observation", "--resample-documents", "false"],
        {"num_candidates": 6, "user_observation": True, "resample_documents": False},
    ),
]


@pytest.mark.parametrize("cli,options", SCENARIOS, ids=lambda x: " ".join(x) if isinstance(x, list) else "")
@pytest.mark.parametrize("flat", [False, True])
def test_replaying_the_clis_random_episode_gives_every_reward_bit_for_bit(
    rlrec_bin: Path, cli: list[str], options: dict[str, Any], flat: bool
) -> None:
    recorded = json.loads(run_cli(rlrec_bin, "episode", "--policy", "random", "--json", *cli))
    env = rlrec.make(_env(cli), flat=flat, **options)
    env.reset()
    discrete = bool(options.get("discrete_action"))
    n = options.get("num_candidates", 20)
    total = 0.0
    for i, step in enumerate(recorded["steps"]):
        slate = step["slate"]
        # Discrete actions encode a slate little-endian in base N, as RLlib's wrapper does.
        action = sum(p * n**j for j, p in enumerate(slate)) if discrete else np.array(slate)
        _, reward, terminated, truncated, info = env.step(action)
        assert reward == step["reward"], f"step {i}"
        assert info.get("clicked") == step["clicked"]
        assert info.get("clicked_quality") == step.get("clicked_quality")
        assert info.get("clicked_cluster") == step.get("clicked_cluster")
        last = i == len(recorded["steps"]) - 1
        assert (terminated or truncated) == last
        total += reward
    assert total == recorded["total_reward"]


def _env(cli: list[str]) -> str:
    return cli[cli.index("--env") + 1] if "--env" in cli else "strong-lts"


@pytest.mark.parametrize(
    "cli,kwargs",
    [
        (["--episodes", "2000"], {"episodes": 2000}),
        (
            ["--policy", "greedy", "--episodes", "300", "--num-envs", "8", "--env", "interest-evolution", "--num-candidates", "10", "--seed", "4"],
            {"policy": "greedy", "episodes": 300, "num_envs": 8, "env": "interest-evolution", "num_candidates": 10, "seed": 4},
        ),
        (
            ["--policy", "optimal", "--episodes", "50", "--num-envs", "3"],
            {"policy": "optimal", "episodes": 50, "num_envs": 3},
        ),
    ],
)
def test_baseline_is_the_clis_baseline_exactly(rlrec_bin: Path, cli: list[str], kwargs: dict[str, Any]) -> None:
    if "--policy" not in cli:
        cli = ["--policy", "random", *cli]
    expected = json.loads(run_cli(rlrec_bin, "baseline", "--json", *cli))
    got = rlrec.baseline(**kwargs)
    assert got == expected
    assert {"mean", "std", "ci95", "mean_length", "episodes"} <= set(got)


def test_a_numpy_seeded_random_policy_agrees_with_the_clis_random_baseline(rlrec_bin: Path) -> None:
    """A different random stream (numpy's) gives different episodes but the same
    expected return. Tolerance: 4 standard errors of the difference of two means of
    2000 episodes each, treating them as independent (they share the environment's
    seed, which correlates them positively and only makes the difference smaller): a
    false failure has probability about 6e-5, and the seeds are fixed."""
    cli = json.loads(run_cli(rlrec_bin, "baseline", "--policy", "random", "--episodes", "2000", "--json"))
    env = rlrec.make("strong-lts", flat=True)
    rng = np.random.default_rng(2024)
    returns = []
    env.reset()
    for _ in range(2000):
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(rng.integers(0, 20, size=2))
            total += reward
            done = terminated or truncated
        returns.append(total)
        env.reset()
    mean, std = float(np.mean(returns)), float(np.std(returns, ddof=1))
    tolerance = 4 * math.sqrt(std**2 / 2000 + cli["std"] ** 2 / cli["episodes"])
    assert abs(mean - cli["mean"]) < tolerance, (mean, cli["mean"], tolerance)
    assert 1150 < mean < 1166, "RecSim's random baseline is 1157.9 ± 1.0"
