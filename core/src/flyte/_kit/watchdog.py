"""A watchdog process that kills what a runtime started when this process dies.

``PR_SET_PDEATHSIG`` covers the processes the kit starts itself, but not what *they* start
(Ray's raylet starts agents and workers without it) nor what an engine forks from this
process. So when a runtime starts, the processes it added are *guarded*: a small watchdog
child (one per process, started on first use from the supervisor thread) learns their PIDs
over a pipe, follows their descendants every half second while this process lives, and kills
them all (SIGKILL, checked against each process's start time so a reused PID is left alone)
once this process is gone, however it died. Processes the user started are never guarded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Iterable, Optional

from flyte._kit import supervisor

__all__ = ["forget", "guard", "watchdog_pid"]

_CODE = r"""
import os, signal, sys, threading, time
parent = int(sys.argv[1])
guarded = {}
lock = threading.Lock()
done = threading.Event()

def stat(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    fields = s[s.rfind(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[19])

def read():
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 2:
            continue
        op, pid = parts[0], int(parts[1])
        with lock:
            if op == "guard":
                st = stat(pid)
                if st is not None:
                    guarded[pid] = st[1]
            else:
                guarded.pop(pid, None)
    done.set()

def follow():
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = stat(int(entry))
            if st is not None:
                table[int(entry)] = st
    with lock:
        for pid in list(guarded):
            if table.get(pid, (0, -1))[1] != guarded[pid]:
                del guarded[pid]
        grew = True
        while grew:
            grew = False
            for pid, (ppid, start) in table.items():
                if ppid in guarded and pid not in guarded:
                    guarded[pid] = start
                    grew = True

signal.signal(signal.SIGTERM, lambda *a: done.set())
signal.signal(signal.SIGINT, signal.SIG_IGN)
threading.Thread(target=read, daemon=True).start()
while not done.wait(0.5):
    if os.getppid() != parent:
        break
    follow()
with lock:
    victims = dict(guarded)
for pid, start in victims.items():
    st = stat(pid)
    if st is not None and st[1] == start:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
"""

_lock = threading.Lock()
_proc: Optional[subprocess.Popen] = None


def _spawn() -> subprocess.Popen:
    # On the supervisor thread, which serializes the creation (see _ensure).
    global _proc
    if _proc is not None and _proc.poll() is None:
        return _proc
    import signal

    from flyte._kit.deathsig import _preexec, _prctl

    parent = os.getpid()
    _proc = subprocess.Popen(
        [sys.executable, "-S", "-c", _CODE, str(parent)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        # SIGTERM, which it catches: the parent died, time to sweep.
        preexec_fn=_preexec(parent, signal.SIGTERM) if _prctl is not None else None,
    )
    return _proc


def _ensure() -> Optional[subprocess.Popen]:
    if not sys.platform.startswith("linux"):
        return None
    proc = _proc
    if proc is not None and proc.poll() is None:
        return proc
    # Created on the supervisor thread (its PDEATHSIG is tied to that thread), and only there,
    # so no lock is needed and none is held while waiting for it: the supervisor may be running
    # a start function that starts a child and so comes here itself (it then runs directly).
    return supervisor.call(_spawn)


def _send(op: str, pids: Iterable[int]) -> None:
    lines = "".join(f"{op} {int(p)}\n" for p in pids)
    if not lines:
        return
    proc = _ensure()
    if proc is None or proc.stdin is None:
        return
    try:
        with _lock:
            proc.stdin.write(lines.encode())
            proc.stdin.flush()
    except (OSError, ValueError):
        pass


def guard(pids: Iterable[int]) -> None:
    """Kill these processes and their descendants if this process dies before they do."""
    _send("guard", pids)


def forget(pids: Iterable[int]) -> None:
    """Stop guarding these processes (they were stopped)."""
    if _proc is not None:
        _send("forget", pids)


def watchdog_pid() -> Optional[int]:
    """The watchdog's PID, if it runs (tests leave it out of their leak checks)."""
    return _proc.pid if _proc is not None and _proc.poll() is None else None


def _after_fork() -> None:
    global _proc, _lock
    _proc = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
