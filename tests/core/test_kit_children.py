"""flyte.extend's child processes, for real: readiness, errors with last lines, stop by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import flyte.extend
from flyte.extend import ChildStartError, start_child
from flyte.testing import child_pids, free_port, pid_alive, wait_no_new_children

PY = sys.executable


def test_wait_for_line_returns_the_match_and_stop_ends_it(no_leaked_processes):
    child = start_child("echo server", [PY, "-c", "import time; print('booting'); print('READY 4242', flush=True); time.sleep(60)"])
    match = child.wait_for_line(r"READY (\d+)", timeout=30)
    assert match.group(1) == "4242"
    assert child.last_lines() == ["booting", "READY 4242"]
    assert child.alive()
    child.stop(timeout=5)
    assert not child.alive()
    child.stop()  # idempotent


def test_wait_for_port(no_leaked_processes):
    port = free_port()
    code = f"import socket, time\ns = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); print('listening', flush=True); time.sleep(60)"
    child = start_child("tiny server", [PY, "-c", code])
    child.wait_for_port(port, timeout=30)
    child.stop()


def test_exit_during_start_up_names_the_process_and_shows_its_last_lines(no_leaked_processes):
    code = "import sys; print('loading config'); print('bad setting: x=1', file=sys.stderr, flush=True); sys.exit(3)"
    child = start_child("config server", [PY, "-c", code])
    with pytest.raises(ChildStartError) as info:
        child.wait_for_line("READY", timeout=30)
    message = str(info.value)
    assert "config server" in message and f"pid {child.pid}" in message
    assert "exited with code 3 during start-up" in message
    assert "bad setting: x=1" in message and "loading config" in message


_SLOW = "import time; print('still warming up', flush=True); time.sleep(60)"


def test_never_ready_times_out_with_last_lines(no_leaked_processes):
    child = start_child("slow server", [PY, "-c", _SLOW])
    with pytest.raises(ChildStartError, match=r"(?s)slow server.*printed no line matching 'READY' within 1s.*still warming up"):
        child.wait_for_line("READY", timeout=1)
    other = start_child("slow server", [PY, "-c", _SLOW])
    with pytest.raises(ChildStartError, match=r"(?s)did not open 127\.0\.0\.1:\d+ within 1s.*still warming up"):
        other.wait_for_port(free_port(), timeout=1)


# The child starts a grandchild in its own process group, then never becomes ready.
_NEVER_READY = textwrap.dedent(
    f"""
    import subprocess, time
    g = subprocess.Popen([{PY!r}, "-c", "import time; time.sleep(60)"])
    print("GRANDCHILD", g.pid, flush=True)
    time.sleep(60)
    """
)


@pytest.mark.parametrize("wait", ["line", "port"])
def test_a_child_that_is_not_ready_in_time_is_stopped_with_its_group(no_leaked_processes, wait):
    child = start_child("never ready", [PY, "-c", _NEVER_READY])
    grandchild = int(child.wait_for_line(r"GRANDCHILD (\d+)", timeout=30).group(1))
    with pytest.raises(ChildStartError):
        if wait == "line":
            child.wait_for_line("READY", timeout=1)
        else:
            child.wait_for_port(free_port(), timeout=1)
    # Stopped before the error was raised: no waiting here.
    assert not pid_alive(child.pid) and not child.alive()
    assert not pid_alive(grandchild)


def test_the_former_error_name_still_works():
    from flyte._kit import children

    assert children.ChildProcessError is ChildStartError
    assert "ChildProcessError" not in flyte.extend.__all__  # the builtin of that name stays unshadowed


def test_stop_reaches_grandchildren_also_outside_the_group(no_leaked_processes):
    # The child starts a grandchild in a session of its own (out of the child's process group).
    code = textwrap.dedent(
        f"""
        import subprocess, sys, time
        g = subprocess.Popen([{PY!r}, "-c", "import time; time.sleep(60)"], start_new_session=True)
        print("GRANDCHILD", g.pid, flush=True)
        time.sleep(60)
        """
    )
    child = start_child("forking server", [PY, "-c", code])
    grandchild = int(child.wait_for_line(r"GRANDCHILD (\d+)", timeout=30).group(1))
    assert pid_alive(grandchild)
    child.stop(timeout=5)
    deadline = time.monotonic() + 10
    while pid_alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(grandchild)


def test_term_ignoring_child_is_killed(no_leaked_processes):
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    child = start_child("stubborn", [PY, "-c", code])
    child.wait_for_line("up", timeout=30)
    assert child.stop(timeout=0.5) == -signal.SIGKILL


def test_output_is_redacted(no_leaked_processes):
    flyte.extend.note_secret_values(["s3cr3t-value-123"])
    child = start_child("leaky", [PY, "-c", "print('token=s3cr3t-value-123', flush=True)"])
    with pytest.raises(ChildStartError) as info:
        child.wait_for_line("never", timeout=30)
    assert "s3cr3t-value-123" not in str(info.value)
    assert "token=****" in str(info.value)


def test_a_child_started_from_a_short_lived_thread_survives_the_thread(no_leaked_processes):
    # PR_SET_PDEATHSIG fires when the forking *thread* exits: children are started from the
    # kit's supervisor thread, so a caller thread that ends takes nothing with it.
    box = {}

    def starter() -> None:
        box["child"] = start_child("sleeper", [PY, "-c", "import time; print('up', flush=True); time.sleep(60)"])

    t = threading.Thread(target=starter)
    t.start()
    t.join()
    child = box["child"]
    child.wait_for_line("up", timeout=30)
    time.sleep(0.5)
    assert child.alive(), "the child died with the thread that asked for it"
    child.stop()


_PARENT = textwrap.dedent(
    """
    import sys, time
    from flyte.extend import start_child
    c = start_child("orphan candidate", [sys.executable, "-c", "import time; time.sleep(120)"])
    print("CHILD", c.pid, flush=True)
    time.sleep(120)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_sigkill_of_the_parent_kills_the_child():
    before = child_pids()
    proc = subprocess.Popen([PY, "-c", _PARENT], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        child = int(line.split()[1])
        assert pid_alive(child)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while pid_alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(child), "the child outlived its SIGKILLed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert wait_no_new_children(before) == set()


def test_bad_argv_is_a_validation_error():
    with pytest.raises(flyte.errors.ValidationError, match="argv"):
        start_child("nothing", [])
