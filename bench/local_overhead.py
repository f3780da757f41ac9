"""Per-child overhead of the local engine against plain asyncio, measured in the same run.

One `flyte.run` of a parent awaiting N trivial async child tasks (after a warm-up run), via
`asyncio.gather` and via `flyte.map`, against the same coroutines awaited with plain asyncio.
Cache off, store at its default. Prints times, ratios and the per-child overhead in µs.

    .venv/bin/python bench/local_overhead.py [--children 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import flyte

env = flyte.TaskEnvironment(name="bench-overhead")


async def work(x: int) -> int:
    return x + 1


child = env.task(work)


@env.task
async def parent_gather(n: int) -> int:
    return sum(await asyncio.gather(*(child(i) for i in range(n))))


@env.task
async def parent_map(n: int) -> int:
    return sum([r async for r in flyte.map.aio(child, range(n))])


async def plain(n: int) -> int:
    return sum(await asyncio.gather(*(work(i) for i in range(n))))


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--children", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n = args.children
    flyte.init()
    expected = sum(range(1, n + 1))
    assert flyte.run(parent_gather, n).outputs()[0] == expected  # warm-up
    assert flyte.run(parent_map, n).outputs()[0] == expected
    base = timed(lambda: asyncio.run(plain(n)), args.repeat)
    gather = timed(lambda: flyte.run(parent_gather, n), args.repeat)
    mapped = timed(lambda: flyte.run(parent_map, n), args.repeat)
    print(f"children: {n}, median of {args.repeat}")
    print(f"plain asyncio          {base * 1e3:8.2f} ms")
    for label, t in (("flyte gather", gather), ("flyte map", mapped)):
        per_child = (t - base) / n * 1e6
        print(f"{label:<22} {t * 1e3:8.2f} ms  ratio {t / base:6.1f}x  per-child overhead {per_child:6.1f} µs")


if __name__ == "__main__":
    main()
