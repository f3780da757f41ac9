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


def _gcs(ray) -> str:
    try:
        return str(ray.get_runtime_context().gcs_address)
    except Exception:  # a Ray Client driver has no GCS address of its own
        return ""


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
        "gcs": _gcs(ray),
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


@env.task
def gcs_address() -> str:
    """The GCS address of the Ray this task runs on (one per Ray instance)."""
    return str(flyte.ctx().data.get("ray_address"))


other_env = flyte.TaskEnvironment(
    name="ray_tests_other_env",
    plugin_config=RayJobConfig(
        worker_node_config=[WorkerNodeConfig(group_name="workers", replicas=1)],
        runtime_env={"env_vars": {"RAY_TASKS_MARK": "other"}},
    ),
    resources=flyte.Resources(cpu=1, memory="1Gi"),
)


@other_env.task
def other_runtime_env(seconds: float) -> str:
    """A Ray task whose runtime env differs from ``env``'s: it cannot share that Ray."""
    time.sleep(seconds)
    return str(flyte.ctx().data.get("ray_address"))


@env.task
def holds_ray(seconds: float) -> str:
    """Hold the shared Ray for a while."""
    time.sleep(seconds)
    return str(flyte.ctx().data.get("ray_address"))


driver_env = flyte.TaskEnvironment(name="ray_tests_driver")


@driver_env.task
async def sequential_ray_tasks(n: int) -> List[str]:
    """Run ``n`` Ray tasks one after another inside one run; their Ray addresses."""
    return [await gcs_address.aio() for _ in range(n)]


@driver_env.task
async def conflicting_ray_tasks() -> str:
    """Two Ray tasks with incompatible runtime envs at the same time; the error raised."""
    import asyncio

    results = await asyncio.gather(holds_ray.aio(seconds=4.0), other_runtime_env.aio(seconds=4.0), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    return "; ".join(f"{type(e).__name__}: {e}" for e in errors)


per_replica_one = flyte.TaskEnvironment(
    name="ray_tests_one_worker",
    plugin_config=RayJobConfig(worker_node_config=[WorkerNodeConfig(group_name="workers", replicas=1)]),
)


@per_replica_one.task
def live_nodes_one() -> int:
    """The number of live Ray nodes (config: one worker replica)."""
    import ray

    return len([n for n in ray.nodes() if n.get("Alive")])


@driver_env.task
async def two_layouts() -> List[int]:
    """A task with one worker replica, then one with two: the per-replica nodes are rebuilt."""
    return [await live_nodes_one.aio(), await node_count.aio(groups=["workers"])]
