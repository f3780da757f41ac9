"""Multi-node PyTorch tasks as Kubeflow PyTorchJobs; nnodes=1 as a plain pod. Pure functions, no cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

import flyte
from flyte.extend import TaskPluginRegistry, container_command
from flyteplugins.pytorch import Elastic, RunPolicy
from flyteplugins.pytorch.k8s import pytorch_job
from tests.conftest import REPO, subprocess_env
from tests.crd_validation import CRDValidationError, validate_custom_resource

CRD = "kubeflow.org_pytorchjobs.yaml"
K8S_VERSION = "1.30"
CMD = ["flyte-execute", "--inputs", "{{.input}}", "--", "module", "m", "task", "t"]


def _job(config, **kw):
    job = pytorch_job(config, name="train", image="img:1", command=CMD, **kw)
    validate_custom_resource(job, CRD)
    return job


def _worker(job):
    return job["spec"]["pytorchReplicaSpecs"]["Worker"]


def test_expected_dict_of_an_elastic_job():
    job = _job(Elastic(nnodes="2:4", nproc_per_node=8, max_restarts=2))
    assert job["apiVersion"] == "kubeflow.org/v1" and job["kind"] == "PyTorchJob"
    spec = job["spec"]
    assert set(spec["pytorchReplicaSpecs"]) == {"Worker"}  # worker-only: no Master
    assert spec["nprocPerNode"] == "8"
    assert spec["elasticPolicy"] == {"minReplicas": 2, "maxReplicas": 4, "rdzvBackend": "c10d", "maxRestarts": 2}
    assert spec["runPolicy"] == {"cleanPodPolicy": "None"}
    worker = _worker(job)
    assert worker["replicas"] == 4 and worker["restartPolicy"] == "Never"
    pod = worker["template"]["spec"]
    (container,) = pod["containers"]
    assert container["name"] == "pytorch" and container["image"] == "img:1" and container["args"] == CMD
    assert "command" not in container
    assert {"name": "flyte-shm", "emptyDir": {"medium": "Memory"}} in pod["volumes"]
    assert {"name": "flyte-shm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    assert "23456" not in str(job) and "MASTER_ADDR" not in str(job)  # the operator adds them


@pytest.mark.parametrize("policy, crd", [(None, "None"), ("None", "None"), ("all", "All"), ("Running", "Running")])
def test_run_policy_spellings(policy, crd):
    job = _job(Elastic(nnodes=2, nproc_per_node=1, run_policy=RunPolicy(policy, 60, 120, 3)))
    assert job["spec"]["runPolicy"] == {
        "cleanPodPolicy": crd, "ttlSecondsAfterFinished": 60, "activeDeadlineSeconds": 120, "backoffLimit": 3}


def test_gpus_go_on_the_workers_with_affinity_and_shm_size():
    job = _job(Elastic(nnodes=2, nproc_per_node=2), resources=flyte.Resources(gpu="A100:2", cpu=4, memory="16Gi", shm="8Gi"))
    pod = _worker(job)["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert container["resources"]["requests"]["nvidia.com/gpu"] == "2"
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": "k8s.amazonaws.com/accelerator", "operator": "In", "values": ["nvidia-tesla-a100"]} in terms[0]["matchExpressions"]
    assert [v for v in pod["volumes"] if v["name"] == "flyte-shm"] == [
        {"name": "flyte-shm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}]


def test_one_node_is_not_a_job():
    with pytest.raises(flyte.errors.ValidationError, match="nnodes"):
        pytorch_job(Elastic(nnodes=1, nproc_per_node=2), name="x", image="i", command=CMD)


def test_validator_is_strict_about_the_job():
    job = _job(Elastic(nnodes=2, nproc_per_node=1))
    job["spec"]["elasticPolicy"]["nProcPerNodee"] = 1
    with pytest.raises(CRDValidationError):
        validate_custom_resource(job, CRD)


_secret_env = flyte.TaskEnvironment(name="hk_multi", plugin_config=Elastic(nnodes=2, nproc_per_node=2),
                                    secrets=[flyte.Secret(key="wandb", as_env_var="WANDB_API_KEY")])
_single_env = flyte.TaskEnvironment(name="hk_single", plugin_config=Elastic(nnodes=1, nproc_per_node=2))


@_secret_env.task
def fit(epochs: int) -> float:
    return 0.0


@_single_env.task
def fit_one(epochs: int) -> float:
    return 0.0


def test_handler_gives_a_job_for_several_nodes_and_the_pod_for_one():
    handler = TaskPluginRegistry.handler(type(fit), "kubernetes_objects")
    assert handler is not None
    (job,) = handler(task=fit, sctx=None, settings=None)
    validate_custom_resource(job, CRD)
    container = _worker(job)["template"]["spec"]["containers"][0]
    assert container["args"] == container_command(fit, flyte.models.SerializationContext())
    assert container["env"][0]["valueFrom"]["secretKeyRef"]["key"] == "wandb"  # a reference, no value
    assert job["metadata"]["labels"]["flyte.org/task"]
    assert handler(task=fit_one, sctx=None, settings=None) is None


def test_deploy_dry_run_writes_valid_manifests_of_every_example(tmp_path: Path):
    out = tmp_path / "manifests"
    examples = sorted(str(p.relative_to(REPO)) for p in (REPO / "examples").glob("torch_*.py"))
    assert len(examples) >= 3
    for example in examples:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "flyte"), "deploy", "--dry-run", "--all", "--output",
             str(out / Path(example).stem), example],
            cwd=REPO, env=subprocess_env(tmp_path), capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    kinds = {}
    for path in out.rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and "kind" in doc:
                kinds.setdefault(doc["kind"], []).append(doc)
    jobs, pods = kinds.get("PyTorchJob", []), kinds.get("Pod", [])
    assert len(jobs) == 1 and len(pods) >= 2, sorted(kinds)
    for job in jobs:
        validate_custom_resource(job, CRD)
        assert _worker(job)["template"]["spec"]["containers"][0]["args"][0] == "flyte-execute"
    for pod in pods:  # nnodes=1: a plain pod whose command runs the launcher through the task
        kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
        assert pod["spec"]["containers"][0]["args"][0] == "flyte-execute"
