"""flyte.durable: time values and sleeps recorded per action, replayed when the action is retried."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

import flyte
import flyte.durable
from flyte.durable._time import _remaining
from tests.core.test_cli_run import flyte_cli

env = flyte.TaskEnvironment(name="durable-tests")
SEEN: dict = {}


@env.task(retries=2)
async def flaky_async(key: str) -> str:
    attempt = flyte.ctx().attempt_number
    t = await flyte.durable.time.aio()
    now = await flyte.durable.now.aio()
    left = None
    if attempt == 0:
        await flyte.durable.sleep.aio(0.2)
    else:
        # What flyte.durable.sleep.aio(0.2) waits here: the sleep started in attempt 0, which
        # slept it out, so nothing is left.
        left = _remaining(0.2)
    SEEN.setdefault(key, []).append((attempt, t, now, left))
    if attempt < 2:
        raise RuntimeError(f"attempt {attempt} fails")
    return key


@env.task(retries=1)
def flaky_sync(key: str) -> float:
    attempt = flyte.ctx().attempt_number
    t = flyte.durable.time()
    flyte.durable.sleep(0.05)
    SEEN.setdefault(key, []).append((attempt, t))
    if attempt == 0:
        raise RuntimeError("first attempt fails")
    return t


def test_a_retried_async_task_sees_the_same_time_and_does_not_sleep_again(isolated_flyte_home):
    flyte.init(local_persistence=True)
    run = flyte.run(flaky_async, "a")
    assert run.outputs()[0] == "a"
    attempts = SEEN["a"]
    assert [a for a, *_ in attempts] == [0, 1, 2]
    assert len({t for _, t, _, _ in attempts}) == 1  # the same time() in every attempt
    assert len({n for _, _, n, _ in attempts}) == 1  # the same now()
    assert isinstance(attempts[0][2], dt.datetime) and attempts[0][2].tzinfo is None  # as datetime.now()
    assert [left for *_, left in attempts[1:]] == [0.0, 0.0]
    from flyte._engine.store import LocalStore
    from flyte._engine.store.journal import durable_records

    with LocalStore(isolated_flyte_home / "local.db") as store:
        records = durable_records(store, run.name)
    # one record per call site: the retries replayed them instead of recording new ones
    assert [(seq, kind) for _, seq, kind, _ in records] == [(0, "time"), (1, "now"), (2, "sleep")]
    assert records[0][3] == attempts[0][1]


def test_a_retried_sync_task_replays_too(isolated_flyte_home):
    assert flyte.run(flaky_sync, "s").outputs()[0] == SEEN["s"][0][1] == SEEN["s"][1][1]


def test_a_new_run_records_new_values(isolated_flyte_home):
    flyte.run(flaky_sync, "n1")
    flyte.run(flaky_sync, "n2")
    assert SEEN["n1"][0][1] != SEEN["n2"][0][1]


def test_a_negative_sleep_returns_at_once_with_a_warning(isolated_flyte_home, caplog):
    @env.task
    async def nap() -> None:
        await flyte.durable.sleep.aio(-5)
        flyte.durable.sleep(-0.5)

    with caplog.at_level(logging.WARNING, logger="flyte"):
        flyte.run(nap)
    assert sum("negative duration returns at once" in r.getMessage() for r in caplog.records) == 2


def test_outside_a_task_the_functions_are_plain(isolated_flyte_home):
    assert abs(flyte.durable.time() - flyte.durable.now().timestamp()) < 60
    flyte.durable.sleep(0)
    with pytest.raises(TypeError, match="seconds"):
        flyte.durable.sleep("1")  # type: ignore[arg-type]


def test_the_published_example_runs(isolated_flyte_home):
    res = flyte_cli(isolated_flyte_home, "run", "examples/durable_time.py", "main")
    assert res.returncode == 0, res.stderr
    assert "[async] done sleeping" in res.stdout and "[sync] done sleeping" in res.stdout
