"""Data nested in values that must move before the value is serialized, and the hashing mode.

A structured value (a dataclass, a pydantic model, a dict) may hold objects whose data must be
moved first: a local ``File`` is uploaded to the run's raw data path, then serialized by its new
location. Such objects say so by duck typing (``_needs_upload()`` and ``_uploaded()``), so the
type system handles them without knowing their classes, which live above it in :mod:`flyte.io`.

While a cache key is computed (:func:`hashing_mode`) nothing is moved and objects serialize
their stable identity (a content hash) instead of their location.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from contextvars import ContextVar
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional

__all__ = ["hashing_mode", "is_hashing", "replacement_for", "uploads_for"]

_hashing: ContextVar[bool] = ContextVar("flyte_io_hashing", default=False)
_replacements: ContextVar[Optional[Dict[int, Any]]] = ContextVar("flyte_io_uploaded", default=None)


def is_hashing() -> bool:
    """True while a cache key is being computed."""
    return _hashing.get()


@contextlib.contextmanager
def hashing_mode() -> Iterator[None]:
    """Within the block, files are identified by content and never uploaded."""
    token = _hashing.set(True)
    try:
        yield
    finally:
        _hashing.reset(token)


def replacement_for(obj: Any) -> Any:
    """The uploaded copy of ``obj`` made by the enclosing :func:`uploads_for`, else ``obj``."""
    m = _replacements.get()
    if m is None:
        return obj
    return m.get(id(obj), obj)


def _collect(value: Any, out: List[Any], seen: set, depth: int = 0) -> None:
    if depth > 64 or value is None or isinstance(value, (str, bytes, int, float, bool)):
        return
    if id(value) in seen:
        return
    seen.add(id(value))
    needs = getattr(value, "_needs_upload", None)
    if needs is not None and callable(needs):
        if needs():
            out.append(value)
        return
    if isinstance(value, dict):
        for v in value.values():
            _collect(v, out, seen, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            _collect(v, out, seen, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _collect(getattr(value, f.name, None), out, seen, depth + 1)
    elif "pydantic" in sys.modules and hasattr(type(value), "model_fields") and hasattr(value, "__dict__"):
        for v in value.__dict__.values():
            _collect(v, out, seen, depth + 1)


@contextlib.asynccontextmanager
async def uploads_for(value: Any) -> AsyncIterator[None]:
    """Upload every local File/Dir nested in ``value``; serialize them by their new location within."""
    if is_hashing():
        yield
        return
    found: List[Any] = []
    _collect(value, found, set())
    if not found:
        yield
        return
    import asyncio

    uploaded = await asyncio.gather(*(obj._uploaded() for obj in found))
    mapping = dict(_replacements.get() or {})
    mapping.update({id(o): u for o, u in zip(found, uploaded)})
    token = _replacements.set(mapping)
    try:
        yield
    finally:
        _replacements.reset(token)
