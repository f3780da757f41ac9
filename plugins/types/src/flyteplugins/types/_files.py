"""Moving files between this process and the run's storage (local paths or fsspec URIs)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

from flyte import storage


def new_local_dir() -> Path:
    """A fresh local scratch directory for staging one value."""
    return Path(tempfile.mkdtemp(prefix="flyte-types-"))


async def upload(local: Path, uri: Optional[str] = None) -> str:
    """Copy a local file or directory to ``uri`` (a fresh raw-data location by default)."""
    return await storage.put(str(local), to_path=uri, recursive=local.is_dir())


async def download(uri: str, recursive: bool = False) -> Path:
    """Copy ``uri`` (a file, or a directory with ``recursive``) to a fresh local path."""
    target = new_local_dir() / (Path(uri.rstrip("/")).name or "data")
    return Path(await storage.get(uri, str(target), recursive=recursive))
