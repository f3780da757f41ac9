"""User-facing errors keep the builtin types the published SDK 2.12 raises for the same mistake,
so ``except ValueError`` / ``except TypeError`` written against it keeps working (our classes
subclass them, under FlyteError)."""

from __future__ import annotations

import pytest

import flyte
from flyte.errors import FlyteError

env = flyte.TaskEnvironment(name="published-errors")


@env.task
async def one_input(x: int) -> int:
    return x


class UnregisteredConfig:
    pass


def _unregistered_plugin() -> None:
    e = flyte.TaskEnvironment(name="published-errors-plugin", plugin_config=UnregisteredConfig())

    @e.task
    async def t() -> None: ...


# mistake -> (what triggers it, the builtin type the published SDK raises)
CASES = {
    "unregistered plugin_config": (_unregistered_plugin, ValueError),
    "missing input": (lambda: flyte.run(one_input), ValueError),
    "unknown input": (lambda: flyte.run(one_input, x=1, y=2), ValueError),
    "input of the wrong type": (lambda: flyte.run(one_input, x="abc"), TypeError),
    "run of a plain function": (lambda: flyte.run(lambda: 1), TypeError),
    "unknown @env.task parameter": (lambda: env.task(foo=1), TypeError),
    "environment name": (lambda: flyte.TaskEnvironment(name="Bad Name!"), ValueError),
    "negative retries": (lambda: env.task(retries=-1)(lambda: None), ValueError),
    "secret key": (lambda: flyte.Secret(key=""), ValueError),
    "gpu": (lambda: flyte.Resources(gpu="X:1"), ValueError),
    "resources of the wrong type": (lambda: flyte.TaskEnvironment(name="r", resources="2cpu"), TypeError),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_published_builtin_type_is_kept(isolated_flyte_home, case):
    trigger, builtin = CASES[case]
    with pytest.raises(builtin) as ei:
        trigger()
    assert isinstance(ei.value, FlyteError), f"{case}: {type(ei.value).__mro__}"
