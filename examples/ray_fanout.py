"""A Ray task: fan out ``@ray.remote`` calls and gather them.

Runs unchanged on this machine (Ray is started for the task and stopped after it), on an
existing Ray cluster, and on Kubernetes as a KubeRay RayJob::

    flyte run examples/ray_fanout.py main --n 100
    FLYTE_RAY_ADDRESS=ray://127.0.0.1:10001 flyte run examples/ray_fanout.py main   # Ray Client
    FLYTE_RAY_ADDRESS=http://127.0.0.1:8265 flyte run examples/ray_fanout.py main   # Jobs API
    flyte deploy --dry-run --all --output manifests/ examples/ray_fanout.py         # RayJob
"""

import flyte
from flyteplugins.ray import HeadNodeConfig, RayJobConfig, WorkerNodeConfig

ray_config = RayJobConfig(
    head_node_config=HeadNodeConfig(ray_start_params={"log-color": "true"}),
    worker_node_config=[WorkerNodeConfig(group_name="cpu-workers", replicas=2)],
    runtime_env={"env_vars": {"FANOUT_GREETING": "hello from a Ray worker"}},
    shutdown_after_job_finishes=True,
    ttl_seconds_after_finished=300,
)

env = flyte.TaskEnvironment(
    name="ray_fanout",
    plugin_config=ray_config,
    resources=flyte.Resources(cpu=2, memory="2Gi"),
)


@env.task
def main(n: int = 20) -> int:
    """Square 0..n-1 on Ray workers and return the sum."""
    import os

    import ray

    @ray.remote
    def square(x: int) -> int:
        return x * x

    @ray.remote
    def greeting() -> str:
        return os.environ.get("FANOUT_GREETING", "")

    print(f"Ray at {flyte.ctx().data.get('ray_address')} ({flyte.ctx().data.get('ray_target')}): {ray.get(greeting.remote())}")
    return sum(ray.get([square.remote(i) for i in range(n)]))


if __name__ == "__main__":
    flyte.init()
    run = flyte.run(main, n=20)
    print(run.outputs())
