"""Property-based tests: every config constructor and every CLI input type, fed generated values.

Each constructor either accepts a value or raises a flyte error (never a bare TypeError,
AttributeError or KeyError from deep inside) whose one-line message names the field. Each CLI
input type parses a good value back to the same value, and refuses a bad one with one clear
line naming the option and the value. Examples are capped and derandomized (the same inputs on
every run), so the module takes seconds; the number of inputs tried is printed at the end of
the session (``property tests: N inputs``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import json
import math
import warnings
from typing import Any, Dict, List

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flyte
from flyte.errors import FlyteError

EXAMPLES = 200
_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

TRIED: Dict[str, int] = {}


def _tried(name: str) -> None:
    TRIED[name] = TRIED.get(name, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest):
    """Hand the counts to the session summary (tests/conftest.py prints them)."""
    yield
    counts = getattr(request.config, "_flyte_property_inputs", {})
    counts.update(TRIED)
    request.config._flyte_property_inputs = counts  # type: ignore[attr-defined]


# Values of every kind a user might pass by mistake.
ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.tuples(st.text(max_size=5), st.integers()),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.timedeltas(min_value=dt.timedelta(days=-2), max_value=dt.timedelta(days=2)),
    st.just(object()),
)


# Fields holding other configs (a Secret, Resources...): the refusal may name the inner field.
NESTED = {"secrets", "resources", "cache", "reusable", "requests", "limits", "worker_node_config", "head_node_config", "gpu", "policies"}


def _check_refusal(e: BaseException, field: str) -> None:
    assert isinstance(e, FlyteError), f"{type(e).__name__} is not a flyte error: {e}"
    msg = str(e)
    assert msg and "\n" not in msg.strip(), msg
    if field in NESTED:
        assert field in msg or "invalid" in msg or "expected" in msg, msg
    else:
        assert field in msg, f"{field!r} not named in: {msg}"


def _construct(factory: Any, field: str, value: Any, **base: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # accepted-with-a-warning is a fine answer here
        try:
            return factory(**{**base, field: value})
        except Exception as e:
            _check_refusal(e, field)
            return None


# ------------------------------------------------------------------------------------------
# Config constructors
# ------------------------------------------------------------------------------------------
CONSTRUCTORS = [
    ("Resources", lambda **k: flyte.Resources(**k), ["cpu", "memory", "gpu", "disk", "shm"], {}),
    ("Cache", lambda **k: flyte.Cache(**k), ["behavior", "version_override", "ignored_inputs", "salt", "max_age", "serialize", "policies"], {"behavior": "auto"}),
    ("RetryStrategy", lambda **k: flyte.RetryStrategy(**k), ["count", "backoff"], {"count": 1}),
    ("Timeout", lambda **k: flyte.Timeout(**k), ["max_runtime", "max_queued_time", "deadline"], {}),
    ("Secret", lambda **k: flyte.Secret(**k), ["key", "group", "mount", "as_env_var"], {"key": "k"}),
    ("TaskEnvironment", lambda **k: flyte.TaskEnvironment(**k), ["name", "description", "secrets", "env_vars", "resources", "interruptible", "cache", "queue", "reusable"], {"name": "props"}),
    ("Device", lambda **k: flyte.Device(**k), ["quantity", "device_class", "device", "partition"], {"quantity": 1, "device_class": "GPU"}),
    ("GPU", lambda **k: flyte.GPU(**k), ["device", "quantity", "partition"], {"device": "A100", "quantity": 1}),
    ("TPU", lambda **k: flyte.TPU(**k), ["device", "partition"], {"device": "V5P"}),
    ("ReusePolicy", lambda **k: flyte.ReusePolicy(**k), ["replicas", "idle_ttl", "concurrency", "scaledown_ttl", "scope"], {}),
]


def _ray_constructors() -> List[Any]:
    from flyteplugins.ray import HeadNodeConfig, RayJobConfig, WorkerNodeConfig

    worker = WorkerNodeConfig(group_name="w", replicas=1)
    return [
        ("WorkerNodeConfig", WorkerNodeConfig, ["group_name", "replicas", "min_replicas", "max_replicas", "ray_start_params", "requests"], {"group_name": "w", "replicas": 1}),
        ("HeadNodeConfig", HeadNodeConfig, ["ray_start_params", "requests", "limits"], {}),
        ("RayJobConfig", RayJobConfig, ["worker_node_config", "head_node_config", "enable_autoscaling", "runtime_env", "address", "ttl_seconds_after_finished"], {"worker_node_config": [worker]}),
    ]


@pytest.mark.parametrize("name, factory, fields, base", [pytest.param(*c, id=c[0]) for c in CONSTRUCTORS + _ray_constructors()])
def test_a_constructor_accepts_or_refuses_clearly(name, factory, fields, base):
    @_SETTINGS
    @given(field=st.sampled_from(fields), value=ANY)
    def check(field: str, value: Any) -> None:
        _tried(name)
        _construct(factory, field, value, **base)

    check()


@_SETTINGS
@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=100))
def test_good_timeouts_and_retries_round_trip(seconds, count):
    from flyte._timeout import timeout_seconds

    _tried("Timeout/RetryStrategy good")
    assert timeout_seconds(flyte.Timeout(max_runtime=seconds)) == seconds
    assert timeout_seconds(flyte.Timeout(max_runtime=dt.timedelta(seconds=seconds))) == seconds
    assert flyte.RetryStrategy(count=count).count == count


@_SETTINGS
@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True), st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)))
def test_good_secret_keys_give_valid_env_var_names(key, group):
    import re

    _tried("Secret good")
    s = flyte.Secret(key=key, group=group)
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", s.as_env_var)
    assert s.stable_hash() == flyte.Secret(key=key, group=group).stable_hash()


@_SETTINGS
@given(st.integers(min_value=1, max_value=256), st.sampled_from(["Mi", "Gi"]), st.integers(min_value=1, max_value=64))
def test_good_resources_are_accepted(mem, unit, cpu):
    _tried("Resources good")
    r = flyte.Resources(cpu=cpu, memory=f"{mem}{unit}")
    assert r.cpu == cpu and r.memory == f"{mem}{unit}"


# ------------------------------------------------------------------------------------------
# CLI inputs, per type
# ------------------------------------------------------------------------------------------
class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: int
    label: str


_env = flyte.TaskEnvironment(name="props-cli")


@_env.task
async def every_type(
    n: int, f: float, s: str, b: bool, when: dt.datetime, c: Color, xs: List[int], d: Dict[str, int], p: Point
) -> int:
    return 0


_GOOD = {
    "n": "7", "f": "1.5", "s": "x", "when": "2025-01-31T12:00:00", "c": "red", "xs": "[1]", "d": "{}",
    "p": '{"x": 1, "label": "a"}',
}
_TYPES = {k: tp for k, (tp, _) in every_type.interface.inputs.items()}


def _parse(**over: str) -> Dict[str, Any]:
    """Parse ``flyte run``'s options for ``every_type`` and check the values at the task's boundary."""
    from flyte.cli._params import task_options
    from flyte.types import convert_boundary

    cmd = click.Command("every_type", params=task_options(every_type))
    values = {**_GOOD, **over}
    args = [f"--{k}={v}" for k, v in values.items()] + ["--b"]
    ctx = cmd.make_context("every_type", args)
    return asyncio.run(convert_boundary(ctx.params, _TYPES, owner="task every_type", direction="input"))


def _refused(field: str, text: str) -> str:
    try:
        _parse(**{field: text})
    except click.BadParameter as e:
        msg = e.format_message()
        assert f"--{field}" in msg and repr(text) in msg, msg
    except FlyteError as e:
        msg = str(e)
        assert f"'{field}'" in msg and "expected" in msg, msg
    else:
        return "accepted"
    assert "\n" not in msg.strip(), msg
    return msg


def _cli_value(v: Any) -> str:
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, enum.Enum):
        return str(v.value)
    if dataclasses.is_dataclass(v):
        return json.dumps(dataclasses.asdict(v))
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return repr(v) if isinstance(v, float) else str(v)


GOOD_VALUES = {
    "n": st.integers(min_value=-(2**63), max_value=2**63 - 1),
    "f": st.floats(allow_nan=False, allow_infinity=False),
    "s": st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30),
    "when": st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)),
    "c": st.sampled_from(list(Color)),
    "xs": st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=5),
    "d": st.dictionaries(st.text(max_size=5), st.integers(min_value=-1000, max_value=1000), max_size=3),
    "p": st.builds(Point, x=st.integers(min_value=-1000, max_value=1000), label=st.text(max_size=10)),
}


@pytest.mark.parametrize("field", sorted(GOOD_VALUES))
def test_a_good_cli_value_round_trips(field):
    @settings(_SETTINGS, max_examples=100)
    @given(GOOD_VALUES[field])
    def check(value: Any) -> None:
        _tried(f"cli {field} good")
        parsed = _parse(**{field: _cli_value(value)})[field]
        if isinstance(value, float):
            assert parsed == value or (math.isnan(parsed) and math.isnan(value))
        else:
            assert parsed == value

    check()


def test_a_bool_flag_round_trips():
    from flyte.cli._params import task_options

    cmd = click.Command("every_type", params=task_options(every_type))
    base = [f"--{k}={v}" for k, v in _GOOD.items()]
    assert cmd.make_context("x", [*base, "--b"]).params["b"] is True
    assert cmd.make_context("x", [*base, "--no-b"]).params["b"] is False
    _tried("cli b good")


def _not(parser: Any) -> Any:
    def ok(text: str) -> bool:
        try:
            parser(text)
        except Exception:
            return True
        return False

    return ok


def _is_json_list_of_ints(text: str) -> bool:
    try:
        v = json.loads(text)
    except ValueError:
        return False
    return isinstance(v, list) and all(type(i) is int for i in v)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=5,
)

BAD_VALUES = {
    "n": st.text(max_size=12).filter(_not(int)),
    "f": st.text(max_size=12).filter(_not(float)),
    "when": st.text(max_size=20).filter(lambda t: t != "now").filter(_not(dt.datetime.fromisoformat)),
    "c": st.text(max_size=8).filter(lambda t: t not in ("red", "blue")),
    "xs": st.one_of(st.text(max_size=12), st.builds(json.dumps, JSONISH)).filter(lambda t: not _is_json_list_of_ints(t)),
    "p": st.one_of(
        st.text(max_size=12),
        st.builds(lambda x, label: json.dumps({"x": x, "label": label}), st.one_of(st.text(max_size=3), st.floats(allow_nan=False), st.none()), st.one_of(st.integers(), st.none())),
    ),
}


@pytest.mark.parametrize("field", sorted(BAD_VALUES))
def test_a_bad_cli_value_is_one_clear_error(field):
    @settings(_SETTINGS, max_examples=100)
    @given(BAD_VALUES[field])
    def check(text: str) -> None:
        _tried(f"cli {field} bad")
        assert _refused(field, text) != "accepted", f"--{field}={text!r} was accepted"

    check()
