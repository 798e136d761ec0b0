"""Times Google RecSim 0.2.4's environments, reset+step under the random policy.

`cargo xtask bench --vs-recsim` runs this with the interpreter of a cache venv that holds
recsim (installed without its dependencies), numpy, gym, gin-config and absl-py: no
TensorFlow. Usage:

    python recsim_bench.py SCENARIO --seconds S --rounds R

SCENARIO is one of strong-lts, lts, interest-evolution, interest-exploration. Prints one
JSON object: the steps per second of every timed round, and the versions used.
"""

import argparse
import json
import platform
import sys
import time
import types


def _stub(name, why):
    module = types.ModuleType(name)
    module.__doc__ = "Empty stand-in installed by recsim_bench.py: " + why
    sys.modules[name] = module


# The environment modules `import gin.tf` (gin's TensorFlow integration, which imports
# TensorFlow) but use only gin's core `configurable` decorator.
_stub("gin.tf", "RecSim's environments import it but use only gin's core.")
# `recsim.simulator` imports its runner, which needs TensorFlow and dopamine to train
# agents; the environments never touch it. An import of a submodule that is already in
# sys.modules takes the entry as it is.
_stub("recsim.simulator.runner_lib", "the environments never use the runner.")

import gin  # noqa: E402
import numpy as np  # noqa: E402
from recsim.environments import interest_evolution  # noqa: E402
from recsim.environments import interest_exploration  # noqa: E402
from recsim.environments import long_term_satisfaction  # noqa: E402

# The reference tutorial's "StrongLTS" user (docs/reference.md).
STRONG_LTS = {
    "sensitivity": 0.06,
    "time_budget": 120,
    "choc_stddev": 0.1,
    "kale_stddev": 0.1,
}


def make(scenario):
    """The environment and its episode cap (interest exploration never ends by itself;
    rlrec cuts it at 100 steps, so the timing does too)."""
    gin.clear_config()
    if scenario == "strong-lts":
        for name, value in STRONG_LTS.items():
            gin.bind_parameter("LTSStaticUserSampler." + name, value)
        module, n, k, horizon = long_term_satisfaction, 20, 2, None
    elif scenario == "lts":
        module, n, k, horizon = long_term_satisfaction, 10, 3, None
    elif scenario == "interest-evolution":
        module, n, k, horizon = interest_evolution, 10, 2, None
    elif scenario == "interest-exploration":
        module, n, k, horizon = interest_exploration, 10, 2, 100
    else:
        raise SystemExit("unknown scenario " + repr(scenario))
    config = {
        "num_candidates": n,
        "slate_size": k,
        "resample_documents": True,
        "seed": 0,
    }
    return module.create_environment(config), horizon


def time_round(env, space, horizon, seconds):
    """Whole episodes until `seconds` have passed; returns steps per second."""
    steps = 0
    start = time.perf_counter()
    while True:
        env.reset()
        done, length = False, 0
        while not done and length != horizon:
            _, _, done, _ = env.step(space.sample())
            length += 1
        steps += length
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env, horizon = make(args.scenario)
    # RecSim's action_space property builds a new, unseeded space on every access; one
    # seeded space keeps that construction out of the timing, as a careful user would.
    space = env.action_space
    space.seed(0)
    # RecSim's models draw their noise from numpy's global generator.
    np.random.seed(0)
    time_round(env, space, horizon, min(args.seconds, 0.2))  # warm-up
    rounds = [time_round(env, space, horizon, args.seconds) for _ in range(args.rounds)]
    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "recsim": _version("recsim"),
        "gym": _version("gym"),
    }
    print(json.dumps({"rounds": rounds, "versions": versions}))


def _version(package):
    from importlib import metadata

    return metadata.version(package)


if __name__ == "__main__":
    main()
