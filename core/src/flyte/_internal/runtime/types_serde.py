"""Compatibility alias: ``transform_native_to_typed_interface`` of the published SDK.

``flyteplugins-hydra``'s ``flyte hydra run`` builds its task-input options from a task's typed
interface with this function. Here the typed interface of a task is built by
:func:`flyte._serialize.idl.typed_interface`; this module applies it to a bare
``NativeInterface``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Optional

from flyte._serialize.idl import typed_interface

if TYPE_CHECKING:
    from flyteidl2.core.interface_pb2 import TypedInterface

__all__ = ["transform_native_to_typed_interface"]


def transform_native_to_typed_interface(interface: Any) -> Optional["TypedInterface"]:
    """The flyteidl2 ``TypedInterface`` of a ``flyte.models.NativeInterface`` (None for None)."""
    if interface is None:
        return None
    # typed_interface reads only .interface, and .name when it names the owner of a bad type.
    return typed_interface(SimpleNamespace(interface=interface, name="interface"))  # type: ignore[arg-type]
