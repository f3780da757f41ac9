"""flyte-plugin-ray: Ray tasks on this machine, on an existing Ray cluster, or as a KubeRay RayJob.

Give a ``TaskEnvironment`` a :class:`RayJobConfig` and call ``@ray.remote`` functions inside its
tasks::

    import flyte
    from flyteplugins.ray import RayJobConfig, WorkerNodeConfig

    env = flyte.TaskEnvironment(
        name="ray_env",
        plugin_config=RayJobConfig(worker_node_config=[WorkerNodeConfig(group_name="w", replicas=2)]),
    )

Only the configuration is imported here (pure data); ``ray`` itself is imported when a Ray task
first runs.
"""

from flyteplugins.ray.config import AutoscalerOptionsConfig, HeadNodeConfig, RayJobConfig, WorkerNodeConfig

__all__ = ["AutoscalerOptionsConfig", "HeadNodeConfig", "RayJobConfig", "WorkerNodeConfig"]
