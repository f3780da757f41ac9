"""Retries: the backoff is waited (cancellably, said in the logs, each attempt's start recorded),
and a timed-out sync body is waited for before its retry starts."""

import asyncio
import threading
import time

import pytest
from click.testing import CliRunner

import flyte
import flyte.errors
from flyte._engine.store import LocalStore

env = flyte.TaskEnvironment(name="retries")

BACKOFF = flyte.Backoff(base=0.05, factor=2, cap=0.15)  # waits 0.05, 0.1, 0.15 s
starts: list = []


@env.task(retries=flyte.RetryStrategy(count=3, backoff=BACKOFF))
async def flaky(x: int) -> int:
    starts.append(time.monotonic())
    if len(starts) < 4:
        raise ValueError(f"attempt {len(starts)} fails")
    return x


def test_retries_wait_the_backoff_say_so_and_record_each_attempt(isolated_flyte_home):
    starts.clear()
    flyte.init(local_persistence=True)
    run = flyte.run(flaky, x=7)
    assert run.outputs()[0] == 7
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert all(g >= d * 0.9 for g, d in zip(gaps, (0.05, 0.1, 0.15))), gaps  # a sleep never ends early
    with LocalStore(isolated_flyte_home / "local.db") as store:
        (action,) = store.get_actions(run.name)
        text = "".join(rec.text for rec in store.get_logs(run.name, action.name))
    for n, delay in ((1, "0.05"), (2, "0.1"), (3, "0.15")):
        assert f"failed on attempt {n}/4 (ValueError: attempt {n} fails); retrying in {delay} s" in text
    assert action.attempts == 4 and len(action.attempt_starts) == 4
    recorded = [b - a for a, b in zip(action.attempt_starts, action.attempt_starts[1:])]
    assert all(g >= d * 0.9 for g, d in zip(recorded, (0.05, 0.1, 0.15))), recorded
    assert len(action.to_dict()["attempt_starts"]) == 4

    from flyte.cli.main import flyte as cli

    shown = CliRunner().invoke(cli, ["get", "run", run.name])
    assert shown.exit_code == 0, shown.output
    line = next(ln for ln in shown.output.splitlines() if ln.strip().startswith(f"{action.name} (retries.flaky)"))
    assert line.count(" at ") == 4 and line.count("(gap ") == 3


failures: list = []


@env.task(retries=flyte.RetryStrategy(count=2, backoff=flyte.Backoff(base=30)))
async def slow_to_retry() -> int:
    failures.append(1)
    raise RuntimeError("fails, then waits 30 s")


async def test_the_backoff_wait_is_cancellable(isolated_flyte_home):
    failures.clear()
    flyte.init(local_persistence=True)
    running = asyncio.ensure_future(flyte.with_runcontext(name="cancel-backoff").run.aio(slow_to_retry))
    while not failures:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # inside the 30 s backoff now
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(running, timeout=10)  # not 30 s
    assert failures == [1]
    with LocalStore(isolated_flyte_home / "local.db") as store:
        (action,) = store.get_actions("cancel-backoff")
    assert action.status == "aborted" and action.attempts == 1


# ---- a timed-out sync body and its retry --------------------------------------------------
spans: list = []
release = threading.Event()


@env.task(timeout=0.3, retries=1)
def overruns_once(x: int) -> int:
    i = len(spans)
    spans.append([time.monotonic(), None])
    if i == 0:
        time.sleep(0.5)  # ignores its 0.3 s timeout, but ends within one more period
    spans[i][1] = time.monotonic()
    return x


def test_a_retry_waits_for_the_abandoned_sync_body():
    spans.clear()
    assert flyte.run(overruns_once, x=5).outputs()[0] == 5
    (first_start, first_end), (second_start, _) = spans
    assert first_end is not None and second_start >= first_end  # the two copies never overlap


@env.task(timeout=0.2, retries=3)
def ignores_its_timeout() -> int:
    spans.append(1)
    release.wait(10)  # far beyond its timeout and the grace period
    return 1


def test_a_body_still_running_after_the_grace_period_fails_clearly():
    spans.clear()
    release.clear()
    try:
        with pytest.raises(flyte.errors.TaskTimeoutError) as e:
            flyte.run(ignores_its_timeout)
    finally:
        release.set()  # let the abandoned thread end
    msg = str(e.value)
    assert "retries.ignores_its_timeout" in msg and "ignored its timeout of 0.2s" in msg and "not retried" in msg
    assert spans == [1]  # no second copy was started beside it


def test_a_store_of_schema_1_gains_attempt_starts_and_keeps_its_actions(tmp_path):
    import sqlite3

    from flyte._engine.store.schema import MIGRATIONS

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as c:  # a store as the first schema wrote it
        c.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
        for stmt in MIGRATIONS[0][1]:
            c.execute(stmt)
        c.execute("INSERT INTO schema_version VALUES (1, 0)")
        c.execute("INSERT INTO runs (name, task_name, status, mode, start_time) VALUES ('old', 't', 'succeeded', 'local', 1)")
        c.execute("INSERT INTO actions (run_name, action_name, status, attempts, start_time, end_time, seq) "
                  "VALUES ('old', 'a0', 'succeeded', 2, 1, 2, 1)")
    c.close()
    with LocalStore(db) as store:
        (old,) = store.get_actions("old")
        assert old.attempts == 2 and old.attempt_starts == ()
        store.action_started("old", "a1", None, "t", None, 0)
        store.action_started("old", "a1", None, "t", None, 1)
        store.flush()
        store.action_started("old", "a1", None, "t", None, 2)  # a later batch merges, losing none
        new = next(a for a in store.get_actions("old") if a.name == "a1")
    assert len(new.attempt_starts) == 3 and list(new.attempt_starts) == sorted(new.attempt_starts)
