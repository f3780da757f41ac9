"""`flyte run` as a user runs it: real processes, the examples, errors, signals."""

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, subprocess_env

FLYTE = str(REPO / ".venv" / "bin" / "flyte")

EXAMPLES = [
    ("hello.py", "main", ["--n", "5"], "5 squares, sum 30, max 16"),
    ("data_pipeline.py", "pipeline", ["--rows", "50"], '"rows": 50'),
    ("hyperparameter_sweep.py", "sweep", ["--trials", "6", "--concurrency", "2"], '"best_lr"'),
    ("resilient_service_call.py", "main", ["--calls", "3"], "failed: TaskTimeoutError"),
    ("report_builder.py", "build", ["--title", "Weekly", "--fmt", "text"], "5"),
]


def flyte_cli(home: Path, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FLYTE, *args], capture_output=True, text=True, timeout=timeout, env=subprocess_env(home, **env), cwd=REPO
    )


@pytest.mark.parametrize("file,task,args,expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples_run_with_flyte_run(isolated_flyte_home, file, task, args, expected):
    res = flyte_cli(isolated_flyte_home, "run", f"examples/{file}", task, *args, FLYTE_SECRET_API_TOKEN="tok")
    assert res.returncode == 0, res.stderr
    assert expected in res.stdout
    assert "succeeded" in res.stderr


def test_json_output_and_get_run(isolated_flyte_home):
    res = flyte_cli(isolated_flyte_home, "run", "--name", "json-run", "-o", "json", "examples/hello.py", "main", "--n", "3")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc == {"run": "json-run", "phase": "succeeded", "task": "hello.main", "outputs": {"o0": "3 squares, sum 5, max 4"}}
    got = flyte_cli(isolated_flyte_home, "get", "run", "json-run", "-o", "json")
    assert got.returncode == 0, got.stderr
    run = json.loads(got.stdout)
    assert run["run"]["status"] == "succeeded" if "run" in run else run["status"] == "succeeded"
    assert "hello.square" in got.stdout


def test_task_help_lists_inputs_and_bools_are_flags(isolated_flyte_home, tmp_path):
    prog = tmp_path / "flags.py"
    prog.write_text(
        textwrap.dedent(
            """
            import flyte
            env = flyte.TaskEnvironment(name="flags")

            @env.task
            def greet(name: str, shout: bool = False, times: int = 1) -> str:
                '''Greet someone.'''
                msg = f"hello {name}"
                return (msg.upper() if shout else msg) * times
            """
        )
    )
    helped = flyte_cli(isolated_flyte_home, "run", str(prog), "greet", "--help")
    assert helped.returncode == 0
    for word in ("--name", "--shout / --no-shout", "--times", "Greet someone."):
        assert word in helped.stdout
    res = flyte_cli(isolated_flyte_home, "run", "--local", str(prog), "greet", "--name", "ada", "--shout")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "HELLO ADA"
    listing = flyte_cli(isolated_flyte_home, "run", str(prog))
    assert "greet" in listing.stdout and listing.returncode == 2


@pytest.mark.parametrize(
    "args,needle",
    [
        (["examples/hello.py", "main", "--n", "abc"], "'abc' is not a valid integer"),
        (["examples/hello.py", "nope"], "no task 'nope'"),
        (["examples/missing.py", "main"], "is not a Python file"),
    ],
)
def test_user_errors_are_one_line_without_traceback(isolated_flyte_home, args, needle):
    res = flyte_cli(isolated_flyte_home, "run", *args)
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and needle in lines[0]
    assert "Traceback" not in res.stderr


FAILING = textwrap.dedent(
    """
    import asyncio, sys
    import flyte
    env = flyte.TaskEnvironment(name="failing")

    def helper(x):
        raise ValueError(f"bad x={x}")

    @env.task
    async def boom(x: int) -> int:
        return helper(x)

    @env.task
    async def child(marker: str) -> int:
        try:
            await asyncio.sleep(120)
        finally:
            open(marker, "w").write("cleaned")
        return 1

    @env.task
    async def slow(marker: str) -> int:
        print("started", flush=True)
        return await child(marker)
    """
)


def test_failing_task_keeps_user_traceback_in_record(isolated_flyte_home, tmp_path):
    prog = tmp_path / "failing.py"
    prog.write_text(FAILING)
    res = flyte_cli(isolated_flyte_home, "run", "--name", "boom-run", str(prog), "boom", "--x", "3")
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        "Error: run boom-run failed: ValueError: bad x=3; details: flyte get run boom-run"
    ]
    got = flyte_cli(isolated_flyte_home, "get", "run", "boom-run")
    assert "failed" in got.stdout
    assert 'raise ValueError(f"bad x={x}")' in got.stdout and "in helper" in got.stdout
    assert "_engine" not in got.stdout  # the engine's own frames are trimmed


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_cancels_run_runs_teardown_and_exits_130(isolated_flyte_home, tmp_path, sig):
    prog = tmp_path / "failing.py"
    prog.write_text(FAILING)
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [FLYTE, "run", "--name", "sig-run", str(prog), "slow", "--marker", str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(isolated_flyte_home),
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        time.sleep(0.3)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert marker.read_text() == "cleaned"
    got = flyte_cli(isolated_flyte_home, "get", "run", "sig-run", "-o", "json")
    assert '"aborted"' in got.stdout


def test_sigkill_leaves_store_usable_and_run_aborted(isolated_flyte_home, tmp_path):
    prog = tmp_path / "failing.py"
    prog.write_text(FAILING)
    proc = subprocess.Popen(
        [FLYTE, "run", "--name", "killed-run", str(prog), "slow", "--marker", str(tmp_path / "m")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(isolated_flyte_home),
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    got = flyte_cli(isolated_flyte_home, "get", "run", "killed-run", "-o", "json")
    assert got.returncode == 0 and '"aborted"' in got.stdout
    again = flyte_cli(isolated_flyte_home, "run", "examples/hello.py", "main", "--n", "2")
    assert again.returncode == 0, again.stderr
    runs = flyte_cli(isolated_flyte_home, "get", "runs")
    assert "killed-run" in runs.stdout and "hello.main" in runs.stdout


def test_python_examples_run_as_scripts(isolated_flyte_home):
    res = subprocess.run(
        [sys.executable, "examples/hello.py"], capture_output=True, text=True, cwd=REPO, env=subprocess_env(isolated_flyte_home), timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "10 squares, sum 285, max 81"


def test_two_processes_share_the_store_and_cache(isolated_flyte_home, tmp_path):
    prog = tmp_path / "cached.py"
    prog.write_text(
        textwrap.dedent(
            """
            import os, flyte
            env = flyte.TaskEnvironment(name="cached", cache="auto")

            @env.task
            def costly(x: int) -> int:
                with open(os.environ["CALLS_FILE"], "a") as f:
                    f.write("x")
                return x * 3
            """
        )
    )
    calls = tmp_path / "calls"
    procs = [
        subprocess.Popen(
            [FLYTE, "run", str(prog), "costly", "--x", str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(isolated_flyte_home, CALLS_FILE=str(calls)),
            cwd=REPO,
        )
        for i in range(4)
    ]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert calls.read_text() == "xxxx"
    res = flyte_cli(isolated_flyte_home, "run", str(prog), "costly", "--x", "2", CALLS_FILE=str(calls))
    assert res.stdout.strip() == "6"
    assert calls.read_text() == "xxxx"  # served from the cache written by another process
    import sqlite3

    con = sqlite3.connect(isolated_flyte_home / "local.db")
    assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    con.close()


@pytest.mark.parametrize(
    "source,needle",
    [
        ("import no_such_module_xyz\n", "ModuleNotFoundError"),
        ("def broken(:\n", "SyntaxError"),
        ("raise RuntimeError('boom at import')\n", "boom at import"),
    ],
)
def test_files_that_fail_to_import_are_one_line_errors(isolated_flyte_home, tmp_path, source, needle):
    prog = tmp_path / "bad.py"
    prog.write_text(source)
    res = flyte_cli(isolated_flyte_home, "run", str(prog), "t")
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.stderr


def test_structured_literal_and_optional_inputs(isolated_flyte_home, tmp_path):
    prog = tmp_path / "inputs.py"
    prog.write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass
            from typing import Literal, Optional
            import flyte
            env = flyte.TaskEnvironment(name="inp")

            @dataclass
            class Point:
                x: int
                y: int

            @env.task
            def dc(p: Point, tags: list[str]) -> int:
                return p.x + p.y + len(tags)

            @env.task
            def lit(m: Literal[1, 2]) -> str:
                return f"{m!r}"

            @env.task
            def opt(flag: Optional[bool] = None) -> str:
                return repr(flag)
            """
        )
    )
    ok = flyte_cli(isolated_flyte_home, "run", str(prog), "dc", "--p", '{"x": 1, "y": 2}', "--tags", '["a", "b"]')
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "5"
    bad = flyte_cli(isolated_flyte_home, "run", str(prog), "dc", "--p", "[1, 2]", "--tags", "[]")
    assert bad.returncode == 2 and "expected a JSON object for Point" in bad.stderr and "Traceback" not in bad.stderr
    assert flyte_cli(isolated_flyte_home, "run", str(prog), "lit", "--m", "2").stdout.strip() == "2"
    assert flyte_cli(isolated_flyte_home, "run", str(prog), "opt").stdout.strip() == "None"
    assert flyte_cli(isolated_flyte_home, "run", str(prog), "opt", "--flag").stdout.strip() == "True"
    listing = flyte_cli(isolated_flyte_home, "run", str(prog), "--help")
    assert listing.returncode == 0 and "dc" in listing.stdout and "lit" in listing.stdout
    helped = flyte_cli(isolated_flyte_home, "run", str(prog), "dc", "-h")
    assert helped.returncode == 0 and "--tags" in helped.stdout
    missing = flyte_cli(isolated_flyte_home, "run", str(prog), "dc", "--tags", "[]")
    assert missing.returncode == 2 and "Missing option '--p'" in missing.stderr
