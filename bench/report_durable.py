"""What a report and durable time cost a task, against the same task without them, in one run.

N child tasks that each do a trivial step, three ways: plain; with ``report=True`` and one
``flyte.report.log(..., do_flush=True)`` (a file write per child); with two ``flyte.durable``
calls (``time``, ``now``; journal entries, no store). Prints the medians, the ratios to the plain
children and the per-child cost in µs.

    .venv/bin/python bench/report_durable.py [--children 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

import flyte
import flyte.durable
import flyte.report

env = flyte.TaskEnvironment(name="bench-report-durable")


@env.task
async def plain(x: int) -> int:
    return x + 1


@env.task(report=True)
async def reported(x: int) -> int:
    flyte.report.log(f"<p>{x}</p>", do_flush=True)
    return x + 1


@env.task
async def durable(x: int) -> int:
    await flyte.durable.time.aio()
    await flyte.durable.now.aio()
    return x + 1


@env.task
async def fan(kind: str, n: int) -> int:
    child = {"plain": plain, "report": reported, "durable": durable}[kind]
    return sum(await asyncio.gather(*(child(i) for i in range(n))))


def timed(kind: str, n: int, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        flyte.run(fan, kind, n)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--children", type=int, default=500)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FLYTE_RAW_DATA_PATH"] = tmp  # the report files go away with the folder
        flyte.init()
        flyte.run(fan, "plain", 10)  # warm-up
        base = timed("plain", a.children, a.repeat)
        print(f"plain    {base * 1e3:8.1f} ms  1.00x")
        for kind in ("report", "durable"):
            t = timed(kind, a.children, a.repeat)
            per = (t - base) / a.children * 1e6
            print(f"{kind:8} {t * 1e3:8.1f} ms  {t / base:.2f}x  (+{per:.0f} µs per child)")


if __name__ == "__main__":
    main()
