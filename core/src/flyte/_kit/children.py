"""Child processes (servers, JVMs, workers) that die with this process and stop by PID.

:func:`start_child` starts a command

* from the kit's one long-lived supervisor thread (:mod:`flyte._kit.supervisor`), with
  ``PR_SET_PDEATHSIG`` set in the child on Linux: when this process dies, even by SIGKILL, the
  kernel kills the child (the signal is tied to the thread that forked, hence the supervisor);
* in its own process group (a new session), so that stopping it reaches its own children;
* with its output captured line by line, secret values masked (:mod:`flyte._redact`), the
  last lines kept for error messages and optionally passed on to a callback.

:meth:`ChildProcess.stop` sends SIGTERM to the group and to every descendant (found in
``/proc``, which also finds children that left the group), waits, then sends SIGKILL to what is
left. :meth:`ChildProcess.wait_for_port` and :meth:`ChildProcess.wait_for_line` wait until the
child is ready; when it exits first or the wait times out, they stop it (and its process group)
and raise a :class:`ChildStartError` naming the process and showing its last log lines.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import socket
import subprocess
import threading
import time
from typing import Callable, Deque, Dict, List, Mapping, Optional, Pattern, Sequence, Set, Union

from flyte._kit import supervisor
from flyte._kit.deathsig import _preexec, _prctl
from flyte._redact import redact
from flyte.errors import FlyteError

__all__ = ["ChildProcess", "ChildStartError", "descendants", "is_alive", "start_child", "stop_pids"]

_LOG_LINES = 50


class ChildStartError(FlyteError, RuntimeError):
    """A child process exited during start-up or did not become ready in time.

    The message names the process, says what was awaited and shows its last log lines.
    """

    def __init__(self, name: str, pid: int, what: str, last_lines: Sequence[str]):
        self.name = name
        self.pid = pid
        self.last_lines = list(last_lines)
        tail = "\n".join(f"  | {line}" for line in self.last_lines) or "  | (no output)"
        super().__init__(f"{name} (pid {pid}) {what}; its last log lines:\n{tail}")


ChildProcessError = ChildStartError
"""The former name of :class:`ChildStartError` (it shadowed the builtin of that name)."""


class ChildProcess:
    """A running child started by :func:`start_child`.

    Attributes:
        name: What the process is, for messages ("Spark master", "Ray nodes").
        pid: Its process id (also its process group id).
        argv: The command it runs.
    """

    def __init__(self, name: str, proc: subprocess.Popen, argv: Sequence[str], on_line: Optional[Callable[[str], None]]):
        self.name = name
        self.argv = list(argv)
        self._proc = proc
        self.pid = proc.pid
        self._lines: Deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._cond = threading.Condition()
        self._eof = False
        self._count = 0
        self._on_line = on_line
        self._reader: Optional[threading.Thread] = None
        if proc.stdout is not None:
            self._reader = threading.Thread(target=self._read, name=f"flyte-kit-log-{self.pid}", daemon=True)
            self._reader.start()

    # -- output -------------------------------------------------------------------------------
    def _read(self) -> None:
        stream = self._proc.stdout
        assert stream is not None
        try:
            for raw in iter(stream.readline, b""):
                line = redact(raw.decode("utf-8", "replace").rstrip("\r\n"))
                with self._cond:
                    self._lines.append(line)
                    self._count += 1
                    self._cond.notify_all()
                if self._on_line is not None:
                    try:
                        self._on_line(line)
                    except Exception:  # a broken sink must not stop the capture
                        pass
        finally:
            stream.close()
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def last_lines(self, n: int = 20) -> List[str]:
        """The last ``n`` lines the child printed (secret values masked)."""
        with self._cond:
            return list(self._lines)[-n:]

    # -- state --------------------------------------------------------------------------------
    @property
    def returncode(self) -> Optional[int]:
        """The exit code, or None while it runs."""
        return self._proc.poll()

    def alive(self) -> bool:
        """True while the process runs."""
        return self._proc.poll() is None

    def _fail(self, what: str) -> ChildStartError:
        # A child that is not ready is of no use: stop it and what it started (its group too),
        # which also lets its last lines arrive.
        self.stop(timeout=5.0)
        return ChildStartError(self.name, self.pid, what, self.last_lines())

    def _exited(self) -> ChildStartError:
        return self._fail(f"exited with code {self._proc.returncode} during start-up")

    # -- readiness ----------------------------------------------------------------------------
    def wait_for_line(self, pattern: Union[str, Pattern[str]], timeout: float) -> "re.Match[str]":
        """Wait until the child prints a line matching ``pattern`` (a regex); return the match.

        Raises :class:`ChildStartError` when the child exits first or ``timeout`` passes; the
        child is stopped then.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        seen = 0
        timed_out = False
        with self._cond:
            while True:
                fresh = self._count - seen
                for line in list(self._lines)[-fresh:] if fresh else ():
                    m = regex.search(line)
                    if m:
                        return m
                seen = self._count
                if self._eof or self._proc.poll() is not None:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                self._cond.wait(min(left, 0.2))
        # Failed: outside the condition, which the reader needs to deliver the last lines.
        if not timed_out:
            try:  # its output ended: it exits, or it closed its output and goes on
                self._proc.wait(max(0.0, deadline - time.monotonic()))
                raise self._exited()
            except subprocess.TimeoutExpired:
                pass
        raise self._fail(f"printed no line matching {regex.pattern!r} within {timeout:g}s")

    def wait_for_port(self, port: int, host: str = "127.0.0.1", timeout: float = 30.0) -> None:
        """Wait until ``host:port`` accepts TCP connections.

        Raises :class:`ChildStartError` when the child exits first or ``timeout`` passes; the
        child is stopped then.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise self._exited()
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise self._fail(f"did not open {host}:{port} within {timeout:g}s")
            time.sleep(0.1)

    # -- stop ---------------------------------------------------------------------------------
    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """Stop the child and its children: SIGTERM, wait up to ``timeout`` s, SIGKILL. Idempotent.

        Returns the child's exit code.
        """
        stop_pids([self.pid], timeout=timeout, group=True, popen=self._proc)
        if self._reader is not None:
            self._reader.join(2.0)
        return self._proc.returncode

    def __repr__(self) -> str:
        state = "running" if self.alive() else f"exited {self._proc.returncode}"
        return f"ChildProcess({self.name!r}, pid={self.pid}, {state})"


def start_child(
    name: str,
    argv: Sequence[str],
    *,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
    on_line: Optional[Callable[[str], None]] = None,
    capture: bool = True,
    death_signal: int = signal.SIGKILL,
) -> ChildProcess:
    """Start ``argv`` as a child that dies with this process (see the module docs).

    Args:
        name: What the process is, for messages.
        argv: The command.
        env: Its environment (default: this process's).
        cwd: Its working directory.
        on_line: Called with each output line (secret values masked), from a reader thread.
        capture: Capture stdout and stderr (False: inherit this process's).
        death_signal: The signal the kernel sends it when this process dies (Linux).
    """
    if not argv or not all(isinstance(a, str) for a in argv):
        from flyte.errors import ValidationError

        raise ValidationError("argv", argv, "a non-empty list of strings (the command to run)", owner=name)
    parent = os.getpid()

    def spawn() -> subprocess.Popen:
        return subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
            start_new_session=True,
            preexec_fn=_preexec(parent, death_signal) if _prctl is not None else None,
        )

    proc = supervisor.call(spawn)
    from flyte._kit import watchdog

    watchdog.guard([proc.pid])  # and whatever it starts, should this process die first
    return ChildProcess(name, proc, argv, on_line)


# ----------------------------------------------------------------------------------------------
# Processes by PID
# ----------------------------------------------------------------------------------------------


def _proc_table() -> Dict[int, int]:
    """pid -> parent pid of every live, non-zombie process, from ``/proc``."""
    table: Dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) < 2 or fields[0] in ("Z", "X"):
            continue
        table[int(entry)] = int(fields[1])
    return table


def descendants(pid: int) -> Set[int]:
    """PIDs of every live descendant of ``pid`` (Linux: from ``/proc``; elsewhere empty)."""
    table = _proc_table()
    children: Dict[int, List[int]] = {}
    for child, parent in table.items():
        children.setdefault(parent, []).append(child)
    out: Set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out


def is_alive(pid: int) -> bool:
    """True when ``pid`` is a live process (a zombie is not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("utf-8", "replace")
        return stat[stat.rfind(")") + 2 :][:1] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(pids: Set[int], groups: Set[int], sig: int) -> None:
    for pgid in groups:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def stop_pids(
    pids: Sequence[int],
    *,
    timeout: float = 10.0,
    group: bool = False,
    popen: Optional[subprocess.Popen] = None,
) -> None:
    """Stop processes and all their descendants by PID: SIGTERM, wait ``timeout`` s, SIGKILL.

    ``group``: the processes lead their own process groups; signal the whole groups too.
    ``popen``: the ``Popen`` of a child of ours among them, reaped at the end.
    """
    targets: Set[int] = set()
    for pid in pids:
        targets.add(pid)
        targets |= descendants(pid)
    groups = set(pids) if group else set()
    _signal(targets, groups, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None:
            popen.poll()  # reap it, or it stays a zombie that looks alive to os.kill
        # Children started meanwhile (a server forking while it shuts down) are caught too.
        for pid in list(targets):
            targets |= descendants(pid)
        if not any(is_alive(p) for p in targets):
            break
        time.sleep(0.05)
    else:
        _signal({p for p in targets if is_alive(p)}, groups, signal.SIGKILL)
    if group:
        # Stragglers of the groups that were never our descendants' descendants.
        for pgid in groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    if popen is not None:
        try:
            popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
