"""flyte.extend: the pinned public facade for plugin authors, and its helpers."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile

import pytest

import flyte.extend
from flyte._resources import GPU, TPU, Resources
from flyte.errors import TypeValidationError, ValidationError
from flyte.models import CodeBundle

EXPECTED = {
    "PRIMARY_CONTAINER_DEFAULT_NAME",
    "AsyncFunctionTaskTemplate",
    "ImageBuildEngine",
    "ImageBuilder",
    "ImageChecker",
    "TaskPluginRegistry",
    "TaskTemplate",
    "TypeEngine",
    "TypeTransformer",
    "download_code_bundle",
    "get_proto_extended_resources",
    "get_proto_resources",
    "hookimpl",
    "hookspec",
    "is_initialized",
    "lazy_module",
    "pod_spec_from_resources",
    "K8sSettings",
    "apply_shm",
    "container_resources",
    "device_scheduling",
    "merge_pod_template",
    "task_pod_spec",
    # User code locations.
    "ModuleLocation",
    "task_module_location",
    # packaging
    "require_core",
    # lazy type registration
    "register_lazy",
    # Kubernetes mapping shared by every plugin's custom resources, and the container command.
    "TaskParts",
    "check_no_nulls",
    "container_command",
    "dns_label",
    "env_list",
    "finish_pod_spec",
    "label_value",
    "object_metadata",
    "replica_pod_template",
    "resolve_image_uri",
    "task_pod",
    # The plugin kit.
    "ChildProcess",
    "ChildStartError",
    "EngineSession",
    "LocalSize",
    "Lease",
    "MissingModuleError",
    "RemoteCall",
    "RemoteTaskError",
    "RuntimeConflictError",
    "RuntimeOwner",
    "SessionTaskTemplate",
    "Target",
    "check_address",
    "collect_outputs",
    "container_call",
    "host_port",
    "idle_timeout",
    "local_size",
    "module_root",
    "note_secret_values",
    "open_cancellably",
    "prepare_remote_call",
    "read_remote_error",
    "probe_tcp",
    "redact",
    "require_module",
    "resolve_target",
    "run_on_supervisor",
    "runtime_owner",
    "start_child",
    "stop_pids",
    "stop_runtimes",
    "AppStartError",
    "LocalAppServer",
    "PortInUseError",
    "ThreadAppServer",
}

# What the published Ray, Spark and PyTorch plugins import from flyte.extend.
PUBLISHED_PLUGIN_IMPORTS = {
    "AsyncFunctionTaskTemplate",
    "TaskPluginRegistry",
    "get_proto_extended_resources",
    "get_proto_resources",
    "pod_spec_from_resources",
}


def test_all_is_pinned():
    assert set(flyte.extend.__all__) == EXPECTED
    assert len(flyte.extend.__all__) == len(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_exported_name_resolves_and_is_documented(name):
    obj = getattr(flyte.extend, name)
    assert obj is not None
    if callable(obj) and name not in ("hookimpl", "hookspec", "TaskPluginRegistry"):
        assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_published_plugins_imports_exist():
    assert PUBLISHED_PLUGIN_IMPORTS <= set(flyte.extend.__all__)
    from flyte._task import AsyncFunctionTaskTemplate

    assert flyte.extend.AsyncFunctionTaskTemplate is AsyncFunctionTaskTemplate


def test_importing_flyte_extend_is_light():
    code = (
        "import sys, flyte, flyte.extend\n"
        "heavy = ['kubernetes', 'flyteidl2', 'google.protobuf', 'numpy', 'pandas', 'pyarrow', 'grpc', 'yaml',"
        " 'fsspec', 'flyte._task', 'flyte.types']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        flyte.extend.nope  # noqa: B018


# -- resources helpers -----------------------------------------------------------------------


def _entries(entries):
    from flyteidl2.core import tasks_pb2

    return {tasks_pb2.Resources.ResourceName.Name(e.name): e.value for e in entries}


def test_get_proto_resources_requests_limits_and_devices():
    res = flyte.extend.get_proto_resources(Resources(cpu=("1", "2"), memory="1Gi", gpu="A100:2", disk="10Gi"))
    assert _entries(res.requests) == {"CPU": "1", "MEMORY": "1Gi", "EPHEMERAL_STORAGE": "10Gi", "GPU": "2"}
    assert _entries(res.limits) == {"CPU": "2", "GPU": "2"}
    assert flyte.extend.get_proto_resources(None) is None
    assert flyte.extend.get_proto_resources(Resources()) is None
    # A TPU slice requests all of its chips.
    assert _entries(flyte.extend.get_proto_resources(Resources(gpu=TPU("V5P", "2x2x1"))).requests) == {"GPU": "4"}


def test_get_proto_extended_resources():
    from flyteidl2.core import tasks_pb2

    ext = flyte.extend.get_proto_extended_resources(Resources(gpu=GPU("A100", 1, "1g.5gb"), shm="16Gi"))
    assert ext.gpu_accelerator.device == "nvidia-tesla-a100"
    assert ext.gpu_accelerator.partition_size == "1g.5gb"
    assert ext.gpu_accelerator.device_class == tasks_pb2.GPUAccelerator.NVIDIA_GPU
    assert (ext.shared_memory.mount_path, ext.shared_memory.mount_name, ext.shared_memory.size_limit) == (
        "/dev/shm", "flyte-shm", "16Gi",
    )
    tpu = flyte.extend.get_proto_extended_resources(Resources(gpu=TPU("V6E", "2x4")))
    assert (tpu.gpu_accelerator.device, tpu.gpu_accelerator.device_class) == ("tpu-v6e-slice", tasks_pb2.GPUAccelerator.GOOGLE_TPU)
    assert flyte.extend.get_proto_extended_resources(Resources(gpu=2)) is None  # a count names no model
    assert flyte.extend.get_proto_extended_resources(None) is None


def test_pod_spec_from_resources():
    from kubernetes.client import V1PodSpec

    spec = flyte.extend.pod_spec_from_resources(
        primary_container_name="ray-head",
        requests=Resources(cpu=1, memory="2Gi", gpu="T4:1", shm="auto"),
        limits=Resources(cpu=4),
        k8s_gpu_resource_key="nvidia.com/gpu",
    )
    assert isinstance(spec, V1PodSpec)
    [c] = spec.containers
    assert c.name == "ray-head"
    assert c.resources.requests == {"cpu": "1", "memory": "2Gi", "nvidia.com/gpu": "1"}
    assert c.resources.limits == {"cpu": "4", "memory": "2Gi", "nvidia.com/gpu": "1"}
    assert spec.volumes[0].empty_dir.medium == "Memory" and spec.volumes[0].empty_dir.size_limit is None
    assert c.volume_mounts[0].mount_path == "/dev/shm"
    plain = flyte.extend.pod_spec_from_resources()
    assert plain.containers[0].name == flyte.extend.PRIMARY_CONTAINER_DEFAULT_NAME
    assert plain.containers[0].resources.requests is None


# -- other helpers -------------------------------------------------------------------------


def test_lazy_module_imports_on_first_use():
    code = (
        "import sys\nfrom flyte.extend import lazy_module\n"
        "m = lazy_module('json')\nassert 'json' not in sys.modules or m is sys.modules['json']\n"
        "print(m.dumps([1]))\nmissing = lazy_module('no_such_module_xyz')\n"
        "try:\n    missing.x\nexcept ImportError as e:\n    print('missing:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "[1]" in out and "no_such_module_xyz" in out


def test_image_build_engine_computes_the_uri():
    engine = flyte.extend.ImageBuildEngine
    assert engine.build("ghcr.io/acme/img:1.0") == "ghcr.io/acme/img:1.0"

    class FakeImage:
        uri = "ghcr.io/acme/app:abc123"

    assert engine.build(FakeImage(), dry_run=True) == "ghcr.io/acme/app:abc123"
    with pytest.raises(TypeValidationError, match="image"):
        engine.build(42)
    with pytest.raises(ValidationError, match="builder='docker'"):
        engine.build("img:1", builder="docker")

    built = []

    class Recorder:
        def build_image(self, image, dry_run=False):
            built.append((image, dry_run))
            return "registry/x:1"

    assert engine.build("x:1", builder=Recorder(), force=True) == "registry/x:1"
    assert built == [("x:1", False)]


def test_download_code_bundle_unpacks_a_tarball(tmp_path):
    tgz = tmp_path / "bundle.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        data = b"VALUE = 7\n"
        info = tarfile.TarInfo("pkg/mod.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    dest = tmp_path / "code"
    bundle = flyte.extend.download_code_bundle(CodeBundle(computed_version="v1", destination=str(dest), tgz=str(tgz)))
    assert bundle.downloaded_path == str(dest.resolve())
    assert (dest / "pkg" / "mod.py").read_text() == "VALUE = 7\n"
    assert flyte.extend.download_code_bundle(bundle) is bundle  # already downloaded
    with pytest.raises(ValidationError, match="code_bundle"):
        flyte.extend.download_code_bundle(CodeBundle(computed_version="v1"))


def test_is_initialized_tracks_init():
    import flyte

    assert flyte.extend.is_initialized() is False
    flyte.init()
    assert flyte.extend.is_initialized() is True
