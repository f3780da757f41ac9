"""A pyspark DataFrame passed between two Spark tasks (stored as parquet in between).

    flyte run examples/spark_dataframes.py main --n 10000
    FLYTE_SPARK_MASTER=spark://127.0.0.1:7077 flyte run examples/spark_dataframes.py main
    FLYTE_SPARK_REMOTE=sc://127.0.0.1:15002 flyte run examples/spark_dataframes.py main
"""

import pyspark.sql

import flyte
from flyteplugins.spark import Spark

env = flyte.TaskEnvironment(name="spark_dataframes", plugin_config=Spark(spark_conf={"spark.sql.shuffle.partitions": "4"}))


@env.task
async def squares(n: int) -> pyspark.sql.DataFrame:
    spark = flyte.ctx().data["spark_session"]
    return spark.range(n).selectExpr("id", "id * id AS square")


@env.task
async def total(df: pyspark.sql.DataFrame) -> int:
    return int(df.groupBy().sum("square").collect()[0][0])


@env.task
async def main(n: int = 10_000) -> int:
    result = await total(await squares(n))
    print(f"sum of squares below {n}: {result}")
    return result
