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


def _fresh_engine() -> type:
    """A TypeEngine with registries of its own: nothing registered by earlier tests shows in it."""
    from flyte.types import TypeEngine

    class FreshEngine(TypeEngine):
        _REGISTRY: dict = {}
        _RESTRICTED_TYPES: list = []
        _cache: dict = {}
        _LAZY: dict = {}
        _builtins_loaded = False
        _builtins_loading = False
        _plugins_loaded = False

    return FreshEngine


def test_the_core_registers_builtin_transformers_through_the_type_hook():
    from flyte.io import DataFrame, Dir, File

    engine = _fresh_engine()
    pm = FlytePluginManager(builtins=False)
    calls = []

    class Spy:
        @hookimpl
        def flyte_register_type_transformers(self, engine):
            calls.append(engine)

    pm.register(Spy())
    pm.register(builtin, name="flyte.builtin")
    pm.register_type_transformers(engine)
    pm.register_type_transformers(engine)  # once per engine
    assert calls == [engine]
    assert engine._builtins_loaded
    # Only the hook filled this engine: turning the built-in hook into a no-op leaves it empty.
    assert {int, str, float, bool, bytes, list, dict, File, Dir, DataFrame} <= set(engine._REGISTRY)
    assert engine._PICKLE_TRANSFORMER is not None


def test_a_manager_without_the_builtin_plugin_leaves_a_fresh_engine_empty():
    engine = _fresh_engine()
    FlytePluginManager(builtins=False).register_type_transformers(engine)
    assert not engine._builtins_loaded
    assert int not in engine._REGISTRY


def _run_fresh(code: str, tmp_path: Path) -> str:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_fresh_interpreter_gets_its_builtin_transformers_only_from_the_hook(tmp_path):
    # `import flyte.types` alone: the composition root (flyte/__init__) installs the loader first.
    assert _run_fresh(
        "from flyte.types import TypeEngine\n"
        "print(TypeEngine.get_transformer(int).name, TypeEngine.get_transformer(str).name)\n",
        tmp_path,
    ) == "int str"
    assert _run_fresh(
        "from flyte.io import File\n"
        "from flyte.types import TypeEngine, check_value\n"
        "check_value(File(path='x'), File)\n"
        "print(TypeEngine.get_transformer(File).name)\n",
        tmp_path,
    ) == "File"
    # With a manager that lacks the built-in plugin there is no fallback: the engine says why.
    assert _run_fresh(
        "from flyte._plugins.manager import FlytePluginManager, set_plugin_manager\n"
        "from flyte.types import TypeEngine, TypeTransformerFailedError\n"
        "set_plugin_manager(FlytePluginManager(builtins=False))\n"
        "try:\n"
        "    TypeEngine.get_transformer(int)\n"
        "except TypeTransformerFailedError as e:\n"
        "    print('refused:', e)\n",
        tmp_path,
    ).startswith("refused:")


def test_set_loader_replaces_the_loader_the_engine_fills_itself_from(tmp_path):
    # A fresh interpreter: the loader is process-wide, and this one registers by hand.
    assert _run_fresh(
        "from flyte.types import TypeEngine, TypeTransformerFailedError\n"
        "calls = []\n"
        "def load(engine):\n"
        "    from flyte.io._register import register_io_transformers\n"
        "    from flyte.types._builtins import register_builtin_transformers\n"
        "    calls.append(engine)\n"
        "    register_builtin_transformers(engine)\n"
        "    register_io_transformers(engine)\n"
        "TypeEngine.set_loader(load)\n"
        "print(TypeEngine.get_transformer(int).name, calls == [TypeEngine])\n",
        tmp_path,
    ) == "int True"
    assert "set_loader(None)" in _run_fresh(
        "from flyte.types import TypeEngine, TypeTransformerFailedError\n"
        "TypeEngine.set_loader(None)\n"
        "try:\n"
        "    TypeEngine.get_transformer(int)\n"
        "except TypeTransformerFailedError as e:\n"
        "    print(e)\n",
        tmp_path,
    )
