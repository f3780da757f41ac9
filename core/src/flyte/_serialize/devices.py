"""Accelerators on Kubernetes: which resource a ``Device`` requests and where it may be scheduled.

Two pure functions of (device, settings), used for task pods and by plugins for every pod template
they build (Ray head and workers, Spark driver and executors, PyTorch workers):

* :func:`device_resources`: the extended resources to put in both requests and limits;
* :func:`device_scheduling`: the node affinity requirements and tolerations that send the pod to
  nodes carrying that model (and partition).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from flyte._serialize.k8s_settings import K8sSettings, check_label_value
from flyte.errors import ValidationError

if TYPE_CHECKING:
    from flyte._resources import Device

__all__ = ["TPU_CHIPS_PER_HOST", "check_single_pod", "device_resources", "device_scheduling", "tpu_host_count"]

TPU_CHIPS_PER_HOST = 4
"""Chips on each host of a multi-host TPU slice (v5p, v5e and v6e multi-host machine types)."""


def tpu_host_count(device: "Device") -> int:
    """How many hosts (pods) a TPU slice spans: 1 for a single-host slice, else chips / 4."""
    if device.device_class != "TPU" or device.is_single_host():
        return 1
    return max(1, device.accelerator_count() // TPU_CHIPS_PER_HOST)


def check_single_pod(device: "Device", *, owner: Optional[str] = None) -> None:
    """Raise when ``device`` cannot be served by one pod: a TPU slice spanning several hosts."""
    if not device.is_single_host():
        raise ValidationError(
            "resources.gpu", f"TPU({device.device!r}, {device.partition!r})",
            f"a single-host TPU topology for one pod; topology {device.partition} of {device.device} spans "
            "several hosts (single-host: V5P 2x2x1; V6E/V5E 1x1, 2x2, 2x4); request a single-host topology",
            owner=owner,
        )


def _uses_mig_resource(device: "Device", settings: K8sSettings) -> bool:
    return settings.mig_strategy == "mixed" and device.device_class == "GPU" and bool(device.partition)


def device_resources(device: Optional["Device"], settings: Optional[K8sSettings] = None, *,
                     owner: Optional[str] = None, multi_host: bool = False) -> Dict[str, str]:
    """The extended resources a container needs for ``device``, to put in requests and limits alike.

    ``{settings.resource_name(class): count}``, where a TPU slice counts its chips
    (``TPU("V5P", "2x2x1")`` -> 4). With the ``mixed`` MIG strategy a partitioned GPU is requested as
    ``nvidia.com/mig-<partition>: quantity`` instead. Empty for no device. A multi-host TPU slice
    raises a ``ValidationError``, unless ``multi_host`` (a plugin building one pod per host, e.g. a
    Ray worker group of :func:`tpu_host_count` replicas): then each pod gets one host's chips.
    """
    if device is None:
        return {}
    settings = settings or K8sSettings()
    if multi_host and not device.is_single_host():
        return {settings.resource_name("TPU"): str(TPU_CHIPS_PER_HOST)}
    check_single_pod(device, owner=owner)
    if _uses_mig_resource(device, settings):
        from flyte._serialize.k8s_settings import check_qualified_name

        name = check_qualified_name("resources.gpu", settings.mig_resource_prefix + str(device.partition), owner=owner)
        return {name: str(device.quantity)}
    return {settings.resource_name(device.device_class): str(device.accelerator_count())}


def device_scheduling(
    device: Optional["Device"], settings: Optional[K8sSettings] = None, *, owner: Optional[str] = None,
    multi_host: bool = False,
) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Node affinity requirements and tolerations for a container asking for ``device``.

    Returns ``(requirements, tolerations)``. ``requirements`` are node selector requirements
    (``{key, operator: In, values}``) to add to every required node selector term of the pod;
    ``tolerations`` are ``{key, operator: Equal, value, effect: NoSchedule}``. A device model adds the
    pair for the device label; a partition (MIG size, TPU topology) the pair for the partition label
    (except a MIG partition under the ``mixed`` strategy, whose resource name already selects it).
    A device without a model (``gpu=2``) needs neither: ``([], [])``. A multi-host TPU slice raises
    a ``ValidationError`` naming the topology unless ``multi_host`` (see :func:`device_resources`).
    """
    if device is None:
        return [], []
    settings = settings or K8sSettings()
    if not multi_host:
        check_single_pod(device, owner=owner)
    if not device.device:
        return [], []
    device_key, partition_key = settings.labels_for(device.device_class)
    pairs = [(device_key, check_label_value("resources.gpu", settings.device_value(device.device), owner=owner))]
    if device.partition and not _uses_mig_resource(device, settings):
        pairs.append((partition_key, check_label_value("resources.gpu.partition", device.partition, owner=owner)))
    requirements = [{"key": k, "operator": "In", "values": [v]} for k, v in pairs]
    tolerations = [{"key": k, "operator": "Equal", "value": v, "effect": "NoSchedule"} for k, v in pairs]
    return requirements, tolerations
