"""RLlib 2.60 trains on an rlrec environment: the example script, two short PPO
iterations on rlrec's vector environment. Runs where Ray is installed (the RLlib venv of
`cargo xtask test`), inside a private network namespace so that Ray stays on loopback;
the test starts and stops everything itself, within a time limit."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import ROOT

# Skips where RLlib is absent (the light and tune venvs); a missing parent `ray` skips too.
pytest.importorskip("ray.rllib", reason="needs ray[rllib] (python/requirements/rllib.txt)")

TIMEOUT_S = 420


def _namespace_works() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def test_ppo_trains_on_the_vector_entry_point() -> None:
    if not _namespace_works():
        pytest.skip("Ray runs here only inside `unshare -n`, which needs root and iproute2")
    script = ROOT / "examples" / "rllib_ppo.py"
    command = f"ip link set lo up; exec {sys.executable} {script} --iterations 2 --num-envs 8 --batch 960"
    process = subprocess.Popen(
        ["unshare", "-n", "bash", "-c", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    finally:
        # Ray's own processes die with the driver; the group goes too, even on failure.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, output
    assert "env runner's environment: RecSimVectorEnv of 8" in output
    # The example's table: iteration, env steps, episodes, return mean, seconds.
    row = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)$")
    rows = [m.groups() for m in map(row.match, output.splitlines()) if m]
    assert [(r[0], r[1]) for r in rows] == [("1", "960"), ("2", "1920")], output
    returns = [float(r[3]) for r in rows if r[3] != "nan"]
    # 120-step episodes of StrongLTS score about 1090-1195 whatever the policy.
    assert returns and all(1000 < r < 1300 for r in returns), output
