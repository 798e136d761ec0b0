"""The vector environment: Gymnasium's vector API with NEXT_STEP autoreset, the same
results as Gymnasium's own SyncVectorEnv over single environments, threads, copies."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import rlrec
from conftest import WORLDS

# Interest evolution ends episodes at different steps; a small budget makes them short.
SHORT = {"num_candidates": 5, "slate_size": 2, "time_budget": 8.0}


def _reference(name: str, b: int, seed: int, **options: Any) -> SyncVectorEnv:
    """Gymnasium's SyncVectorEnv with NEXT_STEP autoreset over single environments seeded
    as the vector environment seeds its slots."""
    return SyncVectorEnv(
        [
            (lambda i=i: rlrec.make(name, seed=rlrec.slot_seed(seed, i), **options))
            for i in range(b)
        ],
        autoreset_mode=AutoresetMode.NEXT_STEP,
    )


@pytest.mark.parametrize("flat", [False, True])
@pytest.mark.parametrize("env_id,name", WORLDS, ids=[w[1] for w in WORLDS])
def test_make_vec_matches_gymnasiums_sync_vector_env_step_for_step(env_id: str, name: str, flat: bool) -> None:
    options: dict[str, Any] = {"num_candidates": 5, "slate_size": 2, "flat": flat}
    if name == "interest-evolution":
        options["time_budget"] = 8.0
    if name == "interest-exploration":
        options["horizon"] = 9
    if name in ("strong-lts", "lts"):
        options["horizon"] = 7
    ours = gymnasium.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", seed=11, **options)
    assert isinstance(ours.unwrapped, rlrec.RecSimVectorEnv)
    assert ours.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    reference = _reference(name, 3, 11, **options)
    assert ours.single_observation_space == reference.single_observation_space
    assert ours.observation_space == reference.observation_space
    assert ours.action_space == reference.action_space
    obs, info = ours.reset()
    expected, _ = reference.reset()
    assert data_equivalence(obs, expected, exact=True) and info == {}
    ours.action_space.seed(5)
    ends = 0
    for _ in range(40):
        actions = ours.action_space.sample()
        obs, rewards, terminated, truncated, info = ours.step(actions)
        e_obs, e_rewards, e_terminated, e_truncated, e_info = reference.step(actions)
        assert data_equivalence(obs, e_obs, exact=True)
        assert obs in ours.observation_space
        np.testing.assert_array_equal(rewards, e_rewards)
        np.testing.assert_array_equal(terminated, e_terminated)
        np.testing.assert_array_equal(truncated, e_truncated)
        # Both mark the slots with a click; the values elsewhere are placeholders.
        has_click = e_info.get("_clicked", np.zeros(3, dtype=bool))
        np.testing.assert_array_equal(info["_clicked"], has_click)
        np.testing.assert_array_equal(info["clicked"][has_click], e_info.get("clicked", np.zeros(3))[has_click])
        assert (info["clicked"][~has_click] == -1).all()
        if "clicked_quality" in e_info:
            mask = e_info["_clicked_quality"]
            np.testing.assert_array_equal(info["clicked_quality"][mask], e_info["clicked_quality"][mask])
            np.testing.assert_array_equal(info["clicked_cluster"][mask], e_info["clicked_cluster"][mask])
        ends += int(np.sum(terminated | truncated))
    assert ends >= 3


def test_the_step_after_an_end_resets_the_slot() -> None:
    env = rlrec.make_vec("strong-lts", num_envs=2, horizon=3, flat=True)
    obs, _ = env.reset(seed=0)
    for _ in range(2):
        env.step(np.array([[0, 1], [2, 3]]))
    last, rewards, _, truncated, _ = env.step(np.array([[0, 1], [2, 3]]))
    assert truncated.tolist() == [True, True] and (rewards > 0).all()
    first, rewards, terminated, truncated, info = env.step(np.array([[5, 5], [5, 5]]))
    assert rewards.tolist() == [0.0, 0.0]
    assert not terminated.any() and not truncated.any()
    assert info["_clicked"].tolist() == [False, False]
    assert not np.array_equal(first, last)
    single = rlrec.make("strong-lts", horizon=3, flat=True, seed=0)
    single.reset()
    for _ in range(3):
        single.step([0, 1])
    np.testing.assert_array_equal(first[0], single.reset()[0])


@pytest.mark.parametrize("flat", [False, True])
def test_threads_change_nothing(flat: bool) -> None:
    runs = []
    for threads in (1, 2, 3):
        env = rlrec.make_vec("interest-evolution", num_envs=7, threads=threads, flat=flat, **SHORT)
        assert env.threads == threads
        env.action_space.seed(1)
        obs, _ = env.reset(seed=4)
        trace = [gymnasium.spaces.flatten(env.observation_space, obs)]
        for _ in range(30):
            obs, rewards, terminated, truncated, _ = env.step(env.action_space.sample())
            trace.append(np.concatenate([gymnasium.spaces.flatten(env.observation_space, obs), rewards, terminated, truncated]))
        runs.append(np.concatenate(trace))
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])


def test_copies_by_default_and_the_owned_arrays_on_request() -> None:
    env = rlrec.make_vec("strong-lts", num_envs=4, flat=True)
    first, _ = env.reset(seed=0)
    second, r1, *_ = env.step(np.zeros((4, 2), dtype=np.int64))
    third, r2, *_ = env.step(np.zeros((4, 2), dtype=np.int64))
    assert not np.shares_memory(first, second) and not np.shares_memory(second, third)
    assert not np.shares_memory(r1, r2)
    shared = rlrec.make_vec("strong-lts", num_envs=4, flat=True, copy=False)
    a, _ = shared.reset(seed=0)
    b, *_ = shared.step(np.zeros((4, 2), dtype=np.int64))
    assert np.shares_memory(a, b), "copy=False hands out the arrays the next step overwrites"
    np.testing.assert_array_equal(b, second)


def test_unseeded_resets_continue_the_streams_and_the_first_uses_the_scenario_seed() -> None:
    a = rlrec.make_vec("strong-lts", num_envs=2, seed=9, flat=True)
    b = rlrec.make_vec("strong-lts", num_envs=2, flat=True)
    np.testing.assert_array_equal(a.reset()[0], b.reset(seed=9)[0])
    np.testing.assert_array_equal(a.reset()[0], b.reset()[0])
    assert not np.array_equal(a.reset()[0], b.reset(seed=9)[0])


def test_discrete_actions_and_the_dict_layout_batch() -> None:
    env = rlrec.make_vec("interest-exploration", num_envs=3, num_candidates=4, discrete_action=True)
    assert env.action_space == gymnasium.spaces.MultiDiscrete([16, 16, 16])
    obs, _ = env.reset(seed=2)
    assert obs["doc"]["3"]["cluster_id"].dtype == np.int64 and obs["doc"]["3"]["cluster_id"].shape == (3,)
    assert obs["response"][1]["quality"].shape == (3,)
    obs, *_ = env.step(np.array([0, 5, 15]))
    assert obs in env.observation_space


@pytest.mark.parametrize(
    "actions,error,message",
    [
        (np.array([[0, 20], [0, 1]]), ValueError, "slate position 20 is out of range"),
        (np.array([[0, -2], [0, 1]]), ValueError, "slate position -2 is negative"),
        (np.array([[0, 1]]), ValueError, "have shape [2, 2], not [1, 2]"),
        (np.array([[0.0, 1.0], [0.0, 1.0]]), TypeError, "actions are integers, not float64"),
        ("ab", TypeError, "actions are integers"),
    ],
)
def test_bad_actions_raise_and_change_nothing(actions: Any, error: type, message: str) -> None:
    env, fresh = (rlrec.make_vec("strong-lts", num_envs=2, flat=True) for _ in range(2))
    env.reset(seed=1)
    fresh.reset(seed=1)
    with pytest.raises(error) as raised:
        env.step(actions)
    assert message in str(raised.value)
    good = np.array([[3, 4], [5, 6]])
    np.testing.assert_array_equal(env.step(good)[0], fresh.step(good)[0])


def test_bad_discrete_actions_and_arguments_raise() -> None:
    env = rlrec.make_vec("strong-lts", num_envs=2, discrete_action=True)
    with pytest.raises(ValueError, match=r"step\(\) called before reset\(\)"):
        env.step(np.array([0, 1]))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"discrete action 400 is out of range: the action space is Discrete\(400\)"):
        env.step(np.array([0, 400]))
    with pytest.raises(ValueError, match="negative"):
        env.step(np.array([-1, 0]))
    with pytest.raises(ValueError, match="num_envs must be at least 1"):
        rlrec.make_vec("strong-lts", num_envs=0)
    # A size that would take the interpreter down is refused before anything is built.
    with pytest.raises(ValueError, match="num_envs = 1000000000 is too large: at most 65536"):
        rlrec.make_vec("strong-lts", num_envs=10**9)
    with pytest.raises(ValueError, match="at most 65536"):
        rlrec.baseline("random", num_envs=10**9)
    with pytest.raises(TypeError, match="num_envs must be an integer"):
        rlrec.make_vec("strong-lts", num_envs=2.0)
    with pytest.raises(TypeError, match="one int"):
        env.reset(seed=[1, 2])
