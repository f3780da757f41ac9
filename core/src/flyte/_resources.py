"""Compute resources of a task: ``Resources`` and accelerator ``Device`` values.

Everything is validated when it is constructed, so a bad quantity, an unknown GPU or a MIG
partition that the device does not have is reported where the user wrote it, with the field, the
value and what is allowed. The tables below are the single source of truth for device names,
counts, MIG partitions and TPU topologies; serializers read them through the helpers at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Literal, Optional, Tuple, Union

from flyte._pod import PRIMARY_CONTAINER_DEFAULT_NAME
from flyte._quantity import canonical_quantity, compare_quantities, parse_quantity, validate_quantity
from flyte.errors import ValidationError

__all__ = [
    "AMD_GPU",
    "GPU",
    "HABANA_GAUDI",
    "PRIMARY_CONTAINER_DEFAULT_NAME",
    "TPU",
    "Accelerators",
    "Device",
    "DeviceClass",
    "Neuron",
    "Resources",
    "device_names",
    "gpu_partitions",
    "tpu_topologies",
    "tpu_topology_chips",
    "tpu_topology_is_single_host",
]

# ---------------------------------------------------------------------------------------------
# Device tables
# ---------------------------------------------------------------------------------------------

DeviceClass = Literal["GPU", "TPU", "NEURON", "AMD_GPU", "HABANA_GAUDI"]
_DEVICE_CLASSES: Tuple[str, ...] = ("GPU", "TPU", "NEURON", "AMD_GPU", "HABANA_GAUDI")

GPUType = Literal[
    "A10", "A10G", "A100", "A100 80G", "B200", "H100", "H200", "L4", "L40s", "T4", "V100",
    "RTX PRO 6000", "GB10", "A2", "RTX PRO 4500",
]
GPUQuantity = Literal[1, 2, 3, 4, 5, 6, 7, 8]
A100Parts = Literal["1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"]
A100_80GBParts = Literal["1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"]
H100Parts = Literal["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"]
H200Parts = Literal["1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"]
RTXPro6000Parts = Literal["1g.24gb", "2g.48gb", "4g.96gb"]
TPUType = Literal["V5P", "V6E", "V5E"]
V5PParts = Literal[
    "2x2x1", "2x2x2", "2x4x4", "4x4x4", "4x4x8", "4x8x8", "8x8x8", "8x8x16", "8x16x16", "16x16x16", "16x16x24"
]
V6EParts = Literal["1x1", "2x2", "2x4", "4x4", "4x8", "8x8", "8x16", "16x16"]
V5EParts = V6EParts
NeuronType = Literal["Inf1", "Inf2", "Trn1", "Trn1n", "Trn2", "Trn2u"]
AMD_GPUType = Literal["MI100", "MI210", "MI250", "MI250X", "MI300A", "MI300X", "MI325X", "MI350X", "MI355X"]
HABANA_GAUDIType = Literal["Gaudi1"]

_ONE_TO_EIGHT = tuple(range(1, 9))

# Device name -> (device class, counts allowed in "NAME:N" strings and the factory functions).
_DEVICES: Dict[str, Tuple[str, Tuple[int, ...]]] = {
    **{name: ("GPU", _ONE_TO_EIGHT) for name in (
        "A10", "A10G", "A100", "A100 80G", "B200", "H100", "H200", "L4", "L40s", "T4", "V100")},
    # Cards sold in fewer-per-node configurations.
    "A2": ("GPU", (1,)),
    "RTX PRO 4500": ("GPU", (1,)),
    "RTX PRO 6000": ("GPU", (1, 2)),
    "GB10": ("GPU", (1,)),
    **{name: ("TPU", (1,)) for name in ("V5P", "V6E", "V5E")},
    "Inf1": ("NEURON", tuple(range(1, 17))),
    "Inf2": ("NEURON", tuple(range(1, 13))),
    **{name: ("NEURON", (1, 4, 8, 16)) for name in ("Trn1", "Trn1n", "Trn2", "Trn2u")},
    **{name: ("AMD_GPU", (1,)) for name in (
        "MI100", "MI210", "MI250", "MI250X", "MI300A", "MI300X", "MI325X", "MI350X", "MI355X")},
    "Gaudi1": ("HABANA_GAUDI", (1,)),
}

# Other spellings in use (the underscore names of later SDK releases, "L40S" as NVIDIA writes it).
_ALIASES: Dict[str, str] = {
    "A100_80G": "A100 80G",
    "A100-80G": "A100 80G",
    "RTX_PRO_6000": "RTX PRO 6000",
    "RTX_PRO_4500": "RTX PRO 4500",
}
_CASEFOLD: Dict[str, str] = {n.casefold(): n for n in (*_DEVICES, *_ALIASES)}

_GPU_PARTITIONS: Dict[str, Tuple[str, ...]] = {
    "A100": ("1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"),
    "A100 80G": ("1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
    "H100": ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
    "H200": ("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"),
    "RTX PRO 6000": ("1g.24gb", "2g.48gb", "4g.96gb"),
}

_TPU_2D = ("1x1", "2x2", "2x4", "4x4", "4x8", "8x8", "8x16", "16x16")
_TPU_TOPOLOGIES: Dict[str, Tuple[str, ...]] = {
    "V5P": ("2x2x1", "2x2x2", "2x4x4", "4x4x4", "4x4x8", "4x8x8", "8x8x8", "8x8x16", "8x16x16", "16x16x16",
            "16x16x24"),
    "V6E": _TPU_2D,
    "V5E": _TPU_2D,
}
# A TPU VM host carries 4 (v5p) or 8 (v5e/v6e) chips; a slice larger than one host spans several pods.
_TPU_SINGLE_HOST: Dict[str, Tuple[str, ...]] = {
    "V5P": ("2x2x1",),
    "V6E": ("1x1", "2x2", "2x4"),
    "V5E": ("1x1", "2x2", "2x4"),
}

_FACTORY_FOR_CLASS = {"GPU": "GPU", "TPU": "TPU", "NEURON": "Neuron", "AMD_GPU": "AMD_GPU",
                      "HABANA_GAUDI": "HABANA_GAUDI"}


def _accelerator_strings() -> Tuple[str, ...]:
    return tuple(
        f"{name}:{n}" for name, (cls, counts) in _DEVICES.items() if cls != "TPU" for n in counts
    )


Accelerators = Literal[_accelerator_strings()]  # type: ignore[valid-type]
"""The ``"NAME:COUNT"`` strings accepted by ``Resources(gpu=...)``, e.g. ``"A100:2"``, ``"Trn1:16"``."""


def _canonical_device(name: str) -> Optional[str]:
    """The table name of a device, accepting aliases and any letter case; None when unknown."""
    if name in _DEVICES:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    found = _CASEFOLD.get(name.casefold())
    return _ALIASES.get(found, found) if found else None


def device_names(device_class: Optional[str] = None) -> Tuple[str, ...]:
    """Known device names, optionally only those of one device class (``"GPU"``, ``"TPU"``, ...)."""
    return tuple(n for n, (c, _) in _DEVICES.items() if device_class is None or c == device_class)


def gpu_partitions(device: str) -> Tuple[str, ...]:
    """The MIG partitions a GPU supports (empty for GPUs without MIG or unknown names)."""
    name = _canonical_device(device)
    return _GPU_PARTITIONS.get(name or "", ())


def tpu_topologies(device: str) -> Tuple[str, ...]:
    """The slice topologies of a TPU generation (``"V5P"``, ``"V6E"``, ``"V5E"``)."""
    name = _canonical_device(device)
    return _TPU_TOPOLOGIES.get(name or "", ())


def tpu_topology_chips(topology: str) -> int:
    """Number of TPU chips in a slice topology: the product of its dimensions (``"2x2x1"`` -> 4)."""
    try:
        dims = [int(d) for d in topology.split("x")]
    except (AttributeError, ValueError):
        raise ValidationError("topology", topology, "dimensions joined by 'x', e.g. '2x2' or '2x2x1'") from None
    if not dims or any(d < 1 for d in dims):
        raise ValidationError("topology", topology, "positive dimensions joined by 'x', e.g. '2x2' or '2x2x1'")
    return math.prod(dims)


def tpu_topology_is_single_host(device: str, topology: str) -> bool:
    """True when a slice of ``topology`` fits on one TPU host, i.e. can run as one pod.

    Single-host slices: V5P ``2x2x1``; V6E and V5E ``1x1``, ``2x2``, ``2x4``. Larger ones span hosts.
    """
    name = _canonical_device(device)
    if name not in _TPU_TOPOLOGIES:
        raise ValidationError("device", device, f"a TPU device, one of {list(_TPU_TOPOLOGIES)}")
    return topology in _TPU_SINGLE_HOST[name]


# ---------------------------------------------------------------------------------------------
# Device
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Device:
    """An accelerator request: how many, of which class, which model, and which partition.

    Use the factories ``GPU()``, ``TPU()``, ``Neuron()``, ``AMD_GPU()`` and ``HABANA_GAUDI()``
    for the known devices; construct ``Device`` directly for a device model not in the tables
    (its name and partition are then passed through unchecked).

    Args:
        quantity: Number of devices (at least 1). For a TPU slice it is 1; the chips of the slice
            are given by :meth:`accelerator_count`.
        device_class: ``"GPU"``, ``"TPU"``, ``"NEURON"``, ``"AMD_GPU"`` or ``"HABANA_GAUDI"``.
        device: The device model, e.g. ``"A100"``, ``"V5P"``; None for "any device of this class".
        partition: A MIG partition (``"1g.5gb"``) for GPUs, a slice topology (``"2x2x1"``) for TPUs.
    """

    quantity: int
    device_class: DeviceClass
    device: Optional[str] = None
    partition: Optional[str] = None

    def __post_init__(self) -> None:
        owner = "Device"
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity < 1:
            raise ValidationError("quantity", self.quantity, "an integer of at least 1", owner=owner)
        if self.device_class not in _DEVICE_CLASSES:
            raise ValidationError("device_class", self.device_class, f"one of {list(_DEVICE_CLASSES)}", owner=owner)
        if self.device is not None:
            if not isinstance(self.device, str) or not self.device.strip():
                raise ValidationError("device", self.device, "a non-empty device name or None", owner=owner)
            known = _canonical_device(self.device)
            if known is not None:
                known_class = _DEVICES[known][0]
                if known_class != self.device_class:
                    raise ValidationError(
                        "device", self.device,
                        f"a {self.device_class} device; {known} is a {known_class} device "
                        f"(use device_class={known_class!r} or {_FACTORY_FOR_CLASS[known_class]}())",
                        owner=owner,
                    )
                object.__setattr__(self, "device", known)
        if self.partition is not None:
            self._check_partition(owner)

    def _check_partition(self, owner: str) -> None:
        part = self.partition
        if not isinstance(part, str) or not part:
            raise ValidationError("partition", part, "a non-empty partition name or None", owner=owner)
        if self.device is None:
            raise ValidationError("partition", part, "a partition only together with a device model", owner=owner)
        if self.device not in _DEVICES:
            return  # a custom device: its partitions are the user's business
        table = _GPU_PARTITIONS if self.device_class == "GPU" else _TPU_TOPOLOGIES
        allowed = table.get(self.device)
        if allowed is None:
            raise ValidationError("partition", part, f"no partition: {self.device} cannot be partitioned", owner=owner)
        if part not in allowed:
            raise ValidationError("partition", part, f"one of the {self.device} partitions {list(allowed)}", owner=owner)

    def accelerator_count(self) -> int:
        """How many accelerators the container must request.

        ``quantity`` for every device, except a TPU slice, which needs every chip of its topology
        (``TPU("V5P", "2x2x1")`` -> 4).
        """
        if self.device_class == "TPU" and self.partition:
            return tpu_topology_chips(self.partition) * self.quantity
        return self.quantity

    def is_single_host(self) -> bool:
        """False only for a known TPU slice that spans several hosts (and so cannot be one pod)."""
        if self.device_class == "TPU" and self.partition and self.device in _TPU_SINGLE_HOST:
            return self.partition in _TPU_SINGLE_HOST[self.device]
        return True


def _known_device(field: str, device: object, device_class: str, owner: str) -> str:
    name = _canonical_device(device) if isinstance(device, str) else None
    if name is None or _DEVICES[name][0] != device_class:
        raise ValidationError(field, device, f"one of {list(device_names(device_class))}", owner=owner)
    return name


def GPU(
    device: GPUType,
    quantity: GPUQuantity,
    partition: Union[A100Parts, A100_80GBParts, H100Parts, H200Parts, RTXPro6000Parts, None] = None,
) -> Device:
    """Create a GPU device request.

    Args:
        device: The GPU model, e.g. ``"T4"``, ``"A100"``, ``"A100 80G"``, ``"H100"``.
        quantity: How many GPUs (1 to 8; fewer for models sold in smaller configurations).
        partition: A MIG partition of the model, e.g. ``"1g.5gb"`` for an A100. Only A100,
            A100 80G, H100, H200 and RTX PRO 6000 can be partitioned.

    Returns:
        Device instance.
    """
    owner = "GPU()"
    name = _known_device("device", device, "GPU", owner)
    counts = _DEVICES[name][1]
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity not in counts:
        raise ValidationError("quantity", quantity, f"one of {list(counts)} for {name}", owner=owner)
    if partition is not None:
        allowed = _GPU_PARTITIONS.get(name)
        if allowed is None:
            raise ValidationError(
                "partition", partition,
                f"no partition: {name} has no MIG partitions (those with MIG: {list(_GPU_PARTITIONS)})", owner=owner,
            )
        if partition not in allowed:
            raise ValidationError("partition", partition, f"one of the {name} partitions {list(allowed)}", owner=owner)
    return Device(quantity=quantity, device_class="GPU", device=name, partition=partition)


def TPU(device: TPUType, partition: Union[V5PParts, V6EParts, None] = None) -> Device:
    """Create a TPU device request.

    Args:
        device: The TPU generation: ``"V5P"``, ``"V6E"`` (or ``"V5E"``).
        partition: The slice topology, e.g. ``"2x2x1"`` for V5P, ``"2x4"`` for V6E.

    Returns:
        Device instance (quantity 1: one slice; its chip count is ``accelerator_count()``).
    """
    owner = "TPU()"
    name = _known_device("device", device, "TPU", owner)
    if partition is not None and partition not in _TPU_TOPOLOGIES[name]:
        raise ValidationError(
            "partition", partition, f"one of the {name} topologies {list(_TPU_TOPOLOGIES[name])}", owner=owner
        )
    return Device(quantity=1, device_class="TPU", device=name, partition=partition)


def Neuron(device: NeuronType) -> Device:
    """Create an AWS Neuron device request.

    Args:
        device: ``"Inf1"``, ``"Inf2"``, ``"Trn1"``, ``"Trn1n"``, ``"Trn2"`` or ``"Trn2u"``.

    Returns:
        Device instance (one device; use ``Resources(gpu="Trn1:16")`` for more).
    """
    return Device(quantity=1, device_class="NEURON", device=_known_device("device", device, "NEURON", "Neuron()"))


def AMD_GPU(device: AMD_GPUType) -> Device:
    """Create an AMD GPU device request.

    Args:
        device: ``"MI100"``, ``"MI210"``, ``"MI250"``, ``"MI250X"``, ``"MI300A"``, ``"MI300X"``,
            ``"MI325X"``, ``"MI350X"`` or ``"MI355X"``.

    Returns:
        Device instance.
    """
    return Device(quantity=1, device_class="AMD_GPU", device=_known_device("device", device, "AMD_GPU", "AMD_GPU()"))


def HABANA_GAUDI(device: HABANA_GAUDIType) -> Device:
    """Create a Habana Gaudi device request.

    Args:
        device: ``"Gaudi1"``.

    Returns:
        Device instance.
    """
    return Device(
        quantity=1, device_class="HABANA_GAUDI", device=_known_device("device", device, "HABANA_GAUDI", "HABANA_GAUDI()")
    )


def _device_from_string(value: str, owner: str) -> Device:
    name_part, sep, count_part = value.partition(":")
    name = _canonical_device(name_part.strip())
    if name is None or _DEVICES[name][0] == "TPU":
        raise ValidationError(
            "gpu", value,
            "'NAME:COUNT' with NAME one of "
            f"{[n for n in _DEVICES if _DEVICES[n][0] != 'TPU']} (use gpu=TPU(...) for TPUs)",
            owner=owner,
        )
    device_class, counts = _DEVICES[name]
    count_text = count_part.strip() if sep else "1"
    if not count_text.isdigit() or int(count_text) not in counts:
        raise ValidationError("gpu", value, f"a count for {name} that is one of {list(counts)}", owner=owner)
    return Device(quantity=int(count_text), device_class=device_class, device=name)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Resources
# ---------------------------------------------------------------------------------------------

CPUBaseType = Union[int, float, str]

_K8S_NAMES = {"cpu": "cpu", "memory": "memory", "disk": "ephemeral-storage"}


def _check_cpu(value: object, owner: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValidationError(
            "cpu", value, "cores as a number or a quantity string, e.g. 1, 0.5, '500m', '2'", owner=owner
        )
    validate_quantity("cpu", value, owner=owner)


def _check_size(field: str, value: object, owner: str) -> None:
    if not isinstance(value, str):
        # A bare number would mean bytes to Kubernetes: memory=1024 is a kilobyte, surely not what was meant.
        raise ValidationError(
            field, value, "a quantity string with a unit, e.g. '512Mi', '1Gi', '10G' (a bare number means bytes)",
            owner=owner,
        )
    validate_quantity(field, value, owner=owner)


def _check_range(field: str, value: object, check, owner: str) -> None:
    if isinstance(value, list):
        raise ValidationError(field, value, "a single value or a (request, limit) tuple, not a list", owner=owner)
    if not isinstance(value, tuple):
        check(value, owner)
        return
    if len(value) != 2 or any(v is None for v in value):
        raise ValidationError(field, value, "a (request, limit) tuple of two values", owner=owner)
    for v in value:
        check(v, owner)
    if compare_quantities(value[0], value[1]) > 0:
        raise ValidationError(field, value, "a (request, limit) tuple with request <= limit", owner=owner)


@dataclass
class Resources:
    """Resources (CPU, memory, accelerators, disk, shared memory) requested by a task.

    A single value is a request; a tuple ``(request, limit)`` sets both.

    Examples::

        Resources(cpu=1, memory="1Gi", gpu="T4:1")
        Resources(cpu=(1, 2), memory=("2Gi", "4Gi"), gpu="A100:8", disk="10Gi")
        Resources(gpu=GPU(device="A100", quantity=1, partition="1g.5gb"))
        Resources(gpu=TPU(device="V5P", partition="2x2x1"), shm="auto")

    Args:
        cpu: Cores as an int or float (``1``, ``0.5``), a quantity string (``"500m"``, ``"2"``), or a
            ``(request, limit)`` tuple of those.
        memory: A quantity string with a unit (``"512Mi"``, ``"1Gi"``, ``"1G"``) or a
            ``(request, limit)`` tuple of those.
        gpu: A GPU count (``2``: any model), a ``"NAME:COUNT"`` string (``"A100:2"``, ``"Trn1:16"``),
            or a ``Device`` from ``GPU()``, ``TPU()``, ``Neuron()``, ``AMD_GPU()``, ``HABANA_GAUDI()``.
        disk: Ephemeral storage as a quantity string (``"10Gi"``).
        shm: Shared memory (``/dev/shm``) as a quantity string, or ``"auto"`` for no fixed size.
    """

    cpu: Union[CPUBaseType, Tuple[CPUBaseType, CPUBaseType], None] = None
    memory: Union[str, Tuple[str, str], None] = None
    gpu: Union[Accelerators, int, Device, None] = None
    disk: Union[str, None] = None
    shm: Union[str, Literal["auto"], None] = None

    def __post_init__(self) -> None:
        owner = "Resources"
        if self.cpu is not None:
            _check_range("cpu", self.cpu, _check_cpu, owner)
        if self.memory is not None:
            _check_range("memory", self.memory, lambda v, o: _check_size("memory", v, o), owner)
        if self.disk is not None:
            _check_size("disk", self.disk, owner)
        if self.shm is not None and self.shm != "auto":
            if not isinstance(self.shm, str):
                raise ValidationError("shm", self.shm, "a quantity string such as '16Gi', or 'auto'", owner=owner)
            _check_size("shm", self.shm, owner)
        gpu = self.gpu
        if gpu is None or isinstance(gpu, Device):
            return
        if isinstance(gpu, bool) or not isinstance(gpu, (int, str)):
            raise ValidationError(
                "gpu", gpu, "a count (int), a 'NAME:COUNT' string such as 'A100:2', or a Device from GPU()/TPU()/...",
                owner=owner,
            )
        if isinstance(gpu, int):
            if gpu < 0:
                raise ValidationError("gpu", gpu, "a count of zero or more", owner=owner)
            return
        device = _device_from_string(gpu, owner)
        self.gpu = f"{device.device}:{device.quantity}"  # the canonical spelling of the same request

    def get_device(self) -> Optional[Device]:
        """The accelerator as a ``Device``, or None when none is requested (``gpu=None`` or ``gpu=0``).

        ``gpu=2`` gives ``Device(quantity=2, device_class="GPU")`` (any model); ``"A100:2"`` names the model.
        """
        gpu = self.gpu
        if gpu is None or isinstance(gpu, Device):
            return gpu
        if isinstance(gpu, int):
            return Device(quantity=gpu, device_class="GPU") if gpu > 0 else None
        return _device_from_string(gpu, "Resources")

    def get_shared_memory(self) -> Optional[str]:
        """Shared memory size: None when not requested, ``""`` for ``"auto"`` (no size limit), else the
        canonical quantity."""
        if self.shm is None:
            return None
        if self.shm == "auto":
            return ""
        return canonical_quantity(self.shm)

    def get_requests_and_limits(self, fill_missing: bool = False) -> Tuple[Dict[str, str], Dict[str, str]]:
        """Requests and limits keyed by Kubernetes resource name (``cpu``, ``memory``,
        ``ephemeral-storage``), as canonical quantity strings.

        A single value is a request only; a tuple gives both. Zero quantities are left out (zero
        means "not set"). With ``fill_missing``, a missing limit is the request and a missing request
        is the limit. Accelerators are not included: their resource name depends on the device class
        and the cluster, see :meth:`get_device`.
        """
        requests: Dict[str, str] = {}
        limits: Dict[str, str] = {}
        for field, k8s_name in _K8S_NAMES.items():
            value = getattr(self, field)
            if value is None:
                continue
            req, lim = value if isinstance(value, tuple) else (value, None)
            for target, v in ((requests, req), (limits, lim)):
                if v is not None and parse_quantity(v) != 0:
                    target[k8s_name] = canonical_quantity(v)
        if fill_missing:
            for name in [n for n in _K8S_NAMES.values() if n in requests or n in limits]:
                requests.setdefault(name, limits.get(name, ""))
                limits.setdefault(name, requests[name])
        return requests, limits
