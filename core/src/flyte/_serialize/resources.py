"""``Resources`` -> flyteidl2 resource protos and a Kubernetes ``V1PodSpec``.

These are the helpers plugin authors call (through :mod:`flyte.extend`) to describe their
task's resources to a cluster. protobuf and the kubernetes client are imported inside the
functions, so importing this module costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from flyte._pod import PRIMARY_CONTAINER_DEFAULT_NAME
from flyte._serialize.k8s_settings import DEVICE_VALUES

if TYPE_CHECKING:
    from flyteidl2.core import tasks_pb2
    from kubernetes.client import V1PodSpec

    from flyte._resources import Device, Resources

__all__ = [
    "DEFAULT_GPU_RESOURCE_KEY",
    "device_label_value",
    "get_proto_extended_resources",
    "get_proto_resources",
    "pod_spec_from_resources",
    "resource_maps",
]

DEFAULT_GPU_RESOURCE_KEY = "nvidia.com/gpu"
SHM_VOLUME_NAME = "flyte-shm"
SHM_MOUNT_PATH = "/dev/shm"

# Node label values of the accelerator models: the one table shared with the Kubernetes mapping.
_DEVICE_LABELS = DEVICE_VALUES

# proto enum names of the resource kinds, keyed by Kubernetes resource name.
_PROTO_NAMES = {"cpu": "CPU", "memory": "MEMORY", "ephemeral-storage": "EPHEMERAL_STORAGE"}

_DEVICE_CLASS_PROTO = {
    "GPU": "NVIDIA_GPU",
    "TPU": "GOOGLE_TPU",
    "NEURON": "AMAZON_NEURON",
    "AMD_GPU": "AMD_GPU",
    "HABANA_GAUDI": "HABANA_GAUDI",
}


def device_label_value(device: str) -> str:
    """The node label value of an accelerator model (``"A100"`` -> ``"nvidia-tesla-a100"``).

    AMD models become ``amd-<model>``; any other name is lower-cased with spaces as ``-`` so it
    is always a valid label value.
    """
    key = device.strip().lower()
    if key in _DEVICE_LABELS:
        return _DEVICE_LABELS[key]
    if key.startswith("mi") and key[2:3].isdigit():
        return f"amd-{key}"
    return key.replace(" ", "-").replace("_", "-")


def resource_maps(resources: Optional["Resources"]) -> Tuple[Dict[str, str], Dict[str, str]]:
    """Requests and limits of ``resources`` keyed by Kubernetes resource name, without devices.

    A single value is a request; a ``(request, limit)`` tuple sets both; zero values are dropped.
    """
    if resources is None:
        return {}, {}
    return resources.get_requests_and_limits()


def _device(resources: Optional["Resources"]) -> Optional["Device"]:
    return resources.get_device() if resources is not None else None


def get_proto_resources(resources: Optional["Resources"]) -> Optional["tasks_pb2.Resources"]:
    """The flyteidl2 ``Resources`` (requests and limits) of ``resources``; None when it asks for nothing.

    An accelerator count goes into both requests and limits as ``GPU`` (accelerators cannot be
    overcommitted); a TPU slice counts its chips.
    """
    if resources is None:
        return None
    from flyteidl2.core import tasks_pb2

    requests, limits = resource_maps(resources)
    device = _device(resources)
    req_entries = [_entry(tasks_pb2, k, v) for k, v in requests.items()]
    lim_entries = [_entry(tasks_pb2, k, v) for k, v in limits.items()]
    if device is not None:
        count = str(device.accelerator_count())
        gpu = tasks_pb2.Resources.ResourceName.Value("GPU")
        req_entries.append(tasks_pb2.Resources.ResourceEntry(name=gpu, value=count))
        lim_entries.append(tasks_pb2.Resources.ResourceEntry(name=gpu, value=count))
    if not req_entries and not lim_entries:
        return None
    return tasks_pb2.Resources(requests=req_entries, limits=lim_entries)


def _entry(tasks_pb2: Any, k8s_name: str, value: str) -> Any:
    name = tasks_pb2.Resources.ResourceName.Value(_PROTO_NAMES[k8s_name])
    return tasks_pb2.Resources.ResourceEntry(name=name, value=value)


def get_proto_extended_resources(resources: Optional["Resources"]) -> Optional["tasks_pb2.ExtendedResources"]:
    """The flyteidl2 ``ExtendedResources`` (accelerator model and partition, shared memory).

    None when ``resources`` names no accelerator model and no shared memory. A GPU count with no
    model (``gpu=2``) is only a count, so it produces no ``gpu_accelerator``.
    """
    if resources is None:
        return None
    from flyteidl2.core import tasks_pb2

    kwargs: Dict[str, Any] = {}
    device = _device(resources)
    if device is not None and device.device:
        accel: Dict[str, Any] = {
            "device": device_label_value(device.device),
            "device_class": tasks_pb2.GPUAccelerator.DeviceClass.Value(_DEVICE_CLASS_PROTO[device.device_class]),
        }
        if device.partition:
            accel["partition_size"] = device.partition
        kwargs["gpu_accelerator"] = tasks_pb2.GPUAccelerator(**accel)
    shm = resources.get_shared_memory()
    if shm is not None:
        kwargs["shared_memory"] = tasks_pb2.SharedMemory(
            mount_path=SHM_MOUNT_PATH, mount_name=SHM_VOLUME_NAME, size_limit=shm
        )
    if not kwargs:
        return None
    return tasks_pb2.ExtendedResources(**kwargs)


def pod_spec_from_resources(
    primary_container_name: str = PRIMARY_CONTAINER_DEFAULT_NAME,
    requests: Optional["Resources"] = None,
    limits: Optional["Resources"] = None,
    k8s_gpu_resource_key: str = DEFAULT_GPU_RESOURCE_KEY,
) -> "V1PodSpec":
    """A ``V1PodSpec`` with one container, ``primary_container_name``, sized by the given resources.

    ``requests`` gives the requests (and, where it holds ``(request, limit)`` tuples, limits);
    ``limits`` gives limits, overriding those. A missing limit is the request, as Kubernetes
    would default it. An accelerator count is put in both requests and limits under
    ``k8s_gpu_resource_key``; shared memory adds an in-memory volume at ``/dev/shm``.
    Plugins merge this spec into their worker templates.
    """
    from kubernetes.client import (
        V1Container,
        V1EmptyDirVolumeSource,
        V1PodSpec,
        V1ResourceRequirements,
        V1Volume,
        V1VolumeMount,
    )

    req, lim = resource_maps(requests)
    lim_req, lim_lim = resource_maps(limits)
    lim = {**lim, **lim_req, **lim_lim}
    for name, value in req.items():
        lim.setdefault(name, value)
    device = _device(limits) or _device(requests)
    if device is not None:
        count = str(device.accelerator_count())
        req[k8s_gpu_resource_key] = count
        lim[k8s_gpu_resource_key] = count

    volumes = None
    mounts = None
    shm = None
    for source in (limits, requests):
        if source is not None and source.get_shared_memory() is not None:
            shm = source.get_shared_memory()
            break
    if shm is not None:
        volumes = [V1Volume(name=SHM_VOLUME_NAME, empty_dir=V1EmptyDirVolumeSource(medium="Memory", size_limit=shm or None))]
        mounts = [V1VolumeMount(name=SHM_VOLUME_NAME, mount_path=SHM_MOUNT_PATH)]

    container = V1Container(
        name=primary_container_name,
        resources=V1ResourceRequirements(requests=req or None, limits=lim or None),
        volume_mounts=mounts,
    )
    return V1PodSpec(containers=[container], volumes=volumes)
