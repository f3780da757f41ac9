"""``PysparkFunctionTask``: a Python task whose body gets a ``pyspark.sql.SparkSession``.

The body reads it as ``flyte.ctx().data["spark_session"]``. Where it runs follows from the
settings, so moving a task from a laptop to a cluster changes no code:

=================================================  ==========================================
target                                             ``pre`` ...
=================================================  ==========================================
inside a Spark driver (``PYSPARK_GATEWAY_PORT``)   a ``newSession()`` of that application's
``spark.remote`` / ``FLYTE_SPARK_REMOTE``          a Spark Connect session on that server
``spark.master`` / ``FLYTE_SPARK_MASTER``          this process's driver on that master
none (or ``local[N]``)                             this process's driver on ``local[N]``
=================================================  ==========================================

``post`` stops the task's session (and gives the shared driver back); the engine calls it also
when the body failed, timed out or was cancelled. On Kubernetes the task is a
``SparkApplication`` of the Spark operator (:mod:`flyteplugins.spark.k8s`).

This is also the published plugin's module path: ``Spark`` is importable from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from flyte.errors import TypeValidationError, ValidationError
from flyte.extend import SessionTaskTemplate, open_cancellably, resolve_target
from flyte.models import SerializationContext

from flyteplugins.spark._session import SparkTaskSession
from flyteplugins.spark.config import (
    MASTER_ENV_VAR,
    MASTER_FORMS,
    REMOTE_ENV_VAR,
    REMOTE_FORMS,
    Spark,
    check_master,
    check_remote,
)

__all__ = [
    "DEFAULT_SPARK_CONTEXT_NAME",
    "IN_DRIVER_ENV_VAR",
    "PysparkFunctionTask",
    "Spark",
    "target_of",
]

DEFAULT_SPARK_CONTEXT_NAME = "FlyteSpark"
"""``spark.app.name`` of a driver this plugin starts (the published plugin's name for it)."""

IN_DRIVER_ENV_VAR = "PYSPARK_GATEWAY_PORT"
"""Set by Spark for the Python main program of an application (``spark-submit``, the operator)."""

_SCHEMES = {"sc": "connect", "spark": "standalone"}


def target_of(config: Spark) -> Tuple[str, Optional[str]]:
    """``(kind, address)`` of where a task with ``config`` runs from this process.

    ``kind``: ``"in-driver"`` (inside a Spark application), ``"connect"`` (``sc://``),
    ``"standalone"`` (``spark://``) or ``"local"`` (address: a ``local[...]`` master, or None
    for ``local[N]`` sized from the task's ``Resources``). ``spark_conf`` wins over
    ``FLYTE_SPARK_REMOTE`` / ``FLYTE_SPARK_MASTER``, which win over ``address`` in the config
    file's ``spark:`` section.
    """
    if os.environ.get(IN_DRIVER_ENV_VAR):
        return "in-driver", None
    master = config.master
    if master is not None and master.startswith("local"):
        return "local", master
    remote_env = check_remote(os.environ.get(REMOTE_ENV_VAR), field=REMOTE_ENV_VAR, owner="environment")
    master_env = check_master(os.environ.get(MASTER_ENV_VAR), field=MASTER_ENV_VAR, owner="environment")
    if config.remote is None and master is None:
        if remote_env is not None and master_env is not None:
            raise ValidationError(
                REMOTE_ENV_VAR, remote_env,
                f"unset when {MASTER_ENV_VAR} is set ({master_env!r}): a task is either a driver on a master or a "
                "Spark Connect client, not both",
                owner="environment",
            )
        if master_env is not None and master_env.startswith("local"):
            return "local", master_env
    field = "spark_conf['spark.remote']" if config.remote else "spark_conf['spark.master']"
    target = resolve_target(
        "spark",
        config.remote or master,
        schemes=_SCHEMES,
        field=field,
        owner="Spark",
        env_var=REMOTE_ENV_VAR if remote_env is not None else MASTER_ENV_VAR,
        allowed=f"{REMOTE_FORMS} or {MASTER_FORMS}",
    )
    if target.kind == "local":
        return "local", None
    return target.kind, target.address


@dataclass(kw_only=True)
class PysparkFunctionTask(SessionTaskTemplate):
    """A task whose function uses the ``SparkSession`` in ``flyte.ctx().data["spark_session"]``.

    ``pyspark`` is imported only when the task runs.
    """

    plugin_config: Spark
    task_type: str = "spark"
    debuggable: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.plugin_config, Spark):
            raise TypeValidationError("plugin_config", self.plugin_config, Spark, owner=f"task {self.name}")

    # ------------------------------------------------------------------------------------------
    # Lifecycle (pre / execute / post come from SessionTaskTemplate)
    # ------------------------------------------------------------------------------------------
    async def open_session(self, *args: Any, **kwargs: Any) -> SparkTaskSession:
        """Open the Spark target of this task (see the module docs)."""
        from flyteplugins.spark import cluster, local

        cfg = self.plugin_config
        kind, address = target_of(cfg)
        stop = lambda s: s.stop()  # noqa: E731
        if kind == "in-driver":
            return await open_cancellably(lambda: cluster.open_in_driver_session(cfg), stop)
        if kind == "connect":
            assert address is not None
            await cluster.probe(address)
            return await open_cancellably(lambda: cluster.open_connect_session(cfg, address), stop)
        if kind == "standalone":
            assert address is not None
            await cluster.probe(address)
            return await open_cancellably(
                lambda: local.open_driver_session(cfg, self.resources, address, "standalone"), stop
            )
        return await open_cancellably(lambda: local.open_driver_session(cfg, self.resources, address, "local"), stop)

    # ------------------------------------------------------------------------------------------
    # Description for clusters
    # ------------------------------------------------------------------------------------------
    def custom_config(self, sctx: SerializationContext) -> Dict[str, Any]:
        """The flyteidl2 ``SparkJob`` description of this task, as a dict (the template's ``custom``)."""
        from flyteidl2.core import tasks_pb2
        from flyteidl2.plugins import spark_pb2
        from google.protobuf import json_format, struct_pb2

        from flyteplugins.spark.k8s import main_application_file, python_of, spark_conf_of

        cfg = self.plugin_config

        def k8s_pod(template: Any) -> Optional[Any]:
            if template is None:
                return None
            pod_spec = struct_pb2.Struct()
            pod_spec.update(template.pod_spec_dict())
            kwargs: Dict[str, Any] = {"pod_spec": pod_spec}
            if template.labels or template.annotations:
                kwargs["metadata"] = tasks_pb2.K8sObjectMetadata(
                    labels=template.labels or {}, annotations=template.annotations or {}
                )
            return tasks_pb2.K8sPod(**kwargs)

        job = spark_pb2.SparkJob(
            applicationType=spark_pb2.SparkApplication.PYTHON,
            mainApplicationFile=main_application_file(cfg, sctx),
            sparkConf=spark_conf_of(cfg, sctx),
            hadoopConf=dict(cfg.hadoop_conf or {}),
            executorPath=python_of(cfg, sctx),
            driverPod=k8s_pod(cfg.driver_pod),
            executorPod=k8s_pod(cfg.executor_pod),
        )
        return json_format.MessageToDict(job)
