"""flyte-plugin-spark: Spark tasks on this machine, a standalone master, Spark Connect, or the Spark operator.

Give a ``TaskEnvironment`` a :class:`Spark` config and use the session the task gets::

    import flyte
    from flyteplugins.spark import Spark

    env = flyte.TaskEnvironment(name="spark_env", plugin_config=Spark(spark_conf={"spark.sql.shuffle.partitions": "4"}))

    @env.task
    async def count(n: int) -> int:
        spark = flyte.ctx().data["spark_session"]
        return spark.range(n).count()

Only the configuration is imported here (pure data); ``pyspark`` itself is imported when a
Spark task first runs. ``pyspark.sql.DataFrame`` values travel between tasks as parquet (the
handlers in :mod:`flyteplugins.spark.df_transformer` register on the first lookup of the type).
"""

from typing import Any as _Any

from flyteplugins.spark.config import Spark

__all__ = ["ParquetToSparkDecoder", "Spark", "SparkToParquetEncoder", "register_spark_df_transformers"]

_DF_NAMES = ("ParquetToSparkDecoder", "SparkToParquetEncoder", "register_spark_df_transformers")


def __getattr__(name: str) -> _Any:
    # The DataFrame handlers need pyspark: imported on first access, not with the package.
    if name in _DF_NAMES:
        from flyteplugins.spark import df_transformer

        return getattr(df_transformer, name)
    raise AttributeError(f"module 'flyteplugins.spark' has no attribute {name!r}")
