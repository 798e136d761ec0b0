"""Training from Python: ``rlrec.train(...)`` runs ``rlrec train`` on a configuration
given as keyword arguments and returns its results.

The run is the binary's (``rlrec train --json``, with SlateQ's libtorch outside the Python
process), so it is the same run as on the command line, bit for bit. Keyword arguments
are the keys of a run's ``config.toml`` (``rlrec train --help``; docs/training.md): the
top-level keys by name (``iterations=5``), a section as a mapping (``slateq={"lr": 1e-4}``)
or by dotted keys (``**{"slateq.lr": 1e-4}``), as a sweep's axes and ``--set`` name them.
The binary checks them: an unknown key or a value out of range raises ``ValueError`` with
its message.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["config_toml", "train"]


def binary_path(binary: str | os.PathLike[str] | None) -> str:
    """The ``rlrec`` binary: the argument, else ``RLREC_BIN``, else the one on the PATH."""
    found = str(binary) if binary is not None else os.environ.get("RLREC_BIN") or shutil.which("rlrec")
    if not found or not Path(found).is_file():
        raise ValueError(
            f"no rlrec binary at {found!r}: install it (cargo xtask install), or pass binary= / set RLREC_BIN"
        )
    return str(Path(found).resolve())


def json_lines(process: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects a ``--json`` command prints, one per line."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip():
            yield json.loads(line)


def _nest(config: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """``config`` with its dotted keys and its mappings merged into nested tables; a key
    given twice (as ``a.b`` and in ``a={...}``, say) is an error."""
    nested: dict[str, Any] = {}
    for key, value in config.items():
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise ValueError(f"{key!r} is not a configuration key")
        first, *rest = key.split(".")
        if isinstance(value, Mapping):
            value = _nest(value, f"{path}{key}.")
        for part in reversed(rest):
            value = {part: value}
        _merge(nested, first, value, f"{path}{first}")
    return nested


def _merge(table: dict[str, Any], name: str, value: Any, full: str) -> None:
    """Sets ``table[name]``, merging tables; any other key given twice is an error."""
    if name not in table:
        table[name] = value
    elif isinstance(table[name], dict) and isinstance(value, dict):
        for k, v in value.items():
            _merge(table[name], k, v, f"{full}.{k}")
    elif isinstance(table[name], dict) or isinstance(value, dict):
        raise ValueError(f"{full} is given both as a value and as a section")
    else:
        raise ValueError(f"{full} is given twice")


def _key(name: str) -> str:
    """A TOML key: bare where it can be, else quoted."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def _value(key: str, value: Any) -> str:
    """A TOML value; numpy's scalars (a sweep's ``np.logspace``) as Python's, paths as
    strings."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{key} = {value}: a configuration value is finite")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_value(key, v) for v in value) + "]"
    raise TypeError(f"{key}: a configuration value is a bool, int, float, str or list, not {type(value).__name__}")


def config_toml(config: Mapping[str, Any]) -> str:
    """The TOML text of a (partial) run configuration: keyword arguments as
    :func:`train` takes them, dotted keys and mappings alike."""
    lines: list[str] = []

    def table(path: list[str], values: dict[str, Any]) -> None:
        scalars = {k: v for k, v in values.items() if not isinstance(v, dict)}
        if path and scalars:
            lines.append(f"[{'.'.join(_key(p) for p in path)}]")
        for k, v in scalars.items():
            lines.append(f"{_key(k)} = {_value('.'.join([*path, k]), v)}")
        for k, v in values.items():
            if isinstance(v, dict):
                table([*path, k], v)

    table([], _nest(config))
    return "\n".join(lines) + "\n"


def train(
    algo: str | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    binary: str | os.PathLike[str] | None = None,
    on_iteration: Callable[[dict[str, Any]], None] | None = None,
    **config: Any,
) -> dict[str, Any]:
    """Trains ``algo`` (``rlrec train``'s default, SlateQ, if ``None``) into the run folder
    ``out`` (a new or empty folder; by default ``rlrec train``'s) with the configuration
    keys given, and returns ``{"run", "checkpoint", "evaluation", "iterations"}``: the run
    folder, its final checkpoint, the final evaluation and every iteration's results (as
    ``metrics.jsonl`` holds them), with the rest of ``rlrec train --json``'s last line
    (``plot``, ``random_baseline``). ``on_iteration`` hears each iteration's results as
    they come; if it raises (or on ``KeyboardInterrupt``) the binary is killed and its run
    folder stays as far as it got. Raises ``ValueError`` for a configuration or a run
    folder that ``rlrec train`` refuses before it starts (with its message; nothing is
    written), ``TypeError`` for a value no configuration holds, and ``RuntimeError`` for a
    run that fails once started (a diverged SlateQ, say).
    """
    if algo is not None:
        if not isinstance(algo, str):
            raise TypeError(f"algo is a str, not {type(algo).__name__}")
        config = {"algo": algo, **config}
    text = config_toml(config)
    command = [binary_path(binary), "train", "--json"]
    if out is not None:
        command += ["--out", os.fspath(out)]
    with tempfile.TemporaryDirectory(prefix="rlrec-train-") as work:
        config_file = Path(work) / "config.toml"
        config_file.write_text(text)
        log_path = Path(work) / "train.log"
        iterations: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [*command, "--config", str(config_file)], stdout=subprocess.PIPE, stderr=log, text=True
            )
            try:
                for line in json_lines(process):
                    if "checkpoint" in line:
                        last = line
                        continue
                    iterations.append(line)
                    if on_iteration is not None:
                        on_iteration(line)
            finally:
                if process.poll() is None:
                    process.kill()
                process.wait()
        if process.returncode != 0 or last is None:
            message = log_path.read_text().strip()
            at = message.rfind("error: ")
            # The whole error, which may run over several lines (a TOML parse error's).
            why = message[at:].removeprefix("error: ") if at >= 0 else message[-2000:]
            # The configuration file is this call's, gone once it returns.
            why = why.replace(f"in {config_file}: ", "")
            started = bool(iterations) or (out is not None and (Path(out) / "config.toml").is_file())
            if started:
                raise RuntimeError(f"rlrec train failed after {len(iterations)} iterations: {why}")
            raise ValueError(why)
    checkpoint = Path(last["checkpoint"]).resolve()
    result: dict[str, Any] = {**last, "run": checkpoint.parent, "checkpoint": checkpoint, "iterations": iterations}
    if "plot" in result:
        result["plot"] = Path(result["plot"]).resolve()
    return result
