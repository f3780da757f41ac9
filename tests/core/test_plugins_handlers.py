"""Per-task-type handlers: a task type's container command and Kubernetes objects are looked up
by the task's class in the registry, so one plugin's handler never sees another plugin's task.
Also the errors for hook implementations and handlers that do not fit the contract."""

from __future__ import annotations

import ast
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

import kubernetes_validate
import pytest

import flyte
from flyte._plugins.manager import FlytePluginManager
from flyte._serialize.container import container_command
from flyte._serialize.idl import serialize_task
from flyte._serialize.k8s import task_manifests
from flyte._serialize.k8s_settings import K8sSettings
from flyte.errors import PluginError, ValidationError
from flyte.extend import AsyncFunctionTaskTemplate, TaskPluginRegistry, hookimpl
from flyte.models import NativeInterface, SerializationContext

SCTX = SerializationContext(root_dir=Path(__file__).parent, version="v1")
SETTINGS = K8sSettings()
CALLS: Dict[str, List[str]] = {"a_command": [], "a_objects": [], "b_objects": []}


@dataclass(frozen=True)
class AlphaJobConfig:
    workers: int = 1


@dataclass(frozen=True)
class SubAlphaJobConfig(AlphaJobConfig):
    pass


@dataclass(frozen=True)
class BetaJobConfig:
    pass


@dataclass(kw_only=True)
class AlphaJobTask(AsyncFunctionTaskTemplate):
    task_type: str = "alpha-job"


@dataclass(kw_only=True)
class SubAlphaJobTask(AlphaJobTask):
    task_type: str = "sub-alpha-job"


@dataclass(kw_only=True)
class BetaJobTask(AsyncFunctionTaskTemplate):
    task_type: str = "beta-job"


def alpha_command(task: Any, sctx: Any) -> List[str]:
    CALLS["a_command"].append(task.name)
    return ["alpha-runner", "--task", task.name]


def alpha_objects(task: Any, sctx: Any, settings: Any) -> List[Dict[str, Any]]:
    CALLS["a_objects"].append(task.name)
    return [{"apiVersion": "example.com/v1", "kind": "AlphaJob", "metadata": {"name": "a"},
             "spec": {"workers": task.plugin_config.workers, "command": container_command(task, sctx)}}]


def beta_objects(task: Any, sctx: Any, settings: Any) -> None:
    CALLS["b_objects"].append(task.name)
    return None  # keep the plain Pod


# Registered at import time, the way plugins written for the published SDK do.
TaskPluginRegistry.register(
    config_type=AlphaJobConfig, plugin=AlphaJobTask, container_command=alpha_command, kubernetes_objects=alpha_objects
)
TaskPluginRegistry.register(config_type=SubAlphaJobConfig, plugin=SubAlphaJobTask)  # no handlers of its own
TaskPluginRegistry.register(config_type=BetaJobConfig, plugin=BetaJobTask, kubernetes_objects=beta_objects)

alpha_env = flyte.TaskEnvironment(name="handlers_alpha", plugin_config=AlphaJobConfig(workers=3), image="python:3.11-slim")
sub_env = flyte.TaskEnvironment(name="handlers_sub", plugin_config=SubAlphaJobConfig(), image="python:3.11-slim")
beta_env = flyte.TaskEnvironment(name="handlers_beta", plugin_config=BetaJobConfig(), image="python:3.11-slim")
plain_env = flyte.TaskEnvironment(name="handlers_plain", image="python:3.11-slim")


@alpha_env.task
def alpha(x: int) -> int:
    return x


@sub_env.task
def sub(x: int) -> int:
    return x


@beta_env.task
def beta(x: int) -> int:
    return x


@plain_env.task
def plain(x: int) -> int:
    return x


@pytest.fixture(autouse=True)
def _clear_calls():
    for v in CALLS.values():
        v.clear()


def test_handlers_apply_to_their_task_class_only():
    assert type(alpha) is AlphaJobTask and type(beta) is BetaJobTask
    assert task_manifests(alpha, SCTX, SETTINGS)[0]["kind"] == "AlphaJob"
    assert CALLS["b_objects"] == []  # beta's handler never saw alpha's task
    pods = task_manifests(beta, SCTX, SETTINGS)
    assert [p["kind"] for p in pods] == ["Pod"]
    kubernetes_validate.validate(pods[0], "1.30", strict=True)
    assert CALLS["b_objects"] == ["handlers_beta.beta"]
    # alpha's command handler saw only alpha's task, never beta's pod nor the plain task.
    assert pods[0]["spec"]["containers"][0]["args"] == beta.container_args(SCTX)
    assert [p["kind"] for p in task_manifests(plain, SCTX, SETTINGS)] == ["Pod"]
    assert CALLS["a_command"] == ["handlers_alpha.alpha"] and CALLS["a_objects"] == ["handlers_alpha.alpha"]
    assert CALLS["b_objects"] == ["handlers_beta.beta"]


def test_container_command_is_the_handlers_else_the_tasks_own():
    assert container_command(alpha, SCTX) == ["alpha-runner", "--task", "handlers_alpha.alpha"]
    assert container_command(beta, SCTX) == beta.container_args(SCTX)  # beta registered no command
    assert container_command(plain, SCTX) == plain.container_args(SCTX)
    assert container_command(plain, SCTX)[0] == "flyte-execute"
    # Every serializer asks the same function.
    assert list(serialize_task(alpha, SCTX).container.args) == ["alpha-runner", "--task", "handlers_alpha.alpha"]
    assert list(serialize_task(plain, SCTX).container.args) == plain.container_args(SCTX)
    pod = task_manifests(plain, SCTX, SETTINGS)[0]
    assert pod["spec"]["containers"][0]["args"] == plain.container_args(SCTX)


def test_the_container_command_is_decided_in_one_place():
    """Only flyte._serialize.container falls back to ``task.container_args``: every serializer and
    plugin asks ``container_command``, so the rule cannot drift between copies."""
    repo = Path(__file__).resolve().parents[2]
    callers = []
    for path in [*(repo / "core" / "src").rglob("*.py"), *(repo / "plugins").glob("*/src/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "container_args"
                    and not (isinstance(node.func.value, ast.Call) and getattr(node.func.value.func, "id", "") == "super")):
                callers.append(str(path.relative_to(repo)))
    assert callers == ["core/src/flyte/_serialize/container.py"]


def test_a_subclass_inherits_its_bases_handlers_like_methods():
    assert type(sub) is SubAlphaJobTask
    assert container_command(sub, SCTX) == ["alpha-runner", "--task", "handlers_sub.sub"]
    assert task_manifests(sub, SCTX, SETTINGS)[0]["kind"] == "AlphaJob"
    assert TaskPluginRegistry.handler(SubAlphaJobTask, "kubernetes_objects") is alpha_objects
    assert TaskPluginRegistry.handler(BetaJobTask, "container_command") is None
    with pytest.raises(ValueError, match="handler name 'pod'"):
        TaskPluginRegistry.handler(BetaJobTask, "pod")


def test_a_command_that_is_not_a_list_of_str_names_the_task_and_the_handler(fresh_plugin_registry):
    @dataclass(kw_only=True)
    class BadTask(AsyncFunctionTaskTemplate):
        task_type: str = "bad"

    def bad_command(task, sctx):
        return "python -m x"  # one string, not a list

    fresh_plugin_registry.registry.register(AlphaJobConfig, BadTask, container_command=bad_command)
    task = BadTask(name="handlers.bad", interface=NativeInterface(inputs={}, outputs={}), func=len,
                   plugin_config=AlphaJobConfig())
    with pytest.raises(ValidationError, match=r"task 'handlers.bad'.*container_args.*a list of strings \(from the container_command handler .*bad_command"):
        container_command(task, SCTX)


def test_a_handler_with_the_wrong_parameters_is_rejected_naming_the_plugin_and_the_parameters(fresh_plugin_registry):
    def objects(task, context):  # neither sctx nor settings
        return []

    with pytest.raises(PluginError) as e:
        fresh_plugin_registry.registry.register(BetaJobConfig, BetaJobTask, kubernetes_objects=objects, source="acme-plugin")
    msg = str(e.value)
    assert "BetaJobTask (from acme-plugin)" in msg and "kubernetes_objects" in msg
    assert "objects(task, context)" in msg and "(task, sctx, settings)" in msg
    assert fresh_plugin_registry.registry.find(BetaJobConfig) is None
    with pytest.raises(flyte.errors.TypeValidationError, match="container_command"):
        fresh_plugin_registry.registry.register(BetaJobConfig, BetaJobTask, container_command="run")


def test_handlers_cannot_go_on_a_core_task_class(fresh_plugin_registry):
    with pytest.raises(PluginError, match="only be registered with a plugin's own task class.*AsyncFunctionTaskTemplate"):
        fresh_plugin_registry.registry.register(
            BetaJobConfig, AsyncFunctionTaskTemplate, kubernetes_objects=beta_objects, source="acme"
        )
    assert fresh_plugin_registry.registry.find(BetaJobConfig) is None


def test_two_plugins_cannot_give_one_task_class_two_sets_of_handlers(fresh_plugin_registry):
    reg = fresh_plugin_registry.registry
    reg.register(AlphaJobConfig, AlphaJobTask, kubernetes_objects=alpha_objects, source="one")
    reg.register(AlphaJobConfig, AlphaJobTask)  # without handlers: keeps them
    assert reg.handler(AlphaJobTask, "kubernetes_objects") is alpha_objects
    with pytest.raises(PluginError, match="already has handlers kubernetes_objects registered by one"):
        reg.register(SubAlphaJobConfig, AlphaJobTask, kubernetes_objects=beta_objects, source="two")


def test_the_removed_global_hooks_point_to_the_handlers(fresh_plugin_registry):
    class OldStyle:
        @hookimpl
        def flyte_kubernetes_objects(self, task, sctx, settings):
            return None

    with pytest.raises(PluginError, match=r"'flyte_kubernetes_objects' is no longer a hook.*kubernetes_objects=fn"):
        fresh_plugin_registry.manager.register(OldStyle(), name="acme-old:hooks")
    plugin = types.ModuleType("acme_args")
    plugin.flyte_task_container_args = lambda task, sctx: None
    with pytest.raises(PluginError, match=r"plugin acme_args: 'flyte_task_container_args' is no longer a hook.*container_command=fn"):
        fresh_plugin_registry.manager.register(plugin)


def test_a_hook_implementation_with_a_misspelled_parameter_names_plugin_hook_and_allowed(fresh_plugin_registry):
    plugin = types.ModuleType("acme_types")

    @hookimpl
    def flyte_register_type_transformers(engin):
        pass

    plugin.flyte_register_type_transformers = flyte_register_type_transformers
    with pytest.raises(PluginError) as e:
        fresh_plugin_registry.manager.register(plugin, name="acme-types:acme_types")
    msg = str(e.value)
    assert msg.startswith("plugin acme-types:acme_types: hook implementation flyte_register_type_transformers(engin)")
    assert "'engin' (did you mean 'engine'?)" in msg and "accepts any of: engine" in msg
    assert not fresh_plugin_registry.manager.is_registered(plugin)


def test_check_pending_names_the_plugin_and_the_known_hooks():
    pm = FlytePluginManager()

    class Stray:
        @hookimpl
        def flyte_unknown_hook(self):
            pass

    # Bypass flyte's own name check, as a plugin registered straight through pluggy would.
    pm.pluggy_manager.register(Stray(), name="acme-stray")
    with pytest.raises(PluginError, match=r"plugin acme-stray: .*flyte_unknown_hook.*known hooks: flyte_register_app_types"):
        pm.check_pending()


def test_the_app_types_hook_is_reserved_and_callable(fresh_plugin_registry):
    registered = []

    class AppRegistry:
        def register(self, config_type, app_type):
            registered.append((config_type, app_type))

    class AppPlugin:
        @hookimpl
        def flyte_register_app_types(self, registry):
            registry.register(config_type=dict, app_type=list)

    fresh_plugin_registry.manager.register(AppPlugin())
    fresh_plugin_registry.manager.register_app_types(AppRegistry())
    assert registered == [(dict, list)]
