"""Moving local files into the run's raw data path, and stable identities for cache keys.

A ``File`` or ``Dir`` built from a local path that is not yet under the run's raw data path is
uploaded when it crosses a task boundary. Values nested in dataclasses or pydantic models are
uploaded first (:func:`uploads_for`), then serialized with their new location.

While computing a cache key (:func:`hashing_mode`) nothing is uploaded, and local files are
identified by their content, so that the same data gives the same key wherever it lies.

The nesting walk and the hashing mode are part of the type system
(:mod:`flyte.types._nested`), which serializes structured values without knowing ``File``;
they are re-exported here.
"""

from __future__ import annotations

import hashlib
import os
from typing import Dict, Tuple

from flyte.types._nested import hashing_mode, is_hashing, replacement_for, uploads_for

__all__ = [
    "content_hash",
    "dir_content_hash",
    "hashing_mode",
    "is_hashing",
    "replacement_for",
    "under_raw_data_path",
    "uploads_for",
]

_hash_cache: Dict[Tuple[str, int, int], str] = {}


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
