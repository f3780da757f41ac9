"""`flyte.map` at scale: time and peak RSS for 10,000 and 100,000 items, each in a fresh process.

    .venv/bin/python bench/map_scale.py
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import asyncio, json, resource, sys, time
import flyte

env = flyte.TaskEnvironment(name="bench-map")

@env.task
async def inc(x: int) -> int:
    return x + 1

@env.task
async def driver(n: int) -> int:
    total = 0
    async for r in flyte.map.aio(inc, range(n)):
        total += r
    return total

async def plain(n):
    sem = asyncio.Semaphore(1024)
    async def one(i):
        async with sem:
            return i + 1
    return sum(await asyncio.gather(*(one(i) for i in range(n))))

n = int(sys.argv[1]); mode = sys.argv[2]
flyte.init()
t0 = time.perf_counter()
if mode == "flyte":
    out = flyte.run(driver, n).outputs()[0]
else:
    out = asyncio.run(plain(n))
dt = time.perf_counter() - t0
assert out == n * (n + 1) // 2
print(json.dumps({"seconds": dt, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(n: int, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), mode], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    results = {}
    for n in (10_000, 100_000):
        f = measure(n, "flyte")
        p = measure(n, "plain")
        results[n] = f
        print(
            f"{n:>7} items: flyte.map {f['seconds']:6.2f} s ({f['seconds'] / n * 1e6:5.1f} µs/item), peak RSS {f['peak_rss_mb']:6.1f} MB"
            f" | plain asyncio (semaphore 1024) {p['seconds']:6.2f} s, peak RSS {p['peak_rss_mb']:6.1f} MB"
            f" | time ratio {f['seconds'] / p['seconds']:.1f}x"
        )
    ratio = results[100_000]["peak_rss_mb"] / results[10_000]["peak_rss_mb"]
    print(f"peak RSS 100,000 / 10,000 items: {ratio:.2f}x")


if __name__ == "__main__":
    main()
