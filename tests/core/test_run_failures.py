"""How failures reach the user: once, as their own code, with nothing of the engine or store;
and inputs a type cannot carry refused before anything runs."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flyte
import flyte.errors
from tests.conftest import REPO, subprocess_env

FLYTE = str(REPO / ".venv" / "bin" / "flyte")

PROGRAM = textwrap.dedent(
    """
    import asyncio, sys
    import flyte

    env = flyte.TaskEnvironment(name="fails")

    @env.task
    async def child(i: int) -> int:
        await asyncio.sleep(0.01 * i)
        if i == 3:
            raise ValueError(f"bad item {i}")
        return i

    @env.task
    async def gathers(n: int) -> int:
        return sum(await asyncio.gather(*(child(i) for i in range(n))))

    @env.task
    async def maps(n: int) -> int:
        total = 0
        async for r in flyte.map.aio(child, range(n)):
            if r == 2:
                raise RuntimeError("stop at 2")
            total += r
        return total

    if __name__ == "__main__":
        flyte.init(local_persistence=True)
        flyte.run(gathers if sys.argv[1] == "gather" else maps, n=int(sys.argv[2]))
    """
)


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prog") / "prog.py"
    path.write_text(PROGRAM)
    return path


@pytest.mark.parametrize(
    "how,raised,message",
    [("gather", "raise ValueError(f\"bad item {i}\")", "bad item 3"), ("map", 'raise RuntimeError("stop at 2")', "stop at 2")],
)
def test_a_failure_among_siblings_is_shown_once_as_the_users_code(isolated_flyte_home, program, how, raised, message):
    res = subprocess.run(
        [sys.executable, str(program), how, "40"],
        capture_output=True, text=True, timeout=120, env=subprocess_env(isolated_flyte_home),
    )
    assert res.returncode == 1
    err = res.stderr
    assert "shutdown" not in err and "store" not in err and "Task exception was never retrieved" not in err
    assert raised in err  # the user's own line
    assert err.count(f"RuntimeUserError: {message}") == 1
    engine = [ln for ln in err.splitlines() if ln.strip().startswith('File "') and "/flyte/" in ln or "asyncio/" in ln]
    assert len(engine) == 1 and "__call__" in engine[0], err  # only flyte.run's own line, none between
    assert len(err.splitlines()) < 30, err


def test_the_left_over_siblings_end_as_aborted(isolated_flyte_home, program):
    subprocess.run([sys.executable, str(program), "gather", "40"], capture_output=True, timeout=120, env=subprocess_env(isolated_flyte_home))
    from flyte._engine.store import LocalStore

    with LocalStore(isolated_flyte_home / "local.db") as store:
        (run,) = store.list_runs()
        statuses = {a.status for a in store.get_actions(run.name)}
    assert run.status == "failed" and "running" not in statuses and "aborted" in statuses


# ---- ints a 64-bit literal cannot carry ---------------------------------------------------
env = flyte.TaskEnvironment(name="ints")


@env.task
async def count(n: int) -> int:
    return n


@env.task(cache="auto")
async def cached_count(n: int) -> int:
    return n


@pytest.mark.parametrize("task", [count, cached_count], ids=["plain", "cached"])
def test_an_int_beyond_int64_is_refused_up_front(task):
    with pytest.raises(flyte.errors.TypeValidationError) as e:
        flyte.run(task, n=2**63)
    assert "out of range for int" in str(e.value) and "input 'n'" in str(e.value)
    assert flyte.run(task, n=2**63 - 1).outputs()[0] == 2**63 - 1
    assert flyte.run(task, n=-(2**63)).outputs()[0] == -(2**63)


def test_the_int_transformer_names_the_range():
    from flyte.types import TypeEngine

    with pytest.raises(TypeError) as e:
        import asyncio

        asyncio.run(TypeEngine.to_literal(10**30, int, TypeEngine.to_literal_type(int)))
    assert "out of range for int" in str(e.value)


def test_the_cli_refuses_a_huge_int_at_once(isolated_flyte_home):
    res = subprocess.run(
        [FLYTE, "run", "examples/hello.py", "main", "--n", "99999999999999999999999"],
        capture_output=True, text=True, timeout=60, env=subprocess_env(isolated_flyte_home), cwd=REPO,
    )
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "out of range for int" in lines[0] and "99999999999999999999999" in lines[0]
