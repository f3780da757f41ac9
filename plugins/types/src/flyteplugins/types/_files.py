"""Moving files between this process and the run's storage (local paths or fsspec URIs).

Every local copy lives in a scratch folder that is removed as soon as the value is written
out or read in: the data never outlives the conversion that staged it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import AsyncIterator, Iterator, Optional

from flyte import storage


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A fresh local folder for staging one value, removed (with what it holds) on exit."""
    path = Path(tempfile.mkdtemp(prefix="flyte-types-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def upload(local: Path, uri: Optional[str] = None) -> str:
    """Copy a local file or directory to ``uri`` (a fresh raw-data location by default)."""
    return await storage.put(str(local), to_path=uri, recursive=local.is_dir())


@contextlib.asynccontextmanager
async def downloaded(uri: str, recursive: bool = False) -> AsyncIterator[Path]:
    """A local copy of ``uri`` (a file, or a directory with ``recursive``), removed on exit:
    read it fully inside the block."""
    with scratch_dir() as folder:
        target = folder / (Path(uri.rstrip("/")).name or "data")
        yield Path(await storage.get(uri, str(target), recursive=recursive))
