"""Registering the transformers of ``flyte.io`` with the type engine.

The type system below knows nothing of files, directories or dataframes; the built-in type
hook (``flyte._plugins.builtin``) calls :func:`register_io_transformers` right after the
transformers of Python's own types.
"""

from __future__ import annotations

from typing import Any

__all__ = ["register_io_transformers"]


def register_io_transformers(engine: Any) -> None:
    """Register the ``File``, ``Dir`` and ``DataFrame`` transformers with ``engine``; once per engine."""
    from flyte.io._dataframe import DataFrameTransformerEngine
    from flyte.io._dir import Dir, DirTransformer
    from flyte.io._file import File, FileTransformer

    with engine.lazy_import_lock:
        registry = engine._REGISTRY
        if File in registry and Dir in registry:
            return
        engine.register(FileTransformer())
        engine.register(DirTransformer())
        engine.register(DataFrameTransformerEngine())
