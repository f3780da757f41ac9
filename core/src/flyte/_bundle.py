"""``download_code_bundle``: fetch a task's code bundle where it runs.

A bundle is a tarball (``tgz``) unpacked into ``destination`` or a pickled task (``pkl``);
either may live at any storage URI. Downloading twice is a no-op.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from flyte.errors import ValidationError
from flyte.models import CodeBundle

__all__ = ["download_code_bundle"]


def download_code_bundle(code_bundle: CodeBundle) -> CodeBundle:
    """Download ``code_bundle`` if not done yet; return it with ``downloaded_path`` set.

    A ``tgz`` bundle is unpacked into ``destination`` (the directory then goes on ``sys.path``
    when tasks are loaded from it); a ``pkl`` bundle is copied to a local file.
    """
    if code_bundle.downloaded_path:
        return code_bundle
    if code_bundle.tgz:
        dest = Path(code_bundle.destination).resolve()
        dest.mkdir(parents=True, exist_ok=True)
        local = Path(_get(code_bundle.tgz))
        with tarfile.open(local, "r:*") as tar:
            tar.extractall(dest, filter="data")
        code_bundle.downloaded_path = str(dest)
        return code_bundle
    if code_bundle.pkl:
        code_bundle.downloaded_path = str(_get(code_bundle.pkl))
        return code_bundle
    raise ValidationError("code_bundle", code_bundle, "a CodeBundle with tgz or pkl set", owner="download_code_bundle")


def _get(uri: str) -> str:
    """Copy ``uri`` to a local file; works whether or not an event loop is running here."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from flyte import storage

    # A plugin's pre() may call this from inside the task's event loop, where blocking on a
    # coroutine of the same loop is impossible; a private loop in a worker thread always works.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, storage.get(uri)).result()
