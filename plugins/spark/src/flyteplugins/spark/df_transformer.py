"""``pyspark.sql.DataFrame`` as a task input or output: stored as parquet through ``flyte.io.DataFrame``.

The published plugin's module path. The handlers are registered lazily, by type name, on the
first lookup of ``pyspark.sql.DataFrame`` (the plugin's ``flyte.plugins.types`` entry point),
so loading the plugin imports no ``pyspark``; :func:`register_spark_df_transformers` registers
them now. Classic and Spark Connect DataFrames are both handled (both derive from
``pyspark.sql.DataFrame``); each is written by its own session and read by the running task's.
"""

from __future__ import annotations

import functools
from typing import Any

from flyte.io import PARQUET, DataFrame
from flyte.io.extend import DataFrameDecoder, DataFrameEncoder, DataFrameTransformerEngine

__all__ = ["ParquetToSparkDecoder", "SparkToParquetEncoder", "register_spark_df_transformers"]


def _dataframe_type() -> Any:
    from flyteplugins.spark._session import require_pyspark

    require_pyspark()
    from pyspark.sql import DataFrame as SparkDataFrame

    return SparkDataFrame


def _reading_session() -> Any:
    """The session to read with: the running task's, else this process's driver, else the
    application this process is the driver of (``getOrCreate`` then joins it), else a Connect
    server or a driver of this process, started as a task would (its lease given back at once,
    so the idle timeout decides when it stops)."""
    import flyte

    tctx = flyte.ctx()
    spark = (tctx.data or {}).get("spark_session") if tctx is not None else None
    if spark is not None:
        return spark
    from flyteplugins.spark import local

    root = local.running_session()
    if root is not None:
        return root
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    from flyteplugins.spark import cluster
    from flyteplugins.spark.config import Spark
    from flyteplugins.spark.task import target_of

    kind, address = target_of(Spark())
    if kind == "in-driver":
        return SparkSession.builder.getOrCreate()
    if kind == "connect":
        session: Any = cluster.open_connect_session(Spark(), address)  # type: ignore[arg-type]
    else:
        session = local.open_driver_session(Spark(), None, address, kind)
    spark = session.spark
    session.stop()
    return spark


class SparkToParquetEncoder(DataFrameEncoder):
    """Writes a ``pyspark.sql.DataFrame`` as a parquet folder, with its own session."""

    def __init__(self) -> None:
        super().__init__(python_type=_dataframe_type(), supported_format=PARQUET)

    async def encode(self, dataframe: DataFrame, structured_dataset_type: Any) -> Any:
        import asyncio

        import flyte
        from flyteidl2.core import literals_pb2

        df = dataframe.val
        path = dataframe.uri
        if not path:
            tctx = flyte.ctx()
            if tctx is not None and tctx.raw_data_path.path:
                path = tctx.raw_data_path.get_random_remote_path()
            else:  # outside a task: a fresh local folder
                from flyte import storage

                path = str(storage.get_random_local_path())

        def write() -> None:
            # No _SUCCESS marker: the folder is the dataset and holds only its parts.
            df.sparkSession.conf.set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
            df.write.mode("overwrite").parquet(path)

        await asyncio.to_thread(write)
        structured_dataset_type.format = PARQUET
        return literals_pb2.StructuredDataset(
            uri=path, metadata=literals_pb2.StructuredDatasetMetadata(structured_dataset_type=structured_dataset_type)
        )


class ParquetToSparkDecoder(DataFrameDecoder):
    """Reads a parquet dataset as a ``pyspark.sql.DataFrame`` of the running task's session."""

    def __init__(self) -> None:
        super().__init__(_dataframe_type(), None, PARQUET)

    async def decode(self, flyte_value: Any, current_task_metadata: Any) -> Any:
        import asyncio

        def read() -> Any:
            frame = _reading_session().read.parquet(flyte_value.uri)
            sd_type = current_task_metadata.structured_dataset_type if current_task_metadata is not None else None
            if sd_type is not None and sd_type.columns:
                frame = frame.select(*[c.name for c in sd_type.columns])
            return frame

        return await asyncio.to_thread(read)


@functools.lru_cache(maxsize=None)
def register_spark_df_transformers() -> None:
    """Register the Spark DataFrame encoder and decoder (parquet, every protocol); idempotent."""
    for handler in (SparkToParquetEncoder(), ParquetToSparkDecoder()):
        table = DataFrameTransformerEngine.DECODERS if isinstance(handler, DataFrameDecoder) else DataFrameTransformerEngine.ENCODERS
        if PARQUET in table.get(handler.python_type, {}).get("", {}):
            continue  # registered already (or replaced by the user)
        DataFrameTransformerEngine.register(handler, default_format_for_type=True)
