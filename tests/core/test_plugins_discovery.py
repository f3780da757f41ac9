"""Entry-point discovery: lazy task plugins, type plugins, switches, failures, listing once."""

from __future__ import annotations

import logging
import sys

import pytest

from flyte._plugins import manager as manager_mod
from flyte._plugins.manager import TASKS_GROUP, TYPES_GROUP, failed_plugins, list_entry_points, load_type_plugins
from flyte._plugins.resolve import resolve_task_class
from flyte.errors import PluginNotFoundError

CONFIG = """
from dataclasses import dataclass

@dataclass(frozen=True)
class {name}Config:
    level: int = 1
"""

HOOKS = """
from dataclasses import dataclass
from flyte.extend import AsyncFunctionTaskTemplate, hookimpl
from {pkg}.config import {name}Config

@dataclass(kw_only=True)
class {name}Task(AsyncFunctionTaskTemplate):
    task_type: str = "{pkg}"

@hookimpl
def flyte_register_task_plugins(registry):
    registry.register(config_type={name}Config, plugin={name}Task)
"""


def install_task_plugin(sandbox, pkg: str, name: str, dist: str = "", hooks: str = HOOKS):
    sandbox.install(
        dist or f"flyte-plugin-{pkg}",
        entry_points={TASKS_GROUP: {f"{pkg}.config.{name}Config": f"{pkg}.hooks"}},
        modules={
            f"{pkg}/__init__.py": "",
            f"{pkg}/config.py": CONFIG.format(name=name),
            f"{pkg}/hooks.py": hooks.format(pkg=pkg, name=name),
        },
    )


def test_task_plugin_is_imported_only_when_its_config_type_is_first_used(fresh_plugin_registry):
    install_task_plugin(fresh_plugin_registry, "lazyplug", "Lazy")
    import lazyplug.config

    assert "lazyplug.hooks" not in sys.modules
    resolve_task_class(None)
    assert "lazyplug.hooks" not in sys.modules  # other lookups do not load it

    cls = resolve_task_class(lazyplug.config.LazyConfig(level=2))
    assert cls.__name__ == "LazyTask" and cls.task_type == "lazyplug"
    assert "lazyplug.hooks" in sys.modules
    assert resolve_task_class(lazyplug.config.LazyConfig()) is cls


def test_a_subclass_of_an_entry_point_config_type_loads_the_plugin(fresh_plugin_registry):
    install_task_plugin(fresh_plugin_registry, "baseplug", "Base")
    import baseplug.config

    class Derived(baseplug.config.BaseConfig):
        pass

    assert resolve_task_class(Derived()).__name__ == "BaseTask"


def test_a_failing_task_plugin_is_reported_with_its_distribution_and_does_not_break_others(
    fresh_plugin_registry, caplog
):
    broken = HOOKS + "\nraise ImportError('needs libfoo.so')\n"
    install_task_plugin(fresh_plugin_registry, "brokenplug", "Broken", dist="acme-broken-plugin", hooks=broken)
    install_task_plugin(fresh_plugin_registry, "goodplug", "Good")
    import brokenplug.config
    import goodplug.config

    with caplog.at_level(logging.WARNING, logger="flyte.plugins"):
        with pytest.raises(PluginNotFoundError) as e:
            resolve_task_class(brokenplug.config.BrokenConfig())
    assert "acme-broken-plugin" in str(e.value) and "needs libfoo.so" in str(e.value)
    assert "acme-broken-plugin" in caplog.text and "needs libfoo.so" in caplog.text
    [failure] = failed_plugins()
    assert failure.distribution == "acme-broken-plugin"
    assert failure.name == "brokenplug.config.BrokenConfig"
    assert "ImportError: needs libfoo.so" in failure.error
    # Unrelated tasks are unaffected.
    assert resolve_task_class(goodplug.config.GoodConfig()).__name__ == "GoodTask"
    assert resolve_task_class(None).__name__ == "AsyncFunctionTaskTemplate"


def test_a_misspelled_hook_in_an_entry_point_plugin_is_reported_naming_it(fresh_plugin_registry):
    typo = HOOKS.replace("def flyte_register_task_plugins", "def flyte_register_tasks_plugins")
    install_task_plugin(fresh_plugin_registry, "typoplug", "Typo", hooks=typo)
    import typoplug.config

    with pytest.raises(PluginNotFoundError, match="flyte_register_tasks_plugins"):
        resolve_task_class(typoplug.config.TypoConfig())


def test_a_wrong_hook_parameter_in_an_entry_point_plugin_names_the_distribution(fresh_plugin_registry):
    wrong = HOOKS.replace("def flyte_register_task_plugins(registry):", "def flyte_register_task_plugins(regsitry):")
    wrong = wrong.replace("    registry.register(", "    regsitry.register(")
    install_task_plugin(fresh_plugin_registry, "paramplug", "Param", hooks=wrong)
    import paramplug.config

    with pytest.raises(PluginNotFoundError) as e:
        resolve_task_class(paramplug.config.ParamConfig())
    msg = str(e.value)
    assert "flyte-plugin-paramplug" in msg  # the distribution
    assert "flyte_register_task_plugins(regsitry)" in msg and "'regsitry' (did you mean 'registry'?)" in msg
    assert "accepts any of: registry" in msg


def test_disable_autoload_switches_entry_points_off(fresh_plugin_registry, monkeypatch):
    install_task_plugin(fresh_plugin_registry, "offplug", "Off")
    import offplug.config

    monkeypatch.setenv("FLYTE_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert list_entry_points(TASKS_GROUP) == ()
    with pytest.raises(PluginNotFoundError):
        resolve_task_class(offplug.config.OffConfig())
    assert "offplug.hooks" not in sys.modules
    monkeypatch.delenv("FLYTE_DISABLE_PLUGIN_AUTOLOAD")
    assert resolve_task_class(offplug.config.OffConfig()).__name__ == "OffTask"


def test_flyte_plugins_allow_list_matches_entry_point_or_distribution_names(fresh_plugin_registry, monkeypatch):
    install_task_plugin(fresh_plugin_registry, "rayish", "Rayish", dist="flyte-plugin-rayish")
    install_task_plugin(fresh_plugin_registry, "sparkish", "Sparkish", dist="flyteplugins-sparkish")
    install_task_plugin(fresh_plugin_registry, "otherish", "Otherish", dist="acme-otherish")

    def names():
        return sorted(ep.name.split(".")[0] for ep in list_entry_points(TASKS_GROUP))

    monkeypatch.setenv("FLYTE_PLUGINS", "rayish, SPARKISH")
    assert names() == ["rayish", "sparkish"]
    monkeypatch.setenv("FLYTE_PLUGINS", "acme-otherish")
    assert names() == ["otherish"]
    monkeypatch.setenv("FLYTE_PLUGINS", "otherish.config.OtherishConfig")
    assert names() == ["otherish"]
    import rayish.config

    with pytest.raises(PluginNotFoundError, match="RayishConfig"):
        resolve_task_class(rayish.config.RayishConfig())


def test_trace_plugins_logs_every_hook_call(fresh_plugin_registry, monkeypatch, capfd):
    monkeypatch.setenv("FLYTE_TRACE_PLUGINS", "1")
    pm = fresh_plugin_registry.new_manager()
    pm.register_app_types("some-app-registry")
    resolve_task_class(None)
    err = capfd.readouterr().err
    assert "flyte_register_app_types" in err and "some-app-registry" in err
    assert "flyte_register_task_plugins" in err


def test_entry_points_are_listed_once_per_process(fresh_plugin_registry, monkeypatch):
    calls = []
    real = manager_mod.scan_entry_points

    def counting(*a, **kw):
        calls.append((a, kw))
        return real(*a, **kw)

    monkeypatch.setattr(manager_mod, "scan_entry_points", counting)
    manager_mod.clear_entry_point_cache()
    install_task_plugin(fresh_plugin_registry, "onceplug", "Once")
    calls.clear()
    for _ in range(3):
        list_entry_points(TASKS_GROUP)
        list_entry_points(TYPES_GROUP)
    import onceplug.config

    resolve_task_class(onceplug.config.OnceConfig())
    load_type_plugins()
    assert len(calls) == 1


TYPE_MODULE = """
from flyte.extend import TypeEngine, hookimpl

CALLS = []

def register():
    CALLS.append("callable")

@hookimpl
def flyte_register_type_transformers(engine):
    CALLS.append(("hook", engine is TypeEngine))
"""


def test_type_plugins_entry_points_name_a_callable_or_a_module(fresh_plugin_registry, caplog):
    fresh_plugin_registry.install(
        "flyte-plugin-typeish",
        entry_points={TYPES_GROUP: {"as_callable": "typeish.mod:register", "as_module": "typeish.mod"}},
        modules={"typeish/__init__.py": "", "typeish/mod.py": TYPE_MODULE},
    )
    fresh_plugin_registry.install(
        "flyte-plugin-badtypes",
        entry_points={TYPES_GROUP: {"bad": "badtypes:register"}},
        modules={"badtypes.py": "raise RuntimeError('incompatible numpy')\n"},
    )
    assert "typeish.mod" not in sys.modules
    with caplog.at_level(logging.WARNING, logger="flyte.plugins"):
        load_type_plugins()
        load_type_plugins()  # once
    import typeish.mod

    assert typeish.mod.CALLS.count("callable") == 1
    assert typeish.mod.CALLS.count(("hook", True)) == 1
    assert [f.distribution for f in failed_plugins()] == ["flyte-plugin-badtypes"]
    assert "flyte-plugin-badtypes" in caplog.text and "incompatible numpy" in caplog.text


def test_init_skips_type_plugins_when_asked(fresh_plugin_registry, local_store):
    import flyte

    fresh_plugin_registry.install(
        "flyte-plugin-initcheck",
        entry_points={TYPES_GROUP: {"initcheck": "initcheck:register"}},
        modules={"initcheck.py": "LOADED = []\ndef register():\n    LOADED.append(1)\n"},
    )
    flyte.init(load_plugin_type_transformers=False)
    assert "initcheck" not in sys.modules
    flyte.init()
    import initcheck

    assert initcheck.LOADED == [1]


def test_discovery_benchmark_runs_with_50_fake_entry_points(repo_root):
    import subprocess

    out = subprocess.run(
        [sys.executable, str(repo_root / "bench" / "plugin_discovery.py"), "--rounds", "2"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "fake entry points installed: 50" in out.stdout
    assert "x baseline" in out.stdout
