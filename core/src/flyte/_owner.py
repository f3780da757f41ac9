"""Is the process that owns this still alive?

A record written by one process (a run in the local store, a local engine a plugin started, a
lock file) often outlives the process when it is killed. Whoever finds the record later needs
to tell "the owner still runs" from "the owner is gone" - and from "another process now has the
owner's pid", since pids are reused. A :class:`ProcessMarker` names a process well enough for
that: its pid, its host, and a start marker that differs between two processes that had the
same pid (on Linux: the boot id and the start time in clock ticks; elsewhere ``ps``'s start
time).

    owner = ProcessMarker.current()        # store it with the record
    ...
    if not is_alive(owner):                # later, in any process on any host
        clean_up()

Only the standard library is used, so any layer may import this module.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

__all__ = ["HOSTNAME", "ProcessMarker", "is_alive", "is_zombie", "start_marker"]

HOSTNAME = socket.gethostname()
"""This machine's host name, as :attr:`ProcessMarker.hostname` records it."""


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


_BOOT_ID = _boot_id()


def start_marker(pid: int) -> Optional[str]:
    """A string that differs between two processes that had the same pid (None if unknowable).

    On Linux: boot id + start time in clock ticks since boot. Elsewhere: ``ps``'s start time.
    None also when no process ``pid`` exists.
    """
    stat = Path(f"/proc/{pid}/stat")
    try:
        raw = stat.read_text()
    except FileNotFoundError:
        return None
    except OSError:
        raw = ""
    if raw:
        # The command name (field 2) may contain spaces and parentheses: split after its last ')'.
        fields = raw[raw.rindex(")") + 2 :].split()
        return f"{_BOOT_ID}:{fields[19]}"
    import subprocess

    try:
        out = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def is_zombie(pid: int) -> bool:
    """True when ``pid`` has exited but was not reaped yet (it runs no more code)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return raw[raw.rindex(")") + 2 :].split()[0] in ("Z", "X")


# Per pid, so that a forked child computes its own marker instead of inheriting its parent's.
_own_marker_cache: Dict[int, Optional[str]] = {}


def _own_marker() -> Optional[str]:
    pid = os.getpid()
    if pid not in _own_marker_cache:
        _own_marker_cache[pid] = start_marker(pid)
    return _own_marker_cache[pid]


@dataclass(frozen=True)
class ProcessMarker:
    """A process, named well enough to tell later whether it still runs.

    ``start`` is the :func:`start_marker` of the process when the marker was taken; None when it
    could not be known (then a live process with the same pid counts as the owner).
    """

    pid: int
    hostname: str
    start: Optional[str] = None

    @classmethod
    def current(cls) -> "ProcessMarker":
        """The marker of the calling process."""
        return cls(os.getpid(), HOSTNAME, _own_marker())

    @classmethod
    def of(cls, pid: int) -> "ProcessMarker":
        """The marker of process ``pid`` on this host (a child this process started, say)."""
        if pid == os.getpid():
            return cls.current()
        return cls(pid, HOSTNAME, start_marker(pid))


def is_alive(marker: ProcessMarker) -> bool:
    """Whether the process ``marker`` names still runs.

    A process on another host counts as alive: from here nothing can be known about it. A
    zombie counts as gone, and so does a live process whose start marker differs (the pid was
    reused).
    """
    pid = marker.pid
    if marker.hostname != HOSTNAME:
        return True
    if pid == os.getpid():
        return marker.start is None or marker.start == _own_marker()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    except OSError:
        return True
    if is_zombie(pid):
        return False
    if marker.start is None:
        return True
    current = start_marker(pid)
    return current is None or current == marker.start
