"""A Ray task through flyte against the same code with plain Ray, start-up included, same run.

Each round runs, in alternating order:

* flyte: ``flyte.run`` of a Ray task (no address, no Resources: Ray is started like a plain
  ``ray.init()``) whose body fans out N trivial ``@ray.remote`` calls and sums them; the
  plugin starts Ray in ``pre`` and stops it in ``post``;
* plain: ``ray.init()``, the same fan-out with ``ray.get``, ``ray.shutdown()``.

Prints the median of each and the ratio flyte / plain (start-up and teardown included).

    .venv/bin/python bench/ray_plugin.py [--calls 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

for _k, _v in {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}.items():
    os.environ.setdefault(_k, _v)

import flyte  # noqa: E402
from flyteplugins.ray import RayJobConfig, WorkerNodeConfig  # noqa: E402

env = flyte.TaskEnvironment(
    name="bench_ray",
    plugin_config=RayJobConfig(worker_node_config=[WorkerNodeConfig(group_name="w", replicas=1)]),
)


def fan_out(n: int) -> int:
    import ray

    @ray.remote
    def one(x: int) -> int:
        return x

    return sum(ray.get([one.remote(i) for i in range(n)]))


@env.task
def ray_fan_out(n: int) -> int:
    """The fan-out as a flyte Ray task."""
    return fan_out(n)


def run_flyte(n: int) -> float:
    start = time.perf_counter()
    result = flyte.run(ray_fan_out, n=n).outputs()[0]
    elapsed = time.perf_counter() - start
    assert result == n * (n - 1) // 2
    return elapsed


def run_plain(n: int) -> float:
    import ray

    start = time.perf_counter()
    ray.init()
    try:
        result = fan_out(n)
    finally:
        ray.shutdown()
    elapsed = time.perf_counter() - start
    assert result == n * (n - 1) // 2
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    flyte.init()
    flyte_times, plain_times = [], []
    for i in range(args.repeat):
        # Alternate the order so neither side always runs on a warmer machine.
        if i % 2 == 0:
            flyte_times.append(run_flyte(args.calls))
            plain_times.append(run_plain(args.calls))
        else:
            plain_times.append(run_plain(args.calls))
            flyte_times.append(run_flyte(args.calls))
    f, p = statistics.median(flyte_times), statistics.median(plain_times)
    print(f"{args.calls} remote calls, start-up and teardown included, median of {args.repeat}:")
    print(f"  flyte Ray task : {f:7.3f} s   ({', '.join(f'{t:.2f}' for t in flyte_times)})")
    print(f"  plain ray.init : {p:7.3f} s   ({', '.join(f'{t:.2f}' for t in plain_times)})")
    print(f"  ratio flyte/plain: {f / p:.3f}x")


if __name__ == "__main__":
    main()
