"""The ``flyte`` console script: ``get`` commands against a real store, errors, plugin commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, Optional

import click
import pytest

from flyte._engine.store import LocalStore
from flyte.cli._common import run_cli
from flyte.errors import TypeValidationError, ValidationError

FLYTE = Path(sys.executable).parent / "flyte"


TRACEBACK = 'Traceback (most recent call last):\n  File "wf.py", line 7, in child\nValueError: x must be positive\n'
ERROR = {"type": "ValueError", "message": "x must be positive", "traceback": TRACEBACK}


def test_the_console_script_is_installed():
    # Installing core installs the script; its absence is a broken install, not a reason to skip.
    assert FLYTE.exists(), f"{FLYTE} is missing: reinstall core (pip install ./core)"


def flyte(
    *args: str, store: Path, cwd: Path, env: Optional[Dict[str, str]] = None, timeout: float = 30
) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FLYTE_")}
    full_env["FLYTE_LOCAL_STORE"] = str(store)
    full_env.update(env or {})
    return subprocess.run(
        [str(FLYTE), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store" / "local.db"
    with LocalStore(path) as s:
        s.start_run("wf-ok", "wf.main", '{"n": "3"}')
        s.action_started("wf-ok", "a0", None, "wf.main", None, 0)
        s.action_finished("wf-ok", "a0", "succeeded", cache_status="disabled")
        s.finish_run("wf-ok", "succeeded", outputs_summary='{"o0": "6"}')

        s.start_run("wf-bad", "wf.main", '{"n": "-1"}')
        s.action_started("wf-bad", "a0", None, "wf.main", None, 0)
        s.action_started("wf-bad", "child-1", "a0", "wf.child", "fanout", 0)
        s.append_log("wf-bad", "child-1", "stdout", "child says hi\n")
        s.action_finished("wf-bad", "child-1", "failed", error=ERROR, cache_status="miss")
        s.action_started("wf-bad", "child-1", "a0", "wf.child", "fanout", 1)
        s.action_finished("wf-bad", "child-1", "failed", error=ERROR, cache_status="miss")
        s.action_started("wf-bad", "cached", "a0", "wf.square", None, 0)
        s.action_finished("wf-bad", "cached", "succeeded", cache_status="hit")
        s.append_log("wf-bad", "a0", "stderr", "parent warns\n")
        s.action_finished("wf-bad", "a0", "failed", error=ERROR)
        s.finish_run("wf-bad", "failed", error=ERROR)
    return path


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_get_runs_table(store_path: Path, tmp_path: Path):
    res = flyte("get", "runs", store=store_path, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "TASK", "STATUS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"wf-ok", "wf-bad"}
    assert "succeeded" in rows["wf-ok"]
    assert "failed" in rows["wf-bad"] and "ValueError: x must be positive" in rows["wf-bad"]
    limited = flyte("get", "runs", "--limit", "1", store=store_path, cwd=tmp_path)
    assert len(limited.stdout.splitlines()) == 2


def test_get_runs_json(store_path: Path, tmp_path: Path):
    res = flyte("get", "runs", "--output", "json", store=store_path, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    runs = json.loads(res.stdout)
    assert [r["name"] for r in runs] == ["wf-bad", "wf-ok"]  # newest first
    ok = runs[1]
    assert (ok["status"], ok["task_name"], ok["outputs"], ok["error"]) == ("succeeded", "wf.main", {"o0": "6"}, None)
    assert isinstance(ok["duration_s"], float) and ok["pid"] == os.getpid()
    assert runs[0]["error"]["type"] == "ValueError"
    assert runs[0]["inputs"] == {"n": "-1"}  # JSON objects, not JSON text inside a string


def test_empty_store_is_not_created_by_reading(tmp_path: Path):
    missing = tmp_path / "nothing" / "local.db"
    res = flyte("get", "runs", store=missing, cwd=tmp_path)
    assert res.returncode == 0 and "No runs recorded" in res.stdout
    assert json.loads(flyte("get", "runs", "-o", "json", store=missing, cwd=tmp_path).stdout) == []
    assert not missing.exists()
    res = flyte("get", "run", "x", store=missing, cwd=tmp_path)
    assert res.returncode == 1 and "'x'" in _one_error_line(res.stderr)


def test_get_run_shows_actions_and_error(store_path: Path, tmp_path: Path):
    res = flyte("get", "run", "wf-bad", store=store_path, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Status:   failed" in out and "wf.main" in out and '{"n": "-1"}' in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("a0 ", "child-1 ", "cached "))}
    assert rows["child-1"][:7] == ["child-1", "a0", "wf.child", "fanout", "failed", "2", "miss"]
    assert rows["cached"][4:7] == ["succeeded", "1", "hit"]
    assert "Failure: ValueError: x must be positive" in out
    assert TRACEBACK.strip() in out


def test_get_run_json(store_path: Path, tmp_path: Path):
    res = flyte("get", "run", "wf-bad", "-o", "json", store=store_path, cwd=tmp_path)
    doc = json.loads(res.stdout)
    assert doc["name"] == "wf-bad" and doc["error"]["traceback"] == TRACEBACK
    acts = {a["name"]: a for a in doc["actions"]}
    assert list(acts) == ["a0", "child-1", "cached"]
    assert (acts["child-1"]["attempts"], acts["child-1"]["parent"], acts["child-1"]["group"]) == (2, "a0", "fanout")
    assert acts["cached"]["cache_status"] == "hit"


def test_get_logs(store_path: Path, tmp_path: Path):
    res = flyte("get", "logs", "wf-bad", store=store_path, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["[child-1] child says hi", "[a0] parent warns"]
    one = flyte("get", "logs", "wf-bad", "--action", "child-1", store=store_path, cwd=tmp_path)
    assert one.stdout == "child says hi\n"
    as_json = json.loads(flyte("get", "logs", "wf-bad", "-o", "json", store=store_path, cwd=tmp_path).stdout)
    assert [(lg["action_name"], lg["stream"]) for lg in as_json] == [("child-1", "stdout"), ("a0", "stderr")]


def test_unknown_run_is_one_line_error(store_path: Path, tmp_path: Path):
    for cmd in (["get", "run", "nope"], ["get", "logs", "nope"]):
        res = flyte(*cmd, store=store_path, cwd=tmp_path)
        assert res.returncode == 1
        line = _one_error_line(res.stderr)
        assert "'nope'" in line and "flyte get runs" in line
    verbose = flyte("-v", "get", "run", "nope", store=store_path, cwd=tmp_path)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr
    debug = flyte("get", "run", "nope", store=store_path, cwd=tmp_path, env={"FLYTE_DEBUG": "1"})
    assert "Traceback" in debug.stderr


def test_usage_errors_exit_2_in_one_line(store_path: Path, tmp_path: Path):
    for cmd in (["get", "runs", "--limit", "0"], ["get", "runs", "--output", "xml"], ["nosuchcommand"], ["get", "run"]):
        res = flyte(*cmd, store=store_path, cwd=tmp_path)
        assert res.returncode == 2, (cmd, res.stderr)
        assert "--help" in _one_error_line(res.stderr)


def test_version_and_help(store_path: Path, tmp_path: Path):
    from importlib.metadata import version

    res = flyte("--version", store=store_path, cwd=tmp_path)
    assert res.returncode == 0 and version("flyte-sdk-core") in res.stdout
    res = flyte("--help", store=store_path, cwd=tmp_path)
    assert res.returncode == 0 and "get" in res.stdout and "--config" in res.stdout


def test_config_option_selects_the_store(store_path: Path, tmp_path: Path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"local:\n  store: {store_path}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLYTE_")}
    res = subprocess.run(
        [str(FLYTE), "--config", str(cfg), "get", "runs", "-o", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 0, res.stderr
    assert {r["name"] for r in json.loads(res.stdout)} == {"wf-ok", "wf-bad"}
    missing = flyte("--config", str(tmp_path / "absent.yaml"), "get", "runs", store=store_path, cwd=tmp_path)
    assert missing.returncode == 2 and "absent.yaml" in _one_error_line(missing.stderr)


_ABANDON = """
import os, sys
from pathlib import Path
from flyte._engine.store import LocalStore
s = LocalStore(Path(sys.argv[1]))
s.start_run("abandoned", "wf.main", "{}")
s.action_started("abandoned", "a0", None, "wf.main", None, 0)
s.flush()
os._exit(0)  # gone without finishing the run
"""


def test_run_of_a_vanished_process_shows_aborted(store_path: Path, tmp_path: Path):
    subprocess.run([sys.executable, "-c", textwrap.dedent(_ABANDON), str(store_path)], check=True, timeout=30)
    res = flyte("get", "run", "abandoned", "-o", "json", store=store_path, cwd=tmp_path)
    doc = json.loads(res.stdout)
    assert doc["status"] == "aborted" and doc["actions"][0]["status"] == "aborted"
    assert "ended without finishing" in doc["error"]["message"]


# ------------------------------------------------------------------------------------------
# Plugin commands from entry points
# ------------------------------------------------------------------------------------------
def _fake_distribution(site: Path, name: str, entry_points: str, modules: Dict[str, str]) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    for mod, code in modules.items():
        (site / f"{mod}.py").write_text(textwrap.dedent(code))


@pytest.fixture
def plugin_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    _fake_distribution(
        site,
        "goodplug",
        """
        [flyte.plugins.cli.commands]
        hello = goodplug_cli:hello
        """,
        {
            "goodplug_cli": """
            import click

            @click.command()
            @click.option("--who", default="world")
            def hello(who):
                '''Say hello from a plugin.'''
                click.echo(f"hello {who} from goodplug")
            """
        },
    )
    _fake_distribution(
        site,
        "badplug",
        """
        [flyte.plugins.cli.commands]
        broken = badplug_cli:cmd
        """,
        {
            "badplug_cli": """
            import os
            from pathlib import Path
            Path(os.environ["BADPLUG_MARKER"]).write_text("imported")
            raise ImportError("badplug needs libfoo, which is not installed")
            """
        },
    )
    return site


def test_plugin_commands_load_lazily_and_failures_are_contained(store_path: Path, tmp_path: Path, plugin_site: Path):
    marker = tmp_path / "badplug-imported"
    env = {"PYTHONPATH": str(plugin_site), "BADPLUG_MARKER": str(marker)}

    ok = flyte("hello", "--who", "tests", store=store_path, cwd=tmp_path, env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "hello tests from goodplug"

    # A built-in command never imports plugin modules.
    res = flyte("get", "runs", store=store_path, cwd=tmp_path, env=env)
    assert res.returncode == 0 and "wf-ok" in res.stdout and res.stderr == ""
    assert not marker.exists()

    broken = flyte("broken", store=store_path, cwd=tmp_path, env=env)
    assert broken.returncode == 1
    line = _one_error_line(broken.stderr)
    assert "badplug" in line and "needs libfoo" in line
    assert marker.exists()

    listing = flyte("--help", store=store_path, cwd=tmp_path, env=env)
    assert listing.returncode == 0
    assert "hello" in listing.stdout and "broken" in listing.stdout and "get" in listing.stdout
    assert "badplug" in listing.stderr and "needs libfoo" in listing.stderr and "Traceback" not in listing.stderr

    off = flyte("hello", store=store_path, cwd=tmp_path, env={**env, "FLYTE_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert off.returncode == 2 and "hello" in _one_error_line(off.stderr)


# ------------------------------------------------------------------------------------------
# run_cli: the error policy shared by every command (in-process)
# ------------------------------------------------------------------------------------------
def _command_raising(exc: BaseException) -> click.Command:
    def boom() -> None:
        raise exc

    return click.Command("boom", callback=boom)


@pytest.mark.parametrize(
    "exc, code, text",
    [
        (ValidationError("retries", -1, "an int >= 0", owner="task t"), 1, "task t: invalid retries=-1: an int >= 0"),
        (TypeValidationError("x", "a", int), 1, "x got 'a' of type str, expected int"),
        (click.ClickException("multi\nline"), 1, "multi line"),
        (KeyboardInterrupt(), 130, "Aborted."),
    ],
)
def test_run_cli_reports_user_errors(capsys, monkeypatch, exc, code, text):
    monkeypatch.delenv("FLYTE_DEBUG", raising=False)
    assert run_cli(_command_raising(exc), []) == code
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"Error: {text}" if code != 130 else text]


def test_run_cli_lets_bugs_show_their_traceback():
    with pytest.raises(ZeroDivisionError):
        run_cli(_command_raising(ZeroDivisionError("bug")), [])
