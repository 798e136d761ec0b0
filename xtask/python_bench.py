"""Times rlrec's Python package from Python: reset+step under random slates drawn before
the clock starts.

`cargo xtask bench` runs this with the interpreter of the test venv, where the wheel of
python/ is installed. Usage:

    python python_bench.py single SCENARIO N K --flat|--dict --seconds S --rounds R
    python python_bench.py vector SCENARIO N K --num-envs B --threads T [T …] --seconds S --rounds R

Prints one JSON object: the steps per second of every timed round (`rounds`; for a
vector environment one list per thread count, the rounds alternating between them).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np

import rlrec

# Random slates drawn once, cycled through: the timing is the environment's.
DRAWN = 4096


def timed(seconds: float, run: Callable[[], int]) -> float:
    """Calls `run` (which returns the steps it took) until `seconds` have passed."""
    steps, start = 0, time.perf_counter()
    while True:
        steps += run()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def single(args: argparse.Namespace) -> dict[str, list[float]]:
    env = rlrec.make(args.scenario, num_candidates=args.n, slate_size=args.k, flat=args.flat)
    actions = list(np.random.default_rng(0).integers(0, args.n, size=(DRAWN, args.k)))
    step, reset = env.step, env.reset
    reset(seed=0)

    def run() -> int:
        for action in actions:
            _, _, terminated, truncated, _ = step(action)
            if terminated or truncated:
                reset()
        return DRAWN

    timed(min(args.seconds, 0.2), run)
    return {"rounds": [timed(args.seconds, run) for _ in range(args.rounds)]}


def vector(args: argparse.Namespace) -> dict[str, list[float]]:
    b = args.num_envs
    batches = list(np.random.default_rng(0).integers(0, args.n, size=(64, b, args.k)))
    runs = []
    for threads in args.threads:
        env = rlrec.make_vec(
            args.scenario, num_envs=b, threads=threads, num_candidates=args.n, slate_size=args.k, flat=True
        )
        env.reset(seed=0)
        step = env.step

        def run(step: Callable[..., object] = step) -> int:
            for actions in batches:
                step(actions)
            return b * len(batches)

        timed(min(args.seconds, 0.2), run)
        runs.append((str(threads), run, []))
    for _ in range(args.rounds):
        for _, run, rounds in runs:
            rounds.append(timed(args.seconds, run))
    return {threads: rounds for threads, _, rounds in runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["single", "vector"])
    parser.add_argument("scenario")
    parser.add_argument("n", type=int)
    parser.add_argument("k", type=int)
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--flat", dest="flat", action="store_true")
    layout.add_argument("--dict", dest="flat", action="store_false")
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = single(args) if args.mode == "single" else vector(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
