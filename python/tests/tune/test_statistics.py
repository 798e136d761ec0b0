"""rlrec's interval statistics (``rollout::stats``, through ``rlrec compare --seeds``)
against the reference implementations: rliable's interquartile mean and stratified
bootstrap (Agarwal et al., NeurIPS 2021), and scipy's Student's t interval."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli

rly = pytest.importorskip("rliable.library")
metrics = pytest.importorskip("rliable.metrics")
stats = pytest.importorskip("scipy.stats")

SEEDS = 12
REPS = 50_000  # rlrec's rollout::stats::BOOTSTRAP_REPS, rliable's default
# rliable's bootstrap runs in Python, about 9 s per 50,000 resamples: six draws of it, on
# one row only.
THEIR_SEEDS = 6


def _rliable_iqm_interval(scores: np.ndarray, seed: int) -> np.ndarray:
    """rliable's 95% percentile interval of the IQM of one task's runs."""
    np.random.seed(seed)
    matrix = scores.reshape(-1, 1)  # runs × tasks
    _, intervals = rly.get_interval_estimates(
        {"x": matrix}, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=REPS
    )
    return np.asarray(intervals["x"])[:, 0]


@pytest.fixture(scope="module")
def rows(rlrec_bin: Path) -> list[dict]:
    # Two policies on 12 evaluation seeds of 10 episodes: spreads of a few points. The
    # point estimates are checked on both, the bootstrap on the second (kale).
    out = run_cli(
        rlrec_bin, "compare", "--policy", "random", "--policy", "kale",
        "--seeds", str(SEEDS), "--episodes", "10", "--json",
    )
    return json.loads(out.splitlines()[-1])


def test_point_estimates_and_the_t_interval_are_exact(rows: list[dict]) -> None:
    for row in rows:
        scores = np.array(row["stats"]["scores"])
        assert len(scores) == SEEDS
        assert row["stats"]["iqm"]["value"] == pytest.approx(metrics.aggregate_iqm(scores.reshape(-1, 1)), rel=1e-12)
        assert row["stats"]["mean"]["value"] == pytest.approx(scores.mean(), rel=1e-12)
        lo, hi = stats.t.interval(0.95, len(scores) - 1, loc=scores.mean(), scale=stats.sem(scores))
        assert row["stats"]["mean"]["ci95"] == pytest.approx([lo, hi], rel=1e-10)


def test_the_iqm_interval_agrees_with_rliable_within_the_bootstraps_own_noise(rows: list[dict]) -> None:
    for row in rows[1:]:
        scores = np.array(row["stats"]["scores"])
        ours = np.array(row["stats"]["iqm"]["ci95"])
        # rliable's endpoints over several seeds: their spread `sd` is the Monte-Carlo
        # noise of a 50,000-resample percentile. rlrec's endpoint is an independent draw
        # of the same estimator, so its difference from the mean of rliable's six has a
        # standard deviation of sd·√(1 + 1/6); five of those (a false alarm about once in
        # 1.7 million were sd exact) bound it, plus a hair for float rounding.
        theirs = np.array([_rliable_iqm_interval(scores, seed) for seed in range(THEIR_SEEDS)])
        centre, sd = theirs.mean(axis=0), theirs.std(axis=0, ddof=1)
        tolerance = 5 * sd * np.sqrt(1 + 1 / THEIR_SEEDS) + 1e-9 * np.abs(centre)
        print(f"{row['label']}: rlrec {ours}, rliable {centre} ± {sd} (tolerance {tolerance})")
        assert np.all(np.abs(ours - centre) <= tolerance), (row["label"], ours, centre, sd)
        # And the interval is not trivially wide: it lies inside the scores' range.
        assert scores.min() <= ours[0] < ours[1] <= scores.max()
