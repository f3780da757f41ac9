"""The Ray plugin's hook implementations (the module its ``flyte.plugins.tasks`` entry point names)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

try:
    from flyte.extend import hookimpl, require_core
except ImportError as e:  # the published flyte SDK has neither: name both distributions
    raise ImportError(
        "flyte-plugin-ray needs flyte-sdk-core>=0.1,<0.2, but the 'flyte' it imported is another distribution "
        "(the published 'flyte' SDK?); install this project's core: "
        "pip uninstall -y flyte && pip install ./core (this project's checkout)"
    ) from e

# Checked when the plugin is first used (this module loads with its first task or type).
require_core("flyte-plugin-ray", ">=0.1,<0.2", package="flyteplugins.ray")


@hookimpl
def flyte_register_task_plugins(registry: Any) -> None:
    """Serve ``RayJobConfig`` environments with ``RayFunctionTask``."""
    from flyteplugins.ray.config import RayJobConfig
    from flyteplugins.ray.task import RayFunctionTask

    registry.register(config_type=RayJobConfig, plugin=RayFunctionTask)


@hookimpl
def flyte_kubernetes_objects(task: Any, sctx: Any, settings: Any) -> Optional[List[Dict[str, Any]]]:
    """A KubeRay ``RayJob`` for each Ray task; None for tasks of other types."""
    from flyteplugins.ray.task import RayFunctionTask

    if not isinstance(task, RayFunctionTask):
        return None
    from flyteplugins.ray.k8s import ray_job_for_task

    return [ray_job_for_task(task, sctx, settings)]
