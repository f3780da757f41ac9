"""The app model of core (flyte.app): value types, validation, the extras resolver, and lightness."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flyte
import flyte.app
from flyte.app import AppEnvironment, Domain, Link, Parameter, Port, Scaling, Timeouts
from flyte.errors import FlyteError, TypeValidationError, ValidationError

FEW = settings(max_examples=50, deadline=None, database=None)  # no .hypothesis/ folder left in the tree


# -- names ----------------------------------------------------------------------------------------
DNS1035 = st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


@FEW
@given(DNS1035)
def test_every_dns1035_label_is_an_app_name(name):
    assert AppEnvironment(name=name, command="true").name == name


@FEW
@given(st.text(min_size=0, max_size=70))
def test_a_name_that_is_no_dns1035_label_is_one_error_naming_it(name):
    import re

    if re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63:
        return
    with pytest.raises(ValidationError) as e:
        AppEnvironment(name=name, command="true")
    assert e.value.field == "name" and e.value.value == name and "DNS-1035" in str(e.value)


@pytest.mark.parametrize("name", ["my_app", "1app", "App", "app-", "a" * 64, ""])
def test_named_bad_names(name):
    with pytest.raises(ValidationError, match="DNS-1035"):
        AppEnvironment(name=name, command="true")


# -- ports ----------------------------------------------------------------------------------------
@FEW
@given(st.integers(min_value=0, max_value=65535).filter(lambda p: p not in flyte.app.RESERVED_PORTS))
def test_every_allowed_port_is_kept(port):
    env = AppEnvironment(name="a", command="true", port=port)
    assert env.get_port() == Port(port=port)


@FEW
@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=65536), st.sampled_from(flyte.app.RESERVED_PORTS)))
def test_a_port_outside_the_range_or_reserved_is_one_error(port):
    with pytest.raises(ValidationError) as e:
        AppEnvironment(name="a", command="true", port=port)
    assert e.value.field == "port" and e.value.value == port
    assert "65535" in str(e.value)


def test_reserved_ports_are_the_published_ones():
    assert flyte.app.RESERVED_PORTS == (8012, 8022, 8112, 9090, 9091)
    for p in flyte.app.RESERVED_PORTS:
        with pytest.raises(ValueError, match="reserved"):
            Port(port=p)


def test_port_type_and_name():
    with pytest.raises(TypeValidationError):
        AppEnvironment(name="a", command="true", port="8080")
    with pytest.raises(TypeValidationError):
        AppEnvironment(name="a", command="true", port=True)
    assert Port(8080, name="h2c").name == "h2c"
    with pytest.raises(ValidationError, match="port name"):
        Port(8080, name="Not_A_Name")


# -- scaling --------------------------------------------------------------------------------------
@FEW
@given(st.integers(0, 50), st.integers(0, 50))
def test_scaling_pairs(lo, hi):
    if lo <= hi and hi >= 1:
        assert Scaling(replicas=(lo, hi)).get_replicas() == (lo, hi)
    else:
        with pytest.raises(ValidationError) as e:
            Scaling(replicas=(lo, hi))
        assert e.value.field == "replicas" and e.value.value == (lo, hi) and "min <= max" in str(e.value)


@FEW
@given(st.integers(0, 1000))
def test_scaling_int_is_a_fixed_pair(n):
    assert Scaling(replicas=n).replicas == (n, n)


def test_scaling_bad_values():
    with pytest.raises(ValidationError):
        Scaling(replicas=-1)
    with pytest.raises(ValidationError):
        Scaling(replicas=(1, 2, 3))
    with pytest.raises(TypeValidationError):
        Scaling(replicas="3")
    with pytest.raises(TypeValidationError):
        Scaling(metric=5)
    with pytest.raises(ValidationError):
        Scaling.Concurrency(0)
    with pytest.raises(ValidationError):
        Scaling.RequestRate(-2)
    assert Scaling(scaledown_after=30).scaledown_after == timedelta(seconds=30)
    assert Scaling().replicas == (0, 1)
    with pytest.raises(TypeValidationError):
        AppEnvironment(name="a", command="true", scaling=(1, 2))


def test_other_value_types():
    assert Timeouts(request=10).request == timedelta(seconds=10)
    with pytest.raises(ValidationError, match="1 hour"):
        Timeouts(request=3601)
    with pytest.raises(TypeValidationError):
        Timeouts(request="10")
    assert Link(path="/docs", title="Docs", is_relative=True).is_relative
    with pytest.raises(ValidationError):
        Link(path="", title="x")
    with pytest.raises(TypeValidationError):
        Domain(subdomain=3)
    with pytest.raises(ValidationError, match="env_var"):
        Parameter(name="p", value="v", env_var="1BAD")
    with pytest.raises(TypeValidationError):
        Parameter(name="p", value=3)
    with pytest.raises(ValidationError):
        AppEnvironment(name="a", command="true", parameters=[Parameter("p", "1"), Parameter("p", "2")])
    with pytest.raises(ValidationError, match="cluster"):
        AppEnvironment(name="a", command="true", cluster="c1", cluster_pool="gpu")


def test_published_fields_and_defaults():
    env = AppEnvironment(name="a", command="python -m http.server")
    assert env.port == Port(8080) and env.requires_auth is True and env.scaling.replicas == (0, 1)
    assert isinstance(env.domain, Domain) and env.links == [] and env.parameters == [] and env.args is None
    assert env.cluster_pool == "default" and isinstance(env.timeouts, Timeouts)
    assert env.command_list() == ["python", "-m", "http.server"]
    assert AppEnvironment(name="a", args="--x 1").container_args() == ["--x", "1"]
    assert isinstance(env, flyte.Environment)

    @env.server
    def run() -> None: ...

    @env.on_startup
    def up() -> None: ...

    @env.on_shutdown
    def down() -> None: ...

    assert env._server is run and env._on_startup is up and env._on_shutdown is down
    clone = env.clone_with("b", port=0)
    assert clone.name == "b" and clone.get_port().port == 0 and clone._server is run
    with pytest.raises(ValidationError):
        env.clone_with("c", nope=1)


def test_endpoint_of_an_app_not_served_here_says_how(monkeypatch):
    env = AppEnvironment(name="nowhere", command="true")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("INTERNAL_APP_ENDPOINT_PATTERN", raising=False)
    with pytest.raises(flyte.app.AppNotServedError, match="flyte.serve"):
        env.endpoint
    monkeypatch.setenv("INTERNAL_APP_ENDPOINT_PATTERN", "https://{app_fqdn}.apps.example.com")
    assert env.endpoint == "https://nowhere.apps.example.com"
    monkeypatch.delenv("INTERNAL_APP_ENDPOINT_PATTERN")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert env.endpoint == "http://nowhere"
    assert issubclass(flyte.app.AppNotServedError, (FlyteError, LookupError))


def test_a_task_environment_depends_on_an_app():
    app = AppEnvironment(name="dep-app", command="true")
    tasks = flyte.TaskEnvironment(name="t", depends_on=[app])
    assert tasks.depends_on == [app]


# -- the extras resolver --------------------------------------------------------------------------
def test_extras_resolves_the_app_plugin_through_its_entry_point():
    pytest.importorskip("flyteplugins.app", reason="core tested alone: the app plugin is not installed")
    from flyte.app.extras import FastAPIAppEnvironment
    from flyteplugins.app import FastAPIAppEnvironment as Direct

    assert FastAPIAppEnvironment is Direct
    from flyte.app._registry import APPS_GROUP, app_type_registry
    from flyte._plugins.manager import list_entry_points

    assert [ep.name for ep in list_entry_points(APPS_GROUP)] == ["FastAPIAppEnvironment"]
    assert app_type_registry().get("FastAPIAppEnvironment") is Direct
    with pytest.raises(AttributeError):
        flyte.app.extras.NoSuchApp  # noqa: B018


def test_extras_without_the_app_plugin_names_it(tmp_path):
    code = (
        "import sys\n"
        "try:\n"
        "    from flyte.app.extras import FastAPIAppEnvironment\n"
        "except ImportError as e:\n"
        "    print(type(e).__name__, e)\n"
        "    sys.exit(3)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env={**__import__("os").environ, "FLYTE_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert res.returncode == 3, res.stderr
    assert "AppTypeNotFoundError" in res.stdout and "flyte-plugin-app" in res.stdout


def test_import_flyte_and_flyte_app_stay_light():
    code = (
        "import sys, flyte, flyte.app, flyte.app.extras\n"
        "flyte.serve, flyte.with_servecontext, flyte.AppHandle\n"
        "heavy = [m for m in ('fastapi', 'uvicorn', 'starlette', 'httpx') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "try:\n"
        "    import flyteplugins.app\n"
        "except ImportError:\n"
        "    sys.exit(0)  # core tested alone\n"
        "heavy = [m for m in ('fastapi', 'uvicorn') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_serve_names_are_public():
    assert {"serve", "with_servecontext", "AppHandle"} <= set(flyte.__all__)
    with pytest.raises(ValidationError, match="mode"):
        flyte.with_servecontext(mode="cloud")
    with pytest.raises(ValidationError, match="activate_timeout"):
        flyte.with_servecontext(activate_timeout=0)
    with pytest.raises(ValidationError, match="health_check_path"):
        flyte.with_servecontext(health_check_path="health")
