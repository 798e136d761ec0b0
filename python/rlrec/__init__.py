"""RecSim's simulated recommender worlds, stepped in Rust, as Gymnasium environments.

``import rlrec`` registers ``rlrec/StrongLTS-v0``, ``rlrec/LTS-v0``,
``rlrec/InterestEvolution-v0`` and ``rlrec/InterestExploration-v0`` with Gymnasium, and
SARDINE's eight worlds under its own ids in rlrec's namespace
(``rlrec/SlateTopK-Bored-v0`` for ``sardine/SlateTopK-Bored-v0``), each with a vector
entry point (NEXT_STEP autoreset). Keyword arguments are the ``rlrec`` CLI's
environment options (``num_candidates``, ``slate_size``, ``resample_documents``, ``seed``,
``horizon``, ``discrete_action``, ``bandit_observation``, ``user_observation``,
``time_aware``, and SARDINE's ``item_embeddings``), model
parameters by name, and ``flat=True`` for one ``Box`` observation.

``rlrec.train(...)`` trains a policy with the ``rlrec`` binary, its configuration given
as keyword arguments (:mod:`rlrec.training`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium

from rlrec import _rlrec
from rlrec.envs import IDS, RecSimEnv, RecSimVectorEnv, world_name
from rlrec.policy import Policy, load_policy
from rlrec.training import config_toml, train

__all__ = [
    "IDS",
    "Policy",
    "RecSimEnv",
    "RecSimVectorEnv",
    "baseline",
    "config_toml",
    "env_creator",
    "load_policy",
    "make",
    "make_vec",
    "policies",
    "slot_seed",
    "train",
    "worlds",
]
__version__: str = _rlrec.__version__


def make(env: str = "strong-lts", **options: Any) -> RecSimEnv:
    """One environment of world ``env`` (a CLI name such as ``"strong-lts"``, or a
    Gymnasium id such as ``"rlrec/StrongLTS-v0"``) with the CLI's options."""
    return RecSimEnv(env, **options)


def make_vec(env: str = "strong-lts", num_envs: int = 1, **options: Any) -> RecSimVectorEnv:
    """``num_envs`` environments stepped in lockstep in Rust (NEXT_STEP autoreset);
    ``threads=T`` spreads them over T threads, ``copy=False`` hands out the arrays the
    vector environment reuses instead of copies."""
    return RecSimVectorEnv(env, num_envs, **options)


def baseline(
    policy: str = "random",
    env: str = "strong-lts",
    *,
    episodes: int = 500,
    num_envs: int = 1,
    threads: int | None = None,
    **options: Any,
) -> dict[str, Any]:
    """``rlrec baseline --policy POLICY --json``'s object: the fixed policy's returns
    over ``episodes`` episodes (``mean``, ``std``, ``ci95``, ``mean_length``,
    ``episodes``, the video-cluster ``metrics`` where the world has them). The figures
    depend on the seed and ``num_envs``, not on ``threads`` (all cores by default)."""
    threads = threads if threads is not None else os.cpu_count() or 1
    report = _rlrec.baseline(
        policy, world_name(env), episodes, num_envs, threads, options
    )
    result: dict[str, Any] = json.loads(report)
    return result


def env_creator(
    env: str = "strong-lts", **defaults: Any
) -> Callable[[Mapping[str, Any]], gymnasium.Env[Any, Any] | RecSimVectorEnv]:
    """An environment creator for Ray's ``tune.register_env``: the configuration's
    entries are options (over ``defaults``); with ``num_envs`` in it (RLlib's
    ``gym_env_vectorize_mode="vector_entry_point"``), it makes a vector environment."""

    def create(config: Mapping[str, Any]) -> gymnasium.Env[Any, Any] | RecSimVectorEnv:
        options = {**defaults, **dict(config)}
        num_envs = options.pop("num_envs", None)
        if num_envs is None:
            return make(env, **options)
        return make_vec(env, num_envs, **options)

    return create


def slot_seed(seed: int, slot: int) -> int:
    """The seed of slot ``slot`` of a vector environment reset with ``seed`` (slot 0
    keeps ``seed``), as in ``rlrec baseline --num-envs``."""
    return _rlrec.slot_seed(seed, slot)


def worlds() -> list[tuple[str, str, list[tuple[str, float]]]]:
    """Every registered world: its name, a description and its model parameters with
    their defaults."""
    return _rlrec.worlds()


def policies() -> list[str]:
    """The fixed policies :func:`baseline` runs."""
    return _rlrec.policies()


def _register() -> None:
    for env_id, name in IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point="rlrec.envs:RecSimEnv",
                vector_entry_point="rlrec.envs:RecSimVectorEnv",
                kwargs={"env": name},
            )


_register()
