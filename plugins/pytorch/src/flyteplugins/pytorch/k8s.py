"""A multi-node PyTorch task as a Kubeflow ``PyTorchJob`` (``kubeflow.org/v1``): a pure function.

The rules (``docs/ARCHITECTURE.md``, "Kubernetes mapping", for the pods; the operator's here):

* ``nnodes == 1`` is no job: a plain pod whose command runs the task, which starts the elastic
  launcher in the pod with ``nproc_per_node`` ranks (the ``kubernetes_objects`` handler returns
  None for it);
* ``nnodes > 1`` or ``"min:max"``: a worker-only elastic job, ``pytorchReplicaSpecs.Worker`` with
  ``replicas = max``, ``elasticPolicy: {minReplicas, maxReplicas, rdzvBackend, maxRestarts}`` and
  ``spec.nprocPerNode`` as a string (not the deprecated ``elasticPolicy.nProcPerNode``);
* the container is named ``pytorch`` and runs the task's container command; ``restartPolicy:
  Never`` (retries happen in the task, as for pods); shared memory is mounted by default
  (DataLoader workers need more than the container runtime's 64 MB), sized by ``shm=`` when the
  task sets it;
* ``runPolicy.cleanPodPolicy`` is always written (``None`` / ``Running`` / ``All``, from the published
  spellings ``"None"`` / ``"Running"`` / ``"all"``; ``None`` without a run policy), ``backoffLimit``,
  ``activeDeadlineSeconds`` and ``ttlSecondsAfterFinished`` only when set;
* GPUs (and every device) go on the worker containers with their node affinity and tolerations;
* port 23456 and the ``MASTER_ADDR`` / ``PET_*`` environment are the operator's to add.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Sequence

from flyte.errors import TypeValidationError, ValidationError
from flyte.extend import (
    K8sSettings,
    TaskParts,
    apply_shm,
    check_no_nulls,
    container_command,
    dns_label,
    object_metadata,
    replica_pod_template,
    resolve_image_uri,
)

from flyteplugins.pytorch.config import Elastic

if TYPE_CHECKING:
    from flyte.models import SerializationContext

__all__ = ["API_VERSION", "CONTAINER", "KIND", "pytorch_job", "pytorch_job_for_task"]

API_VERSION = "kubeflow.org/v1"
KIND = "PyTorchJob"
CONTAINER = "pytorch"
_SHM_VOLUME = "flyte-shm"


def pytorch_job(
    config: Elastic,
    *,
    name: str,
    image: str,
    command: Sequence[str],
    resources: Any = None,
    env_vars: Optional[Mapping[str, str]] = None,
    secrets: Any = None,
    pod_template: Any = None,
    interruptible: bool = False,
    settings: Any = None,
    namespace: Optional[str] = None,
    labels: Optional[Mapping[str, str]] = None,
    annotations: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """The ``PyTorchJob`` that runs ``command`` on ``config.nnodes`` worker pods.

    Args:
        config: The task's ``Elastic`` (``nnodes`` above 1, or a range).
        name: Name of the job (made a valid DNS-1035 label).
        image: Image of the ``pytorch`` containers.
        command: The task's container command: the args of every worker.
        resources: The task's ``flyte.Resources`` (per worker pod, devices included).
        env_vars: Environment variables of the workers.
        secrets: The task's secrets, as references.
        pod_template: The task's ``PodTemplate``: the base of the worker pods.
        interruptible: Add the settings' interruptible scheduling.
        settings: ``K8sSettings`` (or the ``kubernetes:`` mapping); None: the configured ones.
        namespace, labels, annotations: The job's metadata.

    Returns:
        The ``PyTorchJob`` as a plain dict, with no ``None`` values.
    """
    if not isinstance(config, Elastic):
        raise TypeValidationError("config", config, Elastic, owner="pytorch_job")
    owner = f"PyTorchJob {name!r}"
    if config.single_node:
        raise ValidationError(
            "nnodes", config.nnodes, "more than 1 node, or a 'min:max' range (nnodes=1 runs as a plain pod)", owner=owner
        )
    settings = K8sSettings.coerce(settings, owner="pytorch_job")
    parts = TaskParts(
        resources=resources, env_vars=env_vars, secrets=secrets, pod_template=pod_template,
        interruptible=bool(interruptible),
    )
    template = replica_pod_template(
        container_name=CONTAINER,
        image=image,
        requests=None,
        limits=None,
        pod_template=None,
        task_parts=parts,
        settings=settings,
        owner=f"{owner} workers",
        args=[str(a) for a in command],
        primary_first=True,
    )
    spec = template["spec"]
    if not any(v.get("name") == _SHM_VOLUME for v in spec.get("volumes", ())):
        template["spec"] = apply_shm(spec, CONTAINER, "auto")
    template["spec"].setdefault("restartPolicy", "Never")
    run_policy: Dict[str, Any] = {"cleanPodPolicy": "None"}
    rp = config.run_policy
    if rp is not None:
        run_policy["cleanPodPolicy"] = rp.crd_clean_pod_policy
        if rp.backoff_limit is not None:
            run_policy["backoffLimit"] = rp.backoff_limit
        if rp.active_deadline_seconds is not None:
            run_policy["activeDeadlineSeconds"] = rp.active_deadline_seconds
        if rp.ttl_seconds_after_finished is not None:
            run_policy["ttlSecondsAfterFinished"] = rp.ttl_seconds_after_finished
    job_spec: Dict[str, Any] = {
        "runPolicy": run_policy,
        "elasticPolicy": {
            "minReplicas": config.min_nodes,
            "maxReplicas": config.max_nodes,
            "rdzvBackend": config.rdzv_backend,
            "maxRestarts": config.max_restarts,
        },
        "nprocPerNode": str(config.nproc_per_node),
        "pytorchReplicaSpecs": {
            "Worker": {"replicas": config.max_nodes, "restartPolicy": "Never", "template": template},
        },
    }
    metadata: Dict[str, Any] = {"name": dns_label(name, 63, dns1035=True)}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    job = {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": job_spec}
    return check_no_nulls(job, owner=owner)


def pytorch_job_for_task(task: Any, sctx: Optional["SerializationContext"] = None, settings: Any = None) -> Dict[str, Any]:
    """The ``PyTorchJob`` of a multi-node PyTorch task: :func:`pytorch_job` with the task's image,
    container command (``flyte.extend.container_command``), resources, env vars, secrets, pod
    template and the metadata every object of a task gets (``flyte.extend.object_metadata``)."""
    from flyte.models import SerializationContext

    sctx = sctx or SerializationContext()
    owner = f"task {task.name!r}"
    metadata = object_metadata(task, sctx, max_name=63, dns1035=True)
    parts = TaskParts.of(task)
    return pytorch_job(
        task.plugin_config,
        name=metadata["name"],
        image=resolve_image_uri(getattr(task, "image", "auto"), owner=owner),
        command=container_command(task, sctx),
        resources=parts.resources,
        env_vars=parts.env_vars,
        secrets=parts.secrets,
        pod_template=parts.pod_template,
        interruptible=parts.interruptible,
        settings=settings,
        namespace=metadata.get("namespace"),
        labels=metadata.get("labels"),
        annotations=metadata.get("annotations"),
    )
