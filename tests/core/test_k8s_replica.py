"""The shared Kubernetes mapping helpers of flyte.extend: object metadata, replica-group pod
templates, pod finishing, settings coercion, and the strict CRD validator of flyte.testing.
Pods are validated with kubernetes-validate (strict), custom resources against the CRDs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict

import kubernetes_validate
import pytest
import yaml

import flyte
import flyte.testing
from flyte.errors import FlyteError, TypeValidationError, ValidationError
from flyte.extend import (
    K8sSettings,
    TaskParts,
    dns_label,
    finish_pod_spec,
    object_metadata,
    replica_pod_template,
    task_pod_spec,
)
from flyte.models import SerializationContext

K8S_VERSION = "1.30"
CRDS = Path(__file__).resolve().parents[1] / "schemas" / "crds"
SETTINGS = K8sSettings(
    interruptible_node_selector={"pool": "spot"},
    interruptible_tolerations=({"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"},),
)
SCTX = SerializationContext(root_dir=Path(__file__).parent, version="v1", project="proj", domain="dev")

env = flyte.TaskEnvironment(name="replica_demo", image="python:3.11-slim", resources=flyte.Resources(cpu=2, memory="2Gi"))
labelled = flyte.TaskEnvironment(
    name="9lives",
    image="python:3.11-slim",
    pod_template=flyte.PodTemplate(labels={"team": "ml"}, annotations={"owner": "ana"}),
)
named = flyte.TaskEnvironment(name="named_tpl", image="python:3.11-slim", pod_template="gpu-template")


@env.task
def plain(x: int) -> int:
    return x


@labelled.task
def lab(x: int) -> int:
    return x


@named.task
def nam(x: int) -> int:
    return x


def pod_of(template: Dict[str, Any]) -> Dict[str, Any]:
    """A ``PodTemplateSpec`` as a Pod, validated strictly."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", **template.get("metadata", {})},
           "spec": template["spec"]}
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    return pod


# -- object_metadata -------------------------------------------------------------------------


def test_object_metadata_of_a_task():
    meta = object_metadata(plain, SCTX)
    assert meta == {
        "name": "replica-demo-plain",
        "namespace": "proj-dev",
        "labels": {
            "app.kubernetes.io/managed-by": "flyte", "flyte.org/task": "replica_demo.plain",
            "flyte.org/environment": "replica_demo", "flyte.org/version": "v1",
        },
    }
    kubernetes_validate.validate(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {}}, K8S_VERSION, strict=True
    )


def test_object_metadata_keeps_template_labels_and_starts_with_a_letter():
    meta = object_metadata(lab, SerializationContext(), max_name=20)
    assert meta["name"] == "r-9lives-lab" and meta["name"][0].isalpha()
    assert meta["labels"]["team"] == "ml" and meta["labels"]["flyte.org/task"] == "9lives.lab"
    assert meta["annotations"] == {"owner": "ana"}
    assert "namespace" not in meta  # no project
    # A Pod name may start with a digit: no DNS-1035 rule there.
    assert object_metadata(lab, SerializationContext(), dns1035=False)["name"] == "9lives-lab"
    # A Service name must start with a letter: the DNS-1035 form validates as one.
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": object_metadata(lab, SCTX),
           "spec": {"ports": [{"port": 80}]}}
    kubernetes_validate.validate(svc, K8S_VERSION, strict=True)


def test_object_metadata_records_a_named_template_and_caps_the_name():
    meta = object_metadata(nam, SCTX, max_name=47)
    assert meta["annotations"] == {"flyte.org/pod-template-name": "gpu-template"}
    from types import SimpleNamespace

    long = object_metadata(SimpleNamespace(name="x" * 80), SCTX, max_name=47)["name"]
    assert len(long) == 47 and long == dns_label("x" * 80, 47, dns1035=True)


def test_object_metadata_in_a_custom_resource_passes_the_crd():
    job = {
        "apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": object_metadata(lab, SCTX, max_name=47),
        "spec": {"entrypoint": "python -c 1"},
    }
    flyte.testing.validate_custom_resource(job, CRDS / "ray.io_rayjobs.yaml")


def test_dns_label_rejects_a_cap_too_short_for_its_hash():
    with pytest.raises(ValidationError, match="max_length"):
        dns_label("abc", 5)


# -- replica_pod_template ----------------------------------------------------------------------


def test_a_replica_group_expected_dict_sized_by_the_task_when_it_gives_nothing():
    template = replica_pod_template(
        container_name="pytorch", image="img:1", requests=None, limits=None, pod_template=None,
        task_parts=TaskParts.of(plain), settings=SETTINGS, owner="worker group",
        ports=({"name": "rdzv", "containerPort": 29400},), args=["flyte-execute", "--x"],
    )
    assert template == {"spec": {"containers": [{
        "name": "pytorch",
        "image": "img:1",
        "args": ["flyte-execute", "--x"],
        "ports": [{"name": "rdzv", "containerPort": 29400}],
        "resources": {"requests": {"cpu": "2", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
    }]}}
    pod_of(template)


def test_a_replica_group_with_devices_secrets_template_and_interruptible():
    base = flyte.PodTemplate(
        primary_container_name="main", labels={"team": "ml"}, annotations={"note": "x"},
        pod_spec={"containers": [
            {"name": "sidecar", "image": "busybox"},
            {"name": "main", "image": "other", "command": ["sh"], "args": ["-c", "x"]},
        ]},
    )
    parts = TaskParts(env_vars={"A": "1"}, secrets=[flyte.Secret(key="tok", as_env_var="TOK")], interruptible=True)
    template = replica_pod_template(
        container_name="worker", image="img:1", requests=flyte.Resources(cpu=4, memory="8Gi", gpu="A100:1", shm="1Gi"),
        limits=None, pod_template=base, task_parts=parts, settings=SETTINGS, owner="gpu group", clear_command=True,
    )
    pod = pod_of(template)
    spec = template["spec"]
    assert template["metadata"] == {"labels": {"team": "ml"}, "annotations": {"note": "x"}}
    assert [c["name"] for c in spec["containers"]] == ["worker", "sidecar"]  # the group's container first
    worker = spec["containers"][0]
    assert "command" not in worker and "args" not in worker  # the operator writes its own
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert {"name": "TOK", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "tok"}}} in worker["env"]
    assert {"name": "flyte-shm", "mountPath": "/dev/shm"} in worker["volumeMounts"]
    assert spec["nodeSelector"] == {"pool": "spot"}
    assert {"key": "k8s.amazonaws.com/accelerator", "operator": "Equal", "value": "nvidia-tesla-a100",
            "effect": "NoSchedule"} in spec["tolerations"]
    assert spec["tolerations"][-1]["key"] == "spot"
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [
        {"key": "k8s.amazonaws.com/accelerator", "operator": "In", "values": ["nvidia-tesla-a100"]}]}]
    assert pod["spec"]["containers"][1] == {"name": "sidecar", "image": "busybox"}  # untouched


def test_replica_groups_in_a_ray_job_pass_the_crd():
    head = replica_pod_template(
        container_name="ray-head", image="img:1", requests=flyte.Resources(cpu=1), limits=None, pod_template=None,
        task_parts=TaskParts(), settings=SETTINGS, owner="head", clear_command=True,
    )
    worker = replica_pod_template(
        container_name="ray-worker", image="img:1", requests=None, limits=flyte.Resources(cpu=2, gpu="T4:1"),
        pod_template=None, task_parts=TaskParts(interruptible=True), settings=SETTINGS, owner="workers",
    )
    job = {
        "apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": object_metadata(plain, SCTX, max_name=47),
        "spec": {"entrypoint": "python -c 1", "rayClusterSpec": {
            "headGroupSpec": {"rayStartParams": {}, "template": head},
            "workerGroupSpecs": [{"groupName": "w", "replicas": 1, "minReplicas": 1, "maxReplicas": 1,
                                  "rayStartParams": {}, "template": worker}],
        }},
    }
    flyte.testing.validate_custom_resource(job, CRDS / "ray.io_rayjobs.yaml")


def test_a_replica_group_with_a_bad_template_names_it():
    with pytest.raises(TypeValidationError, match="pod_template"):
        replica_pod_template(
            container_name="w", image="i", requests=None, limits=None, pod_template="named",  # type: ignore[arg-type]
            task_parts=TaskParts(), settings=SETTINGS, owner="w group",
        )


# -- finish_pod_spec ---------------------------------------------------------------------------


def test_finish_pod_spec_is_what_a_plain_task_goes_through():
    spec = {"containers": [{"name": "primary", "image": "i", "resources": {"requests": {"cpu": "2"}}}]}
    before = copy.deepcopy(spec)
    done = finish_pod_spec(spec, "primary", settings=SETTINGS, shm="auto", interruptible=True,
                           device=flyte.Resources(gpu="T4:1").get_device())
    assert spec == before  # not mutated
    c = done["containers"][0]
    assert c["resources"] == {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "1Gi"}}
    assert done["volumes"] == [{"name": "flyte-shm", "emptyDir": {"medium": "Memory"}}]
    assert done["nodeSelector"] == {"pool": "spot"}
    pod_of({"spec": done})
    # The plain task's pod spec is the same finishing of its container.
    task_spec = task_pod_spec(plain.override(interruptible=True), SCTX, SETTINGS)  # type: ignore[call-arg]
    assert task_spec["nodeSelector"] == {"pool": "spot"} and task_spec["tolerations"][-1]["key"] == "spot"
    with pytest.raises(ValidationError, match="container_name"):
        finish_pod_spec(spec, "nope", settings=SETTINGS)


# -- K8sSettings.coerce ------------------------------------------------------------------------


def test_settings_coerce_accepts_settings_a_mapping_or_none():
    assert K8sSettings.coerce(SETTINGS) is SETTINGS
    assert K8sSettings.coerce({"default_cpu": "3"}).default_cpu == "3"
    assert K8sSettings.coerce(None) == K8sSettings()
    with pytest.raises(TypeValidationError, match=r"my_mapping: settings got 42 .*a K8sSettings, a mapping of settings or None"):
        K8sSettings.coerce(42, owner="my_mapping")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="kubernetes.nope"):
        K8sSettings.coerce({"nope": 1})


# -- flyte.testing.validate_custom_resource ---------------------------------------------------


def test_the_strict_validator_reports_unknown_fields_nulls_and_schema_errors():
    crd_path = CRDS / "ray.io_rayjobs.yaml"
    good = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "j"}, "spec": {"entrypoint": "x"}}
    flyte.testing.validate_custom_resource(good, crd_path)
    flyte.testing.validate_custom_resource(good, str(crd_path))
    crd_dict = yaml.safe_load(crd_path.read_text())
    flyte.testing.validate_custom_resource(good, crd_dict)  # a CRD dict works too
    bad = copy.deepcopy(good)
    bad["spec"]["entrypiont"] = "typo"
    bad["spec"]["shutdownAfterJobFinishes"] = None
    bad["spec"]["ttlSecondsAfterFinished"] = "soon"
    bad["kind"] = "RayJobs"
    with pytest.raises(flyte.testing.CRDValidationError) as e:
        flyte.testing.validate_custom_resource(bad, crd_dict)
    errors = e.value.errors
    assert any(x.startswith("spec.entrypiont: unknown field") for x in errors)
    assert "spec.shutdownAfterJobFinishes: null value (emit no nulls)" in errors
    assert any(x.startswith("spec.ttlSecondsAfterFinished:") for x in errors)
    assert any(x.startswith("kind: 'RayJobs'") for x in errors)
    assert isinstance(e.value, FlyteError) and isinstance(e.value, AssertionError)
    assert flyte.testing.crd_errors(good, crd_path) == []


def test_the_strict_validator_rejects_a_missing_crd_and_an_unknown_version(tmp_path):
    good = {"apiVersion": "ray.io/v9", "kind": "RayJob", "metadata": {"name": "j"}, "spec": {}}
    with pytest.raises(ValidationError, match="invalid version='v9': a version of CRD ray.io_rayjobs.yaml"):
        flyte.testing.validate_custom_resource(good, CRDS / "ray.io_rayjobs.yaml")
    with pytest.raises(ValidationError, match="the path of a CRD file"):
        flyte.testing.validate_custom_resource(good, tmp_path / "missing.yaml")
    with pytest.raises(TypeValidationError, match="crd"):
        flyte.testing.validate_custom_resource(good, 3)  # type: ignore[arg-type]


def test_jsonschema_is_imported_only_when_validating():
    import subprocess
    import sys

    code = "import sys, flyte.testing\nprint('jsonschema' in sys.modules, 'yaml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
