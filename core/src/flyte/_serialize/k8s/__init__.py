"""Tasks as Kubernetes objects: the generic pod helpers plugins reuse, and the pod of a plain task.

* :mod:`flyte._serialize.k8s.pod`: names, container resources, pod spec edits (shared memory,
  secrets, node affinity, tolerations, pod templates) and the checks every emitted object passes;
* :mod:`flyte._serialize.k8s.replica`: what every custom-resource mapping shares:
  :class:`TaskParts`, :func:`finish_pod_spec`, :func:`replica_pod_template` (a Ray worker group,
  a Spark executor, a PyTorch worker) and :func:`object_metadata`;
* :mod:`flyte._serialize.k8s.task`: :func:`task_pod_spec`, :func:`task_pod`,
  :func:`task_manifests` for one task.

Every function is pure and emits plain dicts in Kubernetes' camelCase wire form, with no ``None``
values. The rules are those of `docs/ARCHITECTURE.md ("Kubernetes mapping")`. A plugin builds its replica groups with the
same helpers (all in :mod:`flyte.extend`)::

    template = replica_pod_template(
        container_name="ray-worker", image=image, requests=group.requests, limits=group.limits,
        pod_template=group.pod_template, task_parts=TaskParts.of(task), settings=settings,
        owner="worker group 'gpu'",
    )
"""

from flyte._serialize.devices import device_resources, device_scheduling, tpu_host_count
from flyte._serialize.k8s.pod import (
    SECRETS_VOLUME_NAME,
    SHM_MOUNT_PATH,
    SHM_VOLUME_NAME,
    add_node_affinity,
    add_tolerations,
    apply_secrets,
    apply_shm,
    check_no_nulls,
    check_no_secret_values,
    container_resources,
    dns_label,
    env_list,
    finalize_container_resources,
    find_container,
    label_value,
    merge_pod_template,
    resolve_image_uri,
    secret_k8s_name,
    task_container_name,
)
from flyte._serialize.k8s.replica import (
    POD_TEMPLATE_NAME_ANNOTATION,
    TaskParts,
    finish_pod_spec,
    object_metadata,
    replica_pod_template,
)
from flyte._serialize.k8s.task import task_manifests, task_pod, task_pod_spec

__all__ = [
    "POD_TEMPLATE_NAME_ANNOTATION",
    "SECRETS_VOLUME_NAME",
    "SHM_MOUNT_PATH",
    "SHM_VOLUME_NAME",
    "TaskParts",
    "add_node_affinity",
    "add_tolerations",
    "apply_secrets",
    "apply_shm",
    "check_no_nulls",
    "check_no_secret_values",
    "container_resources",
    "device_resources",
    "device_scheduling",
    "dns_label",
    "env_list",
    "finalize_container_resources",
    "find_container",
    "finish_pod_spec",
    "label_value",
    "merge_pod_template",
    "object_metadata",
    "replica_pod_template",
    "resolve_image_uri",
    "secret_k8s_name",
    "task_container_name",
    "task_manifests",
    "task_pod",
    "task_pod_spec",
    "tpu_host_count",
]
