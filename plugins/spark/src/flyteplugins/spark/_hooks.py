"""The Spark plugin's hook implementations (the module its entry points name)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

try:
    from flyte.extend import hookimpl, require_core
except ImportError as e:  # the published flyte SDK has neither: name both distributions
    raise ImportError(
        "flyte-plugin-spark needs flyte-sdk-core>=0.1,<0.2, but the 'flyte' it imported is another distribution "
        "(the published 'flyte' SDK?); install this project's core: "
        "pip uninstall -y flyte && pip install ./core (this project's checkout)"
    ) from e

# Checked when the plugin is first used (this module loads with its first task or type).
require_core("flyte-plugin-spark", ">=0.1,<0.2", package="flyteplugins.spark")

if TYPE_CHECKING:
    from flyte.extend import K8sSettings
    from flyte.models import SerializationContext

    from flyteplugins.spark.task import PysparkFunctionTask

SPARK_DATAFRAME = "pyspark.sql.dataframe.DataFrame"
"""The type whose first lookup registers the DataFrame handlers (classic and Connect frames
both derive from it)."""


def kubernetes_objects(task: "PysparkFunctionTask", sctx: "SerializationContext", settings: "K8sSettings") -> List[Dict[str, Any]]:
    """The ``SparkApplication`` of a Spark task (the registry calls this for Spark tasks only)."""
    from flyteplugins.spark.k8s import spark_application_for_task

    return [spark_application_for_task(task, sctx, settings)]


@hookimpl
def flyte_register_task_plugins(registry: Any) -> None:  # flyte.extend.TaskPluginRegistry
    """Serve ``Spark`` environments with ``PysparkFunctionTask``, a ``SparkApplication`` on Kubernetes."""
    from flyteplugins.spark.config import Spark
    from flyteplugins.spark.task import PysparkFunctionTask

    registry.register(config_type=Spark, plugin=PysparkFunctionTask, kubernetes_objects=kubernetes_objects)


@hookimpl
def flyte_register_type_transformers(engine: Any) -> None:
    """``pyspark.sql.DataFrame`` as a parquet dataset, registered on the first lookup of the type."""
    from flyte.extend import register_lazy

    def load() -> None:
        from flyteplugins.spark.df_transformer import register_spark_df_transformers

        register_spark_df_transformers()

    register_lazy(SPARK_DATAFRAME, load)
