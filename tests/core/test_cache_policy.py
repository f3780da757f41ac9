"""Cache settings and the cache version of a task function."""

import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest

from flyte._cache import (
    Cache,
    CachePolicy,
    FunctionBodyPolicy,
    VersionParameters,
    cache_from_request,
    compute_cache_version,
    get_default_policies,
)
from flyte.errors import TypeValidationError, ValidationError
from flyte.models import CodeBundle


_SOURCES: dict = {}


@pytest.fixture(scope="module", autouse=True)
def _source_dir(tmp_path_factory):
    """Where the throwaway modules live: under pytest's temp root, removed with it."""
    _SOURCES["dir"] = tmp_path_factory.mktemp("cache-policy-src")
    yield


def _load(source: str, name: str = "f"):
    """Define a function from source text in a throwaway module file, so inspect.getsource works."""
    import importlib.util
    import uuid

    path = f"{_SOURCES['dir']}/mod_{uuid.uuid4().hex}.py"
    with open(path, "w") as fh:
        fh.write(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(f"mod_{uuid.uuid4().hex}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, name)


BASE = """
def f(x: int) -> int:
    return x + 1
"""


def test_same_source_same_version():
    a, b = _load(BASE), _load(BASE)
    assert compute_cache_version("auto", a) == compute_cache_version("auto", b)
    assert len(compute_cache_version("auto", a)) == 64


def test_formatting_comments_and_decorators_do_not_change_the_version():
    reformatted = """
    def deco(**kw):
        return lambda fn: fn

    @deco(retries=3)
    def f(x:int)->int:
        # a comment
        return (x+1)
    """
    assert compute_cache_version("auto", _load(BASE)) == compute_cache_version("auto", _load(reformatted))


@pytest.mark.parametrize(
    "changed",
    [
        "def f(x: int) -> int:\n    return x + 2\n",
        "def f(x: float) -> int:\n    return x + 1\n",
        "def f(y: int) -> int:\n    return y + 1\n",
        "async def f(x: int) -> int:\n    return x + 1\n",
    ],
)
def test_changed_source_changes_the_version(changed):
    assert compute_cache_version("auto", _load(BASE)) != compute_cache_version("auto", _load(changed))


def test_salt_changes_the_version():
    f = _load(BASE)
    assert compute_cache_version(Cache("auto", salt="a"), f) != compute_cache_version(Cache("auto", salt="b"), f)
    assert compute_cache_version(Cache("auto", salt="a"), f) == compute_cache_version(Cache("auto", salt="a"), f)


def test_salt_counts_even_when_a_policy_ignores_it():
    class Constant:
        def get_version(self, salt, params):
            return "fixed"

    f = _load(BASE)
    assert Cache("auto", policies=Constant(), salt="1").get_version(VersionParameters(f)) != Cache(
        "auto", policies=Constant(), salt="2"
    ).get_version(VersionParameters(f))


def test_version_override_wins():
    f = _load(BASE)
    g = _load("def f(x: int) -> int:\n    return 0\n")
    c = Cache("override", version_override="v7")
    assert compute_cache_version(c, f) == compute_cache_version(c, g) == "v7"
    assert Cache("auto", version_override="v7", salt="x").get_version(VersionParameters(f)) == "v7"


def test_disabled_cache_has_empty_version():
    assert compute_cache_version("disable", _load(BASE)) == ""
    assert not Cache("disable").is_enabled()


def test_version_is_stable_across_processes(tmp_path):
    mod = tmp_path / "m.py"
    mod.write_text(BASE)
    code = (
        "import sys; sys.path.insert(0, %r); import m; from flyte._cache import compute_cache_version;"
        "print(compute_cache_version('auto', m.f))" % str(tmp_path)
    )
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(outs) == 1
    assert outs.pop().strip() == compute_cache_version("auto", _load(BASE))


def test_function_without_source_still_has_a_version():
    ns: dict = {}
    exec("def f(x):\n    return x * 2\n", ns)
    exec("def g(x):\n    return x * 3\n", ns)
    v1, v2 = compute_cache_version("auto", ns["f"]), compute_cache_version("auto", ns["g"])
    assert v1 and v2 and v1 != v2
    assert v1 == compute_cache_version("auto", ns["f"])


def test_pickled_code_bundle_uses_its_version():
    f = _load(BASE)
    bundle = CodeBundle(computed_version="bundle-v1", pkl="s3://x/y.pkl")
    assert compute_cache_version("auto", f, code_bundle=bundle) == "bundle-v1"


def test_custom_policy_and_protocol():
    class Git:
        def get_version(self, salt: str, params: VersionParameters) -> str:
            return "abc" + salt

    assert isinstance(Git(), CachePolicy)
    assert isinstance(FunctionBodyPolicy(), CachePolicy)
    f = _load(BASE)
    assert Cache("auto", policies=[Git()]).get_version(VersionParameters(f)) != Cache("auto").get_version(
        VersionParameters(f)
    )


def test_failing_policy_is_reported():
    class Broken:
        def get_version(self, salt, params):
            raise RuntimeError("boom")

    with pytest.raises(ValidationError, match="boom"):
        Cache("auto", policies=Broken()).get_version(VersionParameters(_load(BASE)))


def test_defaults_and_normalization():
    c = Cache("auto")
    assert c.policies == get_default_policies() == [FunctionBodyPolicy()]
    assert c.serialize is False and c.salt == "" and c.get_ignored_inputs() == ()
    assert Cache("auto", ignored_inputs="ts").get_ignored_inputs() == ("ts",)
    assert Cache("auto", ignored_inputs=("a", "b")).get_ignored_inputs() == ("a", "b")
    assert Cache("auto", max_age=60).max_age == timedelta(seconds=60)


@pytest.mark.parametrize("alias, behavior", [("on", "auto"), ("enabled", "auto"), ("off", "disable"), ("OFF", "disable")])
def test_behavior_aliases(alias, behavior):
    assert Cache(alias).behavior == behavior


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"behavior": "sometimes"}, "behavior"),
        ({"behavior": "auto", "version_override": ""}, "version_override"),
        ({"behavior": "auto", "serialize": "yes"}, "serialize"),
        ({"behavior": "auto", "ignored_inputs": 3}, "ignored_inputs"),
        ({"behavior": "auto", "max_age": -1}, "max_age"),
        ({"behavior": "auto", "max_age": "1h"}, "max_age"),
        ({"behavior": "auto", "policies": [object()]}, "policies"),
        ({"behavior": "auto", "policies": []}, "policies"),
        ({"behavior": "auto", "salt": 3}, "salt"),
    ],
)
def test_invalid_cache(kwargs, field):
    with pytest.raises((ValidationError, TypeValidationError)) as e:
        Cache(**kwargs)
    assert e.value.field == field
    assert field in str(e.value)


def test_cache_from_request():
    assert cache_from_request("auto") == Cache("auto")
    c = Cache("override", version_override="1")
    assert cache_from_request(c) is c
    with pytest.raises(ValidationError, match="behavior"):
        cache_from_request("always")
    with pytest.raises(TypeValidationError):
        cache_from_request(True)  # type: ignore[arg-type]
