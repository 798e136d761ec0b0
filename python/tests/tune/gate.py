"""``rlrec`` behind a gate, for the two-node cluster test: ``gate.py RLREC RELEASE ARGS…``.

Any command but ``train`` runs as it is. A ``train`` passes ``rlrec``'s output on line by
line, but after its iteration 2 it holds the rest back until the file RELEASE exists
(written once the second node is removed, or after a bound). So the trial that the test
kills is still running when its node goes, however fast the machine: without the gate, a
trial could end between the report the watcher reads and the removal of its node, and
then it is not restarted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HOLD_S = 240


def main() -> int:
    rlrec, release, args = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    if not args or args[0] != "train":
        return subprocess.run([rlrec, *args], check=False).returncode
    with subprocess.Popen([rlrec, *args], stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            try:
                iteration = json.loads(line).get("training_iteration")
            except json.JSONDecodeError:
                continue
            if iteration == 2:
                deadline = time.monotonic() + HOLD_S
                while not release.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
