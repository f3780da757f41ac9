"""The PyTorch plugin's hook implementations (the module its ``flyte.plugins.tasks`` entry point names)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

try:
    from flyte.extend import hookimpl, require_core
except ImportError as e:  # the published flyte SDK has neither: name both distributions
    raise ImportError(
        "flyte-plugin-pytorch needs flyte-sdk-core>=0.1,<0.2, but the 'flyte' it imported is another distribution "
        "(the published 'flyte' SDK?); install this project's core: "
        "pip uninstall -y flyte && pip install ./core (this project's checkout)"
    ) from e

# Checked when the plugin is first used (this module loads with its first task or type).
require_core("flyte-plugin-pytorch", ">=0.1,<0.2", package="flyteplugins.pytorch")

if TYPE_CHECKING:
    from flyte.extend import K8sSettings
    from flyte.models import SerializationContext

    from flyteplugins.pytorch.task import TorchFunctionTask


def kubernetes_objects(
    task: "TorchFunctionTask", sctx: "SerializationContext", settings: "K8sSettings"
) -> Optional[List[Dict[str, Any]]]:
    """The Kubeflow ``PyTorchJob`` of a multi-node task; None (its plain pod) for ``nnodes == 1``."""
    if task.plugin_config.single_node:
        return None
    from flyteplugins.pytorch.k8s import pytorch_job_for_task

    return [pytorch_job_for_task(task, sctx, settings)]


@hookimpl
def flyte_register_task_plugins(registry: Any) -> None:  # flyte.extend.TaskPluginRegistry
    """Serve ``Elastic`` environments with ``TorchFunctionTask``, a ``PyTorchJob`` on Kubernetes."""
    from flyteplugins.pytorch.config import Elastic
    from flyteplugins.pytorch.task import TorchFunctionTask

    registry.register(config_type=Elastic, plugin=TorchFunctionTask, kubernetes_objects=kubernetes_objects)
