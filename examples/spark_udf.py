"""A Python UDF in a Spark task: the function runs on the executors, with this interpreter.

    flyte run examples/spark_udf.py main --n 1000
    FLYTE_SPARK_MASTER=spark://127.0.0.1:7077 flyte run examples/spark_udf.py main
    FLYTE_SPARK_REMOTE=sc://127.0.0.1:15002 flyte run examples/spark_udf.py main
"""

from typing import List

import flyte
from flyteplugins.spark import Spark

env = flyte.TaskEnvironment(
    name="spark_udf",
    plugin_config=Spark(spark_conf={"spark.sql.shuffle.partitions": "2"}),
    resources=flyte.Resources(cpu=2, memory="1Gi"),
)


@env.task
async def collatz_lengths(n: int) -> List[int]:
    """The Collatz sequence length of 1..n, computed by a Python UDF; the five longest."""
    from pyspark.sql.functions import col, udf

    @udf("int")
    def collatz(x: int) -> int:
        steps = 0
        while x != 1:
            x = x // 2 if x % 2 == 0 else 3 * x + 1
            steps += 1
        return steps

    spark = flyte.ctx().data["spark_session"]
    rows = spark.range(1, n + 1).select(collatz(col("id")).alias("steps")).orderBy(col("steps").desc()).limit(5).collect()
    return [r.steps for r in rows]


@env.task
async def main(n: int = 1000) -> List[int]:
    longest = await collatz_lengths(n)
    print(f"longest Collatz sequences below {n}: {longest}")
    return longest
