"""``flyte serve [--local] FILE APP``: serve an app environment in the foreground.

FILE is loaded like ``flyte run`` and ``flyte deploy`` load it (:mod:`flyte.cli._loader`); APP
is the variable holding the ``AppEnvironment`` or the environment's name. The app is served
on this machine (no remote control plane is configured, so ``--local`` is implied); the
command prints one readiness line with the URL once the app answers, logs requests, and stops
cleanly on Ctrl-C (exit 130) or SIGTERM (exit 143), its port closed when it exits. The same
command, bound to ``0.0.0.0``, is what the app's container runs on Kubernetes.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import click

from flyte.cli._loader import load_module_from_file

__all__ = ["serve"]


def _kv(values: Tuple[str, ...]) -> Dict[str, str]:
    from flyte.errors import ValidationError

    out: Dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError("--env-var", item, "KEY=VALUE", owner="flyte serve")
        out[key] = value
    return out


def _apps_in(module: Any) -> Dict[str, Any]:
    from flyte.app import AppEnvironment

    return {var: value for var, value in vars(module).items() if isinstance(value, AppEnvironment)}


@click.command("serve")
@click.option("--local", is_flag=True, help="Serve on this machine (the default: no remote control plane is configured).")
@click.option("--env-var", "-e", "env_vars", multiple=True, metavar="KEY=VALUE", help="Environment variable of the app (repeatable).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 in a container).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port to listen on instead of the app's (0: a free one).")
@click.option("--root-dir", default=None, type=click.Path(file_okay=False), help="Source root: module names are relative to it (default: the working directory).")
@click.option("--activate-timeout", type=float, default=None, help="Seconds to wait for the app to answer (default 60).")
@click.option("--health-check-path", default=None, help="Path of the readiness check (default /health; any answer below 500 counts).")
@click.option("--project", default=None, hidden=True, help="Accepted for compatibility.")
@click.option("--domain", default=None, hidden=True, help="Accepted for compatibility.")
@click.argument("file")
@click.argument("app_name", metavar="APP")
def serve(
    local: bool,
    env_vars: Tuple[str, ...],
    host: str,
    port: Optional[int],
    root_dir: Optional[str],
    activate_timeout: Optional[float],
    health_check_path: Optional[str],
    project: Optional[str],
    domain: Optional[str],
    file: str,
    app_name: str,
) -> None:
    """Serve the app environment APP of FILE in the foreground until Ctrl-C."""
    from flyte._serve import _Serve

    root = Path(root_dir).resolve() if root_dir else Path.cwd().resolve()
    module = load_module_from_file(file, root)
    apps = _apps_in(module)
    env = apps.get(app_name) or next((e for e in apps.values() if e.name == app_name), None)
    if env is None:
        listing = ", ".join(sorted(f"{var} ({e.name})" for var, e in apps.items())) or "(none)"
        raise click.BadParameter(f"no app environment {app_name!r} in {file}; apps there: {listing}", param_hint="APP")
    ctx = _Serve(
        mode="local", env_vars=_kv(env_vars), activate_timeout=activate_timeout,
        health_check_path=health_check_path, host=host, echo=True,
    )
    if port is not None:
        env = env.clone_with(env.name, port=port)

    stopped = threading.Event()
    signals = {"sig": None}

    def on_term(signum: int, frame: Any) -> None:  # a container's stop: shut down like Ctrl-C
        signals["sig"] = signum
        stopped.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term) if threading.current_thread() is threading.main_thread() else None
    app = ctx.serve(env)
    try:
        app.activate(wait=True)
        click.echo(f"App {env.name!r} is ready at {app.url}  (Ctrl-C to stop)", err=True)
        server = app.server
        while not stopped.wait(0.25):
            if server is None or not server.running():
                break
        if server is not None and server.failure() is not None:
            from flyte._app_local import AppStartError

            raise AppStartError(env.name, server.failure() or "stopped", server.last_lines())
    except KeyboardInterrupt:
        click.echo(f"Stopping app {env.name!r} ...", err=True)
        app.deactivate(wait=True)
        if signals["sig"] == signal.SIGTERM:
            raise click.exceptions.Exit(143)
        raise
    finally:
        app.deactivate(wait=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
