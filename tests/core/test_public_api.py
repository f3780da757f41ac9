"""The documented public API: every name of the API documents exists, and `import flyte` stays light."""

import subprocess
import sys

import flyte
import flyte.models


# The names of the flyte 2.0 API document (classes, protocols, methods, variables) this
# package provides.
DOCUMENTED = """
Cache Cron Device Environment FixedRate Image ImageBuild PodTemplate Resources RetryStrategy
ReusePolicy Secret TaskEnvironment Timeout Trigger CachePolicy Link AMD_GPU GPU HABANA_GAUDI
Neuron TPU build build_images ctx current_domain current_project custom_context deploy
get_custom_context group init init_from_api_key init_from_config init_in_cluster
init_passthrough map run trace version with_runcontext TimeoutType TriggerTime __version__
logger TaskTemplate AsyncFunctionTaskTemplate SecretRequest CacheRequest Documentation
serve with_servecontext AppHandle
""".split()


# Public names beyond the API document; each is also in the published SDK's ``flyte.__all__``.
EXTRA = {"Backoff", "DeviceClass", "system_logger"}


def test_every_documented_name_exists_and_is_exported():
    missing = [n for n in DOCUMENTED if not hasattr(flyte, n)]
    assert missing == []
    not_exported = [n for n in DOCUMENTED if n not in flyte.__all__]
    assert not_exported == []


def test_all_is_pinned_both_ways():
    # Nothing documented is missing, and nothing is exported that is not pinned here: a new
    # public name is a decision, made by adding it to DOCUMENTED or EXTRA.
    assert set(flyte.__all__) == set(DOCUMENTED) | EXTRA
    assert len(flyte.__all__) == len(set(flyte.__all__))


def test_all_matches_what_the_module_exposes():
    for name in flyte.__all__:
        assert hasattr(flyte, name), name
    public = {n for n in dir(flyte) if not n.startswith("_")}
    # Submodules imported on the way (flyte.errors, flyte.models, ...) are attributes, not exports.
    import types

    unexported = {n for n in public - set(flyte.__all__) if not isinstance(getattr(flyte, n), types.ModuleType)}
    assert unexported == set()
    assert "errors" in dir(flyte) and "importlib" not in dir(flyte)


def _type_checking_imports(path) -> set:
    import ast

    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom):
                    names |= {a.asname or a.name for a in sub.names}
                elif isinstance(sub, ast.Assign):
                    names |= {t.id for t in sub.targets if isinstance(t, ast.Name)}
    return names


def test_the_facades_are_typed():
    # Lazy names are resolved by __getattr__ (typed Any); a type checker sees their real types
    # only through the TYPE_CHECKING imports, so every lazy name must have one.
    from pathlib import Path

    import flyte.extend

    root = Path(flyte.__file__).parent
    assert set(flyte._LAZY) - _type_checking_imports(root / "__init__.py") == set()
    assert set(flyte.extend._LAZY) - _type_checking_imports(root / "extend.py") == set()


def test_models_compat_names():
    for name in ("NativeInterface", "TaskContext", "SerializationContext", "ActionID", "RawDataPath", "CodeBundle"):
        assert hasattr(flyte.models, name)
    iface = flyte.models.NativeInterface.from_types({"x": (int, flyte.models.NativeInterface.has_default)}, {"o0": str}, {"x": 1})
    assert iface.inputs["x"][0] is int and iface.outputs == {"o0": str}


def test_import_flyte_is_light():
    code = (
        "import sys, flyte; flyte.init(); "
        "heavy = [m for m in ('ray','pyspark','torch','fastapi','uvicorn','kubernetes','grpc','pandas','numpy','pyarrow',"
        "'google.protobuf','flyteidl2','asyncio','yaml') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_remote_only_inits_fail_clearly():
    import pytest

    with pytest.raises(flyte.errors.InitializationError, match="remote control plane"):
        flyte.init_from_api_key(api_key="x")
    assert flyte.init_in_cluster(project="p", domain="d") == {"org": None, "project": "p", "domain": "d"}
    assert flyte.current_project() == "p"


def test_build_images_of_environments_with_prebuilt_images():
    base = flyte.TaskEnvironment(name="base-img", image="ghcr.io/acme/base:1")
    app = flyte.TaskEnvironment(name="app-img", image="ghcr.io/acme/app:2", depends_on=[base])
    assert flyte.build_images(app) == {"app-img": "ghcr.io/acme/app:2", "base-img": "ghcr.io/acme/base:1"}
