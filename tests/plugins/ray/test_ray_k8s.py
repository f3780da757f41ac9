"""The RayJob mapping: expected dicts for the rules, strict validation against the KubeRay CRD."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

import flyte
import flyte.errors
from flyte._serialize.k8s_settings import K8sSettings
from flyteplugins.ray import AutoscalerOptionsConfig, HeadNodeConfig, RayJobConfig, WorkerNodeConfig
from flyteplugins.ray.k8s import ray_job, ray_job_for_task
from tests.crd_validation import CRDValidationError, crd_errors, validate_custom_resource

from conftest import REPO, VENV_BIN, subprocess_env

CRD = "ray.io_rayjobs.yaml"
SETTINGS = K8sSettings()
COMMAND = ["flyte-execute", "--inputs", "{{.input}}", "--", "module", "m", "task", "t"]


def job(cfg: RayJobConfig, **kwargs) -> dict:
    kwargs.setdefault("name", "env.t")
    kwargs.setdefault("image", "img:1")
    kwargs.setdefault("command", COMMAND)
    kwargs.setdefault("settings", SETTINGS)
    manifest = ray_job(cfg, **kwargs)
    validate_custom_resource(manifest, CRD)
    return manifest


def containers(manifest: dict) -> dict:
    rc = manifest["spec"]["rayClusterSpec"]
    out = {"head": rc["headGroupSpec"]["template"]["spec"]["containers"]}
    for g in rc["workerGroupSpecs"]:
        out[g["groupName"]] = g["template"]["spec"]["containers"]
    return out


def test_minimal_job_expected_dict():
    assert job(RayJobConfig(worker_node_config=[WorkerNodeConfig("w", 1)])) == {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": "env-t"},
        "spec": {
            "entrypoint": shlex.join(COMMAND),
            "shutdownAfterJobFinishes": False,
            "rayClusterSpec": {
                "enableInTreeAutoscaling": False,
                "headGroupSpec": {
                    "rayStartParams": {
                        "dashboard-host": "0.0.0.0", "include-dashboard": "true", "disable-usage-stats": "true",
                    },
                    "template": {"spec": {"containers": [{
                        "name": "ray-head",
                        "image": "img:1",
                        "ports": [
                            {"name": "gcs-server", "containerPort": 6379},
                            {"name": "client", "containerPort": 10001},
                            {"name": "dashboard", "containerPort": 8265},
                        ],
                        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                    }]}},
                },
                "workerGroupSpecs": [{
                    "groupName": "w",
                    "replicas": 1,
                    "minReplicas": 1,
                    "maxReplicas": 1,
                    "rayStartParams": {},
                    "template": {"spec": {"containers": [{
                        "name": "ray-worker",
                        "image": "img:1",
                        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                    }]}},
                }],
            },
        },
    }


def test_entrypoint_round_trips_and_no_container_args():
    cmd = ["flyte-execute", "--inputs", "s3://b/in put.pb", "--", "module", "a.b", "task", "f"]
    m = job(RayJobConfig(worker_node_config=[WorkerNodeConfig("w", 1)]), command=cmd)
    assert shlex.split(m["spec"]["entrypoint"]) == cmd
    for cs in containers(m).values():
        assert "args" not in cs[0] and "command" not in cs[0]


def test_gpus_only_on_the_group_that_asks():
    cfg = RayJobConfig(worker_node_config=[
        WorkerNodeConfig("cpu", 2, requests=flyte.Resources(cpu=2, memory="4Gi")),
        WorkerNodeConfig("gpu", 1, requests=flyte.Resources(cpu=4, memory="16Gi", gpu="A100:2")),
    ])
    m = job(cfg)
    rc = m["spec"]["rayClusterSpec"]
    gpu_group = rc["workerGroupSpecs"][1]["template"]["spec"]
    assert gpu_group["containers"][0]["resources"] == {
        "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "2"},
        "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "2"},
    }
    assert gpu_group["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "k8s.amazonaws.com/accelerator", "operator": "In", "values": ["nvidia-tesla-a100"]},
        ]}],
    }
    assert gpu_group["tolerations"] == [{
        "key": "k8s.amazonaws.com/accelerator", "operator": "Equal", "value": "nvidia-tesla-a100", "effect": "NoSchedule",
    }]
    for spec in (rc["headGroupSpec"]["template"]["spec"], rc["workerGroupSpecs"][0]["template"]["spec"]):
        assert "affinity" not in spec and "tolerations" not in spec
        res = spec["containers"][0]["resources"]
        assert "nvidia.com/gpu" not in res["requests"] and "nvidia.com/gpu" not in res["limits"]


def test_head_gpu_partition_and_plain_count():
    cfg = RayJobConfig(
        head_node_config=HeadNodeConfig(requests=flyte.Resources(gpu=flyte.GPU("A100", 1, "1g.5gb"))),
        worker_node_config=[WorkerNodeConfig("w", 1, limits=flyte.Resources(gpu=2))],
    )
    m = job(cfg)
    rc = m["spec"]["rayClusterSpec"]
    head = rc["headGroupSpec"]["template"]["spec"]
    exprs = head["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"]
    assert {"key": "k8s.amazonaws.com/gpu-partition-size", "operator": "In", "values": ["1g.5gb"]} in exprs
    worker = rc["workerGroupSpecs"][0]["template"]["spec"]
    assert worker["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert "affinity" not in worker  # a count without a model sets only the resource


def test_task_resources_size_groups_without_their_own():
    cfg = RayJobConfig(worker_node_config=[WorkerNodeConfig("w", 1), WorkerNodeConfig("own", 1, requests=flyte.Resources(cpu=3))])
    m = job(cfg, resources=flyte.Resources(cpu=2, memory="8Gi", gpu="T4:1"))
    c = containers(m)
    for name in ("head", "w"):
        assert c[name][0]["resources"]["requests"] == {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"}
    assert c["own"][0]["resources"]["requests"] == {"cpu": "3", "memory": "1Gi"}


def test_requests_and_limits_combine():
    cfg = RayJobConfig(worker_node_config=[
        WorkerNodeConfig("w", 1, requests=flyte.Resources(cpu=1, memory="2Gi"), limits=flyte.Resources(cpu=4, memory="4Gi")),
    ])
    res = containers(job(cfg))["w"][0]["resources"]
    assert res == {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "4", "memory": "4Gi"}}


def test_multi_host_tpu_on_the_head_is_an_error():
    cfg = RayJobConfig(head_node_config=HeadNodeConfig(requests=flyte.Resources(gpu=flyte.TPU("V5P", "2x2x2"))),
                       worker_node_config=[])
    with pytest.raises(flyte.errors.ValidationError, match="2x2x2"):
        job(cfg)


def test_replicas_autoscaling_and_options():
    cfg = RayJobConfig(
        worker_node_config=[WorkerNodeConfig("w", 2, min_replicas=0, max_replicas=10, ray_start_params={"num-cpus": 4, "block": True})],
        enable_autoscaling=True,
        autoscaler_options=AutoscalerOptionsConfig(
            upscaling_mode=AutoscalerOptionsConfig.UpscalingMode.CONSERVATIVE,
            idle_timeout_seconds=120,
            image="rayproject/ray:2.60.0",
            env={"A": "b"},
            resources=flyte.Resources(cpu=("500m", "1"), memory="512Mi"),
        ),
    )
    rc = job(cfg)["spec"]["rayClusterSpec"]
    w = rc["workerGroupSpecs"][0]
    assert (w["replicas"], w["minReplicas"], w["maxReplicas"]) == (2, 0, 10)
    assert w["rayStartParams"] == {"num-cpus": "4", "block": "true"}
    assert rc["enableInTreeAutoscaling"] is True
    assert rc["autoscalerOptions"] == {
        "upscalingMode": "Conservative",
        "idleTimeoutSeconds": 120,
        "image": "rayproject/ray:2.60.0",
        "env": [{"name": "A", "value": "b"}],
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
    }


def test_user_head_start_params_win_over_defaults():
    cfg = RayJobConfig(head_node_config=HeadNodeConfig(ray_start_params={"include-dashboard": "false", "num-cpus": "0"}),
                       worker_node_config=[])
    params = job(cfg)["spec"]["rayClusterSpec"]["headGroupSpec"]["rayStartParams"]
    assert params == {"include-dashboard": "false", "num-cpus": "0", "dashboard-host": "0.0.0.0", "disable-usage-stats": "true"}


@pytest.mark.parametrize("shutdown, ttl", [(False, None), (False, 0), (True, None), (True, 600)])
def test_shutdown_and_ttl_honoured_both_ways(shutdown, ttl):
    spec = job(RayJobConfig(worker_node_config=[], shutdown_after_job_finishes=shutdown, ttl_seconds_after_finished=ttl))["spec"]
    assert spec["shutdownAfterJobFinishes"] is shutdown
    if ttl is None:
        assert "ttlSecondsAfterFinished" not in spec
    else:
        assert spec["ttlSecondsAfterFinished"] == ttl


def test_ttl_without_shutdown_is_an_error_kuberay_would_give():
    with pytest.raises(flyte.errors.ValidationError, match="ttl_seconds_after_finished.*shutdown_after_job_finishes=True"):
        job(RayJobConfig(worker_node_config=[], ttl_seconds_after_finished=600))


def test_the_ray_container_comes_first_even_behind_a_sidecar():
    template = flyte.PodTemplate(
        pod_spec={"containers": [{"name": "log-shipper", "image": "fluent-bit"}, {"name": "primary"}]}
    )
    cfg = RayJobConfig(worker_node_config=[WorkerNodeConfig("w", 1)])
    found = containers(job(cfg, pod_template=template))
    assert [c["name"] for c in found["head"]] == ["ray-head", "log-shipper"]
    assert [c["name"] for c in found["w"]] == ["ray-worker", "log-shipper"]


def test_runtime_env_yaml():
    env = {"env_vars": {"X": "1"}, "working_dir": ".", "pip": ["requests==2.32"]}
    spec = job(RayJobConfig(worker_node_config=[], runtime_env=env))["spec"]
    assert yaml.safe_load(spec["runtimeEnvYAML"]) == env
    assert "runtimeEnvYAML" not in job(RayJobConfig(worker_node_config=[]))["spec"]


def test_pod_templates_merge_by_container_name():
    worker_template = flyte.PodTemplate(
        pod_spec={
            "containers": [
                {"name": "ray-worker", "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                 "resources": {"limits": {"ephemeral-storage": "10Gi"}}},
                {"name": "sidecar", "image": "busybox"},
            ],
            "volumes": [{"name": "data", "emptyDir": {}}],
        },
        labels={"team": "ml"},
    )
    task_template = flyte.PodTemplate(pod_spec={"containers": [{"name": "primary", "env": [{"name": "Z", "value": "1"}]}],
                                                "nodeSelector": {"pool": "ray"}})
    cfg = RayJobConfig(worker_node_config=[WorkerNodeConfig("w", 1, pod_template=worker_template, requests=flyte.Resources(cpu=2))])
    rc = job(cfg, pod_template=task_template, env_vars={"E": "v"})["spec"]["rayClusterSpec"]
    w = rc["workerGroupSpecs"][0]["template"]
    assert w["metadata"] == {"labels": {"team": "ml"}}
    names = [c["name"] for c in w["spec"]["containers"]]
    assert names == ["ray-worker", "sidecar"]
    rw = w["spec"]["containers"][0]
    assert rw["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert rw["image"] == "img:1" and rw["env"] == [{"name": "E", "value": "v"}]
    assert rw["resources"]["requests"]["cpu"] == "2" and rw["resources"]["limits"]["ephemeral-storage"] == "10Gi"
    # The head has no template of its own: the task's, its primary container becoming ray-head.
    head = rc["headGroupSpec"]["template"]["spec"]
    assert head["nodeSelector"] == {"pool": "ray"}
    assert [c["name"] for c in head["containers"]] == ["ray-head"]
    assert head["containers"][0]["env"] == [{"name": "Z", "value": "1"}, {"name": "E", "value": "v"}]


def test_secrets_are_references_on_every_ray_container():
    m = job(RayJobConfig(worker_node_config=[WorkerNodeConfig("w", 1)]), secrets=[flyte.Secret(key="token", as_env_var="TOKEN")])
    for cs in containers(m).values():
        assert {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "token", "key": "token"}}} in cs[0]["env"]


def test_long_names_are_shortened_and_start_with_a_letter():
    m = job(RayJobConfig(worker_node_config=[]), name="9" + "x" * 80)
    name = m["metadata"]["name"]
    assert len(name) <= 47 and name[0].isalpha()


def test_validator_rejects_unknown_fields_and_nulls():
    m = job(RayJobConfig(worker_node_config=[WorkerNodeConfig("w", 1)]))
    m["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replica"] = 1
    m["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = None
    m["spec"]["ttlSecondsAfterFinished"] = "soon"
    errors = crd_errors(m, CRD)
    assert any("workerGroupSpecs[0].replica: unknown field" in e for e in errors)
    assert any("imagePullPolicy: null" in e for e in errors)
    assert any("ttlSecondsAfterFinished" in e for e in errors)
    with pytest.raises(CRDValidationError):
        validate_custom_resource(m, CRD)


def test_custom_config_is_the_flyteidl_ray_job():
    env = flyte.TaskEnvironment(name="ray_k8s_cc", plugin_config=RayJobConfig(
        worker_node_config=[WorkerNodeConfig("w", 2, min_replicas=1, max_replicas=3, requests=flyte.Resources(gpu="A100:1"))],
        head_node_config=HeadNodeConfig(ray_start_params={"num-cpus": "0"}),
        enable_autoscaling=True,
        autoscaler_options=AutoscalerOptionsConfig(upscaling_mode="Aggressive", idle_timeout_seconds=60),
        runtime_env={"env_vars": {"A": "1"}},
        shutdown_after_job_finishes=True,
        ttl_seconds_after_finished=30,
    ))

    @env.task
    def t() -> int:
        return 1

    from flyte.models import SerializationContext
    from flyteidl2.plugins import ray_pb2
    from google.protobuf import json_format

    cc = t.custom_config(SerializationContext())
    msg = json_format.ParseDict(cc, ray_pb2.RayJob())  # it is exactly a RayJob message
    assert msg.shutdown_after_job_finishes and msg.ttl_seconds_after_finished == 30
    assert yaml.safe_load(msg.runtime_env_yaml) == {"env_vars": {"A": "1"}}
    assert msg.ray_cluster.enable_autoscaling
    assert dict(msg.ray_cluster.head_group_spec.ray_start_params) == {"num-cpus": "0"}
    w = msg.ray_cluster.worker_group_spec[0]
    assert (w.group_name, w.replicas, w.min_replicas, w.max_replicas) == ("w", 2, 1, 3)
    assert w.extended_resources.gpu_accelerator.device == "nvidia-tesla-a100"
    assert msg.ray_cluster.autoscaler_options.upscaling_mode == ray_pb2.AutoscalerOptions.UPSCALING_MODE_AGGRESSIVE
    assert cc["rayCluster"]["workerGroupSpec"][0]["groupName"] == "w"


def test_kubernetes_objects_handler_gives_the_ray_job_for_ray_tasks_only():
    import ray_tasks
    from flyte._serialize.k8s import task_manifests
    from flyte.extend import TaskPluginRegistry
    from flyte.models import SerializationContext
    from flyteplugins.ray.task import RayFunctionTask

    objs = task_manifests(ray_tasks.fan_out, SerializationContext(version="v1"), SETTINGS)
    assert [o["kind"] for o in objs] == ["RayJob"]
    validate_custom_resource(objs[0], CRD)
    assert objs[0] == ray_job_for_task(ray_tasks.fan_out, SerializationContext(version="v1"), SETTINGS)
    # The handler is the Ray task class's: registered with it, never looked up for other tasks.
    assert TaskPluginRegistry.handler(RayFunctionTask, "kubernetes_objects") is not None
    plain = flyte.TaskEnvironment(name="plain_k8s")

    @plain.task
    def p() -> int:
        return 1

    assert TaskPluginRegistry.handler(type(p), "kubernetes_objects") is None


def test_deploy_dry_run_writes_a_valid_ray_job(tmp_path: Path):
    out = tmp_path / "manifests"
    examples = sorted(str(p.relative_to(REPO)) for p in (REPO / "examples").glob("ray_*.py"))
    proc = subprocess.run(
        [str(VENV_BIN / "flyte"), "deploy", "--dry-run", "--all", "--output", str(out), *examples],
        cwd=REPO, env=subprocess_env(FLYTE_HOME=str(tmp_path)), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs = []
    for path in out.rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "RayJob":
                jobs.append(doc)
    assert jobs, f"no RayJob written: {sorted(p.name for p in out.rglob('*'))}"
    for doc in jobs:
        validate_custom_resource(doc, CRD)
        assert doc["spec"]["entrypoint"].startswith("flyte-execute ")


def test_ray_job_metadata_is_the_shared_object_metadata():
    import ray_tasks
    from flyte.extend import object_metadata
    from flyte.models import SerializationContext

    sctx = SerializationContext(version="v2", project="ml", domain="prod")
    labelled = ray_tasks.fan_out.override(
        pod_template=flyte.PodTemplate(labels={"team": "ml"}, annotations={"owner": "ana"})
    )
    named = ray_tasks.fan_out.override(pod_template="ray-gpu-template")
    for task in (ray_tasks.fan_out, labelled, named):
        job = ray_job_for_task(task, sctx, SETTINGS)
        validate_custom_resource(job, CRD)
        assert job["metadata"] == object_metadata(task, sctx, max_name=47, dns1035=True)
        assert job["metadata"]["namespace"] == "ml-prod"
    job = ray_job_for_task(labelled, sctx, SETTINGS)
    assert job["metadata"]["labels"]["team"] == "ml" and job["metadata"]["annotations"] == {"owner": "ana"}
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]
    assert head["metadata"] == {"labels": {"team": "ml"}, "annotations": {"owner": "ana"}}  # and on the pods
    named_job = ray_job_for_task(named, sctx, SETTINGS)
    assert named_job["metadata"]["annotations"] == {"flyte.org/pod-template-name": "ray-gpu-template"}
    assert "metadata" not in named_job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]


def test_service_account_runs_every_ray_pod():
    import ray_tasks
    from flyte.models import SerializationContext

    task = ray_tasks.fan_out.override(service_account="ray-runner")
    manifest = ray_job_for_task(task, SerializationContext(version="v1"), SETTINGS)
    validate_custom_resource(manifest, CRD)
    rc = manifest["spec"]["rayClusterSpec"]
    pods = [rc["headGroupSpec"]["template"]["spec"], *(g["template"]["spec"] for g in rc["workerGroupSpecs"])]
    assert pods and all(p["serviceAccountName"] == "ray-runner" for p in pods)
    assert all("serviceAccountName" not in p for p in (
        ray_job_for_task(ray_tasks.fan_out, SerializationContext(version="v1"), SETTINGS)["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"],
    ))
