"""The local SQLite store, against real SQLite files and real processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from flyte._engine.store import SCHEMA_VERSION, LocalStore, RunNotFoundError
from flyte.errors import ValidationError


def _child(script: str, db: Path, *args: str) -> subprocess.Popen:
    code = textwrap.dedent(script)
    return subprocess.Popen(
        [sys.executable, "-c", code, str(db), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _raw(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(db), timeout=10)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store" / "local.db"


@pytest.fixture
def store(db: Path):
    with LocalStore(db) as s:
        yield s


def test_creates_versioned_wal_schema(store: LocalStore, db: Path):
    assert db.exists()
    assert store.schema_version == SCHEMA_VERSION
    with _raw(db) as c:
        assert c.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "actions", "logs", "cache", "schema_version"} <= tables
    # Opening again does not migrate twice.
    with LocalStore(db) as again:
        assert again.schema_version == SCHEMA_VERSION
    with _raw(db) as c:
        assert c.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused(db: Path):
    LocalStore(db).close()
    with _raw(db) as c:
        c.execute("INSERT INTO schema_version VALUES (?, 0)", (SCHEMA_VERSION + 1,))
    with pytest.raises(ValidationError, match="newer flyte"):
        LocalStore(db)


def test_default_path_comes_from_config(tmp_path: Path, monkeypatch):
    from flyte import _initialize

    target = tmp_path / "elsewhere" / "x.db"
    monkeypatch.setenv("FLYTE_LOCAL_STORE", str(target))
    monkeypatch.delenv("FLYTE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    _initialize.reset()
    try:
        with LocalStore() as s:
            assert s.path == target
        assert target.exists()
    finally:
        _initialize.reset()


def test_run_lifecycle_and_records(store: LocalStore):
    store.start_run("r1", "mod.main", '{"x": "1"}')
    store.action_started("r1", "a0", None, "mod.main", None, 0)
    store.action_started("r1", "a1", "a0", "mod.child", "grp", 0)
    store.action_finished("r1", "a1", "succeeded", cache_status="hit")
    store.append_log("r1", "a1", "stdout", "hello\n")
    store.append_log("r1", "a1", "stderr", "warn\n")
    store.append_log("r1", "a0", "stdout", "parent\n")
    err = {"type": "ValueError", "message": "bad x", "traceback": "Traceback (most recent call last):\n  ..."}
    store.action_finished("r1", "a0", "failed", error=err, cache_status="disabled")
    store.finish_run("r1", "failed", error=err)

    run = store.get_run("r1")
    assert (run.status, run.task_name, run.inputs, run.mode, run.pid) == ("failed", "mod.main", '{"x": "1"}', "local", os.getpid())
    assert run.error is not None and run.error.type == "ValueError" and "Traceback" in (run.error.traceback or "")
    assert run.duration is not None and run.duration >= 0
    d = run.to_dict()
    assert d["status"] == "failed" and d["error"]["message"] == "bad x" and d["start_time"].endswith("+00:00")

    actions = store.get_actions("r1")
    assert [a.name for a in actions] == ["a0", "a1"]
    a0, a1 = actions
    assert (a1.parent, a1.group, a1.cache_status, a1.status, a1.attempts) == ("a0", "grp", "hit", "succeeded", 1)
    assert a0.error is not None and a0.error.message == "bad x" and a0.cache_status == "disabled"
    assert a1.to_dict()["duration_s"] is not None

    logs = store.get_logs("r1")
    assert [(lg.action_name, lg.stream, lg.text) for lg in logs] == [
        ("a1", "stdout", "hello\n"),
        ("a1", "stderr", "warn\n"),
        ("a0", "stdout", "parent\n"),
    ]
    assert [lg.seq for lg in store.get_logs("r1", "a1")] == [1, 2]
    assert [r.name for r in store.list_runs()] == ["r1"]


def test_duplicate_run_and_missing_run_are_clear(store: LocalStore):
    store.start_run("dup", "t", "{}")
    with pytest.raises(ValidationError, match="dup"):
        store.start_run("dup", "t", "{}")
    with pytest.raises(RunNotFoundError, match="nope.*flyte get runs"):
        store.get_run("nope")
    with pytest.raises(RunNotFoundError):
        store.get_actions("nope")


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.finish_run("r", "done"),
        lambda s: s.action_finished("r", "a", "ok"),
        lambda s: s.action_finished("r", "a", "succeeded", cache_status="warm"),
        lambda s: s.append_log("r", "a", "stdlog", "x"),
        lambda s: s.list_runs(limit=0),
        lambda s: s.finish_run("r", "failed", error={"msg": "no type"}),
    ],
)
def test_bad_arguments_name_the_field(store: LocalStore, call):
    with pytest.raises(ValidationError) as ei:
        call(store)
    assert ei.value.field in str(ei.value)


def test_retries_merge_into_one_action_in_one_batch_and_across_batches(store: LocalStore):
    store.start_run("r", "t", "{}")
    err = {"type": "RuntimeError", "message": "flaky"}
    # All in one batch.
    store.action_started("r", "a", None, "t", None, 0)
    store.action_finished("r", "a", "failed", error=err)
    store.action_started("r", "a", None, "t", None, 1)
    store.action_finished("r", "a", "succeeded", cache_status="miss")
    # Across batches.
    store.action_started("r", "b", None, "t", None, 0)
    store.flush()
    store.action_finished("r", "b", "failed", error=err)
    store.flush()
    store.action_started("r", "b", None, "t", None, 1)
    store.flush()
    first_start = store.get_actions("r")[1].start_time
    store.action_finished("r", "b", "succeeded")
    for act in store.get_actions("r"):
        assert (act.status, act.attempts, act.error) == ("succeeded", 2, None), act
    b = store.get_actions("r")[1]
    assert b.task_name == "t" and b.start_time == first_start and b.end_time is not None


def test_writes_are_batched_and_flushed_in_background(store: LocalStore, db: Path):
    store.start_run("big", "t", "{}")
    n = 3000
    for i in range(n):
        store.action_started("big", f"a{i}", None, "t", None, 0)
        store.action_finished("big", f"a{i}", "succeeded")
    # Without an explicit flush the daemon thread writes them (the wait is generous: what this
    # checks is that they arrive at all; what recording costs is in bench/engine_timings.py).
    deadline = time.monotonic() + 60
    count = 0
    with _raw(db) as c:
        while time.monotonic() < deadline:
            count = c.execute("SELECT COUNT(*) FROM actions WHERE run_name = 'big' AND status = 'succeeded'").fetchone()[0]
            if count == n:
                break
            time.sleep(0.02)
    assert count == n
    store.append_log("big", "a1", "stdout", "late")
    store.flush()
    with _raw(db) as c:
        assert c.execute("SELECT text FROM logs WHERE run_name = 'big'").fetchall() == [("late",)]


def test_threads_share_a_store(store: LocalStore):
    store.start_run("thr", "t", "{}")
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(200):
                store.action_started("thr", f"{k}-{i}", None, "t", None, 0)
                store.action_finished("thr", f"{k}-{i}", "succeeded")
                if i % 20 == 0:
                    store.cache_put(f"{k}-{i}", b"v%d" % i, "t")
                    assert store.cache_get(f"{k}-{i}") == b"v%d" % i
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.get_actions("thr")) == 1200


def test_cache_roundtrip_and_clear(store: LocalStore):
    assert store.cache_get("missing") is None
    store.cache_put("k1", b"\x00\x01binary", "task.a")
    store.cache_put("k2", b"two", "task.a")
    store.cache_put("k3", b"three", "task.b")
    store.cache_put("k1", b"replaced", "task.a")
    assert store.cache_get("k1") == b"replaced"
    assert store.cache_clear("task.a") == 2
    assert store.cache_get("k2") is None and store.cache_get("k3") == b"three"
    assert store.cache_clear() == 1
    with pytest.raises(ValidationError):
        store.cache_put("k", "not bytes", "t")  # type: ignore[arg-type]


_WRITER = """
import sys
from pathlib import Path
from flyte._engine.store import LocalStore
db, tag = Path(sys.argv[1]), sys.argv[2]
with LocalStore(db) as s:
    print("ready", flush=True)
    sys.stdin.readline()  # start together with the other writers
    for r in range(30):
        run = f"{tag}-run{r}"
        s.start_run(run, "t", "{}")
        for i in range(150):
            s.action_started(run, f"a{i}", None, "t", None, 0)
            s.action_finished(run, f"a{i}", "succeeded", cache_status="miss")
            if i % 30 == 0:
                s.append_log(run, f"a{i}", "stdout", f"line {i}")
        s.cache_put(f"{tag}-key{r}", (tag * 100).encode(), "t")
        s.finish_run(run, "succeeded", outputs_summary='{"o0": "1"}')
print("ok")
"""


def test_two_processes_write_at_the_same_time(db: Path):
    LocalStore(db).close()
    procs = [_child(_WRITER, db, tag) for tag in ("p", "q", "w")]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert out.strip() == "ok"
    with _raw(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert c.execute("SELECT COUNT(*) FROM runs WHERE status = 'succeeded'").fetchone()[0] == 90
        assert c.execute("SELECT COUNT(*) FROM actions WHERE status = 'succeeded'").fetchone()[0] == 90 * 150
        assert c.execute("SELECT COUNT(*) FROM logs").fetchone()[0] == 90 * 5
        assert c.execute("SELECT COUNT(*) FROM cache").fetchone()[0] == 90
    with LocalStore(db) as s:
        assert s.cache_get("q-key3") == b"q" * 100
        assert len(s.list_runs(limit=100)) == 90


_VICTIM = """
import sys, time
from pathlib import Path
from flyte._engine.store import LocalStore
s = LocalStore(Path(sys.argv[1]))
s.start_run("victim", "t", "{}")
s.action_started("victim", "a0", None, "t", None, 0)
s.action_started("victim", "a1", "a0", "t", None, 0)
s.action_finished("victim", "a1", "succeeded")
s.flush()
s.cache_put("from-victim", b"kept", "t")
print("ready", flush=True)
time.sleep(60)
"""


def test_killed_owner_reads_back_as_aborted(db: Path):
    p = _child(_VICTIM, db)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        with LocalStore(db) as s:
            assert s.get_run("victim").status == "running"  # owner alive
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate()
    with LocalStore(db) as s:
        run = s.get_run("victim")
        assert run.status == "aborted" and run.end_time is not None
        assert run.error is not None and str(p.pid) in run.error.message
        by_name = {a.name: a.status for a in s.get_actions("victim")}
        assert by_name == {"a0": "aborted", "a1": "succeeded"}
        assert s.cache_get("from-victim") == b"kept"
        s.start_run("after", "t", "{}")
        s.cache_put("k", b"v", "t")
        s.finish_run("after", "succeeded")
        assert s.get_run("after").status == "succeeded"
    with _raw(db) as c:  # the reconciliation was written back, not just shown
        assert c.execute("SELECT status FROM runs WHERE name = 'victim'").fetchone()[0] == "aborted"
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_reused_pid_is_not_taken_for_the_owner(store: LocalStore, db: Path):
    store.start_run("mine", "t", "{}")
    # A run recorded by an earlier process that had this very pid: same pid, other start marker.
    with _raw(db) as c:
        c.execute(
            "INSERT INTO runs (name, task_name, status, mode, start_time, pid, hostname, process_marker) "
            "SELECT 'ghost', 't', 'running', 'local', start_time, pid, hostname, 'another-process' FROM runs WHERE name = 'mine'"
        )
    statuses = {r.name: r.status for r in store.list_runs()}
    assert statuses == {"mine": "running", "ghost": "aborted"}


_CACHE_CHILD = """
import sys
from pathlib import Path
from flyte._engine.store import LocalStore
with LocalStore(Path(sys.argv[1])) as s:
    print(s.cache_get("parent-key").decode())
    s.cache_put("child-key", b"from child", "t")
"""


def test_cache_is_shared_across_processes(store: LocalStore, db: Path):
    store.cache_put("parent-key", b"from parent", "t")
    p = _child(_CACHE_CHILD, db)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert out.strip() == "from parent"
    assert store.cache_get("child-key") == b"from child"


def _forked_writer(store: LocalStore) -> None:
    store.start_run("from-fork", "t", "{}")
    store.action_started("from-fork", "a", None, "t", None, 0)
    store.finish_run("from-fork", "succeeded")
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_store_survives_fork(store: LocalStore):
    store.start_run("parent", "t", "{}")
    store.action_started("parent", "p", None, "t", None, 0)  # buffered, belongs to the parent only
    proc = multiprocessing.get_context("fork").Process(target=_forked_writer, args=(store,))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 0
    assert store.get_run("from-fork").status == "succeeded"
    assert [a.name for a in store.get_actions("from-fork")] == ["a"]
    assert [a.name for a in store.get_actions("parent")] == ["p"]


def test_closed_store_refuses_writes(db: Path):
    s = LocalStore(db)
    s.start_run("r", "t", "{}")
    s.action_started("r", "a", None, "t", None, 0)
    s.close()
    s.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        s.action_started("r", "b", None, "t", None, 0)
    with LocalStore(db) as again:
        assert [a.name for a in again.get_actions("r")] == ["a"]  # flushed by close


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "notes.db"
    bad.write_text("not an sqlite database " * 20)
    with pytest.raises(ValidationError, match="notes.db.*FLYTE_LOCAL_STORE"):
        LocalStore(bad)


def test_text_sqlite_cannot_encode_is_escaped_not_fatal(store: LocalStore):
    """A task printing an undecodable file name must not stop the store from writing."""
    bad = os.fsdecode(b"report-\xff.csv")
    store.start_run("sur", "t.task", '{"path": "%s"}' % bad)
    store.action_started("sur", "a0", None, "t.task", None, 0)
    store.append_log("sur", "a0", "stdout", f"processing {bad}\n")
    store.action_finished("sur", "a0", "failed", error={"type": "OSError", "message": bad, "traceback": bad})
    store.finish_run("sur", "succeeded")
    store.start_run("after", "t.task", "{}")
    store.finish_run("after", "succeeded")
    store.flush()
    assert [r.text for r in store.get_logs("sur")] == ["processing report-\\udcff.csv\n"]
    assert store.get_run("sur").status == "succeeded"
    assert store.get_actions("sur")[0].error.message == "report-\\udcff.csv"
    assert store.get_run("after").status == "succeeded"
