"""Spark tasks the plugin tests run (a module, so the tasks import by name)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Dict, List

import pyspark.sql

import flyte
from flyteplugins.spark import Spark

# Every task here shares the static settings of `config`, so one driver serves them all.
STATIC = {"spark.flyte.test.marker": "shared", "spark.ui.showConsoleProgress": "false"}

config = Spark(
    spark_conf={**STATIC, "spark.sql.shuffle.partitions": "3"},
    hadoop_conf={"fs.flyte.test.marker": "from-hadoop-conf"},
)
env = flyte.TaskEnvironment(name="spark_t", plugin_config=config, resources=flyte.Resources(cpu=2))

other_runtime = flyte.TaskEnvironment(
    name="spark_other_runtime",
    plugin_config=Spark(spark_conf={**STATIC, "spark.sql.shuffle.partitions": "7"}),
    resources=flyte.Resources(cpu=1),
)

# Another static setting: another driver.
restart_env = flyte.TaskEnvironment(
    name="spark_restart", plugin_config=Spark(spark_conf={**STATIC, "spark.driver.memory": "640m"}),
)


def _spark():
    return flyte.ctx().data["spark_session"]


@env.task
async def settings() -> Dict[str, str]:
    """What the task's session sees of its settings."""
    spark = _spark()
    sc = spark.sparkContext
    return {
        "master": sc.master,
        "shuffle": spark.conf.get("spark.sql.shuffle.partitions"),
        "marker": sc.getConf().get("spark.flyte.test.marker"),
        "hadoop": spark.conf.get("spark.hadoop.fs.flyte.test.marker"),
        "target": flyte.ctx().data["spark_target"],
        "pid": str(sc._gateway.proc.pid if sc._gateway.proc is not None else 0),
        "app": sc.appName,
    }


@other_runtime.task
async def other_settings() -> Dict[str, str]:
    spark = _spark()
    return {"shuffle": spark.conf.get("spark.sql.shuffle.partitions"), "master": spark.sparkContext.master}


@env.task
async def filtered_count(n: int, k: int = 7) -> int:
    return _spark().range(n).filter(f"id % {k} = 0").count()


@env.task
async def make_view(name: str) -> List[str]:
    spark = _spark()
    spark.range(3).createOrReplaceTempView(name)
    spark.conf.set("spark.sql.shuffle.partitions", "11")
    return [t.name for t in spark.catalog.listTables()]


@env.task
async def views_and_shuffle() -> List[str]:
    spark = _spark()
    return [t.name for t in spark.catalog.listTables()] + [spark.conf.get("spark.sql.shuffle.partitions")]


@env.task
async def isolation() -> Dict[str, List[str]]:
    """One task makes a temp view and changes a runtime setting; the next sees neither."""
    made = await make_view("only_mine")
    seen = await views_and_shuffle()
    return {"made": made, "seen": seen}


@env.task
async def make_frame(n: int) -> pyspark.sql.DataFrame:
    spark = _spark()
    return spark.range(n).selectExpr("id", "id * id AS square")


@env.task
async def sum_squares(df: pyspark.sql.DataFrame) -> int:
    return int(df.groupBy().sum("square").collect()[0][0])


@env.task
async def frame_between_tasks(n: int) -> int:
    return await sum_squares(await make_frame(n))


@env.task
async def udf_versions(n: int) -> List[str]:
    """A Python UDF and an RDD map: the interpreter version the executors run them with."""
    from pyspark.sql.functions import udf

    spark = _spark()

    @udf("string")
    def version(_: int) -> str:
        import sys as _sys

        return "%d.%d.%d" % _sys.version_info[:3]

    from_udf = {r[0] for r in spark.range(n).select(version("id")).collect()}
    from_rdd = set(spark.sparkContext.parallelize(range(n), 2).map(lambda _: "%d.%d.%d" % __import__("sys").version_info[:3]).collect())
    return sorted(from_udf | from_rdd) + ["%d.%d.%d" % sys.version_info[:3]]


@env.task
async def fails(n: int) -> int:
    _spark().range(n).count()
    raise ValueError(f"spark boom {n}")


@env.task
async def sleeps(seconds: float) -> int:
    _spark().range(1).count()
    await asyncio.sleep(seconds)
    return 1


@restart_env.task
async def restarted() -> Dict[str, str]:
    spark = _spark()
    sc = spark.sparkContext
    return {"memory": sc.getConf().get("spark.driver.memory"), "pid": str(sc._gateway.proc.pid)}


@env.task
async def conflicting() -> List[str]:
    """Two tasks at once whose static settings differ: one driver cannot serve both."""
    results = await asyncio.gather(sleeps(5.0), restarted(), return_exceptions=True)
    return [type(r).__name__ + ": " + str(r) for r in results]


@env.task
async def master_app() -> Dict[str, str]:
    """On a cluster: the master and the Python version of the executors."""
    spark = _spark()
    sc = spark.sparkContext
    versions = set(sc.parallelize(range(4), 2).map(lambda _: "%d.%d.%d" % __import__("sys").version_info[:3]).collect())
    return {"master": sc.master, "app_id": sc.applicationId, "versions": ",".join(sorted(versions)),
            "count": str(spark.range(1000).filter("id % 2 = 0").count())}


@env.task
async def connect_probe() -> Dict[str, str]:
    """On Spark Connect: the session kind, a runtime setting and a count."""
    spark = _spark()
    return {
        "module": type(spark).__module__,
        "shuffle": spark.conf.get("spark.sql.shuffle.partitions"),
        "count": str(spark.range(1000).filter("id % 4 = 0").count()),
        "target": flyte.ctx().data["spark_target"],
    }


@env.task
async def connect_frames(n: int) -> int:
    return await sum_squares(await make_frame(n))


def in_driver_marker() -> str:
    return os.environ.get("PYSPARK_GATEWAY_PORT", "")
