"""``service_account=`` on environments: validated as a Kubernetes name, carried into the pod of
a plain task, every replica group a plugin builds with flyte.extend's mapping functions, and the flyteidl2
task template."""

from __future__ import annotations

import kubernetes_validate
import pytest

import flyte
from flyte.errors import TypeValidationError, ValidationError
from flyte.extend import K8sSettings, TaskParts, finish_pod_spec, replica_pod_template, task_pod
from flyte.models import SerializationContext

SCTX = SerializationContext(version="v1", project="proj", domain="dev")
env = flyte.TaskEnvironment(name="sa_demo", image="python:3.11-slim", service_account="etl-runner")


plain_env = flyte.TaskEnvironment(name="sa_none", image="python:3.11-slim")


@env.task
def work(x: int) -> int:
    return x


@plain_env.task
def other() -> None: ...


def test_environment_accepts_service_account_and_tasks_carry_it():
    assert env.service_account == "etl-runner"
    assert work.service_account == "etl-runner"
    assert flyte.Environment(name="base", service_account="a.b-c").service_account == "a.b-c"
    clone = env.clone_with("sa_other", service_account="other-sa")
    assert clone.service_account == "other-sa"
    assert env.clone_with("sa_same").service_account == "etl-runner"


@pytest.mark.parametrize("bad", ["Bad_Name", "-first", "last-", "has space", "a" * 254, ""])
def test_malformed_service_account_names_field_value_and_rule(bad):
    with pytest.raises(ValidationError) as ei:
        flyte.TaskEnvironment(name="sa_bad", service_account=bad)
    text = str(ei.value)
    assert "service_account" in text and "Kubernetes service account name" in text and "253" in text


def test_service_account_of_wrong_type_is_a_type_error():
    with pytest.raises(TypeValidationError, match="service_account"):
        flyte.TaskEnvironment(name="sa_bad", service_account=3)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="service_account"):
        work.override(service_account="Nope!")


def test_task_pod_runs_as_the_service_account():
    pod = task_pod(work, SCTX, K8sSettings())
    assert pod["spec"]["serviceAccountName"] == "etl-runner"
    kubernetes_validate.validate(pod, "1.30", strict=True)
    assert "serviceAccountName" not in task_pod(other, SCTX, K8sSettings())["spec"]


def test_replica_groups_get_it_through_task_parts():
    parts = TaskParts.of(work)
    assert parts.service_account == "etl-runner"
    template = replica_pod_template(
        container_name="worker", image="img:1", requests=None, limits=None, pod_template=None,
        task_parts=parts, settings=K8sSettings(), owner="group 'w'",
    )
    assert template["spec"]["serviceAccountName"] == "etl-runner"
    spec = finish_pod_spec({"containers": [{"name": "c"}], "serviceAccountName": "from-template"}, "c",
                           settings=K8sSettings(), service_account="etl-runner")
    assert spec["serviceAccountName"] == "etl-runner"
    with pytest.raises(ValidationError, match="service_account"):
        finish_pod_spec({"containers": [{"name": "c"}]}, "c", settings=K8sSettings(), service_account="UPPER")


def test_flyteidl_task_template_runs_as_the_service_account():
    from flyte._serialize.idl import serialize_task

    tmpl = serialize_task(work, SCTX)
    assert tmpl.security_context.run_as.k8s_service_account == "etl-runner"


def test_task_level_and_reusable_rules_as_published():
    @env.task(service_account="per-task")
    def own() -> None: ...

    assert own.service_account == "per-task"
    reused = flyte.TaskEnvironment(name="sa_reused", service_account="pool-sa", reusable=flyte.ReusePolicy(replicas=1))
    with pytest.raises(ValueError, match="service_account"):
        reused.task(service_account="other")(lambda: None)
    pooled = reused.task(_pooled)
    assert pooled.service_account == "pool-sa"
    with pytest.raises(ValueError, match="reusable='off'"):
        pooled.override(service_account="other")
    assert pooled.override(service_account="other", reusable="off").service_account == "other"


def _pooled() -> None: ...
