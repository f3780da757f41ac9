"""Value types: RetryStrategy, Timeout, Secret, PodTemplate, ReusePolicy, Trigger, Link, Documentation."""

import pathlib
from datetime import datetime, timedelta
from typing import Dict

import pytest

from flyte._docs import Documentation, extract_docstring
from flyte._link import Link
from flyte._pod import PRIMARY_CONTAINER_DEFAULT_NAME, PodTemplate
from flyte._retry import Backoff, RetryStrategy, retries_from_request
from flyte._reusable import ReusePolicy
from flyte._secret import Secret, SecretNotFoundError, resolve_secret_locally, secrets_from_request
from flyte._timeout import Timeout, timeout_from_request, timeout_seconds
from flyte._trigger import Cron, FixedRate, Trigger, TriggerTime, validate_cron_expression
from flyte.errors import RuntimeUserError, TypeValidationError, ValidationError

# --------------------------------------------------------------------------------------------
# retries
# --------------------------------------------------------------------------------------------


def test_retry_strategy_and_int_retries():
    assert retries_from_request(3) == RetryStrategy(count=3)
    assert retries_from_request(None).count == 0
    rs = RetryStrategy(2)
    assert retries_from_request(rs) is rs
    assert rs.delay(0) == timedelta(0)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_bad_retry_counts(bad):
    with pytest.raises((ValidationError, TypeValidationError)) as e:
        RetryStrategy(count=bad)
    assert e.value.field == "count"


def test_backoff_delays():
    b = Backoff(base=timedelta(seconds=10), factor=2.0, cap=timedelta(seconds=35))
    assert [b.compute_delay(n).total_seconds() for n in range(4)] == [10, 20, 35, 35]
    assert b.compute_delay(10_000) == timedelta(seconds=35)  # no overflow
    assert Backoff(base=5).compute_delay(3) == timedelta(seconds=5)
    rs = RetryStrategy(3, backoff=timedelta(seconds=2))
    assert isinstance(rs.backoff, Backoff) and rs.delay(2) == timedelta(seconds=2)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"base": -1}, "base"),
        ({"base": 1, "factor": 0.5}, "factor"),
        ({"base": 1, "factor": float("inf"), "cap": 5}, "factor"),
        ({"base": 1, "factor": 2.0}, "cap"),
        ({"base": 1, "factor": 2.0, "cap": -3}, "cap"),
        ({"base": "soon"}, "base"),
    ],
)
def test_bad_backoff(kwargs, field):
    with pytest.raises((ValidationError, TypeValidationError)) as e:
        Backoff(**kwargs)
    assert e.value.field == field


# --------------------------------------------------------------------------------------------
# timeouts
# --------------------------------------------------------------------------------------------


def test_timeout_forms():
    assert timeout_seconds(None) is None
    assert timeout_seconds(0) is None
    assert timeout_seconds(30) == 30.0
    assert timeout_seconds(timedelta(minutes=2)) == 120.0
    assert timeout_seconds(Timeout(max_runtime=timedelta(0))) is None
    assert timeout_seconds(Timeout(max_queued_time=5)) is None
    assert timeout_seconds(Timeout(max_runtime=7, max_queued_time=5)) == 7.0
    assert timeout_from_request(10) == Timeout(max_runtime=10)


@pytest.mark.parametrize("bad", [-1, timedelta(seconds=-1), "10s", True, float("nan")])
def test_bad_timeouts(bad):
    with pytest.raises((ValidationError, TypeValidationError)):
        timeout_seconds(bad)
    with pytest.raises((ValidationError, TypeValidationError)) as e:
        Timeout(max_queued_time=bad)
    assert e.value.field == "max_queued_time"


# --------------------------------------------------------------------------------------------
# secrets
# --------------------------------------------------------------------------------------------


def test_secret_defaults_and_env_var_names():
    assert Secret("openai-key").as_env_var == "OPENAI_KEY"
    assert Secret("key", group="my-group").as_env_var == "MY_GROUP_KEY"
    assert Secret("my.token").as_env_var == "MY_TOKEN"
    assert Secret("1password").as_env_var == "_1PASSWORD"
    assert Secret("k", as_env_var="API_KEY").as_env_var == "API_KEY"
    mounted = Secret("k", mount=pathlib.Path("/etc/flyte/secrets"))
    assert mounted.as_env_var is None and mounted.mount == pathlib.Path("/etc/flyte/secrets")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"key": ""}, "key"),
        ({"key": "a b"}, "key"),
        ({"key": 3}, "key"),
        ({"key": "k", "group": ""}, "group"),
        ({"key": "k", "as_env_var": "1BAD"}, "as_env_var"),
        ({"key": "k", "as_env_var": "HAS-DASH"}, "as_env_var"),
        ({"key": "k", "mount": "/somewhere"}, "mount"),
    ],
)
def test_bad_secrets(kwargs, field):
    with pytest.raises((ValidationError, TypeValidationError)) as e:
        Secret(**kwargs)
    assert e.value.field == field


def test_secrets_from_request():
    s = Secret("b", group="g")
    assert secrets_from_request("a") == [Secret("a")]
    assert secrets_from_request(s) == [s]
    assert secrets_from_request(["a", s]) == [Secret("a"), s]
    assert secrets_from_request(None) == []
    with pytest.raises(TypeValidationError):
        secrets_from_request([3])  # type: ignore[list-item]


def test_secret_hash_is_stable_and_consistent_with_eq():
    assert hash(Secret("a", group="g")) == hash(Secret("a", group="g"))
    assert Secret("a").stable_hash() == Secret("a").stable_hash() != Secret("b").stable_hash()
    assert len({Secret("a"), Secret("a")}) == 1


@pytest.fixture
def secrets_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLYTE_SECRETS_DIR", str(tmp_path))
    for name in ("API_KEY", "MY_KEY", "GRP_MY_KEY", "FLYTE_SECRET_GRP_MY_KEY", "FLYTE_SECRET_MY_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_resolve_order(secrets_dir, monkeypatch):
    s = Secret("my-key", group="grp")
    (secrets_dir / "my-key").write_text("from-plain-file\n")
    assert resolve_secret_locally(s) == "from-plain-file"
    (secrets_dir / "grp").mkdir()
    (secrets_dir / "grp" / "my-key").write_text("from-group-file\n")
    assert resolve_secret_locally(s) == "from-group-file"
    monkeypatch.setenv("MY_KEY", "from-key-env")
    assert resolve_secret_locally(s) == "from-key-env"
    monkeypatch.setenv("FLYTE_SECRET_MY_KEY", "from-flyte-key-env")
    assert resolve_secret_locally(s) == "from-flyte-key-env"
    monkeypatch.setenv("FLYTE_SECRET_GRP_MY_KEY", "from-flyte-group-env")
    assert resolve_secret_locally(s) == "from-flyte-group-env"
    monkeypatch.setenv("GRP_MY_KEY", "from-as-env-var")
    assert resolve_secret_locally(s) == "from-as-env-var"
    monkeypatch.setenv("API_KEY", "explicit")
    assert resolve_secret_locally(Secret("my-key", group="grp", as_env_var="API_KEY")) == "explicit"


def test_resolve_keeps_inner_whitespace_and_accepts_a_key(secrets_dir):
    (secrets_dir / "my-key").write_text("line1\nline2")
    assert resolve_secret_locally("my-key") == "line1\nline2"


def test_missing_secret_lists_every_place(secrets_dir):
    with pytest.raises(SecretNotFoundError) as e:
        resolve_secret_locally(Secret("my-key", group="grp"))
    msg = str(e.value)
    assert isinstance(e.value, RuntimeUserError) and isinstance(e.value, KeyError)
    for place in ("$GRP_MY_KEY", "$FLYTE_SECRET_GRP_MY_KEY", "$FLYTE_SECRET_MY_KEY", "$MY_KEY",
                  str(secrets_dir / "grp" / "my-key"), str(secrets_dir / "my-key")):
        assert place in msg
    assert "grp/my-key" in msg


def test_secret_value_never_in_repr(secrets_dir, monkeypatch):
    monkeypatch.setenv("API_KEY", "sup3r-s3cret")
    s = Secret("my-key", as_env_var="API_KEY")
    assert resolve_secret_locally(s) == "sup3r-s3cret"
    assert "sup3r-s3cret" not in repr(s) and "sup3r-s3cret" not in str(s)


# --------------------------------------------------------------------------------------------
# pod templates
# --------------------------------------------------------------------------------------------


def test_pod_template_defaults_and_dict_spec():
    pt = PodTemplate()
    assert pt.primary_container_name == PRIMARY_CONTAINER_DEFAULT_NAME == "primary"
    assert pt.pod_spec_dict() == {}
    spec = {"containers": [{"name": "primary"}], "tolerations": [{"key": "k"}]}
    pt = PodTemplate(pod_spec=spec, labels={"a": "b"})
    assert pt.pod_spec_dict() == spec and pt.pod_spec_dict() is not spec


def test_pod_template_with_kubernetes_objects():
    from kubernetes.client import V1Container, V1PodSpec

    spec = V1PodSpec(containers=[V1Container(name="main", image="busybox")], node_selector={"a": "b"})
    pt = PodTemplate.from_spec(spec)
    assert pt.primary_container_name == "main"
    assert pt.pod_spec is not spec
    assert pt.pod_spec_dict() == {"containers": [{"name": "main", "image": "busybox"}], "nodeSelector": {"a": "b"}}
    two = V1PodSpec(containers=[V1Container(name="a"), V1Container(name="b")])
    with pytest.raises(ValidationError, match="primary_container_name"):
        PodTemplate.from_spec(two)
    assert PodTemplate.from_spec(two, primary_container_name="b").primary_container_name == "b"
    with pytest.raises(ValidationError):
        PodTemplate.from_spec(two, primary_container_name="c")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"primary_container_name": ""}, "primary_container_name"),
        ({"labels": {"a": 1}}, "labels['a']"),
        ({"annotations": ["x"]}, "annotations"),
        ({"pod_spec": "spec"}, "pod_spec"),
    ],
)
def test_bad_pod_templates(kwargs, field):
    with pytest.raises((ValidationError, TypeValidationError)) as e:
        PodTemplate(**kwargs)
    assert e.value.field == field


# --------------------------------------------------------------------------------------------
# reuse
# --------------------------------------------------------------------------------------------


def test_reuse_policy_normalizes():
    p = ReusePolicy()
    assert (p.min_replicas, p.max_replicas, p.concurrency) == (2, 2, 1)
    assert p.idle_ttl == timedelta(seconds=30) and p.get_scaledown_ttl() == timedelta(seconds=30)
    p = ReusePolicy(replicas=(1, 3), concurrency=4, idle_ttl=timedelta(minutes=5), scaledown_ttl=60)
    assert (p.replicas, p.capacity, p.scaledown_ttl) == ((1, 3), 12, timedelta(seconds=60))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"replicas": (3, 1)}, "replicas"),
        ({"replicas": -1}, "replicas"),
        ({"replicas": 0}, "replicas"),
        ({"replicas": (1, 2, 3)}, "replicas"),
        ({"replicas": ("1", 2)}, "replicas"),
        ({"concurrency": 0}, "concurrency"),
        ({"idle_ttl": 10}, "idle_ttl"),
        ({"scaledown_ttl": timedelta(seconds=5)}, "scaledown_ttl"),
        ({"idle_ttl": "1m"}, "idle_ttl"),
        ({"scope": "cluster"}, "scope"),
    ],
)
def test_bad_reuse_policies(kwargs, field):
    with pytest.raises((ValidationError, TypeValidationError)) as e:
        ReusePolicy(**kwargs)
    assert e.value.field == field


# --------------------------------------------------------------------------------------------
# triggers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    ["0 * * * *", "*/5 * * * *", "0 0 1 * *", "0 9-17 * * MON-FRI", "0 0 L * ?", "30 0 0 * * *", "@daily",
     "0,15,30,45 * * JAN,JUL 0-6", "0 0 * * 1#2"],
)
def test_valid_cron(expr):
    validate_cron_expression(expr)
    assert Cron(expr).expression == expr


@pytest.mark.parametrize(
    "expr",
    ["", "* * * *", "* * * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "*/0 * * * *",
     "a * * * *", "@sometimes", "1-2-3 * * * *"],
)
def test_invalid_cron(expr):
    with pytest.raises(ValidationError) as e:
        Cron(expr)
    assert e.value.field == "expression" and "cron" in str(e.value)


def test_cron_timezone():
    assert Cron("0 * * * *", timezone="Europe/London").timezone_expression == "CRON_TZ=Europe/London 0 * * * *"
    with pytest.raises(ValidationError, match="timezone"):
        Cron("0 * * * *", timezone="Mars/Olympus")


def test_fixed_rate():
    assert str(FixedRate(60)) == "FixedRate Trigger: every 60 minutes"
    FixedRate(5, start_time=datetime(2030, 1, 1))
    for bad in (0, -5, 1.5, True):
        with pytest.raises(ValidationError):
            FixedRate(bad)


def test_trigger_helpers_and_trigger_time():
    t = Trigger.hourly("at", inputs={"x": 1})
    assert t.automation == Cron("0 * * * *") and t.inputs == {"at": TriggerTime, "x": 1}
    assert t.trigger_time_input == "at" and t.name == "hourly"
    assert Trigger.daily().automation.expression == "0 0 * * *"
    assert Trigger.weekly().automation.expression == "0 0 * * 0"
    assert Trigger.monthly().automation.expression == "0 0 1 * *"
    assert Trigger.minutely(name="m", queue="q").queue == "q"
    assert Trigger("on-demand").automation is None


def test_trigger_validation():
    with pytest.raises(ValidationError, match="TriggerTime"):
        Trigger("t", inputs={"at": TriggerTime})
    with pytest.raises(ValidationError, match="max_action_concurrency"):
        Trigger("t", max_action_concurrency=1)
    with pytest.raises(ValidationError):
        Trigger("")
    with pytest.raises(TypeValidationError):
        Trigger("t", automation="0 * * * *")  # type: ignore[arg-type]
    with pytest.raises(TypeValidationError):
        Trigger("t", env_vars={"A": 1})  # type: ignore[dict-item]
    assert len(Trigger("t", description="x" * 400).description) == 255


# --------------------------------------------------------------------------------------------
# links and docs
# --------------------------------------------------------------------------------------------


class Dashboard:
    name = "dashboard"
    icon_uri = ""

    def get_link(self, run_name, project, domain, context: Dict[str, str], parent_action_name, action_name,
                 pod_name, **kwargs) -> str:
        return f"https://dash/{project}/{domain}/{run_name}/{action_name}"


def test_link_protocol():
    d = Dashboard()
    assert isinstance(d, Link)
    assert not isinstance(object(), Link)
    assert d.get_link("r", "p", "d", {}, "", "a0", "") == "https://dash/p/d/r/a0"


def test_documentation():
    def f():
        """Adds things.

        Longer text.
        """

    doc = extract_docstring(f)
    assert doc.description.startswith("Adds things.") and doc.short_description == "Adds things."
    assert extract_docstring(None) == Documentation("") == extract_docstring(lambda: None)
    with pytest.raises(TypeValidationError):
        Documentation(3)  # type: ignore[arg-type]
