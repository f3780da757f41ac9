"""flyte.extras: Sleep tasks, the dynamic batchers, ContainerTask, and the extras not available yet."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

import flyte
from flyte.errors import PluginNotFoundError, TaskTimeoutError, ValidationError
from flyte.io import File
from flyte.extras import BatchStats, ContainerTask, DynamicBatcher, Prompt, Sleep, SleepTask, TokenBatcher

FAKE_CLI = Path(__file__).parent / "data" / "fake_container_cli.py"

# -- Sleep ---------------------------------------------------------------------------------------

sleep_env = flyte.TaskEnvironment(name="extras-sleep", plugin_config=Sleep())
plain_env = flyte.TaskEnvironment(name="extras-plain")


@sleep_env.task
async def nap(duration: dt.timedelta) -> None:
    raise AssertionError("a Sleep task's body never runs")


@plain_env.task
async def naps(n: int) -> int:
    await asyncio.gather(*(nap(dt.timedelta(milliseconds=20)) for _ in range(n)))
    return n


def test_a_sleep_task_only_waits(isolated_flyte_home):
    assert isinstance(nap, SleepTask) and nap.task_type == "core-sleep"
    assert flyte.run(naps, 5).outputs()[0] == 5


def test_a_sleep_is_cancellable(isolated_flyte_home):
    @plain_env.task(timeout=0.2)
    async def long_nap() -> None:
        await nap(dt.timedelta(hours=1))

    with pytest.raises(TaskTimeoutError):
        flyte.run(long_nap)  # an hour-long sleep stops at the caller's timeout


def test_sleep_tasks_are_checked(isolated_flyte_home):
    with pytest.raises(ValidationError, match="outputs.*returns nothing"):

        @sleep_env.task
        async def with_output(duration: dt.timedelta) -> int: ...

    with pytest.raises(ValidationError, match="exactly one input, typed datetime.timedelta"):

        @sleep_env.task
        async def seconds(seconds: int) -> None: ...

    with pytest.raises(ValidationError, match="zero or more"):
        flyte.run(nap, dt.timedelta(seconds=-1))


def test_an_unregistered_plugin_config_is_a_value_error():
    class NotAPluginConfig:
        pass

    env = flyte.TaskEnvironment(name="extras-unregistered", plugin_config=NotAPluginConfig())
    with pytest.raises(ValueError) as ei:

        @env.task
        async def t() -> None: ...

    assert isinstance(ei.value, PluginNotFoundError) and "NotAPluginConfig" in str(ei.value)


# -- batchers ------------------------------------------------------------------------------------


def test_the_dynamic_batcher_batches_concurrent_producers():
    seen: list = []

    async def double(batch: list) -> list:
        seen.append(list(batch))
        if "bad" in batch:
            raise ValueError("bad record")
        return [x * 2 for x in batch]

    async def main() -> tuple:
        async with DynamicBatcher(double, max_batch_size=4, target_batch_cost=10, batch_timeout_s=0.05) as b:
            futures = await asyncio.gather(*(b.submit(i, estimated_cost=3) for i in range(10)))
            results = await asyncio.gather(*futures)
            errors = await asyncio.gather(await b.submit("bad"), return_exceptions=True)
            after = await asyncio.gather(*await b.submit_batch([100, 200]))
        return results, errors, after, b.stats, b.is_running

    results, errors, after, stats, running = asyncio.run(main())
    assert results == [i * 2 for i in range(10)]
    assert all(len(batch) <= 4 and 3 * len(batch) < 10 + 3 for batch in seen)  # size cap and cost budget
    assert isinstance(errors[0], ValueError) and after == [200, 400]  # a failed batch fails only its records
    assert isinstance(stats, BatchStats) and stats.total_submitted == stats.total_completed == 13
    assert stats.total_batches == len(seen) and 0.0 <= stats.utilization <= 1.0 and running is False


def test_min_batch_size_waits_for_records_and_stop_flushes_the_rest():
    sizes: list = []

    async def proc(batch: list) -> list:
        sizes.append(len(batch))
        return batch

    async def main() -> list:
        b = DynamicBatcher(proc, min_batch_size=3, batch_timeout_s=0.0)
        await b.start()
        with pytest.raises(RuntimeError, match="already running"):
            await b.start()
        first = [await b.submit(i) for i in range(4)]
        await asyncio.sleep(0.05)
        await b.stop()
        with pytest.raises(RuntimeError, match="not running"):
            await b.submit(9)
        return await asyncio.gather(*first)

    assert asyncio.run(main()) == [0, 1, 2, 3]
    assert sum(sizes) == 4 and all(s >= 3 for s in sizes[:-1])


def test_token_batcher_uses_token_estimates():
    async def infer(batch: list) -> list:
        return [len(batch)] * len(batch)

    async def main() -> list:
        async with TokenBatcher(inference_fn=infer, target_batch_tokens=5, batch_timeout_s=0.05) as b:
            assert b._estimate_cost(Prompt("x" * 16), None) == 5
            futures = [await b.submit(Prompt("x" * 16)) for _ in range(3)]  # 5 tokens each: one per batch
            futures.append(await b.submit("plain", estimated_tokens=1))
            return await asyncio.gather(*futures)

    assert asyncio.run(main())[:3] == [1, 1, 1]
    with pytest.raises(TypeError, match="inference_fn"):
        TokenBatcher()


def test_batcher_arguments_are_checked():
    async def fn(batch: list) -> list:
        return batch

    with pytest.raises(ValidationError, match="max_batch_size=0"):
        DynamicBatcher(fn, max_batch_size=0)
    with pytest.raises(ValidationError, match="min_batch_size"):
        DynamicBatcher(fn, min_batch_size=5, max_batch_size=2)

    async def wrong_count() -> None:
        async with DynamicBatcher(lambda batch: asyncio.sleep(0, [1])) as b:
            futures = [await b.submit(i) for i in range(2)]
            await asyncio.sleep(0.1)
            with pytest.raises(ValidationError, match="one per record"):
                await asyncio.gather(*futures)

    asyncio.run(wrong_count())


# -- ContainerTask -------------------------------------------------------------------------------

add = ContainerTask(
    name="container-add",
    image="alpine:3.20",
    inputs={"a": int, "b": int, "flag": bool, "notes": File},
    outputs={"total": int, "echoed": str, "summary": File},
    command=[
        "sh",
        "-c",
        "expr $(cat /var/inputs/a) + {{.inputs.b}} > /var/outputs/total; echo {{.inputs.flag}} > /var/outputs/echoed; "
        "wc -l < /var/inputs/notes > /var/outputs/summary; echo staged",
    ],
)
container_env = flyte.TaskEnvironment.from_task("extras-container", add)


@pytest.fixture
def fake_runtime(tmp_path, monkeypatch) -> Path:
    cli = tmp_path / "fake-docker"
    cli.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_CLI} \"$@\"\n")
    cli.chmod(cli.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("FLYTE_CONTAINER_RUNTIME", str(cli))
    monkeypatch.setenv("FAKE_CONTAINER_LOG", str(tmp_path / "calls.log"))
    return tmp_path / "calls.log"


def test_a_container_task_runs_through_the_container_cli(isolated_flyte_home, fake_runtime, tmp_path, capfd):
    notes = tmp_path / "notes.txt"
    notes.write_text("one\ntwo\nthree\n")
    run = flyte.run(add, a=2, b=3, flag=True, notes=File.from_local_sync(str(notes)))
    total, echoed, summary = run.outputs()
    assert (total, echoed) == (5, "true")
    assert Path(summary.path).read_text().strip() == "3"
    calls = fake_runtime.read_text()
    assert "run --rm --name flyte-container-add-" in calls and " alpine:3.20 sh -c " in calls
    assert ":/var/inputs:ro" in calls and ":/var/outputs" in calls
    assert "[container-add] staged" in capfd.readouterr().out


def test_a_failing_container_names_its_exit_code_and_last_lines(isolated_flyte_home, fake_runtime):
    fails = ContainerTask(name="container-fails", image="alpine:3.20", command=["sh", "-c", "echo broken >&2; exit 3"])
    with pytest.raises(Exception) as ei:
        flyte.run(fails)
    assert "exited with code 3" in str(ei.value) and "broken" in str(ei.value)


def test_without_a_container_runtime_the_error_says_so(isolated_flyte_home, monkeypatch, tmp_path):
    monkeypatch.delenv("FLYTE_CONTAINER_RUNTIME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker, no podman
    with pytest.raises(Exception) as ei:
        flyte.run(add, a=1, b=2, flag=False, notes=File(path=__file__))
    assert "neither docker nor podman is on PATH" in str(ei.value)
    monkeypatch.setenv("FLYTE_CONTAINER_RUNTIME", str(tmp_path / "nope"))
    with pytest.raises(Exception, match="FLYTE_CONTAINER_RUNTIME=.*is not an executable"):
        flyte.run(add, a=1, b=2, flag=False, notes=File(path=__file__))


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
def test_a_docker_without_its_daemon_is_a_clear_error(isolated_flyte_home, monkeypatch):
    from flyte.extras import _container

    if os.system("docker info >/dev/null 2>&1") == 0:
        pytest.skip("a docker daemon runs here")
    monkeypatch.setenv("FLYTE_CONTAINER_RUNTIME", "docker")
    monkeypatch.setattr(_container, "_runtime_checked", {})
    with pytest.raises(Exception, match="does not answer"):
        flyte.run(add, a=1, b=2, flag=False, notes=File(path=__file__))


def test_a_container_task_serializes_and_has_manifests_like_any_task():
    from flyte._serialize.idl import serialize_task
    from flyte.models import SerializationContext

    template = serialize_task(add, SerializationContext())
    assert template.type == "raw-container"
    assert list(template.container.args) == add.command
    assert template.container.image == "alpine:3.20"
    assert template.container.data_config.input_path == "/var/inputs"
    assert template.container.data_config.output_path == "/var/outputs"
    assert {v.key for v in template.interface.inputs.variables} == {"a", "b", "flag", "notes"}
    deployment = flyte.deploy(container_env, dry_run=True)
    pods = [m for m in _manifests(deployment) if m["kind"] == "Pod"]
    assert pods and pods[0]["spec"]["containers"][0]["args"] == add.command
    assert pods[0]["spec"]["containers"][0]["image"] == "alpine:3.20"


def _manifests(obj, depth=0):
    if depth > 10:
        return
    if isinstance(obj, dict) and "kind" in obj and "apiVersion" in obj:
        yield obj
        return
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _manifests(o, depth + 1)
    elif hasattr(obj, "__dict__"):
        for v in vars(obj).values():
            yield from _manifests(v, depth + 1)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _manifests(v, depth + 1)


def test_a_container_task_takes_the_published_signature():
    t = ContainerTask("positional", "alpine:3.20", ["echo", "{{.inputs.x}}"], inputs={"x": int}, retries=2)
    assert (t.name, t.image, t.command, t.task_type, t.retries) == ("positional", "alpine:3.20", ["echo", "{{.inputs.x}}"], "raw-container", 2)
    again = t.override(retries=1)
    assert isinstance(again, ContainerTask) and again.retries == 1 and again.command == t.command


def test_container_task_arguments_are_checked():
    with pytest.raises(ValidationError, match="command"):
        ContainerTask(name="c", image="alpine", command=[])
    with pytest.raises(ValidationError, match=r"\{\{.inputs.y\}\}"):
        ContainerTask(name="c", image="alpine", command=["echo", "{{.inputs.y}}"], inputs={"x": int})
    with pytest.raises(ValidationError, match="image"):
        ContainerTask(name="c", image="auto", command=["true"])
    with pytest.raises(ValidationError, match="absolute path"):
        ContainerTask(name="c", image="alpine", command=["true"], output_data_dir="out")


# -- the extras not available yet ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["webhooks", "shell", "model_streamer"])
def test_the_published_extras_not_available_yet_say_so(name):
    with pytest.raises(ImportError, match=f"flyte.extras.{name} .* is not available in this SDK yet"):
        importlib.import_module(f"flyte.extras.{name}")
    import flyte.extras

    with pytest.raises(ImportError, match="not available in this SDK yet"):
        getattr(flyte.extras, name)


def test_the_published_serialize_helpers_point_to_deploy():
    import flyte.extras

    with pytest.raises(AttributeError, match="dry-run"):
        flyte.extras.serialize  # noqa: B018

