"""Size a local runtime from a task's ``flyte.Resources``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from flyte._quantity import parse_quantity

__all__ = ["LocalSize", "local_size"]


@dataclass(frozen=True)
class LocalSize:
    """What a local runtime may use; None leaves it to the engine (usually: the whole machine).

    Attributes:
        cpus: Whole CPU cores (the limit, else the request, rounded up; at least 1).
        memory: Bytes of memory (the limit, else the request).
        accelerators: The number of accelerators of ``device_class``.
        device_class: ``"GPU"``, ``"AMD_GPU"``, ``"TPU"``, ``"NEURON"``, ``"HABANA_GAUDI"``...
        device: The accelerator type (``"A100"``...), when given.
    """

    cpus: Optional[int] = None
    memory: Optional[int] = None
    accelerators: Optional[int] = None
    device_class: Optional[str] = None
    device: Optional[str] = None

    @property
    def gpus(self) -> Optional[int]:
        """The accelerator count when they are GPUs (NVIDIA or AMD), else None."""
        return self.accelerators if self.device_class in ("GPU", "AMD_GPU") else None


def _upper(value: Any) -> Any:
    """The limit of a ``(request, limit)`` pair, else the value itself."""
    return value[1] if isinstance(value, tuple) else value


def local_size(resources: Any) -> LocalSize:
    """The :class:`LocalSize` of ``resources`` (a ``flyte.Resources``, or None: all unset)."""
    if resources is None:
        return LocalSize()
    cpus = memory = accelerators = None
    device_class = device_name = None
    cpu = _upper(resources.cpu)
    if cpu is not None and parse_quantity(cpu) > 0:
        cpus = max(1, math.ceil(parse_quantity(cpu)))
    mem = _upper(resources.memory)
    if mem is not None and parse_quantity(mem) > 0:
        memory = int(parse_quantity(mem))
    dev = resources.get_device()
    if dev is not None:
        accelerators = dev.accelerator_count()
        device_class = dev.device_class
        device_name = getattr(dev, "device", None) or None
    return LocalSize(cpus=cpus, memory=memory, accelerators=accelerators, device_class=device_class, device=device_name)
