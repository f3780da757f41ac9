"""``AppEnvironment``: a long-running server (an API, a model server) next to the tasks.

The environment is a description: its port, command or server function, scaling, parameters
and the settings every environment has (image, resources, env vars, secrets). ``flyte.serve``
brings it up on this machine (``flyte._serve``); ``flyte deploy --dry-run`` maps it to a
Deployment and a Service (``flyte._serialize.k8s.app``). Names, fields and defaults follow the
published ``flyte.app``.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, TypeVar, Union

from flyte._environment import Environment
from flyte.app._endpoints import ENDPOINT_PATTERN_ENV_VAR, AppNotServedError, local_endpoint
from flyte.app._parameter import Parameter
from flyte.app._types import Domain, Link, Port, Scaling, Timeouts
from flyte.errors import TypeValidationError, ValidationError

if TYPE_CHECKING:
    from flyte.models import SerializationContext

__all__ = ["APP_NAME_RE", "AppEnvironment", "DEFAULT_CLUSTER_PORT"]

# A DNS-1035 label: a Service is named after the app, and Service names must start with a letter.
APP_NAME_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME = 63
DEFAULT_CLUSTER_PORT = 8080
"""The container port of an app declared with ``port=0`` (a free port only makes sense locally)."""

F = TypeVar("F", bound=Callable[..., Any])

_FLYTE_DIR = str(Path(__file__).resolve().parents[1])


def _defining_frame() -> "tuple[Optional[str], Optional[str]]":
    """(file, module name) of the user code that created the environment (first frame outside flyte)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith("<"):
            resolved = os.path.abspath(filename)
            if not resolved.startswith(_FLYTE_DIR + os.sep) and f"{os.sep}flyteplugins{os.sep}" not in resolved:
                return resolved, frame.f_globals.get("__name__")
        frame = frame.f_back  # type: ignore[assignment]
    return None, None


def _check_app_name(name: Any, owner: str) -> None:
    if not isinstance(name, str) or len(name) > MAX_NAME or not APP_NAME_RE.fullmatch(name):
        raise ValidationError(
            "name", name,
            f"a DNS-1035 label: at most {MAX_NAME} lowercase letters, digits or '-', starting with a letter "
            "and ending with a letter or digit",
            owner=owner,
        )


@dataclass
class AppEnvironment(Environment):
    """A long-running app: an API, a dashboard or a model server.

    Example::

        env = flyte.app.AppEnvironment(
            name="my-api", command=["python", "-m", "http.server", "8080"], port=8080,
            scaling=flyte.app.Scaling(replicas=(1, 3)),
        )
        app = flyte.serve(env)           # on this machine: app.url, app.deactivate()

    Args:
        name: The app's name, a DNS-1035 label (it names the Kubernetes Deployment and Service).
        type: The app framework (``"FastAPI"``, ...), informational.
        port: The port the app listens on (an int or a :class:`Port`); default 8080, ``0`` picks a
            free one locally. 8012, 8022, 8112, 9090 and 9091 are reserved.
        args: Arguments of the app's container (a list, or a string split like a shell).
        command: The command that starts the app (a list or a string); served locally as a child
            process, which reads its port from ``$PORT`` when it was not fixed.
        requires_auth: Whether the platform puts authentication in front of the app.
        scaling: Replicas: an int, or a ``(min, max)`` range (a HorizontalPodAutoscaler).
        domain: Where the platform publishes the app.
        links: Links shown with the app.
        parameters: Values the app gets when it starts (:class:`Parameter`).
        cluster_pool: The platform's cluster pool.
        cluster: A cluster to pin the app to (not with a non-default ``cluster_pool``).
        timeouts: Time limits (:class:`Timeouts`).

    The environment's ``image``, ``resources``, ``env_vars``, ``secrets``, ``pod_template``,
    ``interruptible`` and ``depends_on`` are those of every environment. Decorate a function
    with ``@env.server`` to serve it (``@env.on_startup`` / ``@env.on_shutdown`` run around it).
    """

    type: Optional[str] = None
    port: Union[int, Port] = 8080
    args: Optional[Union[List[str], str]] = None
    command: Optional[Union[List[str], str]] = None
    requires_auth: bool = True
    scaling: Scaling = field(default_factory=Scaling)
    domain: Optional[Domain] = field(default_factory=Domain)
    links: List[Link] = field(default_factory=list)
    parameters: List[Parameter] = field(default_factory=list)
    cluster_pool: str = "default"
    cluster: Optional[str] = None
    timeouts: Timeouts = field(default_factory=Timeouts)

    _server: Optional[Callable[..., Any]] = field(init=False, default=None, repr=False, compare=False)
    _on_startup: Optional[Callable[..., Any]] = field(init=False, default=None, repr=False, compare=False)
    _on_shutdown: Optional[Callable[..., Any]] = field(init=False, default=None, repr=False, compare=False)
    _source_file: Optional[str] = field(init=False, default=None, repr=False, compare=False)
    _source_module: Optional[str] = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        owner = f"{type(self).__name__}({self.name!r})"
        # Checked before the generic environment name rule, so a bad name gets the one rule that applies.
        _check_app_name(self.name, type(self).__name__)
        super().__post_init__()
        if isinstance(self.port, bool) or not isinstance(self.port, (int, Port)):
            raise TypeValidationError("port", self.port, "an int in 0-65535 or a flyte.app.Port", owner=owner)
        if isinstance(self.port, int):
            try:
                self.port = Port(port=self.port)
            except ValidationError as e:
                raise ValidationError(e.field, e.value, e.allowed, owner=owner) from None
        for name in ("args", "command"):
            value = getattr(self, name)
            if value is not None:
                ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(a, str) for a in value))
                if not ok or (isinstance(value, list) and not value and name == "command"):
                    raise TypeValidationError(name, value, "a list of strings or a command-line string", owner=owner)
        if not isinstance(self.requires_auth, bool):
            raise TypeValidationError("requires_auth", self.requires_auth, bool, owner=owner)
        if not isinstance(self.scaling, Scaling):
            raise TypeValidationError("scaling", self.scaling, "a flyte.app.Scaling", owner=owner)
        if self.domain is not None and not isinstance(self.domain, Domain):
            raise TypeValidationError("domain", self.domain, "a flyte.app.Domain or None", owner=owner)
        self.links = list(self.links or [])
        for link in self.links:
            if not isinstance(link, Link):
                raise TypeValidationError("links", link, "a list of flyte.app.Link", owner=owner)
        self.parameters = list(self.parameters or [])
        seen = set()
        for p in self.parameters:
            if not isinstance(p, Parameter):
                raise TypeValidationError("parameters", p, "a list of flyte.app.Parameter", owner=owner)
            if p.name in seen:
                raise ValidationError("parameters", p.name, "parameter names used once each", owner=owner)
            seen.add(p.name)
        if not isinstance(self.timeouts, Timeouts):
            raise TypeValidationError("timeouts", self.timeouts, "a flyte.app.Timeouts", owner=owner)
        if self.cluster and self.cluster_pool and self.cluster_pool != "default":
            raise ValidationError(
                "cluster", self.cluster, f"either cluster or a non-default cluster_pool ({self.cluster_pool!r}), not both",
                owner=owner,
            )
        self._source_file, self._source_module = _defining_frame()

    # -- decorators -----------------------------------------------------------------------------
    def server(self, fn: F) -> F:
        """Serve the app by calling ``fn`` (sync or async; parameters are passed by name)."""
        self._server = self._check_callable("server", fn)
        return fn

    def on_startup(self, fn: F) -> F:
        """Run ``fn`` before the server starts (sync or async; parameters are passed by name)."""
        self._on_startup = self._check_callable("on_startup", fn)
        return fn

    def on_shutdown(self, fn: F) -> F:
        """Run ``fn`` after the server stopped (sync or async; parameters are passed by name)."""
        self._on_shutdown = self._check_callable("on_shutdown", fn)
        return fn

    def _check_callable(self, what: str, fn: Any) -> Callable[..., Any]:
        if not callable(fn):
            raise TypeValidationError(what, fn, "a function", owner=f"{type(self).__name__}({self.name!r})")
        return fn

    # -- description ----------------------------------------------------------------------------
    def get_port(self) -> Port:
        """The app's port (while served here with ``port=0``, the port actually bound)."""
        if isinstance(self.port, int):
            self.port = Port(port=self.port)
        url = local_endpoint(self.name)
        if url is not None and self.port.port == 0:
            return Port(port=int(url.rsplit(":", 1)[1]), name=self.port.name)
        return self.port

    @property
    def endpoint(self) -> str:
        """The URL the app answers on.

        While this process serves the app (``flyte.serve``), its local URL with the port bound;
        where the platform sets ``INTERNAL_APP_ENDPOINT_PATTERN``, that pattern; inside a
        Kubernetes cluster, the app's Service (``http://<name>``, port 80, same namespace).
        """
        url = local_endpoint(self.name)
        if url is not None:
            return url
        pattern = os.environ.get(ENDPOINT_PATTERN_ENV_VAR)
        if pattern:
            return pattern.format(app_fqdn=self.name)
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            return f"http://{self.name}"
        raise AppNotServedError(
            f"app {self.name!r} is not served by this process; serve it first "
            f"(flyte.serve(env) or flyte.with_servecontext(mode='local').serve(env)) and read its endpoint while it runs"
        )

    def container_args(self, serialize_context: Optional["SerializationContext"] = None) -> List[str]:
        """The app's ``args`` as a list (the published name; :meth:`args_list` is the same)."""
        return self.args_list()

    def args_list(self) -> List[str]:
        """The app's ``args`` as a list."""
        if self.args is None:
            return []
        return shlex.split(self.args) if isinstance(self.args, str) else list(self.args)

    def command_list(self) -> Optional[List[str]]:
        """The app's ``command`` as a list, or None."""
        if self.command is None:
            return None
        return shlex.split(self.command) if isinstance(self.command, str) else list(self.command)

    def serve_command(self, serialize_context: Optional["SerializationContext"] = None, *, host: str = "0.0.0.0") -> List[str]:
        """The command that serves this app in a container: ``flyte serve`` on the file that defines it.

        It is the local serving path (``flyte serve --local``) bound to ``host``, so the container
        runs the same code as ``flyte.serve`` here. The file is named relative to the context's
        root directory (the working directory of the container).
        """
        root = Path(getattr(serialize_context, "root_dir", None) or os.getcwd()).resolve()
        if not self._source_file:
            raise ValidationError(
                "app", self.name, "an app environment defined in a Python file (its container imports that file)",
                owner=f"{type(self).__name__}({self.name!r})",
            )
        src = Path(self._source_file).resolve()
        try:
            rel = src.relative_to(root).as_posix()
        except ValueError:
            raise ValidationError(
                "root_dir", str(root), f"a folder holding {src} (the file that defines app {self.name!r})",
                owner=f"{type(self).__name__}({self.name!r})",
            ) from None
        port = self.get_port().port or DEFAULT_CLUSTER_PORT
        return ["flyte", "serve", "--local", "--host", host, "--port", str(port), "--root-dir", ".", rel, self.name]

    def local_server(self, *, host: str, port: int, parameters: Mapping[str, Optional[str]], env: Mapping[str, str],
                     echo: bool = False) -> Any:
        """The server that serves this app on this machine (``flyte.serve`` calls it).

        A ``@server`` function runs on a thread of this process; a ``command`` (or ``args``) runs
        as a child process. App types with a server of their own (``FastAPIAppEnvironment``:
        uvicorn on a thread) override this and return their ``flyte.extend.LocalAppServer``.
        """
        from flyte._app_local import CommandAppServer, FunctionAppServer

        if self._server is not None:
            return FunctionAppServer(
                self.name, host, port, self._server, parameters=parameters, env=env,
                on_startup=self._on_startup, on_shutdown=self._on_shutdown,
            )
        argv = self.command_list() or self.args_list()
        if argv:
            return CommandAppServer(self.name, host, port, argv, env=env, echo=echo)
        raise ValidationError(
            "server", None, "a @env.server function, a command or args to serve the app with",
            owner=f"{type(self).__name__}({self.name!r})",
        )

    def clone_with(self, name: str, **kwargs: Any) -> "AppEnvironment":
        """A copy of this environment named ``name`` with the given fields replaced."""
        allowed = {f.name for f in fields(self) if f.init}
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise ValidationError("clone_with", unknown, f"fields of {type(self).__name__}: {', '.join(sorted(allowed))}")
        clone = replace(self, name=name, **kwargs)
        clone._server, clone._on_startup, clone._on_shutdown = self._server, self._on_startup, self._on_shutdown
        clone._source_file, clone._source_module = self._source_file, self._source_module  # not the caller's
        return clone

    def _app_parameters(self, overrides: Optional[Mapping[str, Any]] = None) -> Dict[str, Optional[str]]:
        """Every parameter's local value (``overrides`` by name win)."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - {p.name for p in self.parameters})
        if unknown:
            raise ValidationError(
                "parameter_values", unknown, f"parameters of app {self.name!r}: {', '.join(p.name for p in self.parameters) or '(none)'}"
            )
        return {p.name: p.local_value(overrides.get(p.name)) for p in self.parameters}
