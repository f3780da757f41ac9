"""flyte.extend's runtime owner: one runtime per engine and process, shared, stopped when idle.

The runtime here is a real child process (a sleeping Python), so "stopped" is checked by PID.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import List

import pytest

import flyte
import flyte.errors
from flyte.extend import RuntimeConflictError, RuntimeOwner, idle_timeout, start_child
from flyte.testing import child_pids, pid_alive, wait_no_new_children

PY = sys.executable


class SleeperRuntime:
    """A runtime that is one child process."""

    def __init__(self, name: str):
        self.name = name
        self.child = start_child(f"runtime {name}", [PY, "-c", "import time; time.sleep(300)"])

    def alive(self) -> bool:
        return self.child.alive()

    def stop(self) -> None:
        self.child.stop(timeout=5)


@pytest.fixture
def owner(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FLYTE_KITTEST_IDLE_TIMEOUT", raising=False)
    before = child_pids()
    o = RuntimeOwner("kittest")
    yield o
    o.stop(force=True)
    assert wait_no_new_children(before) == set()


def test_concurrent_and_sequential_users_share_one_runtime(owner, monkeypatch):
    monkeypatch.setenv("FLYTE_KITTEST_IDLE_TIMEOUT", "300")
    a = owner.acquire("small", lambda: SleeperRuntime("1"), user="task a")
    b = owner.acquire("small", lambda: SleeperRuntime("2"), user="task b")
    assert a.runtime is b.runtime and not a.reused and b.reused
    assert owner.users == ["task a", "task b"]
    a.release()
    b.release()
    b.release()  # idempotent
    assert owner.runtime is not None and owner.runtime.alive(), "stopped before its idle timeout"
    c = owner.acquire("small", lambda: SleeperRuntime("3"), user="task c")
    assert c.runtime is a.runtime and owner.starts == 1
    c.release()


def test_incompatible_shape_in_use_is_an_error_naming_both(owner):
    a = owner.acquire("shape A", lambda: SleeperRuntime("a"), user="task alpha")
    with pytest.raises(RuntimeConflictError) as info:
        owner.acquire("shape B", lambda: SleeperRuntime("b"), user="task beta")
    message = str(info.value)
    assert "task alpha" in message and "task beta" in message
    assert "'shape A'" in message and "'shape B'" in message
    assert a.runtime.alive()
    a.release()


def test_incompatible_shape_when_idle_restarts(owner, monkeypatch):
    monkeypatch.setenv("FLYTE_KITTEST_IDLE_TIMEOUT", "300")
    with owner.acquire("shape A", lambda: SleeperRuntime("a"), user="a") as first:
        old = first.runtime
    with owner.acquire("shape B", lambda: SleeperRuntime("b"), user="b") as second:
        assert second.runtime is not old
        assert not old.alive() and second.runtime.alive()
    assert owner.starts == 2


class Sized:
    """A shape that accepts smaller asks (the ``accepts`` protocol)."""

    def __init__(self, cpus: int):
        self.cpus = cpus

    def accepts(self, wanted: "Sized") -> bool:
        return wanted.cpus <= self.cpus

    def describe(self) -> str:
        return f"{self.cpus} CPUs"


def test_accepts_decides_compatibility(owner):
    big = owner.acquire(Sized(4), lambda: SleeperRuntime("4"), user="big")
    small = owner.acquire(Sized(1), lambda: SleeperRuntime("1"), user="small")
    assert small.runtime is big.runtime
    with pytest.raises(RuntimeConflictError, match="huge needs 8 CPUs, but big, small use 4 CPUs"):
        owner.acquire(Sized(8), lambda: SleeperRuntime("8"), user="huge")
    big.release()
    small.release()


def test_idle_runtime_stops_after_the_timeout(owner, monkeypatch):
    monkeypatch.setenv("FLYTE_KITTEST_IDLE_TIMEOUT", "0.2")
    lease = owner.acquire("x", lambda: SleeperRuntime("x"), user="t")
    runtime = lease.runtime
    lease.release()
    deadline = time.monotonic() + 30
    while runtime.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not runtime.alive()
    assert owner.runtime is None


def test_zero_timeout_outside_a_run_stops_at_the_last_release(owner, monkeypatch):
    monkeypatch.setenv("FLYTE_KITTEST_IDLE_TIMEOUT", "0")
    a = owner.acquire("x", lambda: SleeperRuntime("x"), user="a")
    b = owner.acquire("x", lambda: SleeperRuntime("x"), user="b")
    a.release()
    assert b.runtime.alive()
    b.release()
    assert not b.runtime.alive()


def test_zero_timeout_stops_when_the_run_ends(monkeypatch):
    from flyte.extend import runtime_owner

    monkeypatch.setenv("FLYTE_KITTEST_RUN_IDLE_TIMEOUT", "0")
    owner = runtime_owner("kittest_run")
    env = flyte.TaskEnvironment(name="kit_runtime_test")
    seen: List[object] = []

    @env.task
    def uses_runtime() -> bool:
        with owner.acquire("x", lambda: SleeperRuntime("run")) as lease:
            seen.append(lease.runtime)
        # Released, but the run goes on: the next task of the run finds it running.
        return lease.runtime.alive()

    @env.task
    async def two_tasks() -> List[bool]:
        return [await uses_runtime.aio(), await uses_runtime.aio()]

    before = child_pids()
    flyte.init()
    assert flyte.run(two_tasks).outputs()[0] == [True, True]
    assert len(seen) == 2 and seen[0] is seen[1], "the second task of the run started another runtime"
    assert owner.runtime is None and not seen[0].alive(), "not stopped when the run ended"
    assert wait_no_new_children(before) == set()


def test_a_dead_runtime_is_replaced(owner):
    with owner.acquire("x", lambda: SleeperRuntime("1")) as first:
        pass
    first.runtime.child.stop()
    with owner.acquire("x", lambda: SleeperRuntime("2")) as second:
        assert second.runtime is not first.runtime and second.runtime.alive()


def test_adopted_runtime_is_never_stopped(owner):
    theirs = SleeperRuntime("theirs")
    try:
        lease = owner.acquire("x", lambda: SleeperRuntime("ours"), adopt=lambda: theirs)
        assert lease.runtime is theirs and not lease.owned
        lease.release()
        owner.stop(force=True)
        assert theirs.alive()
        assert owner.starts == 0
    finally:
        theirs.stop()


def test_failed_start_leaves_nothing(owner):
    def broken() -> SleeperRuntime:
        raise RuntimeError("cannot start")

    with pytest.raises(RuntimeError, match="cannot start"):
        owner.acquire("x", broken)
    assert owner.runtime is None and owner.users == []


def test_bad_idle_timeout_names_the_variable(monkeypatch):
    monkeypatch.setenv("FLYTE_KITTEST_IDLE_TIMEOUT", "-1")
    with pytest.raises(flyte.errors.ValidationError, match=r"FLYTE_KITTEST_IDLE_TIMEOUT='-1'.*seconds >= 0"):
        idle_timeout("kittest")
    monkeypatch.setenv("FLYTE_KITTEST_IDLE_TIMEOUT", "later")
    with pytest.raises(flyte.errors.ValidationError, match="later"):
        RuntimeOwner("kittest").acquire("x", lambda: None)
    monkeypatch.delenv("FLYTE_KITTEST_IDLE_TIMEOUT")
    assert idle_timeout("kittest") == 60.0


def test_idle_timeout_from_the_config_file_after_the_environment(monkeypatch, tmp_path):
    from flyte._config import reset_config

    cfg = tmp_path / "config.yaml"
    cfg.write_text("kittest:\n  idle_timeout: 7.5\n")
    monkeypatch.setenv("FLYTE_CONFIG", str(cfg))
    monkeypatch.delenv("FLYTE_KITTEST_IDLE_TIMEOUT", raising=False)
    reset_config()
    try:
        assert idle_timeout("kittest") == 7.5
        monkeypatch.setenv("FLYTE_KITTEST_IDLE_TIMEOUT", "2")
        assert idle_timeout("kittest") == 2.0
        monkeypatch.delenv("FLYTE_KITTEST_IDLE_TIMEOUT")
        cfg.write_text("kittest:\n  idle_timeout: soon\n")
        reset_config()
        with pytest.raises(flyte.errors.ValidationError, match="config file: invalid kittest.idle_timeout"):
            idle_timeout("kittest")
    finally:
        monkeypatch.delenv("FLYTE_CONFIG")
        reset_config()


_HOLDER = textwrap.dedent(
    """
    import signal, sys, time
    from flyte.extend import runtime_owner, start_child
    mode = sys.argv[1]

    class Runtime:
        def __init__(self):
            self.child = start_child("held", [sys.executable, "-c", "import time; time.sleep(300)"])
        def stop(self):
            print("STOPPING", flush=True)
            self.child.stop(timeout=5)

    if mode == "user-handler":
        def mine(signum, frame):
            print("USER HANDLER", flush=True)
            sys.exit(3)
        signal.signal(signal.SIGTERM, mine)
    owner = runtime_owner("holder")
    lease = owner.acquire("x", Runtime)  # from the main thread: installs the signal handlers
    if mode != "held":
        lease.release()  # idle, kept for FLYTE_HOLDER_IDLE_TIMEOUT
    print("CHILD", lease.runtime.child.pid, flush=True)
    if mode == "exit":
        sys.exit(0)
    time.sleep(300)
    """
)


def _holder(mode: str, sig: int = 0):
    env = dict(os.environ, FLYTE_HOLDER_IDLE_TIMEOUT="300")
    proc = subprocess.Popen([PY, "-c", _HOLDER, mode], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("CHILD"), line
        child = int(line.split()[1])
        if sig:
            os.kill(proc.pid, sig)
        proc.wait(30)
        out = proc.stdout.read()  # not communicate(): it would skip what readline buffered
        deadline = time.monotonic() + 10
        while pid_alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        return proc.returncode, out, pid_alive(child)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_interpreter_exit_stops_an_idle_runtime():
    code, out, alive = _holder("exit")
    assert code == 0 and "STOPPING" in out and not alive


def test_sigterm_stops_the_runtime_and_still_ends_the_process():
    code, out, alive = _holder("held", signal.SIGTERM)
    assert code == -signal.SIGTERM and "STOPPING" in out and not alive


def test_sigterm_chains_to_the_users_handler():
    code, out, alive = _holder("user-handler", signal.SIGTERM)
    assert "USER HANDLER" in out and code == 3
    assert "STOPPING" in out and not alive


def test_sigkill_leaves_no_runtime_process():
    code, out, alive = _holder("held", signal.SIGKILL)
    assert code == -signal.SIGKILL and not alive


def test_open_cancellably_stops_what_was_opened_when_cancelled():
    from flyte.extend import open_cancellably

    stopped: List[str] = []

    def slow_open() -> str:
        time.sleep(0.5)
        return "resource"

    async def main() -> None:
        task = asyncio.ensure_future(open_cancellably(slow_open, stopped.append))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert stopped == ["resource"]

    async def ok() -> str:
        return await open_cancellably(lambda: "r", stopped.append)

    assert asyncio.run(ok()) == "r" and stopped == ["resource"]


def test_open_cancellably_stops_what_was_opened_when_cancelled_twice(no_leaked_processes):
    from flyte.extend import open_cancellably

    may_finish = threading.Event()
    opened = threading.Event()
    box = {}

    def slow_open() -> SleeperRuntime:
        may_finish.wait(30)
        box["runtime"] = SleeperRuntime("cancelled twice")
        opened.set()
        return box["runtime"]

    async def main() -> None:
        task = asyncio.ensure_future(open_cancellably(slow_open, SleeperRuntime.stop))
        for _ in range(5):
            await asyncio.sleep(0)
        task.cancel()
        for _ in range(5):  # the task takes the first cancellation and waits for the opening again
            await asyncio.sleep(0)
        task.cancel()
        for _ in range(5):
            await asyncio.sleep(0)
        may_finish.set()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(main())
        assert opened.wait(30)
        assert not box["runtime"].alive(), "what was opened outlived the cancelled task"
    finally:
        may_finish.set()
        if "runtime" in box:
            box["runtime"].stop()


def test_leases_on_a_runtime_that_died_do_not_keep_its_replacement(owner, monkeypatch):
    monkeypatch.setenv("FLYTE_KITTEST_IDLE_TIMEOUT", "0")
    old = owner.acquire("shape A", lambda: SleeperRuntime("1"), user="task gone")
    old.runtime.child.stop()  # died on its own, its user never released it
    new = owner.acquire("shape A", lambda: SleeperRuntime("2"), user="task new")
    assert owner.users == ["task new"]
    with pytest.raises(RuntimeConflictError) as info:
        owner.acquire("shape B", lambda: SleeperRuntime("3"), user="task other")
    assert "task gone" not in str(info.value) and "task new" in str(info.value)
    new.release()
    assert owner.runtime is None and not new.runtime.alive(), "the replacement outlived its last user"
    old.release()  # late, and harmless
    assert owner.runtime is None


def test_an_idle_timer_that_finds_the_owner_busy_tries_again(owner, monkeypatch):
    from flyte._kit import supervisor

    monkeypatch.setenv("FLYTE_KITTEST_IDLE_TIMEOUT", "0.1")
    lease = owner.acquire("x", lambda: SleeperRuntime("x"), user="t")
    runtime = lease.runtime
    later = threading.Event()
    with owner._lock:  # busy (as while somebody inspects it) when the idle timer fires
        lease.release()
        supervisor.call_later(0.3, later.set)  # fires after the idle timer
        assert later.wait(30)
        assert runtime.alive()
    deadline = time.monotonic() + 30
    while runtime.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not runtime.alive() and owner.runtime is None, "the idle timer was lost"


_FIRST_USE = textwrap.dedent(
    """
    import subprocess, sys, threading, time
    from flyte._kit import supervisor
    from flyte.extend import runtime_owner, start_child

    class Engine:
        # An engine that forks its own process from the calling thread (not start_child).
        def __init__(self):
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "import time; time.sleep(300)"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        def stop(self):
            self.proc.kill()
            self.proc.wait()

    class Server:
        def __init__(self):
            self.child = start_child("server", [sys.executable, "-c", "import time; time.sleep(300)"])
        def stop(self):
            self.child.stop(timeout=5)

    starting = threading.Event()

    def start_server():
        # On the supervisor thread: let the other acquire reach the watchdog first, then start
        # a child (which guards it with the watchdog too).
        starting.set()
        deadline = time.monotonic() + 5
        while supervisor._supervisor._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        return Server()

    leases = {}
    t = threading.Thread(target=lambda: leases.setdefault("b", runtime_owner("first_b").acquire("x", start_server)))
    t.start()
    starting.wait(30)
    leases["a"] = runtime_owner("first_a").acquire("x", Engine, start_here=True)
    t.join()
    print("OK", leases["a"].runtime.proc.pid, leases["b"].runtime.child.pid, flush=True)
    """
)


def test_a_start_function_that_starts_a_child_while_the_watchdog_starts():
    # A fresh process: the watchdog does not run yet.
    before = child_pids()
    proc = subprocess.Popen(
        [PY, "-c", _FIRST_USE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # with what it started
        proc.communicate()
        pytest.fail("the starts deadlocked")
    assert proc.returncode == 0 and out.startswith("OK"), err
    pids = [int(p) for p in out.split()[1:]]
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in pids), "stopped at exit"
    assert wait_no_new_children(before) == set()


_FORKS = textwrap.dedent(
    """
    import os, sys
    from flyte.extend import runtime_owner, start_child

    class Runtime:
        def __init__(self):
            self.child = start_child("held", [sys.executable, "-c", "import time; time.sleep(300)"])
        def stop(self):
            self.child.stop(timeout=5)

    owner = runtime_owner("forker")
    lease = owner.acquire("x", Runtime)
    pid = os.fork()
    if pid == 0:
        assert owner.runtime is None and owner.users == []
        sys.exit(0)  # a normal exit runs the inherited exit hooks
    _, status = os.waitpid(pid, 0)
    print("CHILD EXITED", os.waitstatus_to_exitcode(status), "RUNTIME ALIVE", lease.runtime.child.alive(), flush=True)
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_leaves_the_parents_runtime_alone():
    before = child_pids()
    out = subprocess.run([PY, "-c", _FORKS], capture_output=True, text=True, timeout=60)
    assert "CHILD EXITED 0 RUNTIME ALIVE True" in out.stdout, out.stdout + out.stderr
    assert wait_no_new_children(before) == set()
