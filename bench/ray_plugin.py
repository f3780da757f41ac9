"""A Ray task through flyte against the same code with plain Ray, in one process, same run.

Cold (start-up and teardown included; ``FLYTE_RAY_IDLE_TIMEOUT=0``), in alternating order:

* flyte: ``flyte.run`` of a Ray task (no address, no Resources: Ray is started like a plain
  ``ray.init()``) whose body fans out N trivial ``@ray.remote`` calls and sums them; the
  plugin starts Ray for the run and stops it when the run ends;
* plain: ``ray.init()``, the same fan-out with ``ray.get``, ``ray.shutdown()``.

Warm (the local Ray the plugin started stays up between tasks and runs):

* per task: a parent task runs 10 Ray child tasks one after another, each the same fan-out;
  the time of each child after the first, against the same fan-out with plain ``ray.get`` on
  an already running Ray;
* second run: another ``flyte.run`` of the Ray task in the same process, against the same plain
  warm fan-out.

Each figure is the median of ``--repeat`` runs (default 5); prints the ratios flyte / plain.

    .venv/bin/python bench/ray_plugin.py [--calls 200] [--repeat 5] [--tasks 10] [--skip-cold]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import List

for _k, _v in {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}.items():
    os.environ.setdefault(_k, _v)

import flyte  # noqa: E402
import flyte.extend  # noqa: E402
from flyteplugins.ray import RayJobConfig, WorkerNodeConfig  # noqa: E402

env = flyte.TaskEnvironment(
    name="bench_ray",
    plugin_config=RayJobConfig(worker_node_config=[WorkerNodeConfig(group_name="w", replicas=1)]),
)
driver = flyte.TaskEnvironment(name="bench_ray_driver")


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


@driver.task
async def sequential(n: int, tasks: int) -> List[float]:
    """``tasks`` Ray child tasks one after another; the seconds each took."""
    times = []
    for _ in range(tasks):
        start = time.perf_counter()
        assert await ray_fan_out.aio(n=n) == n * (n - 1) // 2
        times.append(time.perf_counter() - start)
    return times


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def run_flyte(n: int) -> None:
    assert flyte.run(ray_fan_out, n=n).outputs()[0] == n * (n - 1) // 2


def run_plain_cold(n: int) -> None:
    import ray

    ray.init()
    try:
        assert fan_out(n) == n * (n - 1) // 2
    finally:
        ray.shutdown()


def fmt(values: List[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in values)


def cold(n: int, repeat: int) -> None:
    os.environ["FLYTE_RAY_IDLE_TIMEOUT"] = "0"
    flyte_times, plain_times = [], []
    for i in range(repeat):
        # Alternate the order so neither side always runs on a warmer machine.
        if i % 2 == 0:
            flyte_times.append(timed(run_flyte, n))
            plain_times.append(timed(run_plain_cold, n))
        else:
            plain_times.append(timed(run_plain_cold, n))
            flyte_times.append(timed(run_flyte, n))
    f, p = statistics.median(flyte_times), statistics.median(plain_times)
    print(f"cold: {n} remote calls, start-up and teardown included, median of {repeat}:")
    print(f"  flyte Ray task : {f:7.3f} s   ({fmt(flyte_times)})")
    print(f"  plain ray.init : {p:7.3f} s   ({fmt(plain_times)})")
    print(f"  ratio flyte/plain: {f / p:.3f}x   (target <= 1.1x)")


def warm(n: int, repeat: int, tasks: int) -> None:
    import ray

    os.environ["FLYTE_RAY_IDLE_TIMEOUT"] = "600"
    first = flyte.run(sequential, n=n, tasks=tasks).outputs()[0]  # starts Ray: its first task is cold
    per_task = [statistics.median(first[1:])]
    for _ in range(repeat - 1):
        per_task.append(statistics.median(flyte.run(sequential, n=n, tasks=tasks).outputs()[0][1:]))
    second_run = [timed(run_flyte, n) for _ in range(repeat)]
    flyte.extend.stop_runtimes()
    assert not ray.is_initialized()

    ray.init()
    try:
        fan_out(n)  # the first call on a new Ray pays for starting its workers
        plain = [statistics.median([timed(fan_out, n) for _ in range(tasks - 1)]) for _ in range(repeat)]
    finally:
        ray.shutdown()
    f, s, p = statistics.median(per_task), statistics.median(second_run), statistics.median(plain)
    print(f"warm: {n} remote calls per task on a running Ray, median of {repeat}:")
    print(f"  flyte, child task {2}..{tasks} of a run : {f:7.4f} s   ({fmt(per_task)}; first child {first[0]:.3f} s)")
    print(f"  flyte, a second flyte.run          : {s:7.4f} s   ({fmt(second_run)})")
    print(f"  plain ray.get on a running Ray     : {p:7.4f} s   ({fmt(plain)})")
    print(f"  ratio per task  flyte/plain: {f / p:.3f}x   (target <= 1.2x)")
    print(f"  ratio second run flyte/plain: {s / p:.3f}x   (target <= 1.2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-warm", action="store_true")
    args = parser.parse_args()
    flyte.init()
    if not args.skip_warm:
        warm(args.calls, args.repeat, args.tasks)
    if not args.skip_cold:
        cold(args.calls, args.repeat)


if __name__ == "__main__":
    main()
