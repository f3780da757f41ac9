"""TaskEnvironment, @env.task and override(): parameters, levels and their rules."""

import asyncio
import inspect
from datetime import timedelta

import pytest

import flyte
import flyte.errors
from flyte._task import AsyncFunctionTaskTemplate, TaskTemplate


def test_names_must_be_snake_or_kebab_case():
    for good in ("my_env", "my-env", "env2", "a"):
        assert flyte.TaskEnvironment(name=good).name == good
    for bad in ("MyEnv", "my env", "my_env_", "-x", "my.env", ""):
        with pytest.raises(flyte.errors.ValidationError) as ei:
            flyte.TaskEnvironment(name=bad)
        assert "name" in str(ei.value) and "snake_case or kebab-case" in str(ei.value)
        assert isinstance(ei.value, ValueError)


def test_description_at_most_255_characters():
    flyte.TaskEnvironment(name="d", description="x" * 255)
    with pytest.raises(ValueError, match="at most 255 characters"):
        flyte.TaskEnvironment(name="d", description="x" * 256)


def test_plugin_config_cannot_be_combined_with_reusable():
    with pytest.raises(ValueError, match="plugin_config cannot be combined with reusable"):
        flyte.TaskEnvironment(name="p", plugin_config=object(), reusable=flyte.ReusePolicy(replicas=1))


def test_bad_types_name_the_field():
    with pytest.raises(TypeError, match="resources"):
        flyte.TaskEnvironment(name="t", resources={"cpu": 1})
    with pytest.raises(TypeError, match="env_vars"):
        flyte.TaskEnvironment(name="t", env_vars={"A": 1})
    with pytest.raises(ValueError, match="cache"):
        flyte.TaskEnvironment(name="t", cache="sometimes")


def test_task_decorator_bare_and_with_arguments_on_def_and_async_def():
    env = flyte.TaskEnvironment(name="deco", resources=flyte.Resources(cpu="500m", memory="1Gi"), env_vars={"A": "1"})

    @env.task
    def plain(x: int) -> int:
        """Plain task."""
        return x

    @env.task(short_name="fancy", cache="auto", retries=3, timeout=timedelta(seconds=30), interruptible=True, queue="q1")
    async def configured(x: int = 2) -> str:
        return str(x)

    assert isinstance(plain, AsyncFunctionTaskTemplate) and isinstance(plain, TaskTemplate)
    assert plain.name == "deco.plain" and plain.short_name == "plain" and plain.task_type == "python"
    assert plain.resources == env.resources and plain.env_vars == {"A": "1"}
    assert plain.docs.description == "Plain task."
    assert plain._call_as_synchronous and not configured._call_as_synchronous
    assert configured.short_name == "fancy" and configured.name == "deco.configured"
    assert configured.cache == "auto" and configured.retries == 3 and configured.timeout == timedelta(seconds=30)
    assert configured.interruptible is True and configured.queue == "q1"
    assert set(env.tasks) == {"deco.plain", "deco.configured"}
    assert plain.native_interface.inputs["x"][0] is int
    assert configured.interface.inputs["x"][1] == 2
    assert plain.source_file == __file__
    assert plain.parent_env() is env and plain.parent_env_name == "deco"


def test_environment_only_parameters_are_rejected_on_the_decorator():
    env = flyte.TaskEnvironment(name="levels")
    for param, value in [("resources", flyte.Resources(cpu=1)), ("env_vars", {}), ("secrets", "s"), ("image", "img"), ("plugin_config", 1)]:
        with pytest.raises(ValueError) as ei:
            env.task(**{param: value})
        assert param in str(ei.value) and "TaskEnvironment" in str(ei.value)


def test_reusable_environment_rules():
    env = flyte.TaskEnvironment(name="reuse", reusable=flyte.ReusePolicy(replicas=2, concurrency=1))
    with pytest.raises(ValueError, match="pod_template"):
        env.task(pod_template="custom")

    @env.task
    async def t(x: int) -> int:
        return x

    for field, value in [("resources", flyte.Resources(cpu=2)), ("env_vars", {"A": "B"}), ("secrets", "tok")]:
        with pytest.raises(ValueError) as ei:
            t.override(**{field: value})
        assert field in str(ei.value) and "reusable='off'" in str(ei.value)
    off = t.override(reusable="off", resources=flyte.Resources(cpu=2), env_vars={"A": "B"})
    assert off.reusable is None and off.resources == flyte.Resources(cpu=2) and off.env_vars == {"A": "B"}

    conc = flyte.TaskEnvironment(name="reuse-conc", reusable=flyte.ReusePolicy(replicas=1, concurrency=4))
    with pytest.raises(ValueError, match="concurrency"):

        @conc.task
        def sync_body(x: int) -> int:
            return x


def test_override_changes_a_copy_and_refuses_identity_fields():
    env = flyte.TaskEnvironment(name="ovr")

    @env.task(retries=1)
    async def t(x: int) -> int:
        return x

    t2 = t.override(retries=5, timeout=10, cache="auto", short_name="other", resources=flyte.Resources(memory="2Gi"))
    assert t.retries == 1 and t2.retries == 5 and t2.timeout == 10 and t2.cache == "auto"
    assert t2.name == t.name and t2.short_name == "other"
    for field in ("name", "image", "docs", "interface"):
        with pytest.raises(ValueError) as ei:
            t.override(**{field: "x"})
        assert field in str(ei.value) and "cannot be overridden" in str(ei.value)
    with pytest.raises(ValueError, match="retries"):
        t.override(retries=-1)
    with pytest.raises(ValueError, match="one of"):
        t.override(colour="red")
    assert flyte.run(t2, 3).outputs()[0] == 3


def test_clone_with_inherits_and_overrides():
    base = flyte.TaskEnvironment(
        name="base", resources=flyte.Resources(cpu=1), env_vars={"K": "V"}, cache="auto", description="base env"
    )
    clone = base.clone_with("clone", cache="disable", env_vars={"K": "W"})
    assert clone.name == "clone" and clone.resources == base.resources and clone.description == "base env"
    assert clone.cache == "disable" and clone.env_vars == {"K": "W"} and base.env_vars == {"K": "V"}
    with pytest.raises(ValueError, match="colour"):
        base.clone_with("c2", colour="red")
    with pytest.raises(ValueError, match="name"):
        base.clone_with("Bad Name")


def test_add_dependency_and_from_task():
    a = flyte.TaskEnvironment(name="a")
    b = flyte.TaskEnvironment(name="b", depends_on=[a])
    c = flyte.TaskEnvironment(name="c")
    b.add_dependency(c, a)
    assert b.depends_on == [a, c]
    with pytest.raises(ValueError, match="other than itself"):
        b.add_dependency(b)

    @a.task
    async def t1(x: int) -> int:
        return x

    @a.task
    async def t2(x: int) -> int:
        return x

    env = flyte.TaskEnvironment.from_task("from-tasks", t1, t2)
    assert set(env.tasks) == {"a.t1", "a.t2"}

    @c.task
    async def t3(x: int) -> int:
        return x

    with pytest.raises(ValueError, match="single environment"):
        flyte.TaskEnvironment.from_task("mixed", t1, t3)


def test_variadic_functions_are_rejected_with_the_parameter_named():
    env = flyte.TaskEnvironment(name="var")
    with pytest.raises(ValueError, match=r"\*args"):

        @env.task
        def bad(*args: int) -> int:
            return 0


def test_unknown_plugin_config_names_the_type():
    class NotAPluginConfig:
        pass

    env = flyte.TaskEnvironment(name="np", plugin_config=NotAPluginConfig())
    with pytest.raises(flyte.errors.PluginNotFoundError) as ei:

        @env.task
        def t() -> None:
            pass

    assert "NotAPluginConfig" in str(ei.value)


def test_task_template_methods_have_documented_defaults():
    env = flyte.TaskEnvironment(name="meth")

    @env.task
    async def t(x: int) -> int:
        return x

    from flyte.models import SerializationContext

    sctx = SerializationContext(version="v1")
    assert t.custom_config(sctx) == {} and t.config(sctx) == {} and t.sql(sctx) is None
    assert t.data_loading_config(sctx) is None
    sig = inspect.signature(TaskTemplate)
    for name, default in {"task_type": "python", "cache": "disable", "retries": 0, "interruptible": False, "report": False}.items():
        assert sig.parameters[name].default == default
    assert asyncio.run(t.aio(4)) == 4  # outside a run: the plain function


def test_version():
    assert flyte.version() == flyte.__version__
    assert isinstance(flyte.__version__, str) and flyte.__version__
