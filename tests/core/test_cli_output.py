"""What the ``flyte`` command prints: ``-o json`` documents, ``get run`` of handled failures and
timeouts, task help, ``-v``, the ``--help`` hint, ``get logs``, CLI unions with ``str``, and the
progress line. The program lives in a folder whose name holds a space, as users' folders do."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO, subprocess_env

FLYTE = str(REPO / ".venv" / "bin" / "flyte")

PROGRAM = '''
import asyncio, enum, subprocess, sys, time
from dataclasses import dataclass
from typing import List, Optional
import flyte

env = flyte.TaskEnvironment(name="out")

class Format(enum.Enum):
    MARKDOWN = "markdown"
    TEXT = "text"

@dataclass
class UserData:
    name: str
    age: int

@env.task
def talk(n: int = 2) -> int:
    for i in range(n):
        print(f"tick {i}")
    # A child process writes to the inherited descriptor 1, not to sys.stdout.
    subprocess.run([sys.executable, "-c", "print('from a child process')"], check=True)
    return n * 10

@env.task
def describe(owner: Optional[str] = None, values: List[int] = [1], fmt: Format = Format.MARKDOWN) -> str:
    return f"{owner} {values} {fmt.value}"

@env.task
def boom(x: int) -> int:
    print("about to fail", end="")  # no newline: get logs still ends its output with one
    raise ValueError(f"bad x {x}")

@env.task
async def child() -> int:
    raise RuntimeError("child broke")

@env.task
async def parent() -> str:
    try:
        await child()
    except Exception as e:
        return "handled"
    return "not reached"

@env.task(timeout=1)
async def slow() -> int:
    await asyncio.sleep(30)
    return 1

@env.task(timeout=1)
def slow_sync() -> int:
    time.sleep(1.5)
    return 1

@env.task
def anyval(a: str | int | UserData, b: str | int | UserData, c: str | int | UserData) -> str:
    return "|".join(repr(v) for v in (a, b, c))
'''


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "my programs"
    folder.mkdir()
    path = folder / "prog.py"
    path.write_text(textwrap.dedent(PROGRAM))
    (folder / "home").mkdir(mode=0o700)  # owner-only, as flyte makes it: no permission warning
    return path


def cli(prog: Path, *args: str) -> subprocess.CompletedProcess:
    home = prog.parent / "home"
    return subprocess.run(
        [FLYTE, *args], capture_output=True, text=True, timeout=120, cwd=prog.parent, env=subprocess_env(home)
    )


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in stderr, stderr
    return lines[0]


def test_run_json_is_one_document_and_task_output_goes_to_stderr(prog: Path):
    res = cli(prog, "run", "-o", "json", "--name", "j-ok", str(prog), "talk", "--n", "2")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"run": "j-ok", "phase": "succeeded", "task": "out.talk", "outputs": {"o0": 20}}
    assert "tick 0\ntick 1" in res.stderr and "from a child process" in res.stderr


def test_failures_are_json_too_and_records_hold_json(prog: Path):
    res = cli(prog, "run", "-o", "json", "--name", "j-bad", str(prog), "boom", "--x", "3")
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    assert (doc["run"], doc["phase"], doc["error"]["type"], doc["error"]["message"]) == ("j-bad", "failed", "ValueError", "bad x 3")
    assert 'raise ValueError(f"bad x {x}")' in doc["error"]["traceback"]
    assert "about to fail" in res.stderr and "run j-bad failed" in res.stderr
    usage = cli(prog, "run", "-o", "json", str(prog), "boom", "--x", "three")
    assert usage.returncode == 2
    assert json.loads(usage.stdout)["error"]["type"] == "UsageError"
    runs = {r["name"]: r for r in json.loads(cli(prog, "get", "runs", "-o", "json").stdout)}
    assert runs["j-bad"]["inputs"] == {"x": 3}  # a JSON object with an int, not JSON text in a string
    assert runs["j-ok"]["outputs"] == {"o0": 20}
    assert cli(prog, "get", "logs", "j-bad").stdout == "about to fail\n"


def test_get_run_of_a_run_that_handled_a_failed_child(prog: Path):
    assert cli(prog, "run", "--name", "handled", str(prog), "parent").returncode == 0
    out = cli(prog, "get", "run", "handled").stdout
    assert "Status:   succeeded" in out and "RuntimeError: child broke" in out
    assert "Failure:" not in out and "handled; the run succeeded" in out


@pytest.mark.parametrize(
    "task,where",
    [("slow", "await asyncio.sleep(30)"), ("slow_sync", "time.sleep(1.5)")],
)
def test_timeout_traceback_shows_where_the_body_was(prog: Path, task: str, where: str):
    res = cli(prog, "run", "--name", f"to-{task}", str(prog), task)
    assert res.returncode == 1 and "exceeded its timeout of 1s" in one_line(res.stderr)
    tb = json.loads(cli(prog, "get", "run", f"to-{task}", "-o", "json").stdout)["error"]["traceback"]
    assert where in tb and f"in {task}" in tb, tb
    assert "TaskTimeoutError: task out." in tb.rstrip().splitlines()[-1]
    assert "/asyncio/" not in tb and "threading.py" not in tb and "/flyte/" not in tb


def test_task_help_shows_full_types_and_enum_defaults(prog: Path):
    out = cli(prog, "run", str(prog), "describe", "--help").stdout
    assert "owner: Optional[str], values: list[int], fmt: Format" in out
    assert "(default: 'markdown')" in out and "<Format." not in out
    assert "list[int] (default: [1])" in out


def test_verbose_flag_on_run_and_on_flyte(prog: Path):
    res = cli(prog, "run", "-v", str(prog), "talk", "--n", "1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "10"
    bad = cli(prog, "-v", "run", str(prog), "talk", "--nope", "1")
    assert bad.returncode == 2
    line = one_line(bad.stderr)
    # The hint quotes the path with its space, so it can be pasted back into a shell.
    assert f"(see: flyte run '{prog}' talk --help)" in line


def test_union_with_str_takes_text_that_is_not_json(prog: Path):
    res = cli(prog, "run", str(prog), "anyval", "--a", "Hello, Flyte!", "--b", "42", "--c", '{"name": "ada", "age": 36}')
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "'Hello, Flyte!'|42|UserData(name='ada', age=36)"


def test_progress_line_is_cleared_before_task_output(monkeypatch):
    import threading
    import time

    from flyte.cli._progress import Progress

    terminal = io.StringIO()
    monkeypatch.setattr(sys, "stdout", terminal)
    drawn = threading.Event()

    class Term(io.StringIO):
        def write(self, text: str) -> int:
            n = terminal.write(text)
            if "running..." in text:
                drawn.set()
            return n

    with Progress("out.talk", enabled=True, stream=Term(), interval=0.01):
        assert drawn.wait(10)
        print("tick 0")
        drawn.clear()
        assert drawn.wait(10)
        print("partial", end="")
        time.sleep(0.05)  # no redraw over a partial line
        print(" line")
    text = terminal.getvalue()
    # Every output line starts at a cleared line; the progress text never precedes output on a line.
    for line in text.split("\n"):
        if "tick 0" in line or "partial line" in line:
            visible = line.rsplit("\r\033[K", 1)[-1]
            assert visible in ("tick 0", "partial line"), repr(line)
    assert "partial line\n" in text  # nothing was drawn over the partial line
    assert text.count("running...") >= 2
