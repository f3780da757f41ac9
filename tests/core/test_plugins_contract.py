"""The hook contract: documented, complete in docs/PLUGINS.md, and strict about typos."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest

from flyte._plugins import builtin, hookspecs
from flyte._plugins.manager import FlytePluginManager
from flyte.errors import PluginError
from flyte.extend import hookimpl

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("flyte_"))


def test_the_contract_has_the_hooks_the_framework_needs():
    # The container command and the Kubernetes objects are per-task-type handlers of the
    # registry (tests/core/test_plugins_handlers.py), not hooks called for every task.
    assert set(HOOKS) == {
        "flyte_register_task_plugins",
        "flyte_register_type_transformers",
        "flyte_register_app_types",
    }


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_parameter_is_typed(name):
    for p in inspect.signature(getattr(hookspecs, name)).parameters.values():
        assert p.annotation is not inspect.Parameter.empty and "Any" not in str(p.annotation), (name, p)


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_in_its_docstring(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert "**When:**" in doc, f"{name}: docstring must say when it is called"
    assert "**Returns:**" in doc, f"{name}: docstring must say what it returns"
    params = [p for p in inspect.signature(getattr(hookspecs, name)).parameters]
    for p in params:
        assert f"{p}:" in doc, f"{name}: parameter {p} is not documented"


def test_every_hook_has_a_section_in_plugins_md():
    text = (ROOT / "docs" / "PLUGINS.md").read_text()
    documented = set(re.findall(r"^### `(flyte_\w+)\(", text, flags=re.M))
    assert documented == set(HOOKS), f"missing: {set(HOOKS) - documented}, stale: {documented - set(HOOKS)}"


def test_a_misspelled_marked_hookimpl_fails_naming_it(fresh_plugin_registry):
    plugin = types.ModuleType("typo_plugin")

    @hookimpl
    def flyte_register_task_plugin(registry):  # missing the final "s"
        pass

    plugin.flyte_register_task_plugin = flyte_register_task_plugin
    with pytest.raises(PluginError, match=r"flyte_register_task_plugin'.*did you mean 'flyte_register_task_plugins'"):
        fresh_plugin_registry.manager.register(plugin)
    assert not fresh_plugin_registry.manager.is_registered(plugin)


def test_a_misspelled_unmarked_flyte_function_fails_too(fresh_plugin_registry):
    class Plugin:
        def flyte_register_type_transformer(self, engine):  # singular
            return None

    with pytest.raises(PluginError, match="flyte_register_type_transformer'.*did you mean 'flyte_register_type_transformers'"):
        fresh_plugin_registry.manager.register(Plugin())


def test_builtin_plugin_passes_check_pending():
    pm = FlytePluginManager()
    pm.check_pending()
    assert pm.is_registered(builtin)
    assert "flyte.builtin" in pm.plugin_names()


def test_hookimpls_may_take_a_subset_of_arguments(fresh_plugin_registry):
    seen = []

    class Plugin:
        @hookimpl
        def flyte_register_app_types(self):
            seen.append("called")

    fresh_plugin_registry.manager.register(Plugin())
    fresh_plugin_registry.manager.register_app_types(object())
    assert seen == ["called"]


def test_historic_hooks_replay_for_late_plugins(fresh_plugin_registry):
    pm = fresh_plugin_registry.manager
    calls = []

    class Registry:
        def register(self, **kw):
            calls.append(kw)

    reg = Registry()
    pm.register_app_types(reg)
    pm.register_app_types(reg)  # once per registry

    class Late:
        @hookimpl
        def flyte_register_app_types(self, registry):
            registry.register(config_type=int, app_type=str)

    pm.register(Late())
    assert calls == [{"config_type": int, "app_type": str}]


def test_an_error_inside_a_hook_during_registration_names_the_plugin(fresh_plugin_registry):
    pm = fresh_plugin_registry.manager
    pm.register_app_types(object())

    class Broken:
        @hookimpl
        def flyte_register_app_types(self, registry):
            raise RuntimeError("boom")

    with pytest.raises(PluginError, match=r"Broken failed to register: RuntimeError: boom"):
        pm.register(Broken())


def test_the_core_registers_builtin_transformers_through_the_type_hook():
    from flyte.types import TypeEngine

    pm = FlytePluginManager(builtins=False)
    calls = []

    class Spy:
        @hookimpl
        def flyte_register_type_transformers(self, engine):
            calls.append(engine)

    pm.register(Spy())
    pm.register(builtin, name="flyte.builtin")
    pm.register_type_transformers(TypeEngine)
    pm.register_type_transformers(TypeEngine)  # once per engine
    assert calls == [TypeEngine]
    assert TypeEngine._builtins_loaded
    assert {int, str, float, bool} <= set(TypeEngine.get_available_transformers())
