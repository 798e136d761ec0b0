"""Exported policies: ``rlrec export``'s ONNX model gives ONNX Runtime the scores that
rlrec's own Rust computes, and ``rlrec.load_policy`` and ``rlrec serve`` choose the
slates ``rlrec inference`` chose for the same 1,000 recorded observations."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rlrec
from conftest import run_cli

# Short runs of each policy kind the export covers: LinUCB (linear scores on the bandit's
# item matrix), SlateQ with the first-position choice model and the time in view, with a
# learned logit, and on interest evolution with its known proportional model. Each trains
# in seconds; what matters is that the networks and statistics are no longer the initial ones.
RUNS: dict[str, list[str]] = {
    "linucb": ["--algo", "linucb", "--iterations", "20"],
    "slateq": ["--algo", "slateq", "--iterations", "4"],
    "slateq-logit": ["--algo", "slateq", "--iterations", "4", "--set", "slateq.choice_model=learned"],
    "slateq-iev": ["--algo", "slateq", "--env", "interest-evolution", "--num-candidates", "10", "--iterations", "3"],
}
STEPS = 1000


@pytest.fixture(scope="module")
def exported(rlrec_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, list[dict[str, Any]]]]:
    """Per run: its folder, its exported model, and ``rlrec inference``'s records."""
    root = tmp_path_factory.mktemp("exported")
    out = {}
    for name, args in RUNS.items():
        run, model = root / name, root / f"{name}.onnx"
        run_cli(rlrec_bin, "train", *args, "--eval-episodes", "5", "--out", str(run))
        run_cli(rlrec_bin, "export", "--checkpoint", str(run), "--out", str(model))
        records = json.loads(run_cli(rlrec_bin, "inference", "--checkpoint", str(run), "--steps", str(STEPS), "--json"))
        out[name] = (run, model, records)
    return out


def observation(record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(record["user"], np.float32), np.asarray(record["candidates"], np.float32)


@pytest.mark.parametrize("name", RUNS)
def test_the_policy_chooses_inferences_slates(exported: dict[str, Any], name: str) -> None:
    _, model, records = exported[name]
    policy = rlrec.load_policy(model)
    assert policy.algorithm == name.split("-")[0]
    differ = []
    for record in records:
        user, items = observation(record)
        slate = policy.slate(user=user, items=items).tolist()
        if slate != record["slate"]:
            differ.append((slate, record["slate"], items))
    # Interest evolution's documents are one-hot topics, so candidates repeat: two slates
    # of the same documents are the same slate to the user, and which copy wins is a
    # matter of float rounding. Elsewhere every slate is the same.
    for ours, theirs, items in differ:
        assert sorted(map(tuple, items[ours])) == sorted(map(tuple, items[theirs])), (ours, theirs)
    assert name == "slateq-iev" or not differ, len(differ)


@pytest.mark.parametrize("name", RUNS)
def test_onnx_runtime_scores_as_rlrec_does(exported: dict[str, Any], name: str) -> None:
    ort = pytest.importorskip("onnxruntime")
    _, model, records = exported[name]
    policy = rlrec.load_policy(model)
    session = ort.InferenceSession(str(model))
    sidecar = json.loads(model.with_suffix(".json").read_text())
    assert [i.name for i in session.get_inputs()] == [i["name"] for i in sidecar["inputs"]]
    assert [o.name for o in session.get_outputs()] == [o["name"] for o in sidecar["outputs"]]
    worst = 0.0
    for record in records:
        user, items = observation(record)
        feeds = {"items": items} | ({"user": user} if policy.layout["user_dim"] else {})
        theirs = session.run(None, feeds)
        values, weights = policy.scores(user=user, items=items)
        ours = [values] + ([] if weights is None else [weights])
        assert len(theirs) == len(ours)
        for a, b in zip(theirs, ours):
            worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0))))
    # float32 throughout, with sums in another order: about 1e-6 at most was seen.
    assert worst <= 1e-5, worst


def test_a_run_folder_and_environment_observations_serve_too(exported: dict[str, Any], rlrec_bin: Path) -> None:
    run, model, records = exported["slateq"]
    from_run = rlrec.load_policy(run, binary=rlrec_bin)
    from_model = rlrec.load_policy(model)
    flat_env = rlrec.make("strong-lts", user_observation=True, time_aware=True, flat=True)
    dict_env = rlrec.make("strong-lts", user_observation=True, time_aware=True)
    flat, _ = flat_env.reset(seed=7)
    obs, _ = dict_env.reset(seed=7)
    for _ in range(50):
        slate = from_model.compute_single_action(flat)
        assert slate.tolist() == from_run.slate(flat).tolist() == from_model.slate(obs).tolist()
        user, items = obs["user"], np.stack([obs["doc"][k] for k in sorted(obs["doc"], key=int)])
        assert from_model.slate(user=user, items=items).tolist() == slate.tolist()
        flat, *_ = flat_env.step(slate)
        obs, *_ = dict_env.step(slate)
    assert from_model.compute_actions([flat, flat]).shape == (2, 2)
    # More candidates than it was trained with serve as well.
    user, items = observation(records[0])
    assert len(from_model.slate(user=user, items=np.vstack([items, items]))) == 2


def test_bad_input_is_refused(exported: dict[str, Any], tmp_path: Path, rlrec_bin: Path) -> None:
    _, model, records = exported["slateq"]
    policy = rlrec.load_policy(model)
    user, items = observation(records[0])
    for bad_user, bad_items, message in [
        (user[:1], items, "user has 1 features"),
        (user, items[:, :0], "features per candidate"),
        (user, items[:1], "at least 2 candidates"),
        (np.array([np.nan, 0.5], np.float32), items, "NaN"),
    ]:
        with pytest.raises(ValueError, match=message):
            policy.slate(user=bad_user, items=bad_items)
    with pytest.raises(TypeError):
        policy.slate(np.zeros(28), items=items)
    with pytest.raises(ValueError, match="shorter"):
        policy.slate(np.zeros(3))
    foreign = tmp_path / "foreign.onnx"
    foreign.write_bytes(b"\x08\x08" + bytes(range(40)))
    with pytest.raises(ValueError, match="not a policy rlrec exported"):
        rlrec.load_policy(foreign)
    with pytest.raises(ValueError, match="neither"):
        rlrec.load_policy(tmp_path / "missing")
    with pytest.raises(ValueError, match="checkpoint"):
        rlrec.load_policy(tmp_path, binary=rlrec_bin)


@contextlib.contextmanager
def serving(rlrec_bin: Path, model: Path) -> Iterator[tuple[subprocess.Popen[str], str, int]]:
    """``rlrec serve`` on a free loopback port; stopped even when the test fails."""
    process = subprocess.Popen(
        [str(rlrec_bin), "serve", "--model", str(model), "--addr", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://([0-9.]+):(\d+)", line)
        assert match, line
        yield process, match[1], int(match[2])
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@pytest.mark.parametrize("name", ["linucb", "slateq"])
def test_the_server_answers_inferences_slates(rlrec_bin: Path, exported: dict[str, Any], name: str) -> None:
    _, model, records = exported[name]
    with serving(rlrec_bin, model) as (_, host, port):
        connection = http.client.HTTPConnection(host, port, timeout=10)
        for record in records:
            body = json.dumps({"user": record["user"], "items": record["candidates"]})
            connection.request("POST", "/v1/slate", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["slate"] == record["slate"]
        connection.request("POST", "/v1/slate", "{", {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 400 and "error" in json.loads(response.read())


def test_sigterm_lets_the_request_under_way_finish(rlrec_bin: Path, exported: dict[str, Any]) -> None:
    _, model, records = exported["slateq"]
    body = json.dumps({"user": records[0]["user"], "items": records[0]["candidates"]}).encode()
    with serving(rlrec_bin, model) as (process, host, port):
        with socket.create_connection((host, port), timeout=10) as raw:
            raw.sendall(b"POST /v1/slate HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
            time.sleep(0.2)
            process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            raw.sendall(body[10:])
            answer = b""
            while chunk := raw.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["slate"] == records[0]["slate"]
        assert process.wait(timeout=30) == 0
        assert process.stdout is not None and "stopped" in process.stdout.read()
