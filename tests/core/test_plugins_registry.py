"""TaskPluginRegistry and resolve_task_class: registration rules and errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from flyte._plugins.builtin import PLAIN_CONFIG_TYPE
from flyte._plugins.registry import TaskPluginRegistry
from flyte._plugins.resolve import resolve_task_class
from flyte._task import AsyncFunctionTaskTemplate, TaskTemplate
from flyte.errors import PluginError, PluginNotFoundError, TypeValidationError
from flyte.extend import hookimpl


@dataclass(frozen=True)
class AlphaConfig:
    n: int = 1


@dataclass(frozen=True)
class SpecialAlphaConfig(AlphaConfig):
    extra: str = "x"


@dataclass(kw_only=True)
class AlphaTask(AsyncFunctionTaskTemplate):
    task_type: str = "alpha"


@dataclass(kw_only=True)
class OtherAlphaTask(AsyncFunctionTaskTemplate):
    task_type: str = "alpha2"


def test_extend_exports_the_singleton():
    import flyte.extend

    assert flyte.extend.TaskPluginRegistry is TaskPluginRegistry


def test_none_resolves_to_the_plain_python_task_class_registered_by_the_core_hook(fresh_plugin_registry):
    assert resolve_task_class(None) is AsyncFunctionTaskTemplate
    # ... and it got there through the hook, like any plugin's class.
    assert fresh_plugin_registry.registry.find(PLAIN_CONFIG_TYPE) is AsyncFunctionTaskTemplate


def test_register_and_find_by_keyword_names(fresh_plugin_registry):
    reg = fresh_plugin_registry.registry
    reg.register(config_type=AlphaConfig, plugin=AlphaTask)
    assert reg.find(AlphaConfig) is AlphaTask
    assert reg.find(SpecialAlphaConfig) is None  # find is exact
    assert resolve_task_class(AlphaConfig()) is AlphaTask
    assert resolve_task_class(SpecialAlphaConfig()) is AlphaTask  # subclasses match via the MRO


def test_registering_the_same_pair_again_is_a_no_op(fresh_plugin_registry):
    reg = fresh_plugin_registry.registry
    reg.register(AlphaConfig, AlphaTask)
    reg.register(AlphaConfig, AlphaTask)
    assert reg.find(AlphaConfig) is AlphaTask


def test_two_plugins_for_one_config_type_is_an_error_naming_both(fresh_plugin_registry):
    reg = fresh_plugin_registry.registry
    reg.register(AlphaConfig, AlphaTask)
    with pytest.raises(PluginError) as e:
        reg.register(AlphaConfig, OtherAlphaTask)
    msg = str(e.value)
    assert "AlphaConfig" in msg and "AlphaTask" in msg and "OtherAlphaTask" in msg
    assert reg.find(AlphaConfig) is AlphaTask


def test_plugin_must_be_a_task_template_subclass(fresh_plugin_registry):
    class NotATask:
        pass

    with pytest.raises(TypeValidationError, match=r"plugin got .*expected a subclass of flyte.extend.TaskTemplate \(.*NotATask is not one\)"):
        fresh_plugin_registry.registry.register(AlphaConfig, NotATask)
    with pytest.raises(TypeValidationError, match="plugin"):
        fresh_plugin_registry.registry.register(AlphaConfig, AlphaTask(name="x", interface=None, func=len))  # type: ignore[arg-type]


def test_config_type_must_be_a_class(fresh_plugin_registry):
    with pytest.raises(TypeValidationError, match=r"config_type got AlphaConfig\(n=1\)"):
        fresh_plugin_registry.registry.register(AlphaConfig(), AlphaTask)


def test_a_plugin_class_lacking_a_required_method_is_rejected(fresh_plugin_registry):
    @dataclass(kw_only=True)
    class Broken(AsyncFunctionTaskTemplate):
        post = None  # type: ignore[assignment]

    with pytest.raises(PluginError, match=r"Broken for config type .*AlphaConfig lacks required method\(s\) post"):
        fresh_plugin_registry.registry.register(AlphaConfig, Broken)


def test_a_plugin_class_with_a_bad_task_type_is_rejected(fresh_plugin_registry):
    @dataclass(kw_only=True)
    class NoType(TaskTemplate):
        task_type: str = ""

    with pytest.raises(PluginError, match="task_type=''"):
        fresh_plugin_registry.registry.register(AlphaConfig, NoType)


def test_unregistered_config_type_names_the_type_and_installed_plugins(fresh_plugin_registry):
    fresh_plugin_registry.registry.register(AlphaConfig, AlphaTask)

    @dataclass
    class Unknown:
        pass

    with pytest.raises(PluginNotFoundError) as e:
        resolve_task_class(Unknown())
    msg = str(e.value)
    assert "Unknown" in msg and "test_plugins_registry" in msg
    assert "registered: tests.core.test_plugins_registry.AlphaConfig" in msg or "AlphaConfig" in msg
    with pytest.raises(PluginNotFoundError, match=r"plugin_config='ray' of type str"):
        resolve_task_class("ray")


def test_hook_registration_from_a_plugin_object(fresh_plugin_registry):
    class Plugin:
        @hookimpl
        def flyte_register_task_plugins(self, registry):
            registry.register(config_type=AlphaConfig, plugin=AlphaTask)

    fresh_plugin_registry.manager.register(Plugin())
    assert resolve_task_class(AlphaConfig(n=3)) is AlphaTask


def test_a_duplicate_through_hooks_fails_at_registration_naming_both(fresh_plugin_registry):
    fresh_plugin_registry.registry.register(AlphaConfig, AlphaTask)
    resolve_task_class(None)  # the task hook has been called: later plugins are replayed at once

    class Plugin:
        @hookimpl
        def flyte_register_task_plugins(self, registry):
            registry.register(AlphaConfig, OtherAlphaTask)

    with pytest.raises(PluginError, match="OtherAlphaTask"):
        fresh_plugin_registry.manager.register(Plugin())


def test_registry_is_restored_after_the_sandbox(tmp_path):
    # Self-contained (it used to rely on earlier tests having registered AlphaConfig): register
    # inside a sandbox, then check nothing of it is left and the core's own entry is back.
    from flyte.testing import isolated_plugins

    resolve_task_class(None)  # the core's hook has run outside the sandbox
    assert TaskPluginRegistry.find(PLAIN_CONFIG_TYPE) is AsyncFunctionTaskTemplate
    assert TaskPluginRegistry.find(AlphaConfig) is None
    with isolated_plugins(tmp_path) as sandbox:
        sandbox.registry.register(AlphaConfig, AlphaTask)
        assert TaskPluginRegistry.find(AlphaConfig) is AlphaTask
    assert TaskPluginRegistry.find(AlphaConfig) is None
    assert TaskPluginRegistry.find(PLAIN_CONFIG_TYPE) is AsyncFunctionTaskTemplate
