"""flyte._owner: is the process that owns a record still alive? Checked against real processes."""

import dataclasses
import os
import subprocess
import sys
import time

import pytest

from flyte._owner import HOSTNAME, ProcessMarker, is_alive, is_zombie, start_marker


def _wait_for(cond, what: str, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def test_this_process_is_alive():
    me = ProcessMarker.current()
    assert me.pid == os.getpid() and me.hostname == HOSTNAME
    assert is_alive(me)
    assert ProcessMarker.of(os.getpid()) == me


def test_a_child_is_alive_until_it_exits_and_a_zombie_counts_as_gone():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        marker = ProcessMarker.of(child.pid)
        assert is_alive(marker)
        if sys.platform.startswith("linux"):
            assert marker.start is not None and marker.start == start_marker(child.pid)
        child.stdin.close()  # the child exits; not reaped yet, it is a zombie
        if sys.platform.startswith("linux"):
            _wait_for(lambda: is_zombie(child.pid), "the child to exit")
            assert not is_alive(marker)
    finally:
        child.wait(timeout=30)
    assert not is_alive(marker)  # reaped: no such process


def test_a_reused_pid_is_not_the_owner():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        marker = ProcessMarker.of(child.pid)
        if marker.start is None:
            pytest.skip("no start marker on this platform")
        # Same pid, another start: the process that owned the record is gone.
        assert not is_alive(dataclasses.replace(marker, start=marker.start + "-earlier"))
        # No marker recorded: any process with that pid counts.
        assert is_alive(dataclasses.replace(marker, start=None))
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def test_an_owner_on_another_host_counts_as_alive():
    assert is_alive(ProcessMarker(pid=1, hostname=HOSTNAME + "-elsewhere", start="x"))
