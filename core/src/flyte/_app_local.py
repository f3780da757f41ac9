"""Apps served on this machine: the servers behind ``flyte.serve``.

A :class:`LocalAppServer` is one app being served here. :meth:`~LocalAppServer.start` returns
as soon as the app's port is bound (or known to be free), so the handle's URL names the port
actually used; readiness is the handle's health check. :meth:`~LocalAppServer.stop` returns when
the server is gone and its port is closed.

* :class:`ThreadAppServer` runs an async server on a thread of this process, on its own event
  loop (so an app defined in ``__main__`` works). The app's ``on_startup`` / ``on_shutdown``
  hooks run on that loop around :meth:`~ThreadAppServer.serve`. Records of the server's loggers
  emitted on the thread, and a crash's traceback, are kept (secret values masked) for the error
  shown when the server dies at start-up.
  :class:`FunctionAppServer` serves an ``@env.server`` function this way; the app plugin's
  uvicorn server is another subclass (``flyte.extend.ThreadAppServer``).
* :class:`CommandAppServer` runs an app's ``command`` as a child process through the plugin kit
  (:func:`flyte._kit.children.start_child`): it dies with this process and stops by PID.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import inspect
import logging
import os
import socket
import sys
import threading
import traceback
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence

from flyte._redact import redact
from flyte.errors import FlyteError, ValidationError

__all__ = [
    "AppStartError",
    "CommandAppServer",
    "FunctionAppServer",
    "LocalAppServer",
    "PortInUseError",
    "ThreadAppServer",
    "bind_socket",
    "call_with_parameters",
]

logger = logging.getLogger("flyte")
_LOG_LINES = 50


class AppStartError(FlyteError, RuntimeError):
    """An app served on this machine stopped during start-up or did not answer in time.

    The message names the app, says what happened and shows the server's last log lines.
    """

    def __init__(self, name: str, what: str, last_lines: Sequence[str]):
        self.name = name
        self.last_lines = list(last_lines)
        tail = "\n".join(f"  | {line}" for line in self.last_lines) or "  | (no output)"
        super().__init__(f"app {name!r} {what}; its last log lines:\n{tail}")


class PortInUseError(ValidationError):
    """The port an app is to be served on is taken on this machine."""

    def __init__(self, port: int, host: str, owner: Optional[str] = None):
        super().__init__(
            "port", port, f"a free port; {host}:{port} is already in use (port=0 picks a free one)", owner=owner
        )


def bind_socket(host: str, port: int, owner: Optional[str] = None) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``0``: a free port), ready to listen; taken: :class:`PortInUseError`.

    ``SO_REUSEADDR`` as servers set it: a port left in TIME_WAIT by a stopped server is free
    again, a port another process listens on is not.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and a
    # response written in two parts then waits out the peer's delayed ACK (~40 ms a request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUseError(port, host, owner) from None
        raise
    sock.set_inheritable(False)
    return sock


def free_port_for(host: str, port: int, owner: Optional[str] = None) -> int:
    """``port`` when it is free on ``host`` (a free one for ``0``), else :class:`PortInUseError`."""
    sock = bind_socket(host, port, owner)
    try:
        return sock.getsockname()[1]
    finally:
        sock.close()


def call_with_parameters(fn: Callable[..., Any], parameters: Mapping[str, Any]) -> Any:
    """Call ``fn`` with the parameters its signature names (all of them when it takes ``**kwargs``)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return fn(**parameters)
    return fn(**{k: v for k, v in parameters.items() if k in sig.parameters})


async def _call_hook(fn: Optional[Callable[..., Any]], parameters: Mapping[str, Any]) -> None:
    if fn is None:
        return
    result = call_with_parameters(fn, parameters)
    if inspect.isawaitable(result):
        await result


class LocalAppServer:
    """One app served on this machine; the engine behind ``flyte.serve`` drives it.

    Subclasses implement :meth:`start`, :meth:`running`, :meth:`stop` and report a crash
    through :meth:`failure`. ``port`` is the port actually used once :meth:`start` returned.
    """

    def __init__(self, name: str, host: str, port: int):
        self.name = name
        self.host = host
        self.requested_port = port
        self.port = port
        self._stopping = False
        self.on_bound: Optional[Callable[[int], None]] = None
        """Called with the port once it is known, before the server runs (the engine records the URL)."""

    def _bound(self) -> None:
        if self.on_bound is not None:
            self.on_bound(self.port)

    @property
    def owner(self) -> str:
        return f"app {self.name!r}"

    def start(self) -> None:
        """Start serving; return once the port is bound (``port`` then names it)."""
        raise NotImplementedError

    def running(self) -> bool:
        """Whether the server is still up (it may not answer yet)."""
        raise NotImplementedError

    def failure(self) -> Optional[str]:
        """Why the server stopped without being asked to, or None while it runs (or was stopped)."""
        return None

    def last_lines(self, n: int = 20) -> List[str]:
        """The server's last log lines (secret values masked)."""
        return []

    def stop(self, timeout: float) -> None:
        """Stop the server; return when it is gone and its port is closed (``timeout`` per step)."""
        raise NotImplementedError


class _ThreadLogs(logging.Handler):
    """One handler, on the loggers servers name (``log_names``), that keeps each server's
    records: those emitted on its thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.by_thread: Dict[int, "ThreadAppServer"] = {}
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        server = self.by_thread.get(record.thread or 0)
        if server is None:
            return
        try:
            text = self.format(record)
        except Exception:  # a record that cannot format must not break the server's logging
            text = str(record.msg)
        for line in text.splitlines():
            server._lines.append(redact(line))

    def attach(self, names: Sequence[str]) -> None:
        # Not on the root logger: a handler there would silence logging's last-resort output
        # (flyte's own warnings) for the rest of the process.
        for name in names:
            target = logging.getLogger(name)
            if self not in target.handlers:
                target.addHandler(self)


_thread_logs = _ThreadLogs()


class ThreadAppServer(LocalAppServer):
    """An app served by an async :meth:`serve` on a thread of this process, on its own event loop.

    With ``prebind`` the socket is bound by :meth:`start` (``self.sock``) and :meth:`serve` hands
    it to the server, so the port is known at once and nobody can take it meanwhile; without, the
    port is checked free (``0``: a free one picked) and :meth:`serve` binds it itself.
    ``log_names`` are the loggers whose records emitted on the server's thread are kept for
    its start-up error (a crash's traceback is kept in any case).
    The app's env vars are set in this process while it is served (threads share the process).
    """

    prebind = False
    log_names: Sequence[str] = ()

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        *,
        parameters: Optional[Mapping[str, Any]] = None,
        env: Optional[Mapping[str, str]] = None,
        on_startup: Optional[Callable[..., Any]] = None,
        on_shutdown: Optional[Callable[..., Any]] = None,
    ):
        super().__init__(name, host, port)
        self.parameters = dict(parameters or {})
        self.env = dict(env or {})
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        self.sock: Optional[socket.socket] = None
        self._lines: Deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._task: Optional["asyncio.Task[Any]"] = None
        self._failure: Optional[str] = None
        self._restore_env: Optional[Callable[[], None]] = None

    # -- what subclasses give -------------------------------------------------------------------
    async def serve(self) -> None:
        """Serve until stopped (cancelled, or asked through :meth:`request_stop`)."""
        raise NotImplementedError

    def request_stop(self) -> None:
        """Ask :meth:`serve` to return (default: cancel it)."""
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def force_stop(self) -> None:
        """Stop harder after a graceful stop timed out (default: cancel)."""
        ThreadAppServer.request_stop(self)

    # -- the engine's side ----------------------------------------------------------------------
    def start(self) -> None:
        if self.prebind:
            self.sock = bind_socket(self.host, self.requested_port, self.owner)
            self.port = self.sock.getsockname()[1]
        else:
            self.port = free_port_for(self.host, self.requested_port, self.owner)
        self._bound()
        if self.env:
            from flyte._engine.environ import set_environ

            self._restore_env = set_environ(self.env)
        _thread_logs.attach(self.log_names)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"flyte-app-{self.name}")
        self._thread.start()

    def _run(self) -> None:
        _thread_logs.by_thread[threading.get_ident()] = self
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
            if not self._stopping:
                self._failure = "stopped during start-up" if not self._answered() else "stopped unexpectedly"
        except asyncio.CancelledError:
            if not self._stopping:
                self._failure = "was cancelled"
        except SystemExit as e:  # a server that exits as if it owned the process (uvicorn on a failed start-up)
            if not self._stopping:
                when = "stopped during start-up" if not self._answered() else "exited"
                self._failure = f"{when} (exit code {e.code})"
        except BaseException as e:  # a crash of the user's server: reported, not raised on a thread
            if not self._stopping:
                self._failure = f"failed: {type(e).__name__}: {redact(str(e))}"
            for line in traceback.format_exception(type(e), e, e.__traceback__):
                for part in line.rstrip().splitlines():
                    self._lines.append(redact(part))
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for t in pending:
                    t.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            except Exception:
                pass
            loop.close()
            if self.sock is not None:
                self.sock.close()
            _thread_logs.by_thread.pop(threading.get_ident(), None)
            if self._restore_env is not None:
                self._restore_env()
                self._restore_env = None

    def _answered(self) -> bool:
        return False

    async def _main(self) -> None:
        self._task = asyncio.current_task()
        await _call_hook(self.on_startup, self.parameters)
        try:
            await self.serve()
        finally:
            await _call_hook(self.on_shutdown, self.parameters)

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def failure(self) -> Optional[str]:
        return self._failure

    def last_lines(self, n: int = 20) -> List[str]:
        return list(self._lines)[-n:]

    def stop(self, timeout: float) -> None:
        self._stopping = True
        thread = self._thread
        if thread is None:
            return
        self.request_stop()
        thread.join(timeout)
        if thread.is_alive():
            self.force_stop()
            thread.join(timeout)
        if thread.is_alive():
            # A sync server function cannot be interrupted: its daemon thread is left behind.
            logger.warning("%s did not stop within %.1fs; its thread is left running", self.owner, 2 * timeout)


class FunctionAppServer(ThreadAppServer):
    """Serves an ``@env.server`` function (async, or sync on a worker thread) with its parameters."""

    def __init__(self, name: str, host: str, port: int, fn: Callable[..., Any], **kwargs: Any):
        super().__init__(name, host, port, **kwargs)
        self.fn = fn

    async def serve(self) -> None:
        if inspect.iscoroutinefunction(self.fn):
            await call_with_parameters(self.fn, self.parameters)
            return
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, lambda: call_with_parameters(self.fn, self.parameters))
        if inspect.isawaitable(result):
            await result


class CommandAppServer(LocalAppServer):
    """An app's ``command`` as a child process (the kit's ``start_child``: it dies with this process
    and stops by PID). It gets the app's env vars, and ``PORT`` = the port to listen on."""

    def __init__(
        self, name: str, host: str, port: int, argv: Sequence[str], *, env: Optional[Mapping[str, str]] = None,
        echo: bool = False,
    ):
        super().__init__(name, host, port)
        self.argv = list(argv)
        self.env = dict(env or {})
        self.echo = echo
        self.child: Any = None

    def start(self) -> None:
        from flyte._kit.children import start_child

        self.port = free_port_for(self.host, self.requested_port, self.owner)
        self._bound()
        env = {**os.environ, **self.env, "PORT": str(self.port)}
        on_line = (lambda line: print(f"[{self.name}] {line}", file=sys.stderr, flush=True)) if self.echo else None
        self.child = start_child(self.owner, self.argv, env=env, on_line=on_line)

    def running(self) -> bool:
        return self.child is not None and self.child.alive()

    def failure(self) -> Optional[str]:
        if self.child is None or self._stopping or self.child.alive():
            return None
        return f"exited with code {self.child.returncode}"

    def last_lines(self, n: int = 20) -> List[str]:
        return self.child.last_lines(n) if self.child is not None else []

    def stop(self, timeout: float) -> None:
        self._stopping = True
        if self.child is not None:
            self.child.stop(timeout)
