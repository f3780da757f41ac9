"""Ray tasks used by the Ray plugin tests (a module of its own so a Ray job can import it)."""

from __future__ import annotations

import os
import time
from typing import Dict, List

import flyte
from flyteplugins.ray import RayJobConfig, WorkerNodeConfig

config = RayJobConfig(
    worker_node_config=[WorkerNodeConfig(group_name="workers", replicas=2)],
    runtime_env={"env_vars": {"RAY_TASKS_MARK": "from-runtime-env"}},
)

env = flyte.TaskEnvironment(
    name="ray_tests",
    plugin_config=config,
    resources=flyte.Resources(cpu=1, memory="1Gi"),
)


@env.task
def fan_out(n: int) -> Dict[str, str]:
    """Square 0..n-1 in Ray tasks; report the sum, the cluster's CPUs, the runtime env and target."""
    import ray

    @ray.remote
    def square(x: int) -> int:
        return x * x

    @ray.remote
    def mark() -> str:
        return os.environ.get("RAY_TASKS_MARK", "")

    total = sum(ray.get([square.remote(i) for i in range(n)]))
    data = flyte.ctx().data
    return {
        "sum": str(total),
        "cpus": str(ray.cluster_resources().get("CPU", 0)),
        "mark": ray.get(mark.remote()),
        "target": str(data.get("ray_target")),
        "address": str(data.get("ray_address")),
        "nodes": str(len([n for n in ray.nodes() if n.get("Alive")])),
    }


@env.task
def fails(n: int) -> int:
    """Raise after touching Ray, so teardown after a failure can be checked."""
    import ray

    @ray.remote
    def one() -> int:
        return 1

    ray.get(one.remote())
    raise ValueError(f"boom {n}")


@env.task
def sleeps(seconds: float) -> int:
    """Sleep inside a Ray task (used with a timeout)."""
    import ray

    @ray.remote
    def one() -> int:
        return 1

    ray.get(one.remote())
    time.sleep(seconds)
    return 1


@env.task
def node_count(groups: List[str]) -> int:
    """The number of live Ray nodes."""
    import ray

    return len([n for n in ray.nodes() if n.get("Alive")])
