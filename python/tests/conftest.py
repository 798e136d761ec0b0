"""Shared fixtures: the worlds, the wrapper switches, and the ``rlrec`` binary."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (Gymnasium id, registry name, small options): 5 candidates keep the checks quick.
WORLDS = [
    ("rlrec/StrongLTS-v0", "strong-lts"),
    ("rlrec/LTS-v0", "lts"),
    ("rlrec/InterestEvolution-v0", "interest-evolution"),
    ("rlrec/InterestExploration-v0", "interest-exploration"),
]

# Each wrapper switch alone, the bandit's pair, the discrete action with the user's state,
# the flat layout (alone and with them), and the time left after the user's state.
SWITCHES: list[dict[str, Any]] = [
    {},
    {"discrete_action": True},
    {"bandit_observation": True},
    {"user_observation": True},
    {"discrete_action": True, "bandit_observation": True},
    {"discrete_action": True, "user_observation": True},
    {"flat": True},
    {"flat": True, "discrete_action": True, "user_observation": True},
    {"flat": True, "bandit_observation": True},
    {"user_observation": True, "time_aware": True},
]


@pytest.fixture(scope="session")
def rlrec_bin() -> Path:
    """The ``rlrec`` binary: ``RLREC_BIN`` (``cargo xtask test`` sets it), else the
    workspace's release build."""
    path = Path(os.environ.get("RLREC_BIN", ROOT / "target" / "release" / "rlrec"))
    if not path.is_file():
        pytest.skip(f"no rlrec binary at {path}: build it (cargo build --release -p cli) or set RLREC_BIN")
    return path


def run_cli(binary: Path, *args: str) -> str:
    """Runs the CLI and returns its standard output."""
    done = subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
