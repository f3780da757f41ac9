"""``flyte.serve`` and ``flyte.with_servecontext``: apps served on this machine, behind an ``AppHandle``.

``flyte.with_servecontext(mode="local").serve(env)`` starts the app and returns at once with a
handle; ``handle.url`` (and ``env.endpoint``) name the port actually bound, ``is_active()``
turns true when the server answers its health check, ``activate(wait=True)`` waits for that
(or raises the start-up crash with the server's last log lines), and ``deactivate(wait=True)``
returns once the server is gone and its port closed. ``mode=None`` serves locally too: no
remote control plane is configured for this SDK, and ``mode="remote"`` says so.

What serves the app is the environment's :meth:`~flyte.app.AppEnvironment.local_server` (a
thread for ``@env.server`` functions and the app plugin's FastAPI apps, a child process for a
``command``); see :mod:`flyte._app_local`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
import time
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Dict,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Protocol,
    runtime_checkable,
)

from flyte.errors import TypeValidationError, ValidationError
from flyte.syncify import syncify

if TYPE_CHECKING:
    from flyte._app_local import LocalAppServer
    from flyte.app import AppEnvironment

__all__ = ["AppHandle", "LocalApp", "ServeMode", "serve", "with_servecontext"]

logger = logging.getLogger("flyte")

ServeMode = Literal["local", "remote"]

LOCAL_HOST = "127.0.0.1"
DEFAULT_DEACTIVATE_TIMEOUT = 6.0
DEFAULT_ACTIVATE_TIMEOUT = 60.0
DEFAULT_HEALTH_CHECK_TIMEOUT = 2.0
DEFAULT_HEALTH_CHECK_PATH = "/health"

NO_REMOTE_MESSAGE = (
    "serving remotely needs a Flyte control plane and none is configured for this SDK; serve on this "
    "machine (mode='local', or mode=None) or write the app's Kubernetes manifests with "
    "flyte deploy --dry-run --output DIR FILE APP"
)


@runtime_checkable
class AppHandle(Protocol):
    """What ``flyte.serve`` returns: a served app (the published SDK's protocol)."""

    @property
    def name(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def endpoint(self) -> str: ...

    def is_active(self) -> bool: ...

    def is_deactivated(self) -> bool: ...

    def activate(self, wait: bool = False) -> "AppHandle": ...

    def deactivate(self, wait: bool = False) -> "AppHandle": ...

    def ephemeral_ctx(self) -> contextlib.AbstractAsyncContextManager: ...

    def ephemeral_ctx_sync(self) -> contextlib.AbstractContextManager: ...


_active_lock = threading.Lock()
_active: Dict[int, "LocalApp"] = {}
_atexit_installed = False


def _stop_all_at_exit() -> None:
    for app in list(_active.values()):
        try:
            app._stop(wait=True)
        except Exception:  # exiting anyway: one app's failure must not keep the others up
            pass


class LocalApp:
    """An app served on this machine (an :class:`AppHandle`)."""

    def __init__(self, env: "AppEnvironment", serve: "_Serve"):
        self._env = env
        self._serve = serve
        self._server: Optional["LocalAppServer"] = None
        self._reported: Optional[str] = None
        self._lock = threading.Lock()

    # -- identity ---------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The app's name."""
        return self._env.name

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>``, the port actually bound."""
        port = self._server.port if self._server is not None else self._env.get_port().port
        return f"http://{self._serve.host}:{port}"

    @property
    def url(self) -> str:
        """The same as :attr:`endpoint`."""
        return self.endpoint

    @property
    def server(self) -> Optional["LocalAppServer"]:
        """The server behind the handle (None before the first start)."""
        return self._server

    def __repr__(self) -> str:
        state = "deactivated" if self.is_deactivated() else "running"
        return f"LocalApp({self.name!r}, {self.endpoint}, {state})"

    # -- state ------------------------------------------------------------------------------------
    def is_active(self) -> bool:
        """True when the server answers its health check (any status below 500)."""
        server = self._server
        if server is None:
            return False
        reason = server.failure()
        if reason is not None:
            if self._reported != reason:  # say why once, not at every poll
                self._reported = reason
                logger.error("app %r %s", self.name, reason)
            return False
        if not server.running():
            return False
        return self._health_ok()

    def _health_ok(self) -> bool:
        import urllib.error
        import urllib.request

        url = self.endpoint + self._serve.health_check_path
        try:
            with urllib.request.urlopen(url, timeout=self._serve.health_check_timeout) as resp:
                return resp.status < 500
        except urllib.error.HTTPError as e:  # it answered: a 404 on /health still means up
            return e.code < 500
        except (OSError, ValueError):
            return False

    def is_deactivated(self) -> bool:
        """True when the server is not running (never started, stopped, or crashed)."""
        return self._server is None or not self._server.running()

    # -- lifecycle --------------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._server is not None and self._server.running():
                return
            from flyte.app._endpoints import set_local_endpoint

            self._reported = None
            self._server = self._serve._new_server(self._env)
            # Recorded before the server runs, so its own code reads its endpoint / port.
            self._server.on_bound = lambda port: set_local_endpoint(self.name, f"http://{self._serve.host}:{port}")
            try:
                self._server.start()
            except BaseException:
                set_local_endpoint(self.name, None)
                raise
            with _active_lock:
                _active[id(self)] = self

    @syncify
    async def activate(self, wait: bool = False) -> "LocalApp":
        """Start the app if it is not running; with ``wait``, until it answers.

        Raises :class:`flyte.extend.AppStartError` with the server's last log lines when it
        stops during start-up or does not answer within the context's ``activate_timeout``.
        """
        self._start()
        if wait:
            await self._wait_active()
        return self

    async def _wait_active(self) -> None:
        from flyte._app_local import AppStartError

        server = self._server
        assert server is not None
        deadline = time.monotonic() + self._serve.activate_timeout
        delay = 0.02
        while True:
            reason = server.failure()
            if reason is not None:
                self._reported = reason
                raise AppStartError(self.name, reason, server.last_lines())
            if server.running() and await asyncio.to_thread(self._health_ok):
                return
            if not server.running() and server.failure() is None and server._stopping:
                raise AppStartError(self.name, "was deactivated while starting", server.last_lines())
            if time.monotonic() >= deadline:
                lines = server.last_lines()
                self._stop(wait=True)
                raise AppStartError(
                    self.name, f"did not answer on {self.url}{self._serve.health_check_path} within "
                    f"{self._serve.activate_timeout:g}s (activate_timeout)", lines,
                )
            interval = self._serve.health_check_interval
            await asyncio.sleep(min(delay, interval) if interval is not None else delay)
            delay = min(delay * 2, 1.0)

    def _stop(self, wait: bool) -> None:
        server = self._server
        from flyte.app._endpoints import local_endpoint, set_local_endpoint

        if local_endpoint(self.name) == self.endpoint:
            set_local_endpoint(self.name, None)
        with _active_lock:
            _active.pop(id(self), None)
        if server is None:
            return
        if wait:
            server.stop(self._serve.deactivate_timeout)
        else:
            server._stopping = True
            threading.Thread(
                target=server.stop, args=(self._serve.deactivate_timeout,), daemon=True, name=f"flyte-app-stop-{self.name}"
            ).start()

    @syncify
    async def deactivate(self, wait: bool = False) -> "LocalApp":
        """Stop the app; with ``wait``, return once it is gone and its port is closed."""
        if wait:
            await asyncio.to_thread(self._stop, True)
        else:
            self._stop(False)
        return self

    @contextlib.asynccontextmanager
    async def ephemeral_ctx(self) -> AsyncIterator[None]:
        """Serve the app for the ``async with`` block: activated (waiting) on entry, stopped on exit."""
        try:
            await self.activate.aio(wait=True)
            yield
        finally:
            await self.deactivate.aio(wait=True)

    @contextlib.contextmanager
    def ephemeral_ctx_sync(self) -> Iterator[None]:
        """Serve the app for the ``with`` block: activated (waiting) on entry, stopped on exit."""
        try:
            self.activate(wait=True)
            yield
        finally:
            self.deactivate(wait=True)


def _positive(name: str, value: Optional[float], default: Optional[float]) -> Optional[float]:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValidationError(name, value, "a number of seconds > 0", owner="flyte.with_servecontext")
    return float(value)


class _Serve:
    """A serve context: how :meth:`serve` brings apps up (``flyte.with_servecontext`` makes one)."""

    def __init__(
        self,
        mode: Optional[ServeMode] = None,
        *,
        version: Optional[str] = None,
        copy_style: str = "loaded_modules",
        dry_run: bool = False,
        project: Optional[str] = None,
        domain: Optional[str] = None,
        env_vars: Optional[Dict[str, str]] = None,
        parameter_values: Optional[Dict[str, Dict[str, Any]]] = None,
        cluster_pool: Optional[str] = None,
        cluster: Optional[str] = None,
        log_level: Optional[int] = None,
        log_format: str = "console",
        user_log_level: Optional[int] = None,
        interactive_mode: Optional[bool] = None,
        copy_bundle_to: Any = None,
        deactivate_timeout: Optional[float] = None,
        activate_timeout: Optional[float] = None,
        health_check_timeout: Optional[float] = None,
        health_check_interval: Optional[float] = None,
        health_check_path: Optional[str] = None,
        raw_data_path: Optional[str] = None,
        host: str = LOCAL_HOST,
        echo: bool = False,
    ):
        owner = "flyte.with_servecontext"
        if mode not in (None, "local", "remote"):
            raise ValidationError("mode", mode, "'local', 'remote' or None (local here)", owner=owner)
        self.mode: ServeMode = mode or "local"
        self.version, self.copy_style, self.dry_run = version, copy_style, dry_run
        self.project, self.domain = project, domain
        if env_vars is not None and (
            not isinstance(env_vars, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env_vars.items())
        ):
            raise TypeValidationError("env_vars", env_vars, "dict[str, str]", owner=owner)
        self.env_vars = dict(env_vars or {})
        if parameter_values is not None and not (
            isinstance(parameter_values, dict) and all(isinstance(v, dict) for v in parameter_values.values())
        ):
            raise TypeValidationError(
                "parameter_values", parameter_values, "a dict of app name -> {parameter name: value}", owner=owner
            )
        self.parameter_values = dict(parameter_values or {})
        self.cluster_pool, self.cluster = cluster_pool, cluster
        self.log_level, self.log_format, self.user_log_level = log_level, log_format, user_log_level
        self.interactive_mode, self.copy_bundle_to = interactive_mode, copy_bundle_to
        self.deactivate_timeout = _positive("deactivate_timeout", deactivate_timeout, DEFAULT_DEACTIVATE_TIMEOUT)
        self.activate_timeout = _positive("activate_timeout", activate_timeout, DEFAULT_ACTIVATE_TIMEOUT)
        self.health_check_timeout = _positive("health_check_timeout", health_check_timeout, DEFAULT_HEALTH_CHECK_TIMEOUT)
        self.health_check_interval = _positive("health_check_interval", health_check_interval, None)
        path = health_check_path if health_check_path is not None else DEFAULT_HEALTH_CHECK_PATH
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValidationError("health_check_path", path, "a URL path starting with '/'", owner=owner)
        self.health_check_path = path
        self.raw_data_path = raw_data_path
        self.host = host
        self.echo = echo

    def _env_for(self, env: "AppEnvironment", parameters: Mapping[str, Optional[str]]) -> Dict[str, str]:
        """The app's environment: its env vars, parameters with an ``env_var``, secrets, the context's env vars."""
        values: Dict[str, str] = dict(env.env_vars or {})
        for p in env.parameters:
            if p.env_var and parameters.get(p.name) is not None:
                values[p.env_var] = str(parameters[p.name])
        if env.secrets:
            from flyte._redact import note_secret_values
            from flyte._secret import resolve_secret_locally, secrets_from_request

            for secret in secrets_from_request(env.secrets):
                if secret.as_env_var:
                    values[secret.as_env_var] = resolve_secret_locally(secret)
                    note_secret_values([values[secret.as_env_var]])
        values.update(self.env_vars)
        if self.raw_data_path:
            values.setdefault("FLYTE_RAW_DATA_PATH", self.raw_data_path)
        return values

    def _new_server(self, env: "AppEnvironment") -> "LocalAppServer":
        parameters = env._app_parameters(self.parameter_values.get(env.name))
        missing = [name for name, value in parameters.items() if value is None]
        if missing:
            raise ValidationError(
                "parameter_values", missing,
                f"values for the parameters of app {env.name!r} that have none: "
                f"with_servecontext(parameter_values={{{env.name!r}: {{{missing[0]!r}: ...}}}})",
            )
        return env.local_server(
            # The declared port, not get_port(): that names the port bound while another server runs.
            host=self.host, port=env.port.port if not isinstance(env.port, int) else env.port,
            parameters=parameters, env=self._env_for(env, parameters), echo=self.echo,
        )

    def _serve_local(self, env: "AppEnvironment") -> LocalApp:
        global _atexit_installed
        from flyte.app import AppEnvironment

        if not isinstance(env, AppEnvironment):
            raise TypeValidationError("app_env", env, "a flyte.app.AppEnvironment", owner="flyte.serve")
        if not _atexit_installed:
            atexit.register(_stop_all_at_exit)
            _atexit_installed = True
        app = LocalApp(env, self)
        app._start()
        return app

    @syncify
    async def serve(self, app_env: "AppEnvironment") -> AppHandle:
        """Serve ``app_env`` and return its handle at once (the server may still be starting)."""
        if self.mode == "remote":
            from flyte.errors import DeploymentError

            raise DeploymentError(NO_REMOTE_MESSAGE)
        return self._serve_local(app_env)


def with_servecontext(
    mode: Optional[ServeMode] = None,
    *,
    version: Optional[str] = None,
    copy_style: str = "loaded_modules",
    dry_run: bool = False,
    project: Optional[str] = None,
    domain: Optional[str] = None,
    env_vars: Optional[Dict[str, str]] = None,
    parameter_values: Optional[Dict[str, Dict[str, Any]]] = None,
    cluster_pool: Optional[str] = None,
    cluster: Optional[str] = None,
    log_level: Optional[int] = None,
    log_format: str = "console",
    user_log_level: Optional[int] = None,
    interactive_mode: Optional[bool] = None,
    copy_bundle_to: Any = None,
    deactivate_timeout: Optional[float] = None,
    activate_timeout: Optional[float] = None,
    health_check_timeout: Optional[float] = None,
    health_check_interval: Optional[float] = None,
    health_check_path: Optional[str] = None,
    raw_data_path: Optional[str] = None,
) -> _Serve:
    """A serve context: ``flyte.with_servecontext(mode="local", ...).serve(env)``.

    Args:
        mode: ``"local"`` serves on this machine (127.0.0.1); ``None`` does too (no remote
            control plane is configured); ``"remote"`` is an error saying so.
        env_vars: Environment variables of the app (they win over the environment's).
        parameter_values: ``{app name: {parameter name: value}}``, overriding parameters' values.
        deactivate_timeout: Seconds ``deactivate(wait=True)`` waits for a graceful stop before
            forcing it (default 6).
        activate_timeout: Seconds ``activate(wait=True)`` waits for the app to answer (default 60).
        health_check_timeout: Seconds each health request may take (default 2).
        health_check_interval: Seconds between health requests (default: from 20 ms, doubling to 1 s).
        health_check_path: The path of the health request (default ``/health``; any answer
            below 500 counts as up).
        raw_data_path: Given to the app as ``FLYTE_RAW_DATA_PATH``.
        version, copy_style, dry_run, project, domain, cluster_pool, cluster, log_level,
            log_format, user_log_level, interactive_mode, copy_bundle_to: accepted for the
            published signature; they describe remote serving.
    """
    return _Serve(
        mode,
        version=version, copy_style=copy_style, dry_run=dry_run, project=project, domain=domain,
        env_vars=env_vars, parameter_values=parameter_values, cluster_pool=cluster_pool, cluster=cluster,
        log_level=log_level, log_format=log_format, user_log_level=user_log_level,
        interactive_mode=interactive_mode, copy_bundle_to=copy_bundle_to,
        deactivate_timeout=deactivate_timeout, activate_timeout=activate_timeout,
        health_check_timeout=health_check_timeout, health_check_interval=health_check_interval,
        health_check_path=health_check_path, raw_data_path=raw_data_path,
    )


@syncify
async def serve(app_env: "AppEnvironment") -> AppHandle:
    """Serve ``app_env`` with the default serve context (on this machine) and return its handle."""
    return await _Serve().serve.aio(app_env)


def served_apps() -> List[LocalApp]:
    """The apps this process serves now."""
    with _active_lock:
        return list(_active.values())
