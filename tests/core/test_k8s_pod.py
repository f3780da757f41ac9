"""Tasks as Kubernetes pods: the rules of docs/ARCHITECTURE.md ("Kubernetes mapping"), each against an expected dict, and every
pod produced validated by ``kubernetes-validate`` (strict, Kubernetes 1.30)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict

import kubernetes_validate
import pytest

import flyte
from flyte._serialize import k8s
from flyte._serialize.devices import device_resources, device_scheduling
from flyte._serialize.k8s_settings import DEVICE_VALUES, K8sSettings
from flyte.errors import TypeValidationError, ValidationError
from flyte.extend import PRIMARY_CONTAINER_DEFAULT_NAME
from flyte.models import SerializationContext

K8S_VERSION = "1.30"
SCTX = SerializationContext(root_dir=Path(__file__).parent)
SETTINGS = K8sSettings()

env = flyte.TaskEnvironment(name="k8s_demo", image="python:3.11-slim")


@env.task
def plain(x: int) -> int:
    return x + 1


def validated(obj: Dict[str, Any]) -> Dict[str, Any]:
    """Validate a Pod (or wrap a pod spec in one) against the Kubernetes schemas, strictly."""
    pod = obj if obj.get("kind") == "Pod" else {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": obj}
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    k8s.check_no_nulls(pod)
    return obj


def spec_of(task: Any, settings: K8sSettings = SETTINGS) -> Dict[str, Any]:
    return validated(k8s.task_pod_spec(task, SCTX, settings))


def primary(spec: Dict[str, Any], name: str = PRIMARY_CONTAINER_DEFAULT_NAME) -> Dict[str, Any]:
    found = k8s.find_container(spec, name)
    assert found is not None, spec
    return found


def with_resources(**kwargs: Any) -> Any:
    return plain.override(resources=flyte.Resources(**kwargs))


def node_terms(spec: Dict[str, Any]) -> list:
    return spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


def test_settings_defaults_match_the_mapping() -> None:
    s = K8sSettings()
    assert s.device_label_key == "k8s.amazonaws.com/accelerator"
    assert s.labels_for("TPU") == ("cloud.google.com/gke-tpu-accelerator", "cloud.google.com/gke-tpu-topology")
    assert s.partition_label_key == "k8s.amazonaws.com/gpu-partition-size"
    assert s.resource_names == {
        "GPU": "nvidia.com/gpu", "TPU": "google.com/tpu", "NEURON": "aws.amazon.com/neuron",
        "AMD_GPU": "amd.com/gpu", "HABANA_GAUDI": "habana.ai/gaudi",
    }
    assert (s.mig_strategy, s.default_cpu, s.default_memory) == ("single", "1", "1Gi")
    assert (s.interruptible_node_selector, s.interruptible_tolerations) == ({}, ())


def test_device_values_one_table_case_insensitive() -> None:
    s = K8sSettings()
    assert s.device_value("H100") == s.device_value("h100") == "nvidia-h100"
    assert s.device_value("A100 80G") == "nvidia-a100-80gb"
    assert s.device_value("rtx pro 6000") == "nvidia-rtx-pro-6000"
    assert s.device_value("MI355X") == "amd-mi355x"
    assert s.device_value("Gaudi1") == "habana-gaudi-dl1"
    assert s.device_value("Trn1n") == "aws-neuron-trn1n"
    assert s.device_value("My Fancy GPU") == "my-fancy-gpu"
    assert K8sSettings(device_values={"A100": "a100-40g"}).device_value("a100") == "a100-40g"
    # The proto serializer reads the same table.
    from flyte._serialize.resources import device_label_value

    assert all(device_label_value(k) == v for k, v in DEVICE_VALUES.items())


def test_settings_from_config_section() -> None:
    s = K8sSettings.from_config({
        "device-label-key": "example.com/gpu",
        "mig_strategy": "mixed",
        "resource_names": {"GPU": "example.com/gpu"},
        "default_memory": "2048Mi",
        "interruptible_node_selector": {"pool": "spot"},
        "interruptible_tolerations": [{"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
    })
    assert s.device_label_key == "example.com/gpu"
    assert s.resource_name("GPU") == "example.com/gpu" and s.resource_name("TPU") == "google.com/tpu"
    assert s.default_memory == "2Gi"
    assert s.interruptible_tolerations[0]["key"] == "spot"
    assert K8sSettings.from_config(None) == K8sSettings()


def test_settings_are_read_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("kubernetes:\n  mig_strategy: mixed\n  default_cpu: 500m\n")
    monkeypatch.setenv("FLYTE_CONFIG", str(cfg))
    from flyte._serialize.k8s_settings import current_settings

    s = current_settings()
    assert (s.mig_strategy, s.default_cpu) == ("mixed", "500m")


@pytest.mark.parametrize(
    "section, key",
    [
        ({"bogus": 1}, "kubernetes.bogus"),
        ({"mig_strategy": "all"}, "kubernetes.mig_strategy"),
        ({"default_cpu": "lots"}, "kubernetes.default_cpu"),
        ({"device_label_key": "not a key!"}, "kubernetes.device_label_key"),
        ({"resource_names": {"FPGA": "x.com/fpga"}}, "kubernetes.resource_names"),
        ({"device_values": {"A100": "Not Valid!"}}, "kubernetes.device_values.a100"),
        ({"interruptible_tolerations": [{"key": "spot", "effect": "Sometimes"}]},
         "kubernetes.interruptible_tolerations.effect"),
    ],
)
def test_settings_errors_name_the_key(section: Dict[str, Any], key: str) -> None:
    with pytest.raises((ValidationError, TypeValidationError)) as e:
        K8sSettings.from_config(section)
    assert e.value.field == key


# ---------------------------------------------------------------------------------------------
# Rule 1: requests and limits
# ---------------------------------------------------------------------------------------------


def test_scalar_is_request_and_missing_limit_is_the_request() -> None:
    c = primary(spec_of(with_resources(cpu="2", memory="4Gi")))
    assert c["resources"] == {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}


def test_tuple_is_request_and_limit() -> None:
    c = primary(spec_of(with_resources(cpu=(1, 2.5), memory=("1Gi", "2048Mi"))))
    assert c["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2500m", "memory": "2Gi"}}


def test_defaults_when_the_task_gives_nothing() -> None:
    c = primary(spec_of(plain))
    assert c["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    # Per resource: a task giving only cpu still gets the default memory.
    c = primary(spec_of(with_resources(cpu="4")))
    assert c["resources"]["requests"] == {"cpu": "4", "memory": "1Gi"}
    # Defaults can be switched off.
    c = primary(spec_of(plain, K8sSettings(default_cpu=None, default_memory=None)))
    assert "resources" not in c


def test_missing_request_is_the_limit_and_zero_is_dropped() -> None:
    out = k8s.finalize_container_resources({"limits": {"cpu": "2", "memory": "0"}}, SETTINGS, apply_defaults=False)
    assert out == {"requests": {"cpu": "2"}, "limits": {"cpu": "2"}}
    assert k8s.container_resources(flyte.Resources(cpu=0, disk="0"), SETTINGS, apply_defaults=False) == {}


def test_disk_is_ephemeral_storage() -> None:
    c = primary(spec_of(with_resources(disk="50Gi")))
    assert c["resources"]["requests"]["ephemeral-storage"] == "50Gi"
    assert c["resources"]["limits"]["ephemeral-storage"] == "50Gi"


def test_quantity_kubernetes_would_reject_names_task_field_and_value() -> None:
    res = flyte.Resources(cpu="1")
    res.cpu = "1.5 cores"  # Resources is mutable; the manifest re-checks it
    with pytest.raises(ValidationError) as e:
        k8s.task_pod_spec(plain.override(resources=res), SCTX, SETTINGS)
    assert e.value.field == "resources.cpu" and e.value.value == "1.5 cores"
    assert "k8s_demo.plain" in str(e.value)
    with pytest.raises(ValidationError, match="at most the limit"):
        k8s.finalize_container_resources({"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}})
    with pytest.raises(ValidationError, match="resources.requests.cpu"):
        k8s.finalize_container_resources({"requests": {"cpu": "-1"}})


# ---------------------------------------------------------------------------------------------
# Rules 2 and 3: devices
# ---------------------------------------------------------------------------------------------


def test_gpu_by_type_and_quantity() -> None:
    spec = spec_of(with_resources(gpu="A100:2"))
    c = primary(spec)
    assert c["resources"]["requests"]["nvidia.com/gpu"] == "2" == c["resources"]["limits"]["nvidia.com/gpu"]
    assert node_terms(spec) == [{"matchExpressions": [
        {"key": "k8s.amazonaws.com/accelerator", "operator": "In", "values": ["nvidia-tesla-a100"]}]}]
    assert spec["tolerations"] == [
        {"key": "k8s.amazonaws.com/accelerator", "operator": "Equal", "value": "nvidia-tesla-a100", "effect": "NoSchedule"}
    ]


def test_plain_gpu_count_sets_only_the_resource() -> None:
    spec = spec_of(with_resources(gpu=2))
    assert primary(spec)["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert "affinity" not in spec and "tolerations" not in spec
    assert device_scheduling(flyte.Resources(gpu=2).get_device(), SETTINGS) == ([], [])


def test_mig_single_strategy() -> None:
    spec = spec_of(with_resources(gpu=flyte.GPU("A100", 1, "1g.5gb")))
    assert primary(spec)["resources"]["limits"] == {"nvidia.com/gpu": "1", "cpu": "1", "memory": "1Gi"}
    assert node_terms(spec)[0]["matchExpressions"] == [
        {"key": "k8s.amazonaws.com/accelerator", "operator": "In", "values": ["nvidia-tesla-a100"]},
        {"key": "k8s.amazonaws.com/gpu-partition-size", "operator": "In", "values": ["1g.5gb"]},
    ]
    assert {t["key"] for t in spec["tolerations"]} == {
        "k8s.amazonaws.com/accelerator", "k8s.amazonaws.com/gpu-partition-size"}


def test_mig_mixed_strategy() -> None:
    mixed = K8sSettings(mig_strategy="mixed")
    spec = spec_of(with_resources(gpu=flyte.GPU("H100", 2, "3g.40gb")), mixed)
    res = primary(spec)["resources"]
    assert res["requests"]["nvidia.com/mig-3g.40gb"] == "2" == res["limits"]["nvidia.com/mig-3g.40gb"]
    assert "nvidia.com/gpu" not in res["limits"]
    assert node_terms(spec)[0]["matchExpressions"] == [
        {"key": "k8s.amazonaws.com/accelerator", "operator": "In", "values": ["nvidia-h100"]}]


@pytest.mark.parametrize("device, partition, chips", [("V5P", "2x2x1", "4"), ("V6E", "2x4", "8"), ("V6E", "1x1", "1")])
def test_tpu_requests_the_chips_of_the_slice(device: str, partition: str, chips: str) -> None:
    spec = spec_of(with_resources(gpu=flyte.TPU(device, partition)))
    assert primary(spec)["resources"]["limits"]["google.com/tpu"] == chips
    assert node_terms(spec)[0]["matchExpressions"] == [
        {"key": "cloud.google.com/gke-tpu-accelerator", "operator": "In", "values": [K8sSettings().device_value(device)]},
        {"key": "cloud.google.com/gke-tpu-topology", "operator": "In", "values": [partition]},
    ]


def test_multi_host_tpu_is_an_error_naming_the_topology() -> None:
    task = with_resources(gpu=flyte.TPU("V5P", "2x2x2"))
    with pytest.raises(ValidationError) as e:
        k8s.task_pod_spec(task, SCTX, SETTINGS)
    assert "2x2x2" in str(e.value) and "k8s_demo.plain" in str(e.value) and e.value.field == "resources.gpu"
    with pytest.raises(ValidationError, match="4x8"):
        device_scheduling(flyte.TPU("V6E", "4x8"), SETTINGS)


@pytest.mark.parametrize(
    "gpu, resource, count, label",
    [
        (flyte.Neuron("Trn1"), "aws.amazon.com/neuron", "1", "aws-neuron-trn1"),
        ("Inf2:4", "aws.amazon.com/neuron", "4", "aws-neuron-inf2"),
        (flyte.AMD_GPU("MI300X"), "amd.com/gpu", "1", "amd-mi300x"),
        (flyte.HABANA_GAUDI("Gaudi1"), "habana.ai/gaudi", "1", "habana-gaudi-dl1"),
    ],
)
def test_other_device_classes(gpu: Any, resource: str, count: str, label: str) -> None:
    spec = spec_of(with_resources(gpu=gpu))
    assert primary(spec)["resources"]["requests"][resource] == count
    assert node_terms(spec)[0]["matchExpressions"] == [
        {"key": "k8s.amazonaws.com/accelerator", "operator": "In", "values": [label]}]
    assert spec["tolerations"][0]["value"] == label


def test_custom_resource_names_and_custom_device() -> None:
    s = K8sSettings(resource_names={"GPU": "example.com/gpu"})
    dev = flyte.Device(quantity=1, device_class="GPU", device="Super Card")
    assert device_resources(dev, s) == {"example.com/gpu": "1"}
    reqs, tols = device_scheduling(dev, s)
    assert reqs == [{"key": "k8s.amazonaws.com/accelerator", "operator": "In", "values": ["super-card"]}]
    with pytest.raises(ValidationError, match="label value"):
        device_scheduling(flyte.Device(quantity=1, device_class="GPU", device="bad/name"), s)


def test_device_partition_mismatch_is_an_error_at_definition() -> None:
    with pytest.raises(ValidationError) as e:
        flyte.GPU("T4", 1, "1g.5gb")
    assert e.value.field == "partition" and e.value.value == "1g.5gb"
    with pytest.raises(ValidationError, match="partition"):
        flyte.Device(quantity=1, device_class="GPU", device="A100", partition="2x2")


def test_device_affinity_is_added_to_every_user_term() -> None:
    user = {"containers": [{"name": "primary", "image": "x"}], "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
        ]}}}}
    task = plain.override(resources=flyte.Resources(gpu="T4:1"), pod_template=flyte.PodTemplate(pod_spec=user))
    terms = node_terms(spec_of(task))
    device = {"key": "k8s.amazonaws.com/accelerator", "operator": "In", "values": ["nvidia-tesla-t4"]}
    assert len(terms) == 2 and all(t["matchExpressions"][-1] == device for t in terms)
    assert terms[0]["matchExpressions"][0]["values"] == ["a"]


# ---------------------------------------------------------------------------------------------
# Rule 4: shared memory
# ---------------------------------------------------------------------------------------------


def test_shm_sized() -> None:
    spec = spec_of(with_resources(shm="16Gi"))
    assert spec["volumes"] == [{"name": "flyte-shm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}}]
    assert primary(spec)["volumeMounts"] == [{"name": "flyte-shm", "mountPath": "/dev/shm"}]


def test_shm_auto_has_no_size_limit() -> None:
    spec = spec_of(with_resources(shm="auto"))
    assert spec["volumes"] == [{"name": "flyte-shm", "emptyDir": {"medium": "Memory"}}]


def test_apply_shm_is_pure_and_targets_the_named_container() -> None:
    spec = {"containers": [{"name": "ray-head", "image": "x"}]}
    out = k8s.apply_shm(spec, "ray-head", "1Gi")
    assert spec == {"containers": [{"name": "ray-head", "image": "x"}]}
    assert out["containers"][0]["volumeMounts"][0]["mountPath"] == "/dev/shm"
    with pytest.raises(ValidationError, match="container_name"):
        k8s.apply_shm(spec, "ray-worker", "1Gi")


# ---------------------------------------------------------------------------------------------
# Rule 6: pod templates
# ---------------------------------------------------------------------------------------------


def _user_template(**kwargs: Any) -> flyte.PodTemplate:
    spec = {
        "containers": [
            {"name": "primary", "image": "user/image:1", "command": ["sleep"], "workingDir": "/work",
             "env": [{"name": "USER_VAR", "value": "u"}, {"name": "SHARED", "value": "user"}],
             "resources": {"requests": {"cpu": "3", "example.com/fpga": "1"}, "limits": {"example.com/fpga": "1"}},
             "securityContext": {"runAsUser": 1000}},
            {"name": "sidecar", "image": "busybox", "args": ["tail", "-f", "/dev/null"]},
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "serviceAccountName": "runner",
        "tolerations": [{"key": "team", "operator": "Exists"}],
    }
    return flyte.PodTemplate(pod_spec=spec, labels={"team": "ml"}, annotations={"owner": "me@example.com"}, **kwargs)


def test_pod_template_is_the_base_and_task_fields_win() -> None:
    task = plain.override(
        pod_template=_user_template(), env_vars={"SHARED": "task"},
        resources=flyte.Resources(memory="2Gi", gpu="T4:1"),
    )
    pod = validated(k8s.task_pod(task, SCTX, SETTINGS))
    spec = pod["spec"]
    names = [c["name"] for c in spec["containers"]]
    assert names == ["primary", "sidecar"]
    c = primary(spec)
    assert c["image"] == "python:3.11-slim" and "command" not in c and c["args"][0] == "flyte-execute"
    assert c["workingDir"] == "/work" and c["securityContext"] == {"runAsUser": 1000}
    assert c["env"] == [{"name": "USER_VAR", "value": "u"}, {"name": "SHARED", "value": "task"}]
    # The template's cpu request stays (the task gives none), completed by its limit; task values win.
    assert c["resources"] == {
        "requests": {"cpu": "3", "example.com/fpga": "1", "memory": "2Gi", "nvidia.com/gpu": "1"},
        "limits": {"example.com/fpga": "1", "memory": "2Gi", "nvidia.com/gpu": "1", "cpu": "3"},
    }
    assert spec["serviceAccountName"] == "runner" and spec["volumes"] == [{"name": "data", "emptyDir": {}}]
    assert {"key": "team", "operator": "Exists"} in spec["tolerations"] and len(spec["tolerations"]) == 2
    assert spec["restartPolicy"] == "Never"
    assert pod["metadata"]["labels"]["team"] == "ml" and pod["metadata"]["annotations"] == {"owner": "me@example.com"}


def test_pod_template_without_the_primary_container_gets_it_added() -> None:
    tpl = flyte.PodTemplate(pod_spec={"containers": [{"name": "sidecar", "image": "busybox"}]},
                            primary_container_name="main")
    spec = spec_of(plain.override(pod_template=tpl))
    assert [c["name"] for c in spec["containers"]] == ["sidecar", "main"]
    assert primary(spec, "main")["image"] == "python:3.11-slim"


def test_pod_template_from_kubernetes_client_objects() -> None:
    from kubernetes.client import V1Container, V1PodSpec, V1Toleration

    tpl = flyte.PodTemplate(
        pod_spec=V1PodSpec(containers=[V1Container(name="primary", image="ignored", working_dir="/w")],
                           tolerations=[V1Toleration(key="x", operator="Exists")]),
    )
    spec = spec_of(plain.override(pod_template=tpl))
    assert primary(spec)["workingDir"] == "/w" and spec["tolerations"] == [{"key": "x", "operator": "Exists"}]


def test_merge_pod_template_keeps_user_input_unchanged() -> None:
    user = _user_template().pod_spec_dict()
    before = copy.deepcopy(user)
    out = k8s.merge_pod_template(user, "primary", {"name": "primary", "image": "img", "resources": {"limits": {"cpu": "9"}}})
    assert user == before
    assert out["containers"][0]["resources"]["limits"] == {"example.com/fpga": "1", "cpu": "9"}
    assert out["containers"][0]["image"] == "img"


# ---------------------------------------------------------------------------------------------
# Rule 7: secrets and env; rule 8: no nulls
# ---------------------------------------------------------------------------------------------


def test_secrets_are_references() -> None:
    task = plain.override(
        env_vars={"MODE": "prod"},
        secrets=[flyte.Secret("openai-key"), flyte.Secret("PASSWORD", group="db_creds", as_env_var="DB_PASS"),
                 flyte.Secret("tls.crt", group="certs", mount=Path("/etc/flyte/secrets"))],
    )
    spec = spec_of(task)
    c = primary(spec)
    assert c["env"] == [
        {"name": "MODE", "value": "prod"},
        {"name": "OPENAI_KEY", "valueFrom": {"secretKeyRef": {"name": "openai-key", "key": "openai-key"}}},
        {"name": "DB_PASS", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "PASSWORD"}}},
        {"name": "FLYTE_SECRETS_DIR", "value": "/etc/flyte/secrets"},
    ]
    assert spec["volumes"] == [{"name": "flyte-secrets", "projected": {"sources": [
        {"secret": {"name": "certs", "items": [{"key": "tls.crt", "path": "certs/tls.crt"}]}}]}}]
    assert c["volumeMounts"] == [{"name": "flyte-secrets", "mountPath": "/etc/flyte/secrets", "readOnly": True}]


def test_a_secret_value_in_a_manifest_is_an_error_that_hides_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKEN", "tok-9f8e7d6c5b")
    leaky = plain.override(secrets="api-token", env_vars={"TOKEN_COPY": "Bearer tok-9f8e7d6c5b"})
    with pytest.raises(ValidationError) as e:
        k8s.task_manifests(leaky, SCTX, SETTINGS)
    assert "tok-9f8e7d6c5b" not in str(e.value)
    assert "api-token" in str(e.value) and "env[0].value" in e.value.field and "k8s_demo.plain" in str(e.value)
    # With the value known but only referenced, the manifest is fine.
    ok = k8s.task_manifests(plain.override(secrets="api-token"), SCTX, SETTINGS)
    assert "tok-9f8e7d6c5b" not in repr(ok)


def test_interruptible_uses_the_settings() -> None:
    s = K8sSettings(
        interruptible_node_selector={"pool": "spot"},
        interruptible_tolerations=({"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"},),
        interruptible_node_affinity=({"key": "lifecycle", "operator": "In", "values": ["spot"]},),
    )
    spec = spec_of(plain.override(interruptible=True), s)
    assert spec["nodeSelector"] == {"pool": "spot"}
    assert spec["tolerations"] == [{"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    assert node_terms(spec) == [{"matchExpressions": [{"key": "lifecycle", "operator": "In", "values": ["spot"]}]}]
    # Not interruptible, or the default (empty) settings: nothing added.
    assert "nodeSelector" not in spec_of(plain, s)
    assert set(spec_of(plain.override(interruptible=True))) == {"containers", "restartPolicy"}


def test_no_nulls_anywhere() -> None:
    task = plain.override(
        resources=flyte.Resources(cpu=(1, 2), gpu=flyte.GPU("A100", 1, "1g.5gb"), shm="auto", disk="1Gi"),
        secrets=["a-key"], pod_template=_user_template(), interruptible=True,
    )
    pod = k8s.task_pod(task, SCTX, SETTINGS)
    validated(pod)
    assert "None" not in repr(pod) and "creationTimestamp" not in repr(pod)
    with pytest.raises(ValidationError, match="nulls"):
        k8s.check_no_nulls({"spec": {"containers": [{"name": None}]}})
    with pytest.raises(ValidationError, match="creationTimestamp"):
        k8s.check_no_nulls({"metadata": {"creationTimestamp": "2024-01-01"}})


# ---------------------------------------------------------------------------------------------
# The Pod of a task, and plugin objects
# ---------------------------------------------------------------------------------------------


def test_task_pod_document() -> None:
    pod = validated(k8s.task_pod(plain, SCTX, SETTINGS))
    assert pod["apiVersion"] == "v1" and pod["kind"] == "Pod"
    assert pod["metadata"]["name"] == "k8s-demo-plain"
    assert pod["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "flyte", "flyte.org/task": "k8s_demo.plain",
        "flyte.org/environment": "k8s_demo", "flyte.org/version": "local",
    }
    c = primary(pod["spec"])
    assert c["args"] == plain.container_args(SCTX)
    assert k8s.task_manifests(plain, SCTX, SETTINGS) == [pod]


def test_image_resolution(tmp_path: Path) -> None:
    image = flyte.Image.from_debian_base(python="3.11").with_pip_packages("requests")
    assert k8s.resolve_image_uri(image) == image.uri
    assert k8s.resolve_image_uri("auto") == flyte.Image.from_debian_base().uri
    flyte.init(images={"default": "ghcr.io/org/default:1", "gpu": "ghcr.io/org/gpu:2"})
    assert k8s.resolve_image_uri("auto") == "ghcr.io/org/default:1"
    assert k8s.resolve_image_uri(flyte.Image.from_ref_name("gpu")) == "ghcr.io/org/gpu:2"
    with pytest.raises(ValidationError, match="images"):
        k8s.resolve_image_uri(flyte.Image.from_ref_name("missing"))


def test_task_type_handlers_give_the_args_and_replace_the_pod(fresh_plugin_registry: Any) -> None:
    from dataclasses import dataclass

    from flyte.extend import AsyncFunctionTaskTemplate
    from flyte.models import NativeInterface

    @dataclass(frozen=True)
    class FakeJobConfig:
        kind: str = "pod"

    @dataclass(kw_only=True)
    class FakeJobTask(AsyncFunctionTaskTemplate):
        task_type: str = "fake-job"

    def command(task: Any, sctx: Any) -> Any:
        return ["run-it", task.name]

    def objects(task: Any, sctx: Any, settings: Any) -> Any:
        if task.plugin_config.kind == "job":
            return [{"apiVersion": "example.com/v1", "kind": "FakeJob", "metadata": {"name": "j"},
                     "spec": {"gpus": settings.resource_name("GPU")}}]
        return None

    fresh_plugin_registry.registry.register(
        FakeJobConfig, FakeJobTask, container_command=command, kubernetes_objects=objects
    )

    def make(kind: str) -> Any:
        return FakeJobTask(name="k8s_demo.fake", interface=NativeInterface(inputs={}, outputs={}), func=len,
                           plugin_config=FakeJobConfig(kind), image="python:3.11-slim")

    pod = k8s.task_manifests(make("pod"), SCTX, SETTINGS)
    assert [o["kind"] for o in pod] == ["Pod"] and primary(pod[0]["spec"])["args"] == ["run-it", "k8s_demo.fake"]
    validated(pod[0])
    objs = k8s.task_manifests(make("job"), SCTX, SETTINGS)
    assert objs == [{"apiVersion": "example.com/v1", "kind": "FakeJob", "metadata": {"name": "j"},
                     "spec": {"gpus": "nvidia.com/gpu"}}]
    # A plain task is not of the plugin's class: neither handler applies to it.
    assert primary(k8s.task_pod_spec(plain, SCTX, SETTINGS))["args"] == plain.container_args(SCTX)


def test_names() -> None:
    assert k8s.dns_label("My_Env.Train Model") == "my-env-train-model"
    long = k8s.dns_label("x" * 100)
    assert len(long) == 63 and long != k8s.dns_label("x" * 101)
    assert k8s.label_value("env.task") == "env.task"
    assert len(k8s.label_value("a" * 80)) <= 63


def test_multi_host_tpu_for_plugins_building_one_pod_per_host() -> None:
    from flyte._serialize.devices import tpu_host_count

    slice_ = flyte.TPU("V5P", "2x2x2")  # 8 chips: two hosts of four
    assert tpu_host_count(slice_) == 2 and tpu_host_count(flyte.TPU("V6E", "4x8")) == 8
    assert tpu_host_count(flyte.TPU("V5P", "2x2x1")) == 1
    res = k8s.container_resources(flyte.Resources(gpu=slice_), SETTINGS, multi_host=True)
    assert res["limits"]["google.com/tpu"] == "4"
    reqs, _ = device_scheduling(slice_, SETTINGS, multi_host=True)
    assert reqs[1] == {"key": "cloud.google.com/gke-tpu-topology", "operator": "In", "values": ["2x2x2"]}
