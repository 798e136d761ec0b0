"""PPO from RLlib 2.60 on rlrec's StrongLTS, with rlrec's own vector environment.

The environment is registered with ``tune.register_env`` through ``rlrec.env_creator``;
RLlib's env runner asks it for ``num_envs_per_env_runner`` environments at once
(``gym_env_vectorize_mode="vector_entry_point"``), so it gets one
``rlrec.RecSimVectorEnv`` stepping them in Rust with NEXT_STEP autoreset, which is what
RLlib's env runners assume. The observation is flat (one vector: the user's
satisfaction, the candidates' clickbait scores, the last responses) and the action is
one of N^K slates (``discrete_action=True``), the spaces PPO's default model takes.

    python examples/rllib_ppo.py --iterations 10

Needs ``ray[rllib]==2.60.0`` and torch (see docs/python.md). On a machine whose Ray
must stay on loopback, run it inside ``unshare -n`` (docs/python.md says how).
"""

from __future__ import annotations

import argparse
import time

import ray
from ray import tune
from ray.rllib.algorithms.ppo import PPOConfig

import rlrec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--num-envs", type=int, default=32, help="environments per env runner")
    parser.add_argument("--batch", type=int, default=3840, help="environment steps per iteration")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    tune.register_env(
        "rlrec-strong-lts",
        rlrec.env_creator("strong-lts", discrete_action=True, user_observation=True, flat=True),
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    config = (
        PPOConfig()
        .environment("rlrec-strong-lts", env_config={"seed": args.seed})
        .env_runners(
            num_env_runners=0,
            num_envs_per_env_runner=args.num_envs,
            gym_env_vectorize_mode="vector_entry_point",
            rollout_fragment_length=args.batch // args.num_envs,
        )
        .training(
            train_batch_size_per_learner=args.batch,
            minibatch_size=min(512, args.batch),
            num_epochs=4,
            lr=3e-4,
            gamma=0.99,
        )
        .debugging(seed=args.seed)
    )
    algo = config.build_algo()
    runner = algo.env_runner
    print(f"env runner's environment: {type(runner.env.unwrapped).__name__} of {runner.num_envs}")
    print("iteration  env steps  episodes  episode return mean  seconds")
    start = time.perf_counter()
    for _ in range(args.iterations):
        result = algo.train()
        env = result["env_runners"]
        print(
            f"{result['training_iteration']:9d}  {result['num_env_steps_sampled_lifetime']:9.0f}"
            f"  {env.get('num_episodes_lifetime', 0):8.0f}"
            f"  {env.get('episode_return_mean', float('nan')):19.1f}"
            f"  {time.perf_counter() - start:7.1f}"
        )
    algo.stop()
    ray.shutdown()
    print("random slates score 1157.7 on this scenario (rlrec baseline --policy random)")


if __name__ == "__main__":
    main()
