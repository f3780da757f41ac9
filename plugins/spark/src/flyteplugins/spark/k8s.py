"""A Spark task as a ``SparkApplication`` (``sparkoperator.k8s.io/v1beta2``): a pure function.

The rules (the Kubernetes mapping of ``docs/ARCHITECTURE.md`` for the pods; the operator's here):

* ``type: Python``, ``mode: cluster``, ``sparkVersion`` = the installed pyspark's version;
* ``mainApplicationFile`` = ``applications_path``, else ``local://`` + the plugin's entry script
  in the image, ``<interpreter dir>/flyte-spark-entrypoint.py`` (pip installs it next to the
  interpreter, so images built by ``flyte build`` carry it at ``/opt/venv/bin/``); it runs
  ``arguments``, the task's container command, as the driver's Python program;
* ``sparkConf`` = ``spark_conf`` plus ``spark.pyspark.python`` / ``spark.pyspark.driver.python``
  = ``executor_path``, else the image's interpreter; ``hadoopConf`` = ``hadoop_conf``;
* ``driver.cores`` / ``driver.memory`` / ``executor.cores`` / ``executor.memory`` /
  ``executor.instances`` from the matching ``spark.*`` key of ``spark_conf`` (which wins), else
  from the task's ``Resources`` (cores: the CPU limit, else request, rounded up; memory in
  Spark's ``<n>m`` form), else 1 core / Spark's default memory; ``executor.instances`` 1 unless set;
* GPUs of the task's ``Resources`` go to the executors: ``spark.executor.resource.gpu.amount``
  (unless set) and the executor pod template's resources, node affinity and tolerations;
  ``spark.driver.resource.gpu.amount`` in ``spark_conf`` gives the driver GPUs the same way;
* ``driver_pod`` / ``executor_pod`` (else the task's pod template) are the bases of
  ``driver.template`` / ``executor.template``, merged into the containers
  ``spark-kubernetes-driver`` / ``spark-kubernetes-executor``;
* ``restartPolicy: {type: Never}``: retries happen once, inside the driver (the task's own);
* a service account, when the task or its environment names one, runs both pods.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence

from flyte.errors import TypeValidationError, ValidationError
from flyte.extend import (
    K8sSettings,
    TaskParts,
    check_no_nulls,
    container_command,
    dns_label,
    local_size,
    object_metadata,
    replica_pod_template,
    resolve_image_uri,
)

from flyteplugins.spark.config import Spark

if TYPE_CHECKING:
    from flyte.models import SerializationContext

__all__ = [
    "API_VERSION",
    "DRIVER_CONTAINER",
    "ENTRYPOINT_SCRIPT",
    "EXECUTOR_CONTAINER",
    "KIND",
    "main_application_file",
    "python_of",
    "spark_application",
    "spark_application_for_task",
    "spark_conf_of",
    "spark_memory",
]

API_VERSION = "sparkoperator.k8s.io/v1beta2"
KIND = "SparkApplication"
DRIVER_CONTAINER = "spark-kubernetes-driver"
EXECUTOR_CONTAINER = "spark-kubernetes-executor"
ENTRYPOINT_SCRIPT = "flyte-spark-entrypoint.py"
"""The plugin's entry script, installed next to the interpreter (``<venv>/bin/``)."""

DEFAULT_INTERPRETER = "/opt/venv/bin/python"
# The operator derives pod and service names from the application's: keep room for suffixes.
_MAX_NAME = 40
_SPARK_MEMORY = re.compile(r"^\d+([kmgtp]b?|b)?$", re.IGNORECASE)
_GPU_RESOURCE = {"GPU": "nvidia.com/gpu", "AMD_GPU": "amd.com/gpu"}


def spark_memory(value: Any, field: str, owner: str) -> str:
    """A memory amount in Spark's form: a ``spark.*.memory`` string as given (checked), or a
    number of bytes as ``<MiB>m``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{max(1, math.ceil(value / 2**20))}m"
    if isinstance(value, str) and _SPARK_MEMORY.match(value.strip()):
        return value.strip()
    raise ValidationError(field, value, "a Spark memory amount such as '512m', '4g' or '2048' (MiB)", owner=owner)


def _cores(value: str, field: str, owner: str) -> int:
    text = value.strip()
    if not text.isdigit() or int(text) < 1:
        raise ValidationError(field, value, "a whole number of cores >= 1, as a str (the operator takes integers)", owner=owner)
    return int(text)


def python_of(config: Spark, sctx: Optional["SerializationContext"]) -> str:
    """The interpreter of driver and executors in the image: ``executor_path``, else the image's."""
    return config.executor_path or (getattr(sctx, "interpreter_path", None) or DEFAULT_INTERPRETER)


def main_application_file(config: Spark, sctx: Optional["SerializationContext"]) -> str:
    """``applications_path``, else ``local://<interpreter dir>/flyte-spark-entrypoint.py``."""
    if config.applications_path:
        return config.applications_path
    interpreter = getattr(sctx, "interpreter_path", None) or DEFAULT_INTERPRETER
    return "local://" + os.path.join(os.path.dirname(interpreter), ENTRYPOINT_SCRIPT)


def spark_conf_of(config: Spark, sctx: Optional["SerializationContext"]) -> Dict[str, str]:
    """``spark_conf`` plus the interpreter settings (user values win)."""
    conf = dict(config.spark_conf or {})
    python = python_of(config, sctx)
    conf.setdefault("spark.pyspark.python", python)
    conf.setdefault("spark.pyspark.driver.python", python)
    return conf


def _spark_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyspark")
    except PackageNotFoundError as e:
        from flyteplugins.spark._session import PySparkNotInstalledError

        raise PySparkNotInstalledError("pyspark", "flyte-plugin-spark", e, "a SparkApplication names its pyspark version") from e


def _without_device(resources: Any) -> Any:
    if resources is None or getattr(resources, "gpu", None) is None:
        return resources
    return dataclasses.replace(resources, gpu=None)


def _size(conf: Mapping[str, str], role: str, resources: Any, owner: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    size = local_size(resources)
    key = f"spark.{role}.cores"
    if key in conf:
        out["cores"] = _cores(conf[key], f"spark_conf[{key!r}]", owner)
    else:
        out["cores"] = size.cpus or 1
        if resources is not None and resources.cpu is not None:
            cpu = resources.cpu[1] if isinstance(resources.cpu, tuple) else resources.cpu
            out["coreLimit"] = str(cpu)
    key = f"spark.{role}.memory"
    if key in conf:
        out["memory"] = spark_memory(conf[key], f"spark_conf[{key!r}]", owner)
    elif size.memory:
        out["memory"] = spark_memory(size.memory, "resources.memory", owner)
    return out


def spark_application(
    config: Spark,
    *,
    name: str,
    image: str,
    command: Sequence[str],
    resources: Any = None,
    env_vars: Optional[Mapping[str, str]] = None,
    secrets: Any = None,
    pod_template: Any = None,
    interruptible: bool = False,
    service_account: Optional[str] = None,
    interpreter_path: str = DEFAULT_INTERPRETER,
    spark_version: Optional[str] = None,
    settings: Any = None,
    namespace: Optional[str] = None,
    labels: Optional[Mapping[str, str]] = None,
    annotations: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """The ``SparkApplication`` whose driver runs ``command`` with Spark shaped by ``config``.

    Args:
        config: The task's ``Spark`` config.
        name: Name of the application (made a valid DNS label of at most 40 characters).
        image: Image of driver and executors.
        command: The task's container command; the entry script runs it as the driver program.
        resources: The task's ``flyte.Resources``: size driver and executors where ``spark_conf``
            is silent; its GPUs go to the executors.
        env_vars: Environment variables of driver and executors.
        secrets: The task's secrets, as references in both pods.
        pod_template: The task's ``PodTemplate``: base of a pod ``config`` gives no template for.
        interruptible: Add the settings' interruptible scheduling to both pods.
        service_account: The Kubernetes service account of both pods.
        interpreter_path: The image's Python (entry script location and default interpreter).
        spark_version: ``sparkVersion`` (default: the installed pyspark's).
        settings: ``K8sSettings`` (or the ``kubernetes:`` mapping); None: the configured ones.
        namespace, labels, annotations: The application's metadata.

    Returns:
        The ``SparkApplication`` as a plain dict, with no ``None`` values.
    """
    from flyte.models import SerializationContext

    if not isinstance(config, Spark):
        raise TypeValidationError("config", config, Spark, owner="spark_application")
    settings = K8sSettings.coerce(settings, owner="spark_application")
    owner = f"SparkApplication {name!r}"
    sctx = SerializationContext(interpreter_path=interpreter_path)
    conf = spark_conf_of(config, sctx)
    parts = TaskParts(resources=resources, env_vars=env_vars, secrets=secrets, pod_template=pod_template,
                      interruptible=bool(interruptible))
    device = local_size(resources)
    if device.accelerators:
        if device.device_class not in _GPU_RESOURCE:
            raise ValidationError(
                "resources.gpu", resources.gpu,
                "GPUs (NVIDIA or AMD) for Spark executors: Spark schedules no other accelerator", owner=owner,
            )
        conf.setdefault("spark.executor.resource.gpu.amount", str(device.accelerators))
        conf.setdefault("spark.executor.resource.gpu.vendor", _GPU_RESOURCE[device.device_class])
    for key in ("spark.executor.resource.gpu.amount", "spark.driver.resource.gpu.amount"):
        if key in conf:
            _cores(conf[key], f"spark_conf[{key!r}]", owner)
    instances = conf.get("spark.executor.instances", "1")
    driver_parts = dataclasses.replace(parts, resources=_without_device(resources))
    driver: Dict[str, Any] = {
        **_size(conf, "driver", resources, owner),
        "template": replica_pod_template(
            container_name=DRIVER_CONTAINER, image=image, requests=None, limits=None,
            pod_template=config.driver_pod, task_parts=driver_parts, settings=settings,
            owner=f"{owner} driver",
        ),
    }
    executor: Dict[str, Any] = {
        **_size(conf, "executor", resources, owner),
        "instances": _cores(instances, "spark_conf['spark.executor.instances']", owner),
        "template": replica_pod_template(
            container_name=EXECUTOR_CONTAINER, image=image, requests=None, limits=None,
            pod_template=config.executor_pod, task_parts=parts, settings=settings,
            owner=f"{owner} executor",
        ),
    }
    gpus = conf.get("spark.driver.resource.gpu.amount")
    if gpus is not None and int(gpus) > 0:
        driver["gpu"] = {"name": conf.get("spark.driver.resource.gpu.vendor", "nvidia.com/gpu"), "quantity": int(gpus)}
    if device.accelerators:
        executor["gpu"] = {"name": _GPU_RESOURCE[device.device_class or "GPU"], "quantity": device.accelerators}
    if service_account:
        # The driver creates the executor pods through the API server: it needs the account.
        driver["serviceAccount"] = service_account
        executor["serviceAccount"] = service_account
    spec: Dict[str, Any] = {
        "type": "Python",
        "pythonVersion": "3",
        "mode": "cluster",
        "image": image,
        "sparkVersion": spark_version or _spark_version(),
        "mainApplicationFile": main_application_file(config, sctx),
        "arguments": [str(a) for a in command],
        "sparkConf": conf,
        "restartPolicy": {"type": "Never"},
        "driver": driver,
        "executor": executor,
    }
    if config.hadoop_conf:
        spec["hadoopConf"] = dict(config.hadoop_conf)
    metadata: Dict[str, Any] = {"name": dns_label(name, _MAX_NAME, dns1035=True)}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    app = {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}
    return check_no_nulls(app, owner=owner)


def spark_application_for_task(task: Any, sctx: Optional["SerializationContext"] = None, settings: Any = None) -> Dict[str, Any]:
    """The ``SparkApplication`` of a Spark task: :func:`spark_application` with the task's image,
    container command (``flyte.extend.container_command``), resources, env vars, secrets, pod
    template, service account and the metadata every object of a task gets."""
    from flyte.models import SerializationContext

    sctx = sctx or SerializationContext()
    owner = f"task {task.name!r}"
    metadata = object_metadata(task, sctx, max_name=_MAX_NAME, dns1035=True)
    parts = TaskParts.of(task)
    return spark_application(
        task.plugin_config,
        name=metadata["name"],
        image=resolve_image_uri(getattr(task, "image", "auto"), owner=owner),
        command=container_command(task, sctx),
        resources=parts.resources,
        env_vars=parts.env_vars,
        secrets=parts.secrets,
        pod_template=parts.pod_template,
        interruptible=parts.interruptible,
        service_account=getattr(task, "service_account", None) or None,
        interpreter_path=sctx.interpreter_path,
        settings=settings,
        namespace=metadata.get("namespace"),
        labels=metadata.get("labels"),
        annotations=metadata.get("annotations"),
    )
