"""Hardening: data never runs code, secret values stay out of the store, the store is private and
checked, and each of these failures reads as one clear line.

The pickle payloads here would create a marker file when unpickled: the tests check that the
file never appears, in a real ``flyte-execute`` process and on a cache hit.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import stat
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import List

import pytest

import flyte
from flyte._engine.store import LocalStore, LocalStoreError, StoreWarning
from tests.conftest import REPO, subprocess_env

EXECUTE = str(REPO / ".venv" / "bin" / "flyte-execute")
FLYTE = str(REPO / ".venv" / "bin" / "flyte")


class _Payload:
    """Unpickling this opens (creates) the marker file: code ran from data."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _payload(marker: Path) -> bytes:
    return pickle.dumps(_Payload(marker))


# ------------------------------------------------------------------------------------------
# 1. Pickled data in an inputs file and in the cache never runs
# ------------------------------------------------------------------------------------------
TASKS = textwrap.dedent(
    """
    import flyte

    env = flyte.TaskEnvironment(name="hx")


    @env.task
    async def size(b: bytes) -> int:
        return len(b)


    @env.task
    async def double(n: int) -> int:
        return 2 * n


    @env.task
    async def count(items: list[bytes]) -> int:
        return len(items)
    """
)


def _inputs_file(path: Path, name: str, literal) -> str:
    from flyteidl2.core import literals_pb2

    lm = literals_pb2.LiteralMap()
    lm.literals[name].CopyFrom(literal)
    path.write_bytes(lm.SerializeToString())
    return str(path)


def _binary(payload: bytes, tag: str):
    from flyteidl2.core import literals_pb2

    return literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=payload, tag=tag)))


@pytest.mark.parametrize(
    "attr, name, shape, tag",
    [("size", "b", "binary", ""), ("size", "b", "binary", "pickle"), ("double", "n", "binary", ""), ("count", "items", "list", "")],
)
def test_a_pickle_in_an_inputs_file_never_runs(isolated_flyte_home, tmp_path, attr, name, shape, tag):
    from flyteidl2.core import literals_pb2

    code = tmp_path / "code"
    code.mkdir()
    (code / "hxtasks.py").write_text(TASKS)
    marker = tmp_path / "ran"
    lit = _binary(_payload(marker), tag)
    if shape == "list":
        lit = literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=[lit]))
    inputs = _inputs_file(tmp_path / "inputs.pb", name, lit)
    res = subprocess.run(
        [EXECUTE, "--inputs", inputs, "--outputs-prefix", str(tmp_path / "out"), "--", "module", "hxtasks", "task", attr],
        capture_output=True, text=True, timeout=60, cwd=code, env=subprocess_env(isolated_flyte_home),
    )
    assert res.returncode == 1, res.stdout + res.stderr
    assert not marker.exists(), "the pickle in the inputs file was unpickled"


class Box:
    """A type without a transformer: its values travel pickled, as declared."""

    def __init__(self, v: int):
        self.v = v


@pytest.fixture
def pickled_task(tmp_path):
    """A cached task whose output type has no transformer."""
    env = flyte.TaskEnvironment(name="hx-cache")
    calls: List[int] = []

    @env.task(cache="auto")
    async def make(n: int) -> Box:
        calls.append(n)
        return Box(n)

    return make, calls


def _cache_rows(db: Path):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT key, value FROM cache").fetchall()


def test_a_cache_entry_changed_in_the_store_is_a_miss_and_never_unpickled(isolated_flyte_home, tmp_path, pickled_task):
    from flyteidl2.core import literals_pb2

    make, calls = pickled_task
    assert flyte.run(make, 3).outputs()[0].v == 3
    assert flyte.run(make, 3).outputs()[0].v == 3 and calls == [3]  # a signed entry still hits
    db = isolated_flyte_home / "local.db"
    (key, value), = _cache_rows(db)
    key_file = db.with_name("local.db.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # Whoever can write the database swaps the pickled output for a payload, keeping the signature.
    marker = tmp_path / "ran"
    lm = literals_pb2.LiteralMap()
    lm.ParseFromString(bytes(value)[37:])
    (name,) = list(lm.literals)
    lm.literals[name].scalar.binary.value = _payload(marker)
    forged = bytes(value)[:37] + lm.SerializeToString()
    for blob in (forged, lm.SerializeToString()):  # a changed entry, and one without a signature
        with sqlite3.connect(db) as c:
            c.execute("UPDATE cache SET value = ? WHERE key = ?", (blob, key))
        with pytest.warns(StoreWarning, match="does not match this store's key"):
            assert flyte.run(make, 3).outputs()[0].v == 3
        assert not marker.exists(), "a cache entry from the store was unpickled"
    assert calls == [3, 3, 3]  # each rejected entry was a miss; the task ran again


# ------------------------------------------------------------------------------------------
# 2. Secret values never reach the store
# ------------------------------------------------------------------------------------------
def _store_bytes(home: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm"):
        p = home / f"local.db{suffix}"
        if p.exists():
            data += p.read_bytes()
    return data


def test_secret_values_are_masked_in_errors_and_withheld_from_outputs(isolated_flyte_home, monkeypatch, tmp_path):
    value = "s3cr3t-value-8675309"
    monkeypatch.setenv("FLYTE_SECRET_HX_TOKEN", value)
    env = flyte.TaskEnvironment(name="hx-sec", secrets=[flyte.Secret(key="hx-token", as_env_var="HX_TOKEN")])

    @env.task
    async def fail() -> int:
        token = os.environ["HX_TOKEN"]
        raise ValueError(f"login refused for token {token}")

    @env.task(cache="auto")
    async def echo(n: int) -> str:
        print(f"the token is {os.environ['HX_TOKEN']}")
        return f"token={os.environ['HX_TOKEN']}"

    flyte.init(local_persistence=True)
    with pytest.raises(Exception) as ei:
        flyte.with_runcontext(name="hx-fail").run(fail)
    assert value in str(ei.value)  # the caller, in this process, sees its own error whole
    with pytest.warns(UserWarning, match="secret 'hx-token'") as rec:
        out = flyte.with_runcontext(name="hx-echo").run(echo, 1).outputs()[0]
    assert out == f"token={value}"  # the caller gets the value
    messages = " ".join(str(w.message) for w in rec)
    assert "not cached" in messages and "withheld" in messages
    assert value.encode() not in _store_bytes(isolated_flyte_home)
    assert _cache_rows(isolated_flyte_home / "local.db") == []

    with LocalStore(isolated_flyte_home / "local.db") as s:
        failed = s.get_run("hx-fail")
        assert "****" in failed.error.message and value not in (failed.error.traceback or "")
        action_errors = [a.error for a in s.get_actions("hx-fail") if a.error]
        assert action_errors and all(value not in e.message + (e.traceback or "") for e in action_errors)
        echoed = s.get_run("hx-echo")
        assert "withheld" in echoed.outputs and "hx-token" in echoed.outputs and value not in echoed.outputs
        assert "the token is ****" in "".join(r.text for r in s.get_logs("hx-echo"))

    env_cli = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE_SECRET", "HX_"))}
    for args in (["get", "run", "hx-fail"], ["get", "run", "hx-echo"], ["get", "logs", "hx-echo"]):
        res = subprocess.run([FLYTE, *args], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env_cli)
        assert res.returncode == 0, res.stderr
        assert value not in res.stdout + res.stderr


# ------------------------------------------------------------------------------------------
# 3. The store is private
# ------------------------------------------------------------------------------------------
def test_a_new_store_is_owner_only(tmp_path):
    home = tmp_path / "fresh-home"
    with LocalStore(home / "local.db") as s:
        s.start_run("r1", "t", "{}")
        s.append_log("r1", "a0", "stdout", "hello\n")
        s.flush()
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        for p in home.iterdir():
            if p.name.startswith("local.db"):
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_an_existing_store_others_can_read_gets_a_warning(tmp_path):
    db = tmp_path / "wide" / "local.db"
    LocalStore(db).close()
    os.chmod(db, 0o644)
    with pytest.warns(StoreWarning, match=r"can be read by other users \(mode 644\).*chmod 600"):
        LocalStore(db).close()
    os.chmod(db, 0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreWarning)
        LocalStore(db).close()


def test_the_flyte_home_is_made_owner_only_and_a_wide_one_is_warned_about(tmp_path, monkeypatch):
    home = tmp_path / "new-home"
    monkeypatch.setenv("FLYTE_HOME", str(home))
    monkeypatch.setenv("FLYTE_LOCAL_STORE", str(home / "local.db"))
    monkeypatch.setenv("FLYTE_RAW_DATA_PATH", str(home / "data"))
    env = flyte.TaskEnvironment(name="hx-home")

    @env.task
    async def one() -> int:
        return 1

    assert flyte.with_runcontext(local_persistence=False).run(one).outputs()[0] == 1
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    home.chmod(0o755)
    with pytest.warns(StoreWarning, match=rf"flyte home {home} can be read by other users \(mode 755\).*chmod 700"):
        LocalStore(home / "local.db").close()


# ------------------------------------------------------------------------------------------
# 9. A damaged or read-only store: one clear line, never a task's value
# ------------------------------------------------------------------------------------------
def _damaged_store(path: Path) -> Path:
    """A real store with enough rows to span many pages, then garbage written over its middle."""
    with LocalStore(path) as s:
        for i in range(300):
            s.start_run(f"r{i}", "t", '{"x": "' + "y" * 200 + '"}')
    with sqlite3.connect(path) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\xde\xad\xbe\xef" * 2048)
    return path


def test_a_store_damaged_in_the_middle_is_refused_on_open_naming_the_file(tmp_path):
    db = _damaged_store(tmp_path / "dmg" / "local.db")
    with pytest.raises(LocalStoreError) as ei:
        LocalStore(db)
    msg = str(ei.value)
    assert "\n" not in msg and str(db) in msg and "damaged" in msg and f"mv {db} {db}.damaged" in msg


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    db = tmp_path / "junk" / "local.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not sqlite" * 100)
    db.chmod(0o600)
    with pytest.raises(LocalStoreError, match=r"is damaged .*move it aside"):
        LocalStore(db)


def test_a_damaged_store_does_not_turn_into_flyte_map_values(isolated_flyte_home):
    env = flyte.TaskEnvironment(name="hx-map")

    @env.task(cache="auto")
    async def sq(x: int) -> int:
        return x * x

    @env.task
    def total(n: int) -> int:
        acc = 0
        for v in flyte.map(sq, list(range(n))):
            acc += v
        return acc

    assert flyte.run(total, 5).outputs()[0] == 30  # cache filled
    _damaged_store(isolated_flyte_home / "local.db")
    # Not recorded (--no-persist): the run works, the cache is off with one warning naming the file.
    with pytest.warns(StoreWarning) as rec:
        assert flyte.with_runcontext(local_persistence=False).run(total, 5).outputs()[0] == 30
    store_warnings = [w for w in rec if issubclass(w.category, StoreWarning)]
    assert len(store_warnings) == 1 and str(isolated_flyte_home / "local.db") in str(store_warnings[0].message)
    # Recorded: one clear error before anything runs.
    with pytest.raises(LocalStoreError, match="damaged"):
        flyte.with_runcontext(local_persistence=True).run(total, 5)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_flyte_home_says_so(tmp_path, monkeypatch):
    home = tmp_path / "ro-home"
    home.mkdir(mode=0o500)
    try:
        with pytest.raises(LocalStoreError, match=r"read-only.*FLYTE_HOME"):
            LocalStore(home / "local.db")
    finally:
        home.chmod(0o700)


def test_a_read_only_flyte_home_in_the_cli_is_one_line(tmp_path):
    # As root, chmod cannot make a folder read-only: a path below a regular file cannot be
    # created by anyone, which the same message covers.
    if os.geteuid() == 0:
        blocker = tmp_path / "a-file"
        blocker.write_text("x")
        home = blocker / "home"
    else:
        home = tmp_path / "ro"
        home.mkdir(mode=0o500)
    (tmp_path / "wf.py").write_text(
        "import flyte\nenv = flyte.TaskEnvironment(name='ro')\n\n@env.task(cache='auto')\nasync def main(n: int) -> int:\n    return n\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLYTE_")}
    env.update(FLYTE_HOME=str(home))
    res = subprocess.run([FLYTE, "run", "wf.py", "main", "--n", "2"], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert res.returncode != 0
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert "Traceback" not in res.stderr and len(lines) == 1, res.stderr
    assert str(home) in lines[0] and "FLYTE_HOME" in lines[0]
    # Not recorded: the run works; the cache is off, said in one warning line.
    res = subprocess.run(
        [FLYTE, "run", "--no-persist", "wf.py", "main", "--n", "2"], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env
    )
    if os.geteuid() != 0:
        home.chmod(0o700)
    assert res.returncode == 0 and res.stdout.strip() == "2", res.stdout + res.stderr
    warned = [ln for ln in res.stderr.splitlines() if ln.startswith("Warning:")]
    assert len(warned) == 1 and "FLYTE_HOME" in warned[0] and "Traceback" not in res.stderr, res.stderr


def test_a_damaged_store_in_the_cli_is_one_line(tmp_path):
    db = _damaged_store(tmp_path / "cli-dmg" / "local.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLYTE_")}
    env.update(FLYTE_LOCAL_STORE=str(db))
    res = subprocess.run([FLYTE, "get", "runs"], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(db) in lines[0] and "move it aside" in lines[0], res.stderr


# ------------------------------------------------------------------------------------------
# 14. The secrets folder follows FLYTE_HOME
# ------------------------------------------------------------------------------------------
def test_secret_files_are_found_under_flyte_home(isolated_flyte_home, monkeypatch):
    from flyte._secret import resolve_secret_locally

    monkeypatch.delenv("FLYTE_SECRETS_DIR", raising=False)
    (isolated_flyte_home / "secrets" / "team").mkdir(parents=True)
    (isolated_flyte_home / "secrets" / "team" / "hx-file-key").write_text("from-home\n")
    assert resolve_secret_locally(flyte.Secret(key="hx-file-key", group="team")) == "from-home"
    other = isolated_flyte_home / "elsewhere"
    (other / "team").mkdir(parents=True)
    (other / "team" / "hx-file-key").write_text("from-dir")
    monkeypatch.setenv("FLYTE_SECRETS_DIR", str(other))
    assert resolve_secret_locally(flyte.Secret(key="hx-file-key", group="team")) == "from-dir"
