"""The single environment: Gymnasium's checks, RLlib's layout, flat observations, info,
seeds."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.spaces import flatdim, flatten
from gymnasium.utils.env_checker import check_env

import rlrec
from conftest import SWITCHES, WORLDS

# RecSim declares interest exploration's video quality unbounded above (Box(0, inf)),
# and rlrec keeps its spaces; check_env warns about that bound and about nothing else.
INFINITE_BOUND = "maximum value is infinity"


@pytest.mark.parametrize("switches", SWITCHES, ids=lambda s: ",".join(s) or "plain")
@pytest.mark.parametrize("env_id,name", WORLDS, ids=[w[1] for w in WORLDS])
def test_check_env_passes_without_warnings(env_id: str, name: str, switches: dict[str, Any]) -> None:
    env = gymnasium.make(env_id, num_candidates=5, slate_size=2, **switches)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    messages = [str(w.message) for w in caught]
    unexpected = [m for m in messages if INFINITE_BOUND not in m]
    assert unexpected == []
    if name != "interest-exploration":
        assert messages == []


def test_gymnasium_make_takes_the_cli_options_and_model_parameters() -> None:
    env = gymnasium.make(
        "rlrec/StrongLTS-v0",
        num_candidates=7,
        slate_size=3,
        resample_documents=False,
        seed=4,
        horizon=5,
        sensitivity=0.2,
    )
    assert env.action_space == gymnasium.spaces.MultiDiscrete([7, 7, 7])
    assert env.spec is not None and env.spec.id == "rlrec/StrongLTS-v0"
    scenario = env.unwrapped.scenario  # type: ignore[attr-defined]
    assert '"sensitivity":0.2' in scenario and '"max_episode_steps":5' in scenario
    env.reset()
    steps = 0
    while True:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
        if terminated or truncated:
            break
    assert (steps, terminated, truncated) == (5, False, True)
    # The repr says which environment this is.
    assert repr(env.unwrapped) == f"RecSimEnv({scenario}, flat=False)"
    vector = rlrec.make_vec("StrongLTS-v0", num_envs=3, flat=True)
    assert repr(vector).startswith("RecSimVectorEnv('strong-lts', num_envs=3, threads=1, flat=True")


def test_the_layout_is_rllibs_recsim_layout() -> None:
    env = rlrec.make("interest-evolution", num_candidates=12, slate_size=3)
    space = env.observation_space
    assert list(space.keys()) == ["doc", "response", "user"]
    # Documents by position, in position order (not '0', '1', '10', '11', …).
    assert list(space["doc"].keys()) == [str(i) for i in range(12)]
    assert len(space["response"]) == 3
    assert list(space["response"][0].keys()) == ["click", "cluster_id", "liked", "quality", "watch_time"]
    obs, info = env.reset(seed=1)
    assert info == {}
    # RecSim's reset gives response=None; here it lies in the space.
    assert obs["response"] in space["response"]
    assert all(r["click"] == 0 for r in obs["response"])
    assert obs["doc"]["11"].shape == (20,) and obs["doc"]["11"].dtype == np.float32
    assert obs in space


def test_bandit_layout_is_the_item_matrix() -> None:
    env = rlrec.make("strong-lts", bandit_observation=True, discrete_action=True)
    assert list(env.observation_space.keys()) == ["item"]
    assert env.action_space == gymnasium.spaces.Discrete(400)
    obs, _ = env.reset(seed=0)
    assert obs["item"].shape == (20, 1)


@pytest.mark.parametrize("name", [w[1] for w in WORLDS])
@pytest.mark.parametrize("switches", [{}, {"user_observation": True}, {"bandit_observation": True}])
def test_flat_is_user_candidates_response_as_gymnasium_flattens_them(name: str, switches: dict[str, Any]) -> None:
    nested = rlrec.make(name, num_candidates=6, slate_size=3, **switches)
    flat = rlrec.make(name, num_candidates=6, slate_size=3, flat=True, **switches)
    parts = [p for p in ("user", "doc", "item", "response") if p in nested.observation_space.spaces]
    assert flat.observation_space.shape == (sum(flatdim(nested.observation_space[p]) for p in parts),)
    rng = np.random.default_rng(0)
    obs_n, _ = nested.reset(seed=5)
    obs_f, _ = flat.reset(seed=5)
    for _ in range(60):
        expected = np.concatenate([flatten(nested.observation_space[p], obs_n[p]) for p in parts])
        np.testing.assert_array_equal(obs_f, expected.astype(np.float32))
        assert obs_f in flat.observation_space
        action = rng.integers(0, 6, size=3)
        obs_n, r_n, te_n, tr_n, i_n = nested.step(action)
        obs_f, r_f, te_f, tr_f, i_f = flat.step(action)
        assert (r_n, te_n, tr_n, i_n) == (r_f, te_f, tr_f, i_f)
        if te_n or tr_n:
            obs_n, _ = nested.reset()
            obs_f, _ = flat.reset()


def test_info_carries_the_click_facts() -> None:
    lts = rlrec.make("strong-lts")
    lts.reset(seed=0)
    _, _, _, _, info = lts.step(np.array([3, 4]))
    assert info == {"clicked": 0}, "LTS users click the first position and have no video facts"
    iev = rlrec.make("interest-evolution", num_candidates=10)
    iev.reset(seed=0)
    seen = set()
    for t in range(200):
        _, _, terminated, truncated, info = iev.step(np.array([t % 10, (t + 1) % 10]))
        if "clicked" not in info:
            assert info == {}
            seen.add("none")
        else:
            assert set(info) == {"clicked", "clicked_quality", "clicked_cluster"}
            assert info["clicked"] in (0, 1) and 0 <= info["clicked_cluster"] < 20
            seen.add("click")
        if terminated or truncated:
            iev.reset()
    assert seen == {"none", "click"}


def test_the_same_seed_gives_the_same_episode_and_make_seed_equals_reset_seed() -> None:
    def episode(env: rlrec.RecSimEnv, seed: int | None) -> list[Any]:
        obs, _ = env.reset(seed=seed)
        trace = [flatten(env.observation_space, obs)]
        for t in range(130):
            obs, reward, terminated, truncated, _ = env.step(np.array([t % 20, (3 * t) % 20]))
            trace.append((reward, terminated, truncated))
            if terminated or truncated:
                return trace
        return trace

    a = episode(rlrec.make("strong-lts"), 7)
    b = episode(rlrec.make("strong-lts"), 7)
    c = episode(rlrec.make("strong-lts", seed=7), None)
    assert len(a) == 121
    assert all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(a, b))
    assert all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(a, c))
    d = episode(rlrec.make("strong-lts"), 8)
    assert a[1] != d[1]


def test_observations_are_new_objects_every_call() -> None:
    env = rlrec.make("interest-exploration", num_candidates=4, flat=True)
    first, _ = env.reset(seed=0)
    second, *_ = env.step([0, 1])
    assert not np.shares_memory(first, second)


def test_worlds_and_policies_are_listed() -> None:
    names = [w[0] for w in rlrec.worlds()]
    assert names[:4] == ["strong-lts", "lts", "interest-evolution", "interest-exploration"]
    strong = dict(rlrec.worlds()[0][2])
    assert strong["sensitivity"] == 0.06 and strong["time_budget"] == 120
    assert rlrec.policies()[:3] == ["random", "greedy", "kale"]
