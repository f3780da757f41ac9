"""A Spark task through flyte against plain PySpark doing the same, interleaved, same machine.

Cold (each sample a fresh interpreter, so every one starts its own JVM; the clock runs from
just before the session is asked for to just after the count, imports excluded):

* flyte: ``flyte.run`` of a Spark task (``Resources(cpu=2)``: ``local[2]``) counting the
  multiples of 7 among 10 million rows (``spark.range(N).filter(...).count()``);
* plain: ``SparkSession.builder.master("local[2]").getOrCreate()`` and the same count.

Neither stops its JVM inside the clock (plain ``spark.stop()`` leaves pyspark's JVM running
too; flyte keeps the driver for ``FLYTE_SPARK_IDLE_TIMEOUT``): both end at interpreter exit.

Warm (one interpreter): a parent task runs 10 Spark child tasks one after another, each the
same count; the time of each child after the first, against the same count on the running
session (plain PySpark, on the same driver once flyte's run is over).

Samples alternate flyte / plain; each figure is the median of ``--repeat`` (default 5).

    .venv/bin/python bench/spark_plugin.py [--rows 10000000] [--repeat 5] [--tasks 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import List

ROWS = 10_000_000


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    env["FLYTE_SPARK_IDLE_TIMEOUT"] = "60"
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    return env


def _count(spark, rows: int) -> int:
    return spark.range(rows).filter("id % 7 = 0").count()


# ----------------------------------------------------------------------------------------------
# One sample, in a fresh interpreter
# ----------------------------------------------------------------------------------------------


def sample_plain(rows: int) -> float:
    from pyspark.sql import SparkSession

    started = time.perf_counter()
    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    n = _count(spark, rows)
    took = time.perf_counter() - started
    assert n == len(range(0, rows, 7))
    return took


def _flyte_tasks():
    import flyte
    from flyteplugins.spark import Spark

    env = flyte.TaskEnvironment(name="bench_spark", plugin_config=Spark(), resources=flyte.Resources(cpu=2))

    @env.task
    async def count(rows: int) -> int:
        return _count(flyte.ctx().data["spark_session"], rows)

    @env.task
    async def sequential(rows: int, tasks: int) -> List[float]:
        times = []
        for _ in range(tasks):
            t = time.perf_counter()
            await count(rows)
            times.append(time.perf_counter() - t)
        return times

    return count, sequential


def sample_flyte(rows: int) -> float:
    import pyspark.sql  # noqa: F401 - imported before the clock, as for plain (a task module imports it too)

    import flyte

    count, _ = _flyte_tasks()
    flyte.init()
    started = time.perf_counter()
    n = flyte.run(count, rows=rows).outputs()[0]
    took = time.perf_counter() - started
    assert n == len(range(0, rows, 7))
    return took


def sample_warm(rows: int, tasks: int) -> dict:
    import flyte
    import flyte.extend
    from pyspark.sql import SparkSession

    _, sequential = _flyte_tasks()
    per_task = flyte.run(sequential, rows=rows, tasks=tasks).outputs()[0]
    spark = SparkSession.builder.getOrCreate()  # the driver flyte's run left warm
    plain = []
    for _ in range(tasks):
        t = time.perf_counter()
        _count(spark, rows)
        plain.append(time.perf_counter() - t)
    flyte.extend.stop_runtimes()
    return {"flyte": statistics.median(per_task[1:]), "plain": statistics.median(plain[1:])}


def _run_sample(kind: str, rows: int, tasks: int) -> object:
    out = subprocess.run(
        [sys.executable, __file__, "--sample", kind, "--rows", str(rows), "--tasks", str(tasks)],
        env=_env(), capture_output=True, text=True, timeout=900,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{kind} sample failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--sample", choices=["plain", "flyte", "warm"])
    args = parser.parse_args()
    if args.sample == "plain":
        print(json.dumps(sample_plain(args.rows)))
        return
    if args.sample == "flyte":
        print(json.dumps(sample_flyte(args.rows)))
        return
    if args.sample == "warm":
        print(json.dumps(sample_warm(args.rows, args.tasks)))
        return
    cold = {"flyte": [], "plain": []}
    warm = {"flyte": [], "plain": []}
    for i in range(args.repeat):
        order = ("flyte", "plain") if i % 2 == 0 else ("plain", "flyte")
        for kind in order:
            cold[kind].append(_run_sample(kind, args.rows, args.tasks))
        w = _run_sample("warm", args.rows, args.tasks)
        for kind in warm:
            warm[kind].append(w[kind])
        print(f"round {i + 1}: cold flyte {cold['flyte'][-1]:.2f}s plain {cold['plain'][-1]:.2f}s; "
              f"warm per task flyte {w['flyte']:.3f}s plain {w['plain']:.3f}s", flush=True)
    cf, cp = statistics.median(cold["flyte"]), statistics.median(cold["plain"])
    wf, wp = statistics.median(warm["flyte"]), statistics.median(warm["plain"])
    print(f"cold (session start + count of {args.rows:,} rows): flyte {cf:.2f}s, plain {cp:.2f}s, ratio {cf / cp:.3f} (target <= 1.05)")
    print(f"warm (per child task after the first, of {args.tasks}): flyte {wf:.3f}s, plain {wp:.3f}s, ratio {wf / wp:.3f} (target <= 1.2)")


if __name__ == "__main__":
    main()
