"""Timings the tests deliberately do not assert (they flake under load), as ratios in one run.

* store: recording N action start/finish pairs on the caller's thread (the write-behind store)
  against one SQLite transaction per action on the same machine;
* sync tasks: 8 sync bodies that each sleep S seconds, run through `flyte.run`, against 8*S
  (what running them one at a time would take);
* timeouts: how long `flyte.run` takes to raise for an async body that never ends and for a
  sync body that blocks, both with a 1 s timeout, against that 1 s.

    .venv/bin/python bench/engine_timings.py [--actions 3000] [--sleep 0.2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

import flyte
from flyte._engine.store import LocalStore


def store_enqueue(n: int, root: Path) -> float:
    with LocalStore(root / "store" / "local.db") as store:
        store.start_run("bench", "t", "{}")
        t0 = time.perf_counter()
        for i in range(n):
            store.action_started("bench", f"a{i}", None, "t", None, 0)
            store.action_finished("bench", f"a{i}", "succeeded")
        return time.perf_counter() - t0


def sqlite_per_action(n: int, root: Path) -> float:
    conn = sqlite3.connect(root / "plain.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE a (name TEXT PRIMARY KEY, status TEXT)")
    t0 = time.perf_counter()
    for i in range(n):
        with conn:
            conn.execute("INSERT INTO a VALUES (?, 'running')", (f"a{i}",))
        with conn:
            conn.execute("UPDATE a SET status = 'succeeded' WHERE name = ?", (f"a{i}",))
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


env = flyte.TaskEnvironment(name="bench-timings")


@env.task
def sleepy(s: float) -> float:
    time.sleep(s)
    return s


@env.task
async def eight(s: float) -> float:
    return sum(await asyncio.gather(*(sleepy.aio(s) for _ in range(8))))


@env.task(timeout=1)
async def hang() -> int:
    await asyncio.Event().wait()
    return 0


_release = threading.Event()


@env.task(timeout=1)
def block() -> int:
    _release.wait(30)
    return 0


def time_to_raise(task) -> float:
    t0 = time.perf_counter()
    try:
        flyte.run(task)
    except flyte.errors.TaskTimeoutError:
        return time.perf_counter() - t0
    raise AssertionError(f"{task.name} did not time out")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--actions", type=int, default=3000)
    p.add_argument("--sleep", type=float, default=0.2)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    flyte.init()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rec = statistics.median(store_enqueue(args.actions, root / f"s{i}") for i in range(args.repeat))
        plain = sqlite_per_action(args.actions, root)
    print(f"store: {args.actions} actions recorded in {rec * 1e3:.1f} ms; one transaction each: "
          f"{plain * 1e3:.1f} ms; ratio {rec / plain:.3f}")

    flyte.run(eight, 0.0)  # warm-up
    conc = statistics.median(_timed(lambda: flyte.run(eight, args.sleep)) for _ in range(args.repeat))
    serial = 8 * args.sleep
    print(f"sync tasks: 8 x {args.sleep}s in {conc:.3f} s; serial {serial:.3f} s; ratio {conc / serial:.3f}")

    a = time_to_raise(hang)
    s = time_to_raise(block)
    _release.set()
    print(f"timeouts (1 s): async body raised after {a:.3f} s (ratio {a:.3f}), "
          f"blocked sync body after {s:.3f} s (ratio {s:.3f})")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
