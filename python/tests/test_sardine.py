"""SARDINE's worlds against `sardine-rec` 1.0.8 itself, in the same run: the random policy's
and the greedy oracle's clicks per episode on every preset, and the click rate of every
step of a fixed slate sequence; then the Gymnasium contract of rlrec's ids.

The reference runs at about 8,000 steps a second, so its episodes run in two processes.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rlrec

# The test venv installs it (python/requirements/test.txt); the RLlib venv does not.
sardine = pytest.importorskip("sardine")

EPISODES = 1000
EMBEDDINGS = Path(sardine.__file__).resolve().parent / "embeddings"
PRESETS = sorted(rlrec.envs.SARDINE_IDS.items())
# The fixed slate sequence's world: drifting interests and boredom, the most dynamics.
SEQUENCE_ID = "sardine/SlateTopK-BoredInf-v0"


def _items(sardine_id: str) -> Path:
    """SARDINE's own item embeddings of preset ``sardine_id``."""
    return EMBEDDINGS / gymnasium.spec(sardine_id).kwargs["env_embedds"]


def _fixed_slate(t: int, k: int, n: int) -> np.ndarray:
    """Step ``t``'s slate of the fixed sequence: a stride through the catalogue."""
    return np.array([(t * 37 + j * 101) % n for j in range(k)], dtype=np.int64)


def _reference(job: tuple[str, str]) -> np.ndarray:
    """SARDINE's clicks: per episode (``random``, ``oracle``), or per episode and step
    (``sequence``)."""
    sardine_id, policy = job
    import sardine as _  # noqa: F401 (registers the ids in this process)

    env = gymnasium.make(sardine_id).unwrapped
    k, n = env.slate_size, env.num_items
    env.action_space.seed(7)
    out = []
    for episode in range(EPISODES):
        env.reset(seed=20_000 + episode)
        clicks, done, t = [], False, 0
        while not done:
            if policy == "oracle":
                slate = -np.ones(k, dtype=np.int64)
            elif policy == "random":
                slate = env.action_space.sample()
            else:
                slate = _fixed_slate(t, k, n)
            _, reward, terminated, truncated, _ = env.step(slate)
            clicks.append(reward)
            done = terminated or truncated
            t += 1
        out.append(clicks if policy == "sequence" else sum(clicks))
    return np.array(out, dtype=float)


@pytest.fixture(scope="module")
def reference() -> dict[tuple[str, str], np.ndarray]:
    jobs = [(i, p) for i, _ in PRESETS for p in ("random", "oracle")] + [(SEQUENCE_ID, "sequence")]
    with ProcessPoolExecutor(max_workers=2) as pool:
        return dict(zip(jobs, pool.map(_reference, jobs)))


def _half_width(x: np.ndarray) -> float:
    return 1.96 * float(np.std(x, ddof=1)) / math.sqrt(len(x))


@pytest.mark.parametrize("policy", ["random", "oracle"])
@pytest.mark.parametrize("sardine_id", [i for i, _ in PRESETS])
def test_mean_clicks_per_episode_agree_with_sardine(
    reference: dict[tuple[str, str], np.ndarray], sardine_id: str, policy: str
) -> None:
    ours = rlrec.baseline(
        policy, sardine_id, episodes=EPISODES, num_envs=4, seed=20_000, item_embeddings=_items(sardine_id)
    )
    theirs = reference[(sardine_id, policy)]
    # Within the two 95% intervals together (half-widths added: for equal spreads a
    # 2.8-sd test, which two equal simulators fail about once in 200 comparisons).
    allowed = _half_width(theirs) + ours["ci95"][1] - ours["mean"]
    assert abs(ours["mean"] - theirs.mean()) <= allowed, (ours, theirs.mean(), _half_width(theirs))


def test_every_steps_click_rate_of_a_fixed_slate_sequence_agrees_with_sardine(
    reference: dict[tuple[str, str], np.ndarray],
) -> None:
    theirs = reference[(SEQUENCE_ID, "sequence")]
    env = rlrec.make(SEQUENCE_ID, item_embeddings=_items(SEQUENCE_ID))
    k, n = env.action_space.nvec.size, int(env.action_space.nvec[0])
    ours = np.zeros_like(theirs)
    for episode in range(EPISODES):
        env.reset(seed=30_000 + episode)
        for t in range(theirs.shape[1]):
            _, reward, terminated, truncated, _ = env.step(_fixed_slate(t, k, n))
            ours[episode, t] = reward
        assert terminated and not truncated
    # Welch's z for every step's mean clicks, Bonferroni-corrected over the 100 steps
    # (valid however the steps of an episode depend on each other): a family-wise 0.1%.
    se = np.sqrt(ours.var(axis=0, ddof=1) / EPISODES + theirs.var(axis=0, ddof=1) / EPISODES)
    z = np.abs(ours.mean(axis=0) - theirs.mean(axis=0)) / np.maximum(se, 1e-12)
    bound = 4.06  # Φ⁻¹(1 − 0.001 / 200)
    assert z.max() < bound, (int(z.argmax()), float(z.max()))
    # The rates move within an episode (the drift toward the clicked items' scalar mean
    # flattens the interests: about 0.46 clicks a step at first, 0.33 at the end), so the
    # check compares dynamics, not a constant; both simulators fall alike.
    for clicks in (theirs, ours):
        rate = clicks.mean(axis=0)
        assert rate[:20].mean() - rate[-20:].mean() > 0.05


@pytest.mark.parametrize("env_id", [i.replace("sardine/", "rlrec/") for i, _ in PRESETS])
@pytest.mark.parametrize("user_observation", [False, True])
def test_rlrecs_ids_pass_gymnasiums_checks(env_id: str, user_observation: bool) -> None:
    env = gymnasium.make(env_id, user_observation=user_observation)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    theirs = gymnasium.make(env_id.replace("rlrec/", "sardine/")).unwrapped
    if user_observation:
        assert obs.shape == (3 * theirs.num_topics,)
    else:
        assert sorted(obs) == ["clicks", "hist", "slate"]
        assert obs["slate"].shape == obs["clicks"].shape == (theirs.slate_size,)
    assert env.action_space == theirs.action_space


@pytest.mark.parametrize(
    "switches",
    [{"time_aware": True}, {"user_observation": True, "time_aware": True}, {"bandit_observation": True}, {"discrete_action": True}],
    ids=lambda s: "+".join(s),
)
def test_rllibs_switches_work_where_they_fit(switches: dict[str, bool]) -> None:
    env = gymnasium.make("rlrec/SlateRerank-Bored-v0", **switches)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    if switches.get("time_aware"):
        time = obs[-1] if switches.get("user_observation") else obs["time"][0]
        assert time == 1.0, "the whole episode is to run"
    if switches.get("bandit_observation"):
        assert obs["item"].shape == (10, 10)
    if switches.get("discrete_action"):
        assert env.action_space == gymnasium.spaces.Discrete(10**10)
        # Action 1 is the slate [1, 0, …, 0] (little-endian in base N, as RLlib's).
        env.step(1)


def test_the_click_history_is_an_observation_gymnasium_accepts() -> None:
    env = gymnasium.make("rlrec/SlateTopK-Bored-v0", click_history=0.9)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    assert sorted(obs) == ["clicks", "hist", "history", "slate"]
    assert obs["history"].shape == (10,)
    # Nothing clicked yet: nothing remembered; something clicked: an average of unit vectors.
    if obs["clicks"].any():
        assert 0.0 < np.linalg.norm(obs["history"]) <= 1.0 + 1e-6
    else:
        assert not obs["history"].any()
    with pytest.raises(ValueError, match=r"must be -1 \(off\) or a decay in \[0, 1\]"):
        rlrec.make("sardine/SlateTopK-Bored-v0", click_history=2.0)


def test_bad_sardine_input_is_a_clear_error(tmp_path: Path) -> None:
    env = rlrec.make("sardine/SlateTopK-Bored-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="has 10 positions, not 9"):
        env.step(np.arange(9))
    with pytest.raises(ValueError, match="discrete action is a 64-bit number"):
        rlrec.make("sardine/SlateTopK-Bored-v0", discrete_action=True)
    with pytest.raises(ValueError, match="resample_documents to false"):
        rlrec.make("sardine/SlateTopK-Bored-v0", resample_documents=True)
    with pytest.raises(ValueError, match="`env_omega` = 2 is invalid"):
        rlrec.make("sardine/SlateTopK-Bored-v0", env_omega=2.0)
    with pytest.raises(TypeError, match="unknown parameter `omega` for SARDINE"):
        rlrec.make("sardine/SlateTopK-Bored-v0", omega=0.9)
    rerank = "sardine/SlateRerank-Bored-v0"
    broken = tmp_path / "broken.npy"
    broken.write_bytes(b"\x93NUMPY\x01\x00garbage")
    with pytest.raises(ValueError, match="not a 2-D float .npy array"):
        rlrec.make(rerank, item_embeddings=broken)
    with pytest.raises(ValueError, match="cannot read"):
        rlrec.make(rerank, item_embeddings=tmp_path / "missing.npy")
    with pytest.raises(TypeError, match="item_embeddings is a path, not int"):
        rlrec.make(rerank, item_embeddings=3)
    negative = tmp_path / "negative.npy"
    np.save(negative, -np.ones((10, 10)))
    with pytest.raises(ValueError, match=r"element 0 is -1, not a number in \[0, 1\]"):
        rlrec.make(rerank, item_embeddings=negative)
    # SARDINE's 1,000 items in a world of 10 candidates, and item files for RecSim.
    with pytest.raises(ValueError, match="set num_candidates to 1000"):
        rlrec.make(rerank, item_embeddings=_items("sardine/SlateTopK-Bored-v0"))
    with pytest.raises(ValueError, match="only SARDINE's worlds read item embeddings"):
        rlrec.make("strong-lts", item_embeddings=_items(rerank))


def test_the_oracle_policy_needs_a_world_with_one() -> None:
    with pytest.raises(ValueError, match="has no short-term oracle"):
        rlrec.baseline("oracle", "strong-lts", episodes=2)
    report: dict[str, Any] = rlrec.baseline("oracle", "sardine/SingleItem-Static-v0", episodes=20)
    assert report["mean"] == 100.0, "a static, never-bored user clicks the best item every step"
