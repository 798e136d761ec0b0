"""A sweep on a two-node Ray cluster whose second node is killed mid-sweep (run by
``test_ray.py`` inside ``unshare -n``): ``cluster_sweep.py SWEEP OUT RLREC REPORT RELEASE``.

The head and the second node have one CPU each, so two trials run at once, one on each.
Once a trial on the second node has reported two iterations (its first checkpoint), the
node is removed (its raylet and workers killed); Tune restarts that trial from its
checkpoint on the head. RLREC is ``gate.py`` behind a script, which holds every trial after
its iteration 2 until the file RELEASE exists: it is written once the node is gone. The report holds both node ids, the killed trial and the results.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import tomllib
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

import rlrec.tune


def _latest(results: Path) -> dict | None:
    """The last whole row of a trial's ``result.json``."""
    for line in reversed(results.read_text().splitlines()):
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written
    return None


def _watch(
    storage: Path, iterations: int, node_id: str, cluster: Cluster, node: object, killed: list[str], release: Path
) -> None:
    """Removes ``node`` once a trial on it has reported iteration 2 or later, but not its
    last (a trial already finished there would not be restarted), then opens the gate."""
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and not killed:
            for results in storage.glob("*/*/result.json"):
                row = _latest(results)
                if row and row.get("node_id") == node_id and 2 <= row.get("training_iteration", 0) < iterations:
                    killed.append(row["config"]["trial"])
                    cluster.remove_node(node, allow_graceful=False)
                    return
            time.sleep(0.05)
    finally:
        release.touch()


def main() -> None:
    sweep, out, binary, report, release = sys.argv[1:6]
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        second = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False)
        head_id = cluster.head_node.node_id
        second_id = second.node_id
        killed: list[str] = []
        storage = Path(out) / "ray"
        iterations = int(tomllib.loads(Path(sweep).read_text())["sweep"]["iterations"])
        watcher = threading.Thread(
            target=_watch, args=(storage, iterations, second_id, cluster, second, killed, Path(release)),
            daemon=True,
        )
        watcher.start()
        summary = rlrec.tune.run(sweep, out, binary=binary, max_failures=2, verbose=0)
        Path(report).write_text(
            json.dumps({"head": head_id, "second": second_id, "killed": killed[0] if killed else None,
                        "nodes": summary["nodes"], "summary": summary})
        )
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main()
