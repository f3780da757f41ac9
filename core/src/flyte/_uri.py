"""Pure helpers for paths and URIs: which filesystem a path names, and joining segments.

No I/O and no imports beyond the standard library, so every layer may use them (the value
types build paths with them; :mod:`flyte.storage` re-exports them next to the functions that
move data).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["LOCAL_PROTOCOLS", "is_remote", "join", "protocol", "to_local_path"]

#: Protocols served by the local filesystem ("" is a plain path).
LOCAL_PROTOCOLS = ("file", "local", "")


def protocol(path: Union[str, "Path"]) -> str:
    """The URI scheme of ``path`` in lower case (``"s3"``, ``"file"``), or ``""`` for a plain path."""
    text = str(path)
    head, sep, _ = text.partition("://")
    # A one-letter "protocol" is a Windows drive letter, not a URI scheme.
    if not sep or len(head) <= 1:
        return ""
    return head.lower()


def is_remote(path: Union[str, "Path"]) -> bool:
    """True when ``path`` is a URI of a non-local filesystem (``s3://``, ``gs://``, ...)."""
    return protocol(path) not in LOCAL_PROTOCOLS


def to_local_path(path: Union[str, "Path"]) -> str:
    """The plain filesystem path of a local path or ``file://`` URI."""
    text = str(path)
    proto = protocol(text)
    if proto in ("file", "local"):
        return text.split("://", 1)[1]
    if proto:
        raise ValueError(f"{text!r} is not a local path")
    return text


def join(*paths: str) -> str:
    """Join path segments; URIs keep their scheme and use ``/`` whatever the platform."""
    parts = [str(p) for p in paths if p is not None and str(p) != ""]
    if not parts:
        return ""
    first = parts[0]
    if protocol(first):
        out = first.rstrip("/")
        for p in parts[1:]:
            out = f"{out}/{p.strip('/')}"
        return out
    return os.path.join(*parts)
