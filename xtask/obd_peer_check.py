"""Peer check: rlrec's estimates on the Open Bandit Dataset against obp 0.5.7's own.

Run by `cargo xtask obd --peer` in a Python 3.10 venv holding obp (which installs only on
Python < 3.11). For each campaign and direction it

* imports both samples with `rlrec import obd` and evaluates with `rlrec ope --json`,
  writing the target's action distribution with `--write-target`;
* loads the same sample with obp's `OpenBanditDataset` and checks that the rows are the
  same (item, position, click, propensity, in order);
* computes obp's IPS and SNIPS on those rows with rlrec's action distribution, which
  must equal rlrec's to 1e-9;
* and, beside them, BTS's action distribution as obp computes it (its largest
  difference from rlrec's, and IPS with it), and obp's DM and DR with its logistic
  regression model, which differ from rlrec's ridge model by design.

Usage: python obd_peer_check.py RLREC WORKDIR OUT.md
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from obp.dataset import OpenBanditDataset
from obp.ope import (
    DirectMethod,
    DoublyRobust,
    InverseProbabilityWeighting,
    RegressionModel,
    SelfNormalizedInverseProbabilityWeighting,
)
from obp.policy import BernoulliTS
from sklearn.linear_model import LogisticRegression

CAMPAIGNS = ["all", "men", "women"]
TOLERANCE = 1e-9


def rlrec(binary: str, *args: str) -> str:
    return subprocess.run(
        [binary, *args], check=True, capture_output=True, text=True
    ).stdout


def estimates(report: dict) -> dict[str, float]:
    return {
        line["id"]: line["outcome"]["value"]
        for line in report["report"]["estimates"]
        if line["outcome"]["status"] == "estimate"
    }


def same(ours: tuple, theirs: tuple) -> bool:
    """The same rows, as multisets: obp sorts the sample by timestamp, which reorders
    rows of equal timestamps; and pandas' default CSV float parser may round a
    propensity one unit in the last place away from the correctly rounded value."""
    ours_arr = np.column_stack([np.asarray(c, dtype=float) for c in ours])
    theirs_arr = np.column_stack([np.asarray(c, dtype=float) for c in theirs])
    if ours_arr.shape != theirs_arr.shape:
        return False
    ours_arr = ours_arr[np.lexsort(ours_arr.T[::-1])]
    theirs_arr = theirs_arr[np.lexsort(theirs_arr.T[::-1])]
    return bool(
        np.array_equal(ours_arr[:, :3], theirs_arr[:, :3])
        and np.allclose(ours_arr[:, 3], theirs_arr[:, 3], rtol=1e-12, atol=0.0)
    )


def check(binary: str, work: Path, campaign: str, logging: str, target: str) -> dict:
    logs = {p: work / f"{p}-{campaign}" for p in ("random", "bts")}
    for policy, out in logs.items():
        rlrec(binary, "import", "obd", "--campaign", campaign, "--policy", policy, "--out", str(out))
    dist_file = work / f"{target}-{campaign}.csv"
    other = "bts" if logging == "random" else "random"
    ours = json.loads(
        rlrec(
            binary,
            "ope",
            "--logs",
            str(logs[logging]),
            "--target",
            "bts" if target == "bts" else "uniform",
            "--on-policy",
            str(logs[other]),
            "--write-target",
            str(dist_file),
            "--json",
        )
    )
    mine = estimates(ours)
    data = OpenBanditDataset(behavior_policy=logging, campaign=campaign)
    fb = data.obtain_batch_bandit_feedback()
    steps = pq.read_table(logs[logging] / "steps.parquet").to_pydict()
    same_rows = same(
        (steps["item"], steps["position"], steps["reward"], steps["propensity"]),
        (fb["action"], fb["position"], fb["reward"], fb["pscore"]),
    )
    n, k = fb["n_rounds"], data.len_list
    dist = np.loadtxt(dist_file, delimiter=",", ndmin=2)
    action_dist = np.tile(dist, (n, 1, 1))
    args = dict(
        reward=fb["reward"],
        action=fb["action"],
        position=fb["position"],
        pscore=fb["pscore"],
    )
    ips = InverseProbabilityWeighting().estimate_policy_value(action_dist=action_dist, **args)
    snips = SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(
        action_dist=action_dist, **args
    )
    row = {
        "campaign": campaign,
        "direction": f"{logging} → {target}",
        "same_rows": same_rows,
        "ips_rlrec": mine["ips"],
        "ips_obp": ips,
        "snips_rlrec": mine["snips"],
        "snips_obp": snips,
        "dm_rlrec": mine["dm"],
        "dr_rlrec": mine["dr"],
    }
    row["delta"] = max(abs(mine["ips"] - ips), abs(mine["snips"] - snips))
    row["equal"] = same_rows and row["delta"] <= TOLERANCE
    if target == "bts":
        bts = BernoulliTS(
            n_actions=data.n_actions,
            len_list=k,
            is_zozotown_prior=True,
            campaign=campaign,
            random_state=12345,
        )
        theirs = bts.compute_batch_action_dist(n_rounds=1, n_sim=100000)[0]
        row["dist_max_diff"] = float(np.abs(theirs - dist).max())
        row["ips_obp_own_dist"] = InverseProbabilityWeighting().estimate_policy_value(
            action_dist=np.tile(theirs, (n, 1, 1)), **args
        )
        action_dist = np.tile(theirs, (n, 1, 1))
    model = RegressionModel(
        n_actions=data.n_actions,
        len_list=k,
        action_context=data.action_context,
        base_model=LogisticRegression(max_iter=10000, C=100, random_state=12345),
    )
    q_hat = model.fit_predict(
        context=fb["context"],
        action=fb["action"],
        reward=fb["reward"],
        position=fb["position"],
        pscore=fb["pscore"],
        n_folds=2,
        random_state=12345,
    )
    row["dm_obp"] = DirectMethod().estimate_policy_value(
        position=fb["position"], action_dist=action_dist, estimated_rewards_by_reg_model=q_hat
    )
    row["dr_obp"] = DoublyRobust().estimate_policy_value(
        action_dist=action_dist, estimated_rewards_by_reg_model=q_hat, **args
    )
    return row


def main() -> None:
    binary, work, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    rows = [
        check(binary, work, c, logging, target)
        for c in CAMPAIGNS
        for logging, target in (("random", "bts"), ("bts", "random"))
    ]
    lines = [
        "| campaign | direction | same rows | IPS rlrec | IPS obp | SNIPS rlrec | SNIPS obp "
        "| largest difference | equal to 1e-9 | BTS dist max diff | IPS, obp's BTS dist | DM rlrec | DM obp | DR rlrec | DR obp |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        f = lambda key: f"{r[key]:.6f}" if key in r else "–"  # noqa: E731
        lines.append(
            f"| {r['campaign']} | {r['direction']} | {r['same_rows']} | {f('ips_rlrec')} "
            f"| {f('ips_obp')} | {f('snips_rlrec')} | {f('snips_obp')} | {r['delta']:.1e} | {r['equal']} "
            f"| {f('dist_max_diff')} | {f('ips_obp_own_dist')} | {f('dm_rlrec')} | {f('dm_obp')} "
            f"| {f('dr_rlrec')} | {f('dr_obp')} |"
        )
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if not all(r["equal"] for r in rows):
        sys.exit("rlrec's IPS or SNIPS differ from obp's on the same rows")


if __name__ == "__main__":
    main()
