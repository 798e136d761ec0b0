"""The Gymnasium classes around the Rust extension: one environment, and a vector of
them stepped in lockstep with NEXT_STEP autoreset."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from rlrec import _rlrec

# SARDINE's Gymnasium ids (`sardine/SlateTopK-Bored-v0`) and rlrec's world names.
SARDINE_IDS: dict[str, str] = dict(_rlrec.sardine_presets())

# Gymnasium ids and the registry names (`rlrec --env NAME`) they make: RecSim's worlds,
# then SARDINE's under its own ids in rlrec's namespace (`rlrec/SlateTopK-Bored-v0`).
IDS: dict[str, str] = {
    "rlrec/StrongLTS-v0": "strong-lts",
    "rlrec/LTS-v0": "lts",
    "rlrec/InterestEvolution-v0": "interest-evolution",
    "rlrec/InterestExploration-v0": "interest-exploration",
    **{"rlrec/" + sardine_id.split("/", 1)[1]: name for sardine_id, name in SARDINE_IDS.items()},
}


def world_name(env: str) -> str:
    """The registry name of ``env``: a registry name (``strong-lts``) or a Gymnasium id,
    with or without its namespace (``rlrec/StrongLTS-v0``, ``StrongLTS-v0``), or one of
    SARDINE's (``sardine/SlateTopK-Bored-v0``)."""
    if not isinstance(env, str):
        raise TypeError(f"an environment name is a str, not {type(env).__name__}")
    name = IDS.get(env, IDS.get(f"rlrec/{env}", SARDINE_IDS.get(env, env)))
    if name not in {world[0] for world in _rlrec.worlds()}:
        known = ", ".join(world[0] for world in _rlrec.worlds())
        raise ValueError(
            f"unknown environment `{env}`; registered: {known}; or their Gymnasium ids: {', '.join(IDS)}"
        )
    return name


def space(description: Any) -> spaces.Space[Any]:
    """The Gymnasium space of a space described by the extension."""
    kind = description[0]
    if kind == "Discrete":
        n = description[1]
        if n > np.iinfo(np.int64).max:
            raise ValueError(f"Discrete({n}) does not fit Gymnasium's int64 actions")
        return spaces.Discrete(n)
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(np.asarray(description[1], dtype=np.int64))
    if kind == "Box":
        _, low, high, shape = description
        # Bounds are one number for the whole box, or (flat observations) an array.
        if isinstance(low, np.ndarray):
            low, high = low.astype(np.float32), high.astype(np.float32)
        return spaces.Box(low=low, high=high, shape=tuple(shape), dtype=np.float32)
    if kind == "Dict":
        # An OrderedDict keeps the documents in position order ('0', '1', …, '10').
        return spaces.Dict(OrderedDict((key, space(sub)) for key, sub in description[1]))
    if kind == "Tuple":
        return spaces.Tuple([space(sub) for sub in description[1]])
    raise ValueError(f"unknown space {kind!r}")


def _no_render(render_mode: str | None) -> None:
    if render_mode is not None:
        raise ValueError(f"rlrec environments have no render modes, not {render_mode!r}")


def _no_options(options: dict[str, Any] | None) -> None:
    if options:
        raise ValueError(f"rlrec environments take no reset options, not {sorted(options)}")


class RecSimEnv(gymnasium.Env[Any, Any]):
    """One RecSim world with RLlib's wrappers.

    Observations are RLlib's RecSim layout, ``{'doc': {'0': …, 'N-1': …}, 'response':
    (K responses), 'user': …}`` (the bandit switch: ``{'item': N × d}``), or with
    ``flat=True`` one float32 vector, user ‖ candidates ‖ response, each part as
    ``gymnasium.spaces.flatten`` lays it out. On a click, ``info['clicked']`` is the
    clicked slate position, and worlds with video qualities add ``clicked_quality`` and
    ``clicked_cluster``; without one, ``info`` has none of them (``rlrec episode
    --json``'s ``null``), which lets Gymnasium's vector environments batch the infos.
    A seed gives ``rlrec episode --seed``'s episode.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        env: str = "strong-lts",
        *,
        flat: bool = False,
        render_mode: str | None = None,
        **options: Any,
    ) -> None:
        _no_render(render_mode)
        if not isinstance(flat, (bool, np.bool_)):
            raise TypeError(f"flat must be a bool, not {type(flat).__name__}")
        self._core = _rlrec.Env(world_name(env), bool(flat), options)
        self.observation_space = space(self._core.observation_space())
        self.action_space = space(self._core.action_space())
        self.render_mode = None
        self.flat = bool(flat)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Starts an episode; a seed restarts every random stream from it."""
        _no_options(options)
        obs = self._core.reset(seed)
        super().reset(seed=seed)
        return obs, {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Shows a slate (``MultiDiscrete``: K candidate positions; ``Discrete``: one
        number). A refused action raises ValueError or TypeError and changes nothing."""
        return self._core.step(action)

    @property
    def scenario(self) -> str:
        """The scenario as JSON: the ``[env]`` table of an ``rlrec`` run's configuration."""
        return self._core.scenario_json()

    def __repr__(self) -> str:
        return f"RecSimEnv({self.scenario}, flat={self.flat})"


def _count(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return int(value)


class RecSimVectorEnv(gymnasium.vector.VectorEnv[Any, Any, Any]):
    """``num_envs`` environments of one world stepped in lockstep in Rust, with NEXT_STEP
    autoreset: the step after an episode ends resets that slot (its action ignored,
    reward 0). Slot ``i`` of a reset with ``seed`` is seeded with ``slot_seed(seed, i)``,
    as ``rlrec baseline --num-envs``; a first reset without a seed uses the scenario's.

    Each step's batch is written into arrays this object owns, without the GIL, on up to
    ``threads`` threads; ``copy=False`` hands those arrays out as they are (the next step
    overwrites them), the default hands out copies. ``info`` has ``clicked`` (int64,
    -1 without a click) with its mask ``_clicked``, and in worlds with video qualities
    ``clicked_quality`` and ``clicked_cluster`` with theirs.
    """

    metadata: dict[str, Any] = {
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": [],
    }

    def __init__(
        self,
        env: str = "strong-lts",
        num_envs: int = 1,
        *,
        threads: int = 1,
        flat: bool = False,
        copy: bool = True,
        render_mode: str | None = None,
        **options: Any,
    ) -> None:
        _no_render(render_mode)
        for name, value in (("flat", flat), ("copy", copy)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
        self.num_envs = _count("num_envs", num_envs)
        self._world = world_name(env)
        self._core = _rlrec.VectorEnv(
            self._world,
            self.num_envs,
            _count("threads", threads),
            bool(flat),
            bool(copy),
            options,
        )
        self.single_observation_space = space(self._core.single_observation_space())
        self.single_action_space = space(self._core.single_action_space())
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = None
        self.flat = bool(flat)

    @property
    def threads(self) -> int:
        """The threads that step the slots."""
        return int(self._core.threads())

    def __repr__(self) -> str:
        return (
            f"RecSimVectorEnv({self._world!r}, num_envs={self.num_envs}, threads={self.threads}, "
            f"flat={self.flat}, observation_space={self.single_observation_space})"
        )

    def reset(
        self,
        *,
        seed: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Starts an episode in every slot (see the class)."""
        _no_options(options)
        if seed is not None:
            if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
                raise TypeError(
                    f"a vector environment's seed is one int (slot i gets slot_seed(seed, i)), not {type(seed).__name__}"
                )
            if not 0 <= seed < 2**64:
                raise ValueError(f"seed must be a non-negative integer below 2**64, not {seed}")
        obs = self._core.reset(None if seed is None else int(seed))
        super().reset(seed=None if seed is None else int(seed))
        return obs, {}

    def step(
        self, actions: Any
    ) -> tuple[Any, np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], dict[str, Any]]:
        """One step of every slot: int64 actions of shape ``(num_envs, K)`` (slates) or
        ``(num_envs,)`` (discrete actions)."""
        if not isinstance(actions, np.ndarray):
            actions = np.asarray(actions)
        return self._core.step(actions)
