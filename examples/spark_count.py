"""A Spark task: a filtered count with settings of its own.

Runs unchanged on this machine (a local Spark driver, sized from the task's resources), on a
standalone master, on a Spark Connect server, and on Kubernetes as a SparkApplication::

    flyte run examples/spark_count.py main --n 1000000
    FLYTE_SPARK_MASTER=spark://127.0.0.1:7077 flyte run examples/spark_count.py main
    FLYTE_SPARK_REMOTE=sc://127.0.0.1:15002 flyte run examples/spark_count.py main
    flyte deploy --dry-run --all --output manifests/ examples/spark_count.py   # SparkApplication
"""

import flyte
from flyteplugins.spark import Spark

env = flyte.TaskEnvironment(
    name="spark_count",
    plugin_config=Spark(
        spark_conf={
            "spark.sql.shuffle.partitions": "4",  # a runtime setting: this task's own
            "spark.executor.instances": "2",  # used on Kubernetes
            "spark.executor.memory": "1g",
        }
    ),
    resources=flyte.Resources(cpu=2, memory="2Gi"),
)


@env.task
async def count_multiples(n: int, k: int = 7) -> int:
    """How many of 0..n-1 are multiples of k."""
    spark = flyte.ctx().data["spark_session"]
    assert spark.conf.get("spark.sql.shuffle.partitions") == "4"
    return spark.range(n).filter(f"id % {k} = 0").count()


@env.task
async def main(n: int = 1_000_000) -> int:
    total = await count_multiples(n)
    print(f"{total} multiples of 7 below {n}")
    return total
