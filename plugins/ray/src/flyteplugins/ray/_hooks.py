"""The Ray plugin's hook implementations (the module its ``flyte.plugins.tasks`` entry point names)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

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

if TYPE_CHECKING:
    from flyte.extend import K8sSettings
    from flyte.models import SerializationContext

    from flyteplugins.ray.task import RayFunctionTask


def kubernetes_objects(task: "RayFunctionTask", sctx: "SerializationContext", settings: "K8sSettings") -> List[Dict[str, Any]]:
    """The KubeRay ``RayJob`` of a Ray task (the registry calls this for Ray tasks only)."""
    from flyteplugins.ray.k8s import ray_job_for_task

    return [ray_job_for_task(task, sctx, settings)]


@hookimpl
def flyte_register_task_plugins(registry: Any) -> None:  # flyte.extend.TaskPluginRegistry
    """Serve ``RayJobConfig`` environments with ``RayFunctionTask``, a ``RayJob`` on Kubernetes."""
    from flyteplugins.ray.config import RayJobConfig
    from flyteplugins.ray.task import RayFunctionTask

    registry.register(config_type=RayJobConfig, plugin=RayFunctionTask, kubernetes_objects=kubernetes_objects)
