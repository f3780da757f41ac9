"""The local engine: calls, concurrency, map, groups, traces, context, cache, retries, timeouts."""


import asyncio
import threading
import time
from dataclasses import dataclass
from typing import NamedTuple, Optional

import pytest

import flyte
import flyte.errors
from flyte._task import AsyncFunctionTaskTemplate

env = flyte.TaskEnvironment(name="engine-tests")


@env.task
async def double(x: int) -> int:
    return x * 2


@env.task
def square(x: int) -> int:
    return x * x


@env.task
async def fan_out(n: int) -> list[int]:
    return list(await asyncio.gather(*(double(i) for i in range(n))))


@env.task
async def mixed(n: int) -> list[int]:
    a = await asyncio.gather(*(square.aio(i) for i in range(n)))
    b = square(n)  # a sync task called directly from async code still works
    return list(a) + [b]


@env.task
def sync_parent(n: int) -> list[int]:
    return list(flyte.map(square, range(n))) + [square(10)]


def test_run_returns_outputs_by_index_and_name():
    run = flyte.run(fan_out, 4)
    assert run.outputs()[0] == [0, 2, 4, 6]
    assert run.outputs().o0 == [0, 2, 4, 6]
    assert run.outputs()["o0"] == [0, 2, 4, 6]
    assert run.phase.value == "succeeded" and run.done()
    assert run.name


def test_with_runcontext_name_and_positional_and_default_args():
    run = flyte.with_runcontext(mode="local", name="my-run-1").run(fan_out, n=2)
    assert run.name == "my-run-1"
    assert run.outputs()[0] == [0, 2]


def test_sync_tasks_from_async_parent_and_sync_parent():
    assert flyte.run(mixed, 3).outputs()[0] == [0, 1, 4, 9]
    assert flyte.run(sync_parent, 4).outputs()[0] == [0, 1, 4, 9, 100]


def test_task_outside_run_is_plain_function():
    assert square(7) == 49
    assert asyncio.run(double(4)) == 8


def test_multiple_and_named_outputs():
    e = flyte.TaskEnvironment(name="outs")

    class Pair(NamedTuple):
        lo: int
        hi: int

    @e.task
    async def two(x: int) -> tuple[int, str]:
        return x, str(x)

    @e.task
    async def named(x: int) -> Pair:
        return Pair(x - 1, x + 1)

    @e.task
    async def nothing(x: int) -> None:
        return None

    out = flyte.run(two, 3).outputs()
    assert out[0] == 3 and out[1] == "3" and out.o1 == "3"
    out = flyte.run(named, 3).outputs()
    assert out.lo == 2 and out.hi == 4
    assert len(flyte.run(nothing, 1).outputs()) == 0


def test_wrong_and_missing_inputs_name_task_input_and_types():
    with pytest.raises(TypeError) as ei:
        flyte.run(double, "three")
    msg = str(ei.value)
    assert "engine-tests.double" in msg and "'x'" in msg and "str" in msg and "int" in msg
    assert isinstance(ei.value, flyte.errors.FlyteError)
    with pytest.raises(TypeError) as ei:
        flyte.run(double)
    assert "'x'" in str(ei.value) and "required" in str(ei.value)
    with pytest.raises(TypeError) as ei:
        flyte.run(double, 1, y=2)
    assert "'y'" in str(ei.value)


def test_wrong_output_type_is_reported():
    e = flyte.TaskEnvironment(name="bad-out")

    @e.task
    async def liar(x: int) -> int:
        return "not an int"  # type: ignore[return-value]

    with pytest.raises(TypeError) as ei:
        flyte.run(liar, 1)
    assert "bad-out.liar" in str(ei.value) and "o0" in str(ei.value)


def test_ctx_inside_and_outside():
    assert not flyte.ctx()
    e = flyte.TaskEnvironment(name="ctx-env")

    @e.task
    async def child() -> str:
        c = flyte.ctx()
        return f"{c.action.run_name}/{c.action.name}/{c.mode}/{c.is_in_cluster()}"

    @e.task
    async def parent() -> list[str]:
        c = flyte.ctx()
        return [f"{c.action.run_name}/{c.action.name}", await child(), c.raw_data_path.path]

    run = flyte.with_runcontext(name="ctx-run").run(parent)
    own, kid, raw = run.outputs()[0]
    assert own.startswith("ctx-run/")
    run_name, action, mode, in_cluster = kid.split("/")
    assert run_name == "ctx-run" and action != own.split("/")[1] and mode == "local" and in_cluster == "False"
    assert "ctx-run" in raw


def test_custom_context_propagates_to_sub_actions():
    e = flyte.TaskEnvironment(name="cc-env")

    @e.task
    async def leaf() -> dict[str, str]:
        return flyte.get_custom_context()

    @e.task
    async def middle() -> dict[str, str]:
        return await leaf()

    @e.task
    def root() -> list[dict[str, str]]:
        plain = leaf()
        with flyte.custom_context(team="ml", stage="dev"):
            inner = middle()
            with flyte.custom_context(stage="prod"):
                nested = leaf()
        return [plain, inner, nested]

    run = flyte.with_runcontext(custom_context={"project": "p1"}).run(root)
    plain, inner, nested = run.outputs()[0]
    assert plain == {"project": "p1"}
    assert inner == {"project": "p1", "team": "ml", "stage": "dev"}
    assert nested == {"project": "p1", "team": "ml", "stage": "prod"}


def test_map_order_concurrency_limit_and_return_exceptions():
    e = flyte.TaskEnvironment(name="map-env")
    active = {"now": 0, "peak": 0}
    lock = threading.Lock()

    @e.task
    async def slow(x: int) -> int:
        with lock:
            active["now"] += 1
            active["peak"] = max(active["peak"], active["now"])
        await asyncio.sleep(0.01 * (5 - x % 5))
        with lock:
            active["now"] -= 1
        if x == 7:
            raise ValueError("seven")
        return x

    @e.task
    async def driver(limit: int) -> list[str]:
        out = []
        async for r in flyte.map.aio(slow, range(12), concurrency=limit, return_exceptions=True):
            out.append(r if isinstance(r, int) else f"err:{type(r).__name__}")
        return [str(v) for v in out]

    res = flyte.run(driver, 3).outputs()[0]
    assert res == [str(i) for i in range(7)] + ["err:RuntimeUserError"] + [str(i) for i in range(8, 12)]
    assert active["peak"] == 3

    active["peak"] = 0
    flyte.run(driver, 0)
    assert active["peak"] > 3  # no limit: items really run concurrently

    @e.task
    async def strict() -> list[int]:
        return [r async for r in flyte.map.aio(slow, range(10), return_exceptions=False)]

    @e.task
    async def lenient() -> list[str]:
        return [
            type(r).__name__ async for r in flyte.map.aio(slow, range(8))
        ]

    assert flyte.run(lenient).outputs()[0][-1] == "RuntimeUserError"  # published default: yielded

    with pytest.raises(flyte.errors.RuntimeUserError, match="seven"):
        flyte.run(strict)


def test_map_with_partial_and_sync_map_in_sync_task():
    from functools import partial

    e = flyte.TaskEnvironment(name="partial-env")

    @e.task
    def power(base: int, exp: int) -> int:
        return base**exp

    @e.task
    def go(n: int) -> list[int]:
        return list(flyte.map(partial(power, exp=3), range(n), concurrency=2))

    assert flyte.run(go, 4).outputs()[0] == [0, 1, 8, 27]


def test_sync_tasks_run_in_threads_concurrently():
    e = flyte.TaskEnvironment(name="threads-env")

    # All 8 bodies must be inside the barrier at once for any of them to pass it: run one at a
    # time, the first would break the barrier (after a generous wait). Speed is in bench/.
    barrier = threading.Barrier(8, timeout=60)

    @e.task
    def sleepy(x: int) -> int:
        barrier.wait()
        return x

    @e.task
    async def many() -> list[int]:
        return list(await asyncio.gather(*(sleepy.aio(i) for i in range(8))))

    assert flyte.run(many).outputs()[0] == list(range(8))


def test_deep_sync_tree_does_not_exhaust_the_pool(monkeypatch):
    e = flyte.TaskEnvironment(name="deep-env")

    @e.task
    def level(d: int) -> int:
        if d == 0:
            return 1
        return sum(flyte.map(level, [d - 1, d - 1]))

    assert flyte.run(level, 6).outputs()[0] == 64


def test_retries_count_attempts_and_exhaust():
    e = flyte.TaskEnvironment(name="retry-env")
    calls = []

    @e.task(retries=2)
    async def flaky(x: int) -> int:
        calls.append(flyte.ctx().attempt_number)
        if len(calls) < 3:
            raise RuntimeError("transient")
        return x

    assert flyte.run(flaky, 5).outputs()[0] == 5
    assert calls == [0, 1, 2]

    calls.clear()

    @e.task(retries=flyte.RetryStrategy(count=1))
    async def always() -> int:
        calls.append(1)
        raise KeyError("nope")

    with pytest.raises(flyte.errors.RuntimeUserError) as ei:
        flyte.run(always)
    assert len(calls) == 2
    assert ei.value.code == "KeyError"
    assert "KeyError" in ei.value.traceback and "always" in ei.value.traceback


def test_timeouts_cancel_async_and_abandon_sync():
    e = flyte.TaskEnvironment(name="timeout-env")
    cancelled = []

    @e.task(timeout=1)
    async def hang() -> int:
        try:
            await asyncio.Event().wait()  # never set: only the timeout ends this body
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return 1

    with pytest.raises(flyte.errors.TaskTimeoutError) as ei:
        flyte.run(hang)
    assert cancelled == [True]
    assert "timeout-env.hang" in str(ei.value) and "1s" in str(ei.value)
    assert isinstance(ei.value, TimeoutError)

    release = threading.Event()
    returned = []

    @e.task(timeout=flyte.Timeout(max_runtime=1))
    def block() -> int:
        release.wait(60)  # held until the run has given up on it
        returned.append(True)
        return 1

    with pytest.raises(flyte.errors.TaskTimeoutError):
        flyte.run(block)
    # The run returned while the body was still blocked: the thread was abandoned, not awaited.
    assert returned == []
    release.set()


def test_pre_data_post_output_and_teardown_on_failure():
    calls = []

    @dataclass
    class Conf:
        label: str

    from dataclasses import dataclass as dc

    @dc(kw_only=True)
    class Wrapping(AsyncFunctionTaskTemplate):
        task_type: str = "wrapping"

        async def pre(self, *args, **kwargs):
            calls.append("pre")
            return {"resource": "ready"}

        async def post(self, return_vals):
            err = flyte.ctx().error
            calls.append(f"post:{type(err).__name__ if err else 'ok'}")
            if isinstance(return_vals, str):
                return return_vals.upper()
            return None

    from flyte.extend import TaskPluginRegistry

    TaskPluginRegistry.register(Conf, Wrapping)
    e = flyte.TaskEnvironment(name="wrap-env", plugin_config=Conf("x"))

    @e.task
    async def body(fail: bool) -> str:
        assert flyte.ctx().data["resource"] == "ready"
        if fail:
            raise ValueError("body failed")
        return "done"

    assert isinstance(body, Wrapping) and body.task_type == "wrapping"
    assert flyte.run(body, False).outputs()[0] == "DONE"
    with pytest.raises(flyte.errors.RuntimeUserError, match="body failed"):
        flyte.run(body, True)
    assert calls == ["pre", "post:ok", "pre", "post:ValueError"]


def test_cache_skips_body_and_survives_processes(tmp_path):
    e = flyte.TaskEnvironment(name="cache-env")
    runs = []

    @e.task(cache="auto")
    async def expensive(x: int) -> int:
        runs.append(x)
        return x + 100

    @e.task
    async def twice(x: int) -> list[int]:
        return [await expensive(x), await expensive(x), await expensive(x + 1)]

    assert flyte.run(twice, 1).outputs()[0] == [101, 101, 102]
    assert runs == [1, 2]
    assert flyte.run(twice, 1).outputs()[0] == [101, 101, 102]
    assert runs == [1, 2]  # all hits, from the persisted cache
    flyte.with_runcontext(overwrite_cache=True).run(twice, 1)
    assert runs == [1, 2, 1, 1, 2]
    flyte.with_runcontext(disable_run_cache=True).run(expensive, 1)
    assert runs[-1] == 1 and len(runs) == 6


def test_cache_version_and_ignored_inputs():
    e = flyte.TaskEnvironment(name="cache-ver")
    runs = []

    @e.task(cache=flyte.Cache(behavior="auto", version_override="v1", ignored_inputs=("note",)))
    async def f(x: int, note: str) -> int:
        runs.append(note)
        return x

    flyte.run(f, 1, "a")
    flyte.run(f, 1, "b")  # note is ignored: hit
    assert runs == ["a"]
    g = f.override(cache=flyte.Cache(behavior="auto", version_override="v2", ignored_inputs=("note",)))
    flyte.run(g, 1, "c")
    assert runs == ["a", "c"]


def test_group_and_trace_and_logs_recorded(isolated_flyte_home):
    e = flyte.TaskEnvironment(name="rec-env")

    @flyte.trace
    async def helper(x: int) -> int:
        return x + 1

    @e.task
    async def leaf(x: int) -> int:
        print(f"leaf says {x}")
        return await helper(x)

    @e.task
    async def top() -> int:
        with flyte.group("stage-a"):
            a = await leaf(1)
        return a + await leaf(2)

    flyte.init(local_persistence=True)
    run = flyte.with_runcontext(name="recorded").run(top)
    assert run.outputs()[0] == 5
    from flyte._engine.store import LocalStore

    with LocalStore(isolated_flyte_home / "local.db") as s:
        actions = s.get_actions("recorded")
        groups = {a.task_name: a.group for a in actions if a.task_name == "rec-env.leaf" and a.group}
        assert groups == {"rec-env.leaf": "stage-a"}
        assert any(a.task_name.startswith("trace:") for a in actions)
        text = "".join(r.text for r in s.get_logs("recorded"))
        assert "leaf says 1" in text and "leaf says 2" in text
        assert s.get_run("recorded").status == "succeeded"


def test_secrets_resolved_from_env_and_never_stored(isolated_flyte_home, monkeypatch):
    monkeypatch.setenv("FLYTE_SECRET_DB_PASSWORD", "hunter2-very-secret")
    e = flyte.TaskEnvironment(name="sec-env", secrets=[flyte.Secret(key="db-password", as_env_var="DB_PW")])

    @e.task
    async def use() -> int:
        import os

        print("connecting")
        return len(os.environ["DB_PW"])

    flyte.init(local_persistence=True)
    assert flyte.run(use).outputs()[0] == len("hunter2-very-secret")
    db = (isolated_flyte_home / "local.db").read_bytes()
    for suffix in ("-wal", "-shm"):
        p = isolated_flyte_home / f"local.db{suffix}"
        if p.exists():
            db += p.read_bytes()
    assert b"hunter2" not in db

    monkeypatch.delenv("FLYTE_SECRET_DB_PASSWORD")
    monkeypatch.delenv("DB_PW", raising=False)
    monkeypatch.setenv("FLYTE_STRICT_SECRETS", "1")  # else a missing secret is a warning
    with pytest.raises(Exception) as ei:
        flyte.run(use)
    assert "db-password" in str(ei.value)


def test_a_secret_a_task_prints_is_masked_in_output_and_logs(isolated_flyte_home, monkeypatch, capsys):
    monkeypatch.setenv("FLYTE_SECRET_API_TOKEN", "tok-3141592653")
    e = flyte.TaskEnvironment(name="sec-print-env", secrets=[flyte.Secret(key="api-token", as_env_var="API_TOKEN")])

    @e.task
    async def leak() -> int:
        import os

        print(f"token is {os.environ['API_TOKEN']}")
        return 1

    flyte.init(local_persistence=True)
    run = flyte.run(leak)
    assert run.outputs()[0] == 1
    assert "tok-3141592653" not in capsys.readouterr().out
    from flyte._engine.store import LocalStore

    store = LocalStore(isolated_flyte_home / "local.db")
    try:
        text = "".join(r.text for r in store.get_logs(run.name))
    finally:
        store.close()
    assert "token is ****" in text
    assert "tok-3141592653" not in text


def test_current_project_and_domain():
    e = flyte.TaskEnvironment(name="pd-env")

    @e.task
    async def where() -> str:
        return f"{flyte.current_project()}/{flyte.current_domain()}"

    flyte.init(project="proj", domain="dev")
    assert flyte.run(where).outputs()[0] == "proj/dev"
    assert flyte.with_runcontext(project="other", domain="prod").run(where).outputs()[0] == "other/prod"


def test_sync_form_inside_event_loop_raises_clear_error():
    async def inside():
        with pytest.raises(flyte.errors.SyncTaskCallInAsyncContextError, match=r"\.aio"):
            flyte.run(double, 1)
        run = await flyte.run.aio(double, 2)
        return run.outputs()[0]

    assert asyncio.run(inside()) == 4


async def test_run_aio_in_pytest_asyncio_and_init_aio():
    await flyte.init.aio()
    run = await flyte.run.aio(fan_out, 3)
    assert run.outputs()[0] == [0, 2, 4]


def test_run_from_threads():
    results = {}

    def worker(i: int) -> None:
        results[i] = flyte.run(fan_out, i).outputs()[0]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: [2 * k for k in range(i)] for i in range(1, 5)}


def test_trace_cannot_start_tasks():
    e = flyte.TaskEnvironment(name="trace-env")

    @flyte.trace
    async def bad() -> int:
        return await double(1)

    @e.task
    async def top() -> int:
        return await bad()

    with pytest.raises(flyte.errors.TraceDoesNotAllowNestedTasksError):
        flyte.run(top)


def test_optional_and_dataclass_inputs_checked():
    e = flyte.TaskEnvironment(name="types-env")

    @dataclass
    class Point:
        x: int
        y: float

    @e.task
    async def norm(p: Point, scale: Optional[float] = None) -> float:
        return (p.x**2 + p.y**2) ** 0.5 * (scale or 1)

    assert flyte.run(norm, Point(3, 4.0)).outputs()[0] == 5.0
    assert flyte.run(norm, Point(3, 4), 2).outputs()[0] == 10.0  # int accepted for float
    with pytest.raises(TypeError) as ei:
        flyte.run(norm, {"x": 3, "y": 4})
    assert "'p'" in str(ei.value) and "Point" in str(ei.value)


def test_files_go_to_the_runs_raw_data_path(tmp_path):
    from flyte.io import Dir, File

    e = flyte.TaskEnvironment(name="files-env")
    src = tmp_path / "in.txt"
    src.write_text("hello file")

    @e.task
    async def make() -> File:
        return await File.from_local(str(src))

    @e.task
    def make_dir() -> Dir:
        d = tmp_path / "folder"
        d.mkdir(exist_ok=True)
        (d / "a.txt").write_text("a")
        (d / "b.txt").write_text("bb")
        return Dir.from_local_sync(str(d))

    @e.task
    async def read(f: File) -> str:
        async with f.open("rb") as fh:
            return (await fh.read()).decode()

    @e.task
    def sizes(d: Dir) -> list[int]:
        local = d.download_sync()
        import os

        return sorted(os.path.getsize(os.path.join(local, n)) for n in os.listdir(local))

    @e.task
    async def pipeline() -> tuple[File, str, list[int]]:
        f = await make()
        return f, await read(f), await sizes.aio(make_dir())

    raw = tmp_path / "raw"
    run = flyte.with_runcontext(raw_data_path=str(raw)).run(pipeline)
    f, text, sz = run.outputs()
    assert text == "hello file" and sz == [1, 2]
    assert f.path.startswith(str(raw)) or f.path.startswith("file://" + str(raw))
    assert any(p.name == "in.txt" for p in raw.rglob("*"))


def test_map_reports_a_failing_input_iterable_instead_of_hanging():
    e = flyte.TaskEnvironment(name="map-src")

    def source():
        yield 1
        raise LookupError("the input source broke")

    @e.task
    def parent() -> list[int]:
        return list(flyte.map(double, source()))

    # A hang would end in the test's timeout instead of this error.
    with pytest.raises(flyte.errors.RuntimeUserError, match="the input source broke"):
        flyte.run(parent)


def test_traced_async_generator_does_not_block_task_calls_between_steps():
    e = flyte.TaskEnvironment(name="trace-gen")

    @flyte.trace
    async def numbers(n: int):
        for i in range(n):
            yield i

    @e.task
    async def total(n: int) -> int:
        acc = 0
        async for i in numbers(n):
            acc += await double(i)
        return acc

    assert flyte.run(total, 4).outputs()[0] == 12


def test_sync_body_waiting_on_a_child_is_cancelled_with_its_caller():
    e = flyte.TaskEnvironment(name="orphans")
    finished = []

    @e.task
    async def child(s: float) -> str:
        await asyncio.sleep(s)
        finished.append("child")
        return "c"

    @e.task(timeout=1)
    def waiter() -> str:
        return child(3.0)

    @e.task
    async def root() -> str:
        try:
            return await waiter.aio()
        except flyte.errors.TaskTimeoutError:
            return "recovered"

    assert flyte.run(root).outputs()[0] == "recovered"
    # Had the root waited for the child, or the child gone on running, it would have finished
    # by now (this wait only makes the check stronger, it bounds no duration).
    time.sleep(2.5)
    assert finished == []  # the child was cancelled, not left running


def test_env_vars_are_restored_after_tasks_and_runs(monkeypatch):
    import os

    monkeypatch.delenv("MODE_X", raising=False)
    ea = flyte.TaskEnvironment(name="env-a", env_vars={"MODE_X": "a"})
    eb = flyte.TaskEnvironment(name="env-b", env_vars={"MODE_X": "b"})

    @ea.task
    async def in_a() -> str:
        await asyncio.sleep(0.05)
        return os.environ["MODE_X"]

    @eb.task
    async def in_b() -> str:
        return os.environ["MODE_X"]

    @env.task
    async def plain_after() -> str:
        return os.environ.get("MODE_X", "<unset>")

    @env.task
    async def top() -> list[str]:
        a = await in_a()
        b = await in_b()
        return [a, b, await plain_after()]

    assert flyte.with_runcontext(env_vars={"RUN_ONLY_X": "1"}).run(top).outputs()[0] == ["a", "b", "<unset>"]
    assert "MODE_X" not in os.environ and "RUN_ONLY_X" not in os.environ


def test_users_sigterm_handler_is_kept():
    import signal

    def mine(signum, frame):
        pass

    old = signal.signal(signal.SIGTERM, mine)
    try:
        flyte.run(double, 1)
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, old)
    flyte.run(double, 1)
    assert signal.getsignal(signal.SIGTERM) is old


def test_run_inputs_and_named_tuple_outputs_on_cache_hits():
    e = flyte.TaskEnvironment(name="nt-cache")

    class Pair(NamedTuple):
        a: int
        b: str

    @e.task(cache="auto")
    async def nt(x: int) -> Pair:
        return Pair(x, str(x))

    @e.task
    async def parent(x: int) -> list[str]:
        first = await nt(x)
        second = await nt(x)  # a cache hit
        return [type(first).__name__, type(second).__name__]

    run = flyte.run(parent, 5)
    assert run.outputs()[0] == ["Pair", "Pair"]
    assert run.inputs() == {"x": 5}
