"""Trained policies out of rlrec: ``load_policy`` reads a model ``rlrec export`` wrote (or
exports a run's checkpoint first, with the ``rlrec`` binary) and acts without exploration
in Rust, with no libtorch in the Python process.

An observation is given as the user features and the candidates' features (one row
each), or as an observation of the matching environment: a flat one (``flat=True``: the
user features, then the candidates', then the responses, which the policy does not
read) or a dict with ``user`` and ``doc`` (RecSim's) or ``item`` (the bandit's).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlrec import _rlrec
from rlrec.training import binary_path


class Policy:
    """An exported policy: ``slate`` and ``scores`` for one observation,
    ``compute_single_action`` and ``compute_actions`` as RLlib's algorithms name them."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.algorithm: str = inner.algorithm
        self.layout: dict[str, Any] = inner.layout

    def _split(self, obs: Any, user: Any, items: Any) -> tuple[np.ndarray, np.ndarray]:
        u, d = self.layout["user_dim"], self.layout["doc_dim"]
        if obs is not None:
            if user is not None or items is not None:
                raise TypeError("give an observation or user= and items=, not both")
            if isinstance(obs, Mapping):
                user = obs.get("user", np.zeros(0, np.float32))
                if "item" in obs:
                    items = obs["item"]
                elif "doc" in obs:
                    docs = obs["doc"]
                    items = [docs[k] for k in sorted(docs, key=int)]
                else:
                    raise ValueError("a dict observation needs `doc` or `item` (the candidates)")
            else:
                flat = np.asarray(obs, dtype=np.float32).ravel()
                n = self.layout["num_candidates"]
                if flat.size < u + n * d:
                    raise ValueError(
                        f"a flat observation of {flat.size} values is shorter than the "
                        f"{u} user and {n}×{d} candidate features"
                    )
                user, items = flat[:u], flat[u : u + n * d].reshape(n, d)
        if items is None:
            raise TypeError("give an observation, or items= (and user= where the policy reads one)")
        user = np.ascontiguousarray(np.zeros(0) if user is None else user, dtype=np.float32).ravel()
        items = np.ascontiguousarray(items, dtype=np.float32)
        if items.ndim != 2 or items.shape[1] != d:
            raise ValueError(f"items must be a matrix of {d} features per candidate, not {items.shape}")
        return user, items

    def slate(self, obs: Any = None, *, user: Any = None, items: Any = None) -> np.ndarray:
        """The slate for one observation: candidate indices, best first."""
        return np.asarray(self._inner.slate(*self._split(obs, user, items)), dtype=np.int64)

    def scores(
        self, obs: Any = None, *, user: Any = None, items: Any = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(values, weights)``: each candidate's score (SlateQ: its item value, then no
        click's) and SlateQ's choice weights where its choice model has them."""
        return self._inner.scores(*self._split(obs, user, items))

    def compute_single_action(self, obs: Any) -> np.ndarray:
        """The slate for ``obs``, without exploration (RLlib's name)."""
        return self.slate(obs)

    def compute_actions(self, observations: Sequence[Any]) -> np.ndarray:
        """One slate per observation, a ``[B, K]`` array."""
        return np.stack([self.slate(obs) for obs in observations])


def load_policy(path: str | os.PathLike[str], *, binary: str | os.PathLike[str] | None = None) -> Policy:
    """The policy at ``path``: a ``.onnx`` model ``rlrec export`` wrote, or a run or
    checkpoint folder, which the ``rlrec`` binary (``binary=``, ``RLREC_BIN`` or the PATH)
    exports first."""
    path = Path(path)
    if path.suffix == ".onnx":
        return Policy(_rlrec.ExportedPolicy(str(path)))
    if not path.is_dir():
        raise ValueError(f"{path} is neither a .onnx model nor a run or checkpoint folder")
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "policy.onnx"
        done = subprocess.run(
            [binary_path(binary), "export", "--checkpoint", str(path), "--out", str(model)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise ValueError(done.stderr.strip().removeprefix("error: "))
        return Policy(_rlrec.ExportedPolicy(str(model)))
