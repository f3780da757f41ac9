"""Mistakes in task definitions: refused when a task cannot work, warned when it likely is wrong.

The published SDK accepts the warned ones, so programs using them keep running; each warning
names the field, the value and what is expected.
"""

import warnings
from datetime import timedelta

import pytest

import flyte
import flyte.errors
from flyte._environment import MAX_DEPLOYED_NAME

env = flyte.TaskEnvironment(name="mistakes")


def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in caught if issubclass(w.category, UserWarning)], caught


# ---- generators ------------------------------------------------------------------------------
def test_a_sync_generator_is_refused_at_decoration():
    def numbers(n: int):
        yield from range(n)

    with pytest.raises(flyte.errors.TypeValidationError) as e:
        env.task(numbers)
    msg = str(e.value)
    assert "numbers" in msg and "generator function" in msg and "return them as a list" in msg


def test_an_async_generator_is_refused_at_decoration():
    async def numbers(n: int):
        for i in range(n):
            yield i

    with pytest.raises(TypeError) as e:
        env.task(numbers)
    assert "an async generator function" in str(e.value) and "return them as a list" in str(e.value)


# ---- a value from a task declared to return nothing --------------------------------------------
@env.task
async def forgot_annotation(x: int):
    return x * 2


@env.task
def returns_none_on_purpose(x: int) -> None:
    return None


def test_a_value_from_a_task_declared_to_return_nothing_is_an_error():
    with pytest.raises(flyte.errors.RuntimeDataValidationError) as e:
        flyte.run(forgot_annotation, x=3)
    msg = str(e.value)
    assert "mistakes.forgot_annotation" in msg
    assert "Expected no outputs but got (6,), did you miss a return type annotation?" in msg
    # None is what a task without outputs returns: still fine.
    assert flyte.run(returns_none_on_purpose, x=1).outputs() == ()


# ---- the same task name twice --------------------------------------------------------------
def test_a_second_definition_replaces_the_first_with_a_warning_naming_both():
    local = flyte.TaskEnvironment(name="twice")

    def first(x: int) -> int:
        return 1

    def second(x: int) -> int:
        return 2

    second.__name__ = second.__qualname__ = "first"  # same task name, another place in the source
    local.task(first)
    new, messages, caught = _warnings_of(lambda: local.task(second))
    assert local.tasks["twice.first"] is new
    assert flyte.run(new, x=0).outputs()[0] == 2
    (msg,) = [m for m in messages if "defined twice" in m]
    here = __file__
    assert f"{here}:{first.__code__.co_firstlineno}" in msg and f"{here}:{second.__code__.co_firstlineno}" in msg
    assert caught[0].filename == here  # the warning points at the user's line


def test_running_the_same_definition_again_does_not_warn():
    local = flyte.TaskEnvironment(name="rerun")

    def cell(x: int) -> int:
        return x

    local.task(cell)
    _, messages, _ = _warnings_of(lambda: local.task(cell))  # a notebook cell run twice
    assert not [m for m in messages if "defined twice" in m]


# ---- accepted, but likely wrong: warnings -------------------------------------------------------
def _one_warning(fn, *needles):
    _, messages, _ = _warnings_of(fn)
    hits = [m for m in messages if all(n in m for n in needles)]
    assert len(hits) == 1, messages
    return hits[0]


def test_an_ignored_input_that_is_no_input_warns_at_decoration():
    def f(x: int, y: int) -> int:
        return x

    msg = _one_warning(
        lambda: env.task(cache=flyte.Cache(behavior="auto", ignored_inputs=("nosuch",)))(f),
        "cache.ignored_inputs", "'nosuch'",
    )
    assert "x, y" in msg


def test_a_blank_version_override_warns():
    cache = _one_warning(lambda: flyte.Cache(behavior="override", version_override="  "), "version_override", "'  '")
    assert "visible characters" in cache


@pytest.mark.parametrize(
    "kwargs,needles",
    [
        ({"report": "yes"}, ("report='yes'", "True or False")),
        ({"short_name": "Bad Name"}, ("short_name='Bad Name'", "lowercase")),
    ],
)
def test_task_settings_that_cannot_mean_what_they_say_warn(kwargs, needles):
    def g(x: int) -> int:
        return x

    _one_warning(lambda: env.task(**kwargs)(g), *needles)


def test_a_lambda_and_a_method_as_tasks_warn_and_still_run():
    lam = _one_warning(lambda: flyte.TaskEnvironment(name="lam").task(lambda x: x), "def or async def")
    assert "lambda" in lam

    class Holder:
        def method(self, x: int) -> int:
            return x + 1

    _one_warning(lambda: flyte.TaskEnvironment(name="meth").task(Holder().method), "method", "module-level function")
    t, _, _ = _warnings_of(lambda: flyte.TaskEnvironment(name="meth2").task(Holder().method))
    assert flyte.run(t, x=1).outputs()[0] == 2  # accepted, as published


def test_a_task_without_annotations_says_once_that_its_inputs_are_pickled():
    def bare(x, y):
        return None

    msg = _one_warning(lambda: flyte.TaskEnvironment(name="bare").task(bare), "pickled")
    assert "x, y" in msg


def test_a_long_secret_key_warns():
    _one_warning(lambda: flyte.Secret(key="k" * 300), "key=", "at most 253 characters")


def test_a_long_environment_name_warns_locally_and_fails_to_deploy(tmp_path):
    name = "e" * 100
    long_env = _one_warning(lambda: flyte.TaskEnvironment(name=name), f"at most {MAX_DEPLOYED_NAME} characters")

    def h(x: int) -> int:
        return x

    task = _quiet_env(name).task(h)
    assert flyte.run(task, x=4).outputs()[0] == 4  # fine locally
    from flyte._deploy import plan_deploy

    with pytest.raises(flyte.errors.ValidationError) as e:
        plan_deploy(_quiet_env(name))
    assert f"at most {MAX_DEPLOYED_NAME} characters to deploy" in str(e.value) and name in str(e.value)
    assert "flyte deploy" in long_env


def _quiet_env(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flyte.TaskEnvironment(name=name)


def test_good_definitions_warn_nothing():
    def fine(x: int, y: str = "a") -> int:
        return x

    _, messages, _ = _warnings_of(
        lambda: flyte.TaskEnvironment(name="fine-env").task(
            short_name="fine", report=False, cache=flyte.Cache(behavior="auto", ignored_inputs=("y",)),
            retries=flyte.RetryStrategy(count=1, backoff=timedelta(seconds=0)),
        )(fine)
    )
    assert messages == []


# ---- error messages keep whole paths -----------------------------------------------------
def test_error_messages_keep_whole_paths_and_shorten_big_values_from_the_middle(tmp_path):
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 8, "the-file-name.parquet")
    err = flyte.errors.ValidationError("path", str(deep), "an existing file")
    assert str(deep) in str(err)
    err = flyte.errors.TypeValidationError("input 'p'", deep, "a File")
    assert "the-file-name.parquet" in str(err)
    big = list(range(100_000))
    msg = str(flyte.errors.ValidationError("values", big, "at most 10 items"))
    assert len(msg) < 400
    assert msg.count("[0, 1, 2") == 1 and "99999]" in msg and "characters left out" in msg
