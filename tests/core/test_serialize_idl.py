"""Tasks -> flyteidl2 TaskTemplate / TaskSpec: every field, parsed back from bytes and compared."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import pytest
from flyteidl2.core import identifier_pb2, security_pb2, tasks_pb2, types_pb2
from google.protobuf.json_format import MessageToDict

import flyte
from flyte._serialize.command import task_command
from flyte._serialize.idl import QUEUE_TAG, serialize_task, serialize_task_spec
from flyte.errors import ValidationError
from flyte.extend import AsyncFunctionTaskTemplate, TaskTemplate, TypeTransformer, hookimpl
from flyte.models import NativeInterface, SerializationContext

SCTX = SerializationContext(project="proj", domain="dev", org="acme", version="v42")

env = flyte.TaskEnvironment(
    name="idl",
    resources=flyte.Resources(cpu=("1", "2"), memory="1Gi"),
    env_vars={"MODE": "test"},
)


@dataclass
class Point:
    x: float
    y: float


@env.task
async def compute(n: int, names: List[str], scale: float = 1.5, when: Optional[dt.datetime] = None) -> Dict[str, int]:
    """Count things."""
    return {s: n for s in names}


@env.task
def two(p: Point) -> tuple[str, int]:
    return "x", 1


gpu_env = flyte.TaskEnvironment(
    name="idl-gpu", resources=flyte.Resources(cpu=4, gpu="A100:2", shm="16Gi"), image="python:3.12-slim"
)


@gpu_env.task
async def train(epochs: int) -> float:
    return 0.0


base_image_env = flyte.TaskEnvironment(name="idl-img", image=flyte.Image.from_base("ghcr.io/acme/base:1.0"))


@base_image_env.task
async def on_base() -> None:
    return None


ref_env = flyte.TaskEnvironment(name="idl-ref", image=flyte.Image.from_ref_name("gpu"))


@ref_env.task
async def on_ref() -> None:
    return None


reuse_env = flyte.TaskEnvironment(name="idl-reuse", reusable=flyte.ReusePolicy(replicas=(1, 3), concurrency=2, idle_ttl=60))


@reuse_env.task
async def pooled(x: int) -> int:
    return x


secret_env = flyte.TaskEnvironment(
    name="idl-secret",
    secrets=[flyte.Secret(key="api-token", as_env_var="API_TOKEN"), flyte.Secret(key="cert", group="tls", mount="/etc/flyte/secrets")],
)


@secret_env.task
async def uses_secret() -> str:
    return "ok"


def roundtrip(t: tasks_pb2.TaskTemplate) -> tasks_pb2.TaskTemplate:
    return tasks_pb2.TaskTemplate.FromString(t.SerializeToString())


def variables(vm) -> Dict[str, Any]:
    return {v.key: v.value.type for v in vm.variables}


def test_id_type_and_interface():
    t = roundtrip(serialize_task(compute, SCTX))
    assert t.id.resource_type == identifier_pb2.ResourceType.TASK
    assert (t.id.project, t.id.domain, t.id.org, t.id.name, t.id.version) == ("proj", "dev", "acme", "idl.compute", "v42")
    assert t.type == "python" and t.task_type_version == 0
    ins = variables(t.interface.inputs)
    assert list(ins) == ["n", "names", "scale", "when"]  # declaration order
    assert ins["n"].simple == types_pb2.SimpleType.INTEGER
    assert ins["names"].collection_type.simple == types_pb2.SimpleType.STRING
    assert ins["scale"].simple == types_pb2.SimpleType.FLOAT
    assert ins["when"].WhichOneof("type") == "union_type"
    outs = variables(t.interface.outputs)
    assert list(outs) == ["o0"] and outs["o0"].map_value_type.simple == types_pb2.SimpleType.INTEGER
    # The literal types are exactly the type engine's.
    from flyte.types import TypeEngine

    assert ins["names"] == TypeEngine.to_literal_type(List[str])
    assert ins["when"] == TypeEngine.to_literal_type(Optional[dt.datetime])


def test_multiple_outputs_and_dataclass_inputs():
    from flyte.types import TypeEngine

    t = roundtrip(serialize_task(two, SCTX))
    assert variables(t.interface.inputs)["p"] == TypeEngine.to_literal_type(Point)
    outs = variables(t.interface.outputs)
    assert list(outs) == ["o0", "o1"]
    assert outs["o1"].simple == types_pb2.SimpleType.INTEGER


def test_container_image_args_env_and_resources():
    t = roundtrip(serialize_task(compute, SCTX))
    c = t.container
    assert c.image == flyte.Image.from_debian_base().uri  # image="auto"
    assert list(c.args) == task_command(compute, SCTX)
    assert list(c.args)[-4:] == ["module", __name__, "task", "compute"]
    assert {kv.key: kv.value for kv in c.env} == {"MODE": "test"}
    name = tasks_pb2.Resources.ResourceName.Name
    assert {name(r.name): r.value for r in c.resources.requests} == {"CPU": "1", "MEMORY": "1Gi"}
    assert {name(r.name): r.value for r in c.resources.limits} == {"CPU": "2"}
    assert not t.HasField("extended_resources")


def test_devices_go_to_resources_and_extended_resources():
    t = roundtrip(serialize_task(train, SCTX))
    assert t.container.image == "python:3.12-slim"
    name = tasks_pb2.Resources.ResourceName.Name
    assert {name(r.name): r.value for r in t.container.resources.requests} == {"CPU": "4", "GPU": "2"}
    accel = t.extended_resources.gpu_accelerator
    assert accel.device == "nvidia-tesla-a100"
    assert accel.device_class == tasks_pb2.GPUAccelerator.DeviceClass.NVIDIA_GPU
    assert t.extended_resources.shared_memory.size_limit == "16Gi"


def test_image_kinds():
    assert serialize_task(on_base, SCTX).container.image == "ghcr.io/acme/base:1.0"
    with pytest.raises(ValidationError, match=r"idl-ref\.on_ref.*image.*gpu"):
        serialize_task(on_ref, SCTX)
    flyte.init(images={"gpu": "ghcr.io/acme/gpu:2"})
    assert serialize_task(on_ref, SCTX).container.image == "ghcr.io/acme/gpu:2"


def test_metadata_defaults():
    m = roundtrip(serialize_task(compute, SCTX)).metadata
    assert m.retries.retries == 0
    assert not m.HasField("timeout") and not m.HasField("timeouts")
    assert m.discoverable is False and m.cache_serializable is False
    assert m.discovery_version  # identifies the code even with caching off
    assert m.interruptible is False
    assert m.generates_deck.value is False
    assert m.runtime.type == tasks_pb2.RuntimeMetadata.RuntimeType.FLYTE_SDK and m.runtime.flavor == "python"
    assert m.runtime.version == flyte.__version__
    assert not m.tags and m.pod_template_name == ""


def test_metadata_from_task_settings():
    task = compute.override(
        retries=flyte.RetryStrategy(count=3, backoff=flyte._retry.Backoff(base=2, factor=2.0, cap=60)),
        timeout=flyte.Timeout(max_runtime=dt.timedelta(minutes=5), max_queued_time=30, deadline=3600),
        cache=flyte.Cache(behavior="auto", version_override="v7", serialize=True, ignored_inputs=("scale",), max_age=86400),
        interruptible=True,
        report=True,
        queue="gpu-queue",
        pod_template="shared-template",
    )
    m = roundtrip(serialize_task(task, SCTX)).metadata
    assert m.retries.retries == 3
    assert m.retries.backoff.base.seconds == 2 and m.retries.backoff.factor == 2.0 and m.retries.backoff.cap.seconds == 60
    assert m.timeout.seconds == 300
    assert m.timeouts.queued_timeout.seconds == 30 and m.timeouts.deadline.seconds == 3600
    assert m.discoverable is True and m.discovery_version == "v7" and m.cache_serializable is True
    assert list(m.cache_ignore_input_vars) == ["scale"]
    assert m.cache_max_age.seconds == 86400
    assert m.interruptible is True and m.generates_deck.value is True
    assert m.tags[QUEUE_TAG] == "gpu-queue"
    assert m.pod_template_name == "shared-template"


def test_int_retries_timeout_and_auto_cache_version_tracks_the_code():
    task = compute.override(retries=2, timeout=90, cache="auto")
    m = serialize_task(task, SCTX).metadata
    assert m.retries.retries == 2 and m.timeout.seconds == 90
    from flyte._cache import compute_cache_version

    assert m.discoverable and m.discovery_version == compute_cache_version("auto", compute.func, image=compute.image)


def test_ignored_cache_input_must_exist():
    task = compute.override(cache=flyte.Cache(behavior="auto", ignored_inputs=("nope",)))
    with pytest.raises(ValidationError, match=r"task idl\.compute.*ignored_inputs.*nope"):
        serialize_task(task, SCTX)


def test_secrets_are_references_only(monkeypatch):
    monkeypatch.setenv("API_TOKEN", "super-secret-value-123")
    t = roundtrip(serialize_task(uses_secret, SCTX))
    secrets = list(t.security_context.secrets)
    assert [(s.group, s.key, s.env_var) for s in secrets] == [("", "api-token", "API_TOKEN"), ("tls", "cert", "")]
    assert secrets[0].mount_requirement == security_pb2.Secret.MountType.ENV_VAR
    assert secrets[1].mount_requirement == security_pb2.Secret.MountType.FILE
    assert b"super-secret-value-123" not in t.SerializeToString()


def test_secret_value_in_env_vars_is_refused(monkeypatch):
    monkeypatch.setenv("API_TOKEN", "super-secret-value-123")
    leaking = uses_secret.override(env_vars={"OTHER": "Bearer super-secret-value-123"})
    with pytest.raises(ValidationError) as e:
        serialize_task(leaking, SCTX)
    msg = str(e.value)
    assert "idl-secret.uses_secret" in msg and "api-token" in msg and "container.env" in msg
    assert "super-secret-value-123" not in msg
    shadow = uses_secret.override(env_vars={"API_TOKEN": "literal"})
    with pytest.raises(ValidationError, match=r"env_vars\['API_TOKEN'\].*api-token"):
        serialize_task(shadow, SCTX)


def test_reuse_policy():
    t = roundtrip(serialize_task(pooled, SCTX))
    rp = t.reuse_policy
    assert (rp.min_replicas, rp.max_replicas, rp.concurrency) == (1, 3, 2)
    assert rp.idle_ttl.seconds == 60 and rp.scope == tasks_pb2.ReusePolicy.GLOBAL
    assert rp.name == "idl-reuse" and rp.version == "v42"


def test_pod_template_makes_a_k8s_pod_with_the_task_container():
    template = flyte.PodTemplate(
        primary_container_name="main",
        pod_spec={"containers": [{"name": "main", "workingDir": "/w"}, {"name": "sidecar", "image": "busybox"}]},
        labels={"team": "ml"},
    )
    t = roundtrip(serialize_task(compute.override(pod_template=template), SCTX))
    assert t.WhichOneof("target") == "k8s_pod"
    pod = t.k8s_pod
    assert pod.primary_container_name == "main" and t.config["primary_container_name"] == "main"
    assert dict(pod.metadata.labels) == {"team": "ml"}
    spec = MessageToDict(pod.pod_spec)
    main = next(c for c in spec["containers"] if c["name"] == "main")
    assert main["workingDir"] == "/w"  # the user's field is kept
    assert main["args"] == task_command(compute, SCTX)
    assert {"name": "MODE", "value": "test"} in main["env"]
    assert main["resources"]["requests"]["cpu"] == "1"
    assert any(c["name"] == "sidecar" for c in spec["containers"])


# ---------------------------------------------------------------------------------------------
# Plugin tasks: custom, config, sql, container args from the hook
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueryConfig:
    dialect: str = "ansi"


@dataclass(kw_only=True)
class QueryTask(AsyncFunctionTaskTemplate):
    task_type: str = "query"
    task_type_version: int = 2

    def custom_config(self, sctx: SerializationContext) -> Dict[str, Any]:
        return {"dialect": self.plugin_config.dialect, "workers": 3, "nested": {"on": True}}

    def config(self, sctx: SerializationContext) -> Dict[str, str]:
        return {"engine": "duck"}


class RawSqlTask(TaskTemplate):
    def sql(self, sctx: SerializationContext) -> Optional[str]:
        return "SELECT 1"


class _QueryPlugin:
    @hookimpl
    def flyte_register_task_plugins(self, registry):
        registry.register(config_type=QueryConfig, plugin=QueryTask)


def test_plugin_task_custom_config_and_type(fresh_plugin_registry):
    fresh_plugin_registry.manager.register(_QueryPlugin())
    qenv = flyte.TaskEnvironment(name="idl-query", plugin_config=QueryConfig(dialect="duckdb"))

    async def query(q: str) -> int:
        return 1

    globals()["query"] = task = qenv.task(query)
    try:
        t = roundtrip(serialize_task(task, SCTX))
    finally:
        del globals()["query"]
    assert t.type == "query" and t.task_type_version == 2
    assert MessageToDict(t.custom) == {"dialect": "duckdb", "workers": 3.0, "nested": {"on": True}}
    assert dict(t.config) == {"engine": "duck"}
    assert {kv.key: kv.value for kv in t.container.config} == {"engine": "duck"}


def test_the_task_types_container_command_handler_wins(fresh_plugin_registry):
    @dataclass(frozen=True)
    class RunnerConfig:
        pass

    @dataclass(kw_only=True)
    class RunnerTask(AsyncFunctionTaskTemplate):
        task_type: str = "runner"

    fresh_plugin_registry.registry.register(
        RunnerConfig, RunnerTask, container_command=lambda task, sctx: ["custom-runner", task.name]
    )
    def body() -> None:
        pass

    task = RunnerTask(name="idl.runner", interface=NativeInterface(inputs={}, outputs={}), func=body,
                      plugin_config=RunnerConfig(), image="python:3.11-slim")
    assert list(serialize_task(task, SCTX).container.args) == ["custom-runner", "idl.runner"]
    assert list(serialize_task(compute, SCTX).container.args)[0] == "flyte-execute"


def test_sql_task_has_sql_and_no_container():
    task = RawSqlTask(name="idl.sql", interface=NativeInterface(inputs={}, outputs={}), task_type="sql")
    globals()["sql_task"] = task
    try:
        t = roundtrip(serialize_task(task, SCTX))
    finally:
        del globals()["sql_task"]
    assert t.sql.statement == "SELECT 1"
    assert t.WhichOneof("target") == "sql"


# ---------------------------------------------------------------------------------------------
# Errors and the task spec
# ---------------------------------------------------------------------------------------------
class Opaque:
    pass


class _RefusingTransformer(TypeTransformer):
    def __init__(self):
        super().__init__("refusing", Opaque)

    def get_literal_type(self, t):
        raise ValueError("no wire form for Opaque")


def test_unserializable_input_type_names_task_input_and_type(fresh_plugin_registry):
    from flyte.types import TypeEngine

    TypeEngine.register(_RefusingTransformer())
    oenv = flyte.TaskEnvironment(name="idl-opaque")

    async def takes_opaque(o: Opaque) -> int:
        return 1

    task = oenv.task(takes_opaque)
    with pytest.raises(ValidationError) as e:
        serialize_task(task, SCTX)
    msg = str(e.value)
    assert "task idl-opaque.takes_opaque" in msg and "input 'o'" in msg and "Opaque" in msg


def test_task_defined_inside_a_function_cannot_be_located():
    lenv = flyte.TaskEnvironment(name="idl-local")

    @lenv.task
    async def hidden(x: int) -> int:
        return x

    with pytest.raises(ValidationError, match=r"task idl-local\.hidden.*top level of a module"):
        serialize_task(hidden, SCTX)


def test_task_spec_carries_default_inputs_short_name_and_environment():
    spec = asyncio.run(serialize_task_spec(compute, SCTX))
    assert spec.task_template.id.name == "idl.compute"
    assert spec.short_name == "compute" and spec.environment.name == "idl"
    defaults = {p.name: p.parameter for p in spec.default_inputs}
    assert set(defaults) == {"scale", "when"}
    assert defaults["scale"].default.scalar.primitive.float_value == 1.5
    assert defaults["scale"].var.type.simple == types_pb2.SimpleType.FLOAT


def test_serialization_is_deterministic():
    a = serialize_task(compute, SCTX).SerializeToString(deterministic=True)
    b = serialize_task(compute, SCTX).SerializeToString(deterministic=True)
    assert a == b


def test_importing_flyte_and_defining_tasks_loads_no_protobuf():
    import subprocess
    import sys

    code = (
        "import sys, flyte\n"
        "env = flyte.TaskEnvironment(name='x')\n"
        "@env.task\n"
        "async def f(a: int) -> int: return a\n"
        "import flyte._serialize.idl, flyte._serialize.command, flyte._deploy\n"
        "bad = [m for m in sys.modules if m.startswith(('google.protobuf', 'flyteidl2', 'yaml', 'fsspec', 'kubernetes'))]\n"
        "print(bad)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_task_in_a_script_run_as_main_is_located_by_its_file(tmp_path):
    import json
    import subprocess
    import sys

    (tmp_path / "jobs").mkdir()
    script = tmp_path / "jobs" / "nightly.py"
    script.write_text(
        "import json, sys\n"
        "from pathlib import Path\n"
        "import flyte\n"
        "from flyte._serialize.command import task_command\n"
        "from flyte.models import SerializationContext\n"
        "env = flyte.TaskEnvironment(name='nightly')\n"
        "@env.task\n"
        "async def report(n: int) -> int:\n"
        "    return n\n"
        "if __name__ == '__main__':\n"
        "    root = Path(sys.argv[1])\n"
        "    print(json.dumps(task_command(report, SerializationContext(root_dir=root))))\n"
    )
    res = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)[-4:] == ["module", "jobs.nightly", "task", "report"]
    # Outside the root directory a container could not import it: a clear error.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = subprocess.run([sys.executable, str(script), str(elsewhere)], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0
    assert "task nightly.report" in res.stderr and "root directory" in res.stderr
