"""flyte.extend's target selection, reachability probe, sizing, module check and remote calls."""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
import sys
import textwrap
from pathlib import Path

import pytest

import flyte
import flyte.errors
from flyte.extend import (
    MissingModuleError,
    RemoteTaskError,
    Target,
    container_call,
    local_size,
    probe_tcp,
    require_module,
    resolve_target,
)
from flyte.testing import free_port

SCHEMES = {"eng": "client", "http": "jobs"}


def test_target_order_job_then_config_then_environment_then_local(monkeypatch):
    monkeypatch.delenv("FLYTE_ENG_ADDRESS", raising=False)
    monkeypatch.delenv("ENG_JOB", raising=False)
    kw = dict(schemes=SCHEMES, bare="driver", words=("auto",), in_job_env=("ENG_JOB",), owner="EngConfig")
    assert resolve_target("eng", None, **kw) == Target("local")
    monkeypatch.setenv("FLYTE_ENG_ADDRESS", "http://h:1")
    assert resolve_target("eng", None, **kw) == Target("jobs", "http://h:1", "FLYTE_ENG_ADDRESS")
    assert resolve_target("eng", "eng://c:2", **kw) == Target("client", "eng://c:2", "EngConfig.address")
    assert resolve_target("eng", "  h:3 ", **kw).address == "h:3"
    assert resolve_target("eng", "auto", **kw).kind == "driver"
    monkeypatch.setenv("ENG_JOB", "1")
    assert resolve_target("eng", "eng://c:2", **kw).kind == "in-job"


def test_bad_addresses_name_the_field_the_value_and_the_forms(monkeypatch):
    kw = dict(schemes=SCHEMES, owner="EngConfig")
    with pytest.raises(flyte.errors.ValidationError, match=r"EngConfig: invalid address='ftp://x'.*'eng://\.\.\.'.*'http://\.\.\.'"):
        resolve_target("eng", "ftp://x", **kw)
    with pytest.raises(flyte.errors.ValidationError, match="host:port"):
        resolve_target("eng", "h:1", **{**kw, "bare": None, "allowed": "host:port is not allowed here"})
    with pytest.raises(flyte.errors.TypeValidationError, match="address"):
        resolve_target("eng", 42, **kw)
    monkeypatch.setenv("FLYTE_ENG_ADDRESS", "nonsense")
    with pytest.raises(flyte.errors.ValidationError, match="environment: invalid FLYTE_ENG_ADDRESS='nonsense'"):
        resolve_target("eng", None, **kw)


def test_the_config_file_section_gives_the_address_after_the_environment(monkeypatch, tmp_path):
    from flyte._config import reset_config

    cfg = tmp_path / "config.yaml"
    cfg.write_text("eng:\n  address: eng://from-file:7\n")
    monkeypatch.setenv("FLYTE_CONFIG", str(cfg))
    monkeypatch.delenv("FLYTE_ENG_ADDRESS", raising=False)
    reset_config()
    try:
        kw = dict(schemes=SCHEMES, bare="driver", owner="EngConfig")
        target = resolve_target("eng", None, **kw)
        assert (target.kind, target.address) == ("client", "eng://from-file:7")
        assert "eng.address" in target.source and str(cfg) in target.source
        monkeypatch.setenv("FLYTE_ENG_ADDRESS", "http://env:1")
        assert resolve_target("eng", None, **kw).address == "http://env:1"
        monkeypatch.delenv("FLYTE_ENG_ADDRESS")
        cfg.write_text("eng:\n  address: nonsense\n")
        reset_config()
        with pytest.raises(flyte.errors.ValidationError, match="config file: invalid eng.address"):
            resolve_target("eng", None, **kw)
    finally:
        monkeypatch.delenv("FLYTE_CONFIG")
        reset_config()


def test_probe_tcp_passes_for_a_listener_and_names_an_unreachable_address():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        asyncio.run(probe_tcp(f"eng://127.0.0.1:{s.getsockname()[1]}"))
    address = f"eng://127.0.0.1:{free_port()}"
    with pytest.raises(flyte.errors.ClusterUnreachableError) as info:
        asyncio.run(probe_tcp(address, timeout=2, hint="EngConfig.address"))
    assert info.value.address == address
    assert address in str(info.value) and "EngConfig.address" in str(info.value)
    assert isinstance(info.value, flyte.errors.RuntimeUserError)
    with pytest.raises(flyte.errors.ClusterUnreachableError, match="names no host and port"):
        asyncio.run(probe_tcp("eng://somewhere"))  # no default port for the scheme


def test_require_module_names_the_package():
    assert require_module("json", install="x") is importlib.import_module("json")
    with pytest.raises(MissingModuleError, match=r"pip install flyte-plugin-nothere") as info:
        require_module("nothere_module_xyz", install="flyte-plugin-nothere")
    assert isinstance(info.value, ImportError) and isinstance(info.value, flyte.errors.PluginError)


def test_local_size_from_resources():
    size = local_size(flyte.Resources(cpu=("500m", "2.5"), memory="1Gi", gpu="A100:2"))
    assert (size.cpus, size.memory, size.accelerators, size.device_class, size.gpus) == (3, 2**30, 2, "GPU", 2)
    assert local_size(None).cpus is None
    assert local_size(flyte.Resources(cpu=1)).memory is None


TASKS = textwrap.dedent(
    """
    from typing import NamedTuple
    import flyte

    env = flyte.TaskEnvironment(name="kit_remote")

    class Pair(NamedTuple):
        total: int
        label: str

    @env.task
    def add(a: int, b: int) -> Pair:
        return Pair(a + b, f"{a}+{b}")

    @env.task
    def broken(a: int) -> int:
        raise ValueError(f"broken {a}")
    """
)


@pytest.fixture
def remote_tasks(tmp_path: Path):
    root = tmp_path / "code"
    root.mkdir()
    (root / "kit_remote_tasks.py").write_text(TASKS)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("kit_remote_tasks")
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("kit_remote_tasks", None)


async def _run_locally(call) -> None:
    """A plugin's submit: here, the command as a plain local process (as a container runs it)."""
    env = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = await asyncio.create_subprocess_exec(*call.command, cwd=call.root_dir, env=env)
    await proc.wait()


def test_container_call_runs_the_task_as_a_command_and_reads_outputs(remote_tasks):
    flyte.init()
    out = asyncio.run(container_call(remote_tasks.add, {"a": 2, "b": 3}, _run_locally))
    assert out == remote_tasks.Pair(5, "2+3") and type(out).__name__ == "Pair"


def test_container_call_raises_from_the_error_document(remote_tasks):
    flyte.init()
    with pytest.raises(RemoteTaskError, match=r"task .*broken failed on the test engine: broken 7"):
        asyncio.run(container_call(remote_tasks.broken, {"a": 7}, _run_locally, where="on the test engine"))
