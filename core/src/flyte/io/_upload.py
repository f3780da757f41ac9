"""Moving local files into the run's raw data path, and stable identities for cache keys.

A ``File`` or ``Dir`` built from a local path that is not yet under the run's raw data path is
uploaded when it crosses a task boundary. Values nested in dataclasses or pydantic models are
uploaded first (:func:`uploads_for`), then serialized with their new location.

While computing a cache key (:func:`hashing_mode`) nothing is uploaded, and local files are
identified by their content, so that the same data gives the same key wherever it lies.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import sys
from contextvars import ContextVar
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Tuple

__all__ = [
    "content_hash",
    "dir_content_hash",
    "hashing_mode",
    "is_hashing",
    "replacement_for",
    "under_raw_data_path",
    "uploads_for",
]

_hashing: ContextVar[bool] = ContextVar("flyte_io_hashing", default=False)
_replacements: ContextVar[Optional[Dict[int, Any]]] = ContextVar("flyte_io_uploaded", default=None)
_hash_cache: Dict[Tuple[str, int, int], str] = {}


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


def under_raw_data_path(path: str) -> bool:
    """Whether local ``path`` already lies in the current run's raw data path."""
    from flyte import storage
    from flyte._context import raw_data_path

    raw = raw_data_path()
    if storage.is_remote(raw):
        return False
    root = os.path.realpath(storage.to_local_path(raw))
    here = os.path.realpath(storage.to_local_path(path))
    return here == root or here.startswith(root.rstrip(os.sep) + os.sep)


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


def content_hash(local_path: str) -> str:
    """sha256 of a local file's bytes (cached by path, size and modification time)."""
    st = os.stat(local_path)
    key = (os.path.realpath(local_path), st.st_size, st.st_mtime_ns)
    hit = _hash_cache.get(key)
    if hit is not None:
        return hit
    h = hashlib.sha256()
    with open(local_path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    _hash_cache[key] = digest
    return digest


def dir_content_hash(local_dir: str) -> str:
    """sha256 over the relative paths and content hashes of every file under ``local_dir``."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(local_dir):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, local_dir).replace(os.sep, "/")
            h.update(rel.encode())
            h.update(b"\0")
            h.update(content_hash(full).encode())
            h.update(b"\n")
    return h.hexdigest()
