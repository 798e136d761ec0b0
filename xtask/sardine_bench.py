"""Times SARDINE 1.0.8's environments (``sardine-rec`` on PyPI): reset+step under the
random policy (``action_space.sample()``) or its short-term greedy oracle (a slate of -1).

`cargo xtask bench --vs-sardine` runs this with the test venv's interpreter. Usage:

    python sardine_bench.py ID POLICY --seconds S --rounds R

ID is one of SARDINE's Gymnasium ids (``sardine/SlateTopK-Bored-v0``), POLICY ``random``
or ``oracle``. Prints one JSON object: the steps per second of every timed round.
"""

import argparse
import json
import time

import gymnasium
import numpy as np
import sardine  # noqa: F401 (registers the ids)


def time_round(env, policy, seconds):
    """Whole episodes until `seconds` have passed; returns steps per second."""
    oracle = -np.ones(env.slate_size, dtype=np.int64)
    steps = 0
    start = time.perf_counter()
    while True:
        env.reset()
        done = False
        while not done:
            action = oracle if policy == "oracle" else env.action_space.sample()
            _, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
            steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("id")
    parser.add_argument("policy", choices=["random", "oracle"])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # The environment itself, as SARDINE's own examples step it: no checker wrappers.
    env = gymnasium.make(args.id).unwrapped
    env.reset(seed=0)
    env.action_space.seed(0)
    time_round(env, args.policy, min(args.seconds, 0.2))  # warm-up
    rounds = [time_round(env, args.policy, args.seconds) for _ in range(args.rounds)]
    print(json.dumps({"rounds": rounds}))


if __name__ == "__main__":
    main()
