"""Bad input raises ValueError or TypeError with the CLI's message, and changes nothing."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pytest

import rlrec


def _next(env: rlrec.RecSimEnv, action: Any) -> tuple[Any, ...]:
    obs, reward, terminated, truncated, info = env.step(action)
    return (gymnasium.spaces.flatten(env.observation_space, obs).tolist(), reward, terminated, truncated, info)


@pytest.mark.parametrize(
    "action,error,message",
    [
        (np.array([0, 20]), ValueError, "slate position 20 is out of range: there are 20 candidates"),
        (np.array([-1, 0]), ValueError, "slate position -1 is negative"),
        (np.array([0, 1, 2]), ValueError, "has 2 positions, not 3"),
        (np.array([[0, 1]]), ValueError, "has shape (2,)"),
        (np.array([0.0, 1.0]), TypeError, "holds integers, not float64"),
        ([0, 1.5], TypeError, "is a sequence of 2 integers"),
        ("01", TypeError, "is a sequence of 2 integers"),
        (3, TypeError, "not one int"),
        (None, TypeError, "is a sequence of 2 integers"),
    ],
)
def test_a_bad_slate_raises_and_changes_nothing(action: Any, error: type, message: str) -> None:
    env, fresh = rlrec.make("strong-lts"), rlrec.make("strong-lts")
    env.reset(seed=3)
    fresh.reset(seed=3)
    with pytest.raises(error) as raised:
        env.step(action)
    assert message in str(raised.value)
    assert _next(env, np.array([4, 5])) == _next(fresh, np.array([4, 5]))


@pytest.mark.parametrize(
    "action,error,message",
    [
        (400, ValueError, "discrete action 400 is out of range: the action space is Discrete(400)"),
        (-1, ValueError, "out of range"),
        (2.0, TypeError, "is an integer, not float"),
        (True, TypeError, "is an integer, not bool"),
        (np.array([3]), ValueError, "is one integer"),
        (np.float32(1), TypeError, "is an integer"),
    ],
)
def test_a_bad_discrete_action_raises_and_changes_nothing(action: Any, error: type, message: str) -> None:
    env, fresh = (rlrec.make("strong-lts", discrete_action=True) for _ in range(2))
    env.reset(seed=3)
    fresh.reset(seed=3)
    with pytest.raises(error) as raised:
        env.step(action)
    assert message in str(raised.value)
    assert _next(env, np.int64(42)) == _next(fresh, 42)


def test_stepping_before_reset_and_after_the_end_raises_until_reset() -> None:
    env = rlrec.make("strong-lts", horizon=2)
    with pytest.raises(ValueError, match=r"step\(\) called before reset\(\)"):
        env.step([0, 1])
    env.reset(seed=0)
    env.step([0, 1])
    *_, truncated, _ = env.step([0, 1])
    assert truncated
    with pytest.raises(ValueError, match="the episode is over: call reset"):
        env.step([0, 1])
    env.reset()
    env.step([0, 1])
    lts = rlrec.make("lts", num_candidates=10, slate_size=3)
    lts.reset(seed=0)
    for _ in range(60):
        *_, terminated, _, _ = lts.step([0, 1, 2])
    assert terminated
    with pytest.raises(ValueError, match="the episode is over"):
        lts.step([0, 1, 2])


@pytest.mark.parametrize(
    "options,error,message",
    [
        ({"num_candidates": 0}, ValueError, "num_candidates must be at least 1"),
        ({"slate_size": 3, "num_candidates": 2}, ValueError, "slate_size (3) must not exceed num_candidates (2)"),
        ({"num_candidates": -3}, ValueError, "num_candidates must be a non-negative integer"),
        ({"num_candidates": 70000}, ValueError, "num_candidates = 70000 is too large"),
        ({"num_candidates": 2.5}, TypeError, "num_candidates must be an integer, not float"),
        ({"num_candidates": True}, TypeError, "must be an integer, not bool"),
        ({"seed": 2**63}, ValueError, "seed = 9223372036854775808 is too large"),
        ({"horizon": 0}, ValueError, "the horizon (max_episode_steps) must be at least 1"),
        ({"resample_documents": "yes"}, TypeError, "resample_documents must be a bool"),
        ({"sensitivity": -1.0}, ValueError, "parameter `sensitivity` = -1 is invalid"),
        ({"sensitivity": "high"}, TypeError, "sensitivity must be a number, not str"),
        ({"sensitivty": 0.1}, TypeError, "unknown parameter `sensitivty` for long-term satisfaction; known: "),
        ({"num_candidate": 10}, TypeError, "environment options: num_candidates, slate_size"),
    ],
)
def test_bad_options_raise_with_the_clis_message(options: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        rlrec.make("strong-lts", **options)
    assert message in str(raised.value)
    with pytest.raises(error):
        gymnasium.make("rlrec/StrongLTS-v0", **options)
    with pytest.raises(error):
        rlrec.make_vec("strong-lts", num_envs=2, **options)


def test_unknown_worlds_reset_options_seeds_and_render_modes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown environment `mars`; registered: strong-lts, lts"):
        rlrec.make("mars")
    # The error names the Gymnasium ids too, which work with or without their namespace.
    with pytest.raises(ValueError, match="or their Gymnasium ids: rlrec/StrongLTS-v0"):
        rlrec.make_vec("StrongLTS-v9", num_envs=2)
    assert rlrec.make("StrongLTS-v0", flat=True).scenario == rlrec.make("strong-lts", flat=True).scenario
    env = rlrec.make("strong-lts")
    with pytest.raises(ValueError, match="no reset options"):
        env.reset(options={"level": 3})
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        env.reset(seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        env.reset(seed=1.5)
    with pytest.raises(ValueError, match="no render modes"):
        rlrec.make("strong-lts", render_mode="human")
    with pytest.raises(ValueError, match="unknown policy `best`"):
        rlrec.baseline("best", episodes=1)


def test_a_panic_never_reaches_python() -> None:
    # Every refusal above is a ValueError or TypeError; a few more odd inputs for luck.
    env = rlrec.make("interest-exploration", num_candidates=3)
    env.reset(seed=0)
    for action in (np.array([], dtype=np.int64), np.zeros((0, 2), dtype=np.int64), np.array([2**62, 0]), object()):
        with pytest.raises((ValueError, TypeError)):
            env.step(action)
    env.step(np.array([0, 2], dtype=np.uint8))
    env.step(np.array([1, 2])[::-1])
