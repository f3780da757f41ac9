"""Task plugins end to end on the local engine: class selection, pre/post, the published forms."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Dict

import pytest

import flyte
from flyte._plugins.manager import TASKS_GROUP
from flyte.errors import PluginNotFoundError
from flyte.extend import AsyncFunctionTaskTemplate, TaskPluginRegistry, hookimpl
from flyte.models import SerializationContext


@dataclass(frozen=True)
class EngineConfig:
    address: str = "local"
    scale: int = 1


@dataclass(kw_only=True)
class EngineTask(AsyncFunctionTaskTemplate):
    task_type: str = "engine"
    events: Any = None

    async def pre(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        EVENTS.append(("pre", kwargs))
        return {"engine_address": f"engine://{self.plugin_config.address}", "scale": self.plugin_config.scale}

    async def post(self, return_vals: Any) -> Any:
        EVENTS.append(("post", return_vals))
        return None  # the function's value stays the output

    def custom_config(self, sctx: SerializationContext) -> Dict[str, Any]:
        return {"address": self.plugin_config.address}


@dataclass(frozen=True)
class ScaleConfig:
    factor: int


@dataclass(kw_only=True)
class ScaleTask(AsyncFunctionTaskTemplate):
    task_type: str = "scale"

    async def post(self, return_vals: Any) -> Any:
        return return_vals * self.plugin_config.factor  # replaces the output


EVENTS: list = []


class Plugin:
    @hookimpl
    def flyte_register_task_plugins(self, registry):
        registry.register(config_type=EngineConfig, plugin=EngineTask)
        registry.register(config_type=ScaleConfig, plugin=ScaleTask)


@pytest.fixture
def plugin(fresh_plugin_registry):
    EVENTS.clear()
    fresh_plugin_registry.manager.register(Plugin())
    return fresh_plugin_registry


def test_environment_with_plugin_config_builds_the_plugin_task_class(plugin):
    env = flyte.TaskEnvironment(name="eng", plugin_config=EngineConfig(address="head:10001"))

    @env.task
    async def work(x: int) -> str:
        return str(x)

    assert type(work) is EngineTask
    assert work.task_type == "engine"
    assert work.plugin_config == EngineConfig(address="head:10001")
    assert work.custom_config(SerializationContext()) == {"address": "head:10001"}


def test_pre_data_is_flyte_ctx_data_and_none_from_post_keeps_the_value(plugin):
    env = flyte.TaskEnvironment(name="eng2", plugin_config=EngineConfig(address="h", scale=3))

    @env.task
    async def work(x: int) -> str:
        data = flyte.ctx().data
        return f"{data['engine_address']}x{data['scale']}:{x}"

    out = flyte.run(work, x=5).outputs()[0]
    assert out == "engine://hx3:5"
    assert [e[0] for e in EVENTS] == ["pre", "post"]
    assert EVENTS[1][1] == "engine://hx3:5"


def test_what_post_returns_becomes_the_output(plugin):
    env = flyte.TaskEnvironment(name="scaled", plugin_config=ScaleConfig(factor=10))

    @env.task
    def triple(x: int) -> int:
        return 3 * x

    assert flyte.run(triple, x=2).outputs()[0] == 60


def test_plain_tasks_are_untouched_by_plugins(plugin):
    env = flyte.TaskEnvironment(name="plain")

    @env.task
    async def inc(x: int) -> int:
        return x + 1

    assert type(inc) is AsyncFunctionTaskTemplate
    assert flyte.run(inc, x=1).outputs()[0] == 2
    assert EVENTS == []


def test_a_config_object_of_an_unregistered_type_is_an_error_naming_it(plugin):
    with pytest.raises(PluginNotFoundError, match=r"plugin_config=\{'workers': 2\} of type dict"):
        env = flyte.TaskEnvironment(name="bad", plugin_config={"workers": 2})

        @env.task
        async def f() -> None:
            pass


PUBLISHED_STYLE = """
from dataclasses import dataclass
from typing import Any, Dict
from flyte.extend import AsyncFunctionTaskTemplate, TaskPluginRegistry

@dataclass
class LegacyConfig:
    workers: int = 1

@dataclass(kw_only=True)
class LegacyTask(AsyncFunctionTaskTemplate):
    task_type: str = "legacy"
    plugin_config: LegacyConfig

    async def pre(self, *args, **kwargs) -> Dict[str, Any]:
        return {"session": f"session-{self.plugin_config.workers}"}

TaskPluginRegistry.register(config_type=LegacyConfig, plugin=LegacyTask)
"""


def test_a_plugin_registering_at_import_time_works_unchanged(fresh_plugin_registry):
    fresh_plugin_registry.install("legacy-plugin", modules={"legacyplug.py": PUBLISHED_STYLE})
    from legacyplug import LegacyConfig, LegacyTask

    env = flyte.TaskEnvironment(name="legacy", plugin_config=LegacyConfig(workers=4))

    @env.task
    def body() -> str:
        return flyte.ctx().data["session"]

    assert type(body) is LegacyTask
    assert flyte.run(body).outputs()[0] == "session-4"


def test_an_entry_point_task_plugin_runs_end_to_end(fresh_plugin_registry):
    fresh_plugin_registry.install(
        "flyte-plugin-epdemo",
        entry_points={TASKS_GROUP: {"epdemo.config.DemoConfig": "epdemo.hooks"}},
        modules={
            "epdemo/__init__.py": "",
            "epdemo/config.py": "from dataclasses import dataclass\n@dataclass\nclass DemoConfig:\n    greeting: str = 'hi'\n",
            "epdemo/hooks.py": PUBLISHED_STYLE.replace("LegacyConfig", "DemoConfig")
            .replace("TaskPluginRegistry.register(config_type=DemoConfig, plugin=LegacyTask)", "")
            .replace("@dataclass\nclass DemoConfig:\n    workers: int = 1\n", "from epdemo.config import DemoConfig\n")
            .replace("session-{self.plugin_config.workers}", "{self.plugin_config.greeting}!")
            + "\nfrom flyte.extend import hookimpl\n\n@hookimpl\ndef flyte_register_task_plugins(registry):\n"
            "    registry.register(DemoConfig, LegacyTask)\n",
        },
    )
    from epdemo.config import DemoConfig

    assert "epdemo.hooks" not in sys.modules
    env = flyte.TaskEnvironment(name="epdemo", plugin_config=DemoConfig(greeting="hello"))

    @env.task
    async def greet() -> str:
        return flyte.ctx().data["session"]

    assert type(greet).__name__ == "LegacyTask" and greet.task_type == "legacy"
    assert flyte.run(greet).outputs()[0] == "hello!"
    assert TaskPluginRegistry.find(DemoConfig) is type(greet)
