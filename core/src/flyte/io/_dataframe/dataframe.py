"""Compatibility alias: the published SDK's ``flyte.io._dataframe.dataframe`` module path.

Dataframe plugins written for the published SDK (``flyteplugins-polars``, ``flyteplugins-pandera``)
import ``PARQUET``, ``DataFrame`` and ``DataFrameTransformerEngine`` from this path. Here the
dataframe wrapper and its handler registry live in :mod:`flyte.io._dataframe`; this module only
re-exports them, so a handler registered through either path lands in the same registry.
New code imports from :mod:`flyte.io` and :mod:`flyte.io.extend`.
"""

from __future__ import annotations

from flyte.io._dataframe import (
    CSV,
    GENERIC_FORMAT,
    GENERIC_PROTOCOL,
    PARQUET,
    DataFrame,
    DataFrameDecoder,
    DataFrameEncoder,
    DataFrameTransformerEngine,
)

__all__ = [
    "CSV",
    "GENERIC_FORMAT",
    "GENERIC_PROTOCOL",
    "PARQUET",
    "DataFrame",
    "DataFrameDecoder",
    "DataFrameEncoder",
    "DataFrameTransformerEngine",
]
