"""Serving apps on this machine with core alone: `command` apps (child processes stopped by PID)
and `@env.server` functions (a thread of this process), the handle's lifecycle, and tasks
that call an app during flyte.run. Real servers on 127.0.0.1; every port is closed at the end."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import urllib.request

import pytest

import flyte
import flyte.app
from flyte.extend import AppStartError, PortInUseError
from flyte.testing import pid_alive

# A command app: answers GET with the environment variables it was started with.
ENV_SERVER = (
    "import http.server, json, os\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = json.dumps(dict(os.environ)).encode()\n"
    "        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "    def log_message(self, *a): pass\n"
    "print('listening', flush=True)\n"
    "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n"
)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.fixture
def env_app(monkeypatch):
    monkeypatch.setenv("APP_TOKEN", "tok-123456")
    return flyte.app.AppEnvironment(
        name="env-echo", command=[sys.executable, "-c", ENV_SERVER], port=0, env_vars={"MODE": "test"},
        secrets=[flyte.Secret("app-token", as_env_var="APP_TOKEN_SEEN")],
        parameters=[flyte.app.Parameter("model", "m1", env_var="MODEL_NAME")],
    )


def test_a_command_app_serves_on_a_free_port_with_its_env_and_stops_by_pid(env_app, no_leaked_processes, monkeypatch):
    monkeypatch.setenv("FLYTE_SECRET_APP_TOKEN", "tok-123456")
    handle = flyte.with_servecontext(mode="local", env_vars={"EXTRA": "1"}).serve(env_app)
    assert isinstance(handle, flyte.AppHandle)
    port = port_of(handle.url)
    assert port != 0 and handle.url == handle.endpoint == env_app.endpoint == f"http://127.0.0.1:{port}"
    assert env_app.get_port().port == port
    handle.activate(wait=True)
    assert handle.is_active() and not handle.is_deactivated()
    seen = get_json(handle.url + "/")
    assert seen["PORT"] == str(port) and seen["MODE"] == "test" and seen["EXTRA"] == "1"
    assert seen["MODEL_NAME"] == "m1" and seen["APP_TOKEN_SEEN"] == "tok-123456"
    pid = handle.server.child.pid
    handle.deactivate(wait=True)
    assert not pid_alive(pid) and not port_open(port)
    assert handle.is_deactivated() and not handle.is_active()
    with pytest.raises(flyte.app.AppNotServedError):
        env_app.endpoint


def test_a_taken_port_is_an_error_naming_it_and_port_zero():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        env = flyte.app.AppEnvironment(name="taken", command=[sys.executable, "-c", "pass"], port=taken)
        with pytest.raises(PortInUseError) as e:
            flyte.with_servecontext(mode="local").serve(env)
        assert e.value.field == "port" and e.value.value == taken and "port=0" in str(e.value)
    with pytest.raises(flyte.app.AppNotServedError):
        env.endpoint


def test_the_default_port_8080_taken_is_the_same_error():
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8080))
        holder.listen()
    except OSError:
        pass  # someone else holds it: the error is the same
    try:
        env = flyte.app.AppEnvironment(name="default-port", command=[sys.executable, "-c", "pass"])
        with pytest.raises(PortInUseError, match="8080.*port=0"):
            flyte.serve(env)
    finally:
        holder.close()


def test_a_crash_at_startup_surfaces_with_its_last_lines_and_is_logged_once(no_leaked_processes, caplog):
    env = flyte.app.AppEnvironment(
        name="crash", command=[sys.executable, "-c", "import sys; print('bad config: no model'); sys.exit(3)"], port=0
    )
    handle = flyte.with_servecontext(mode="local").serve(env)
    import time

    with caplog.at_level(logging.ERROR, logger="flyte"):
        deadline = time.monotonic() + 10
        while handle.server.failure() is None and time.monotonic() < deadline:
            assert not handle.is_active()
            time.sleep(0.02)
        for _ in range(3):
            assert not handle.is_active()
    assert caplog.text.count("exited with code 3") == 1  # the reason, once, not at every poll
    with pytest.raises(AppStartError) as e:
        handle.activate(wait=True)  # starts it again: the crash is raised, not waited out
    assert "exited with code 3" in str(e.value) and "bad config: no model" in str(e.value)
    handle.deactivate(wait=True)


def test_activate_timeout_is_honoured_and_the_child_stopped(no_leaked_processes):
    env = flyte.app.AppEnvironment(name="silent", command=[sys.executable, "-c", "import time; time.sleep(60)"], port=0)
    handle = flyte.with_servecontext(mode="local", activate_timeout=0.5, deactivate_timeout=2).serve(env)
    with pytest.raises(AppStartError, match=r"within 0.5s \(activate_timeout\)"):
        handle.activate(wait=True)
    assert handle.is_deactivated()


def test_remote_mode_says_there_is_no_control_plane_and_points_at_deploy():
    env = flyte.app.AppEnvironment(name="remote", command="true")
    with pytest.raises(flyte.errors.DeploymentError, match="flyte deploy --dry-run"):
        flyte.with_servecontext(mode="remote").serve(env)


@pytest.fixture
def function_app():
    env = flyte.app.AppEnvironment(
        name="greeter", port=0, parameters=[flyte.app.Parameter("greeting", "hello", env_var="GREETING")]
    )
    events = []

    @env.on_startup
    async def up(greeting: str) -> None:
        events.append(("startup", greeting))

    @env.server
    async def run(greeting: str) -> None:
        async def handle(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            body = json.dumps({"greeting": greeting, "env": os.environ.get("GREETING")}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", env.get_port().port)
        async with server:
            await server.serve_forever()

    @env.on_shutdown
    def down() -> None:
        events.append(("shutdown",))

    return env, events


def test_a_server_function_runs_on_a_thread_with_hooks_parameters_and_overrides(function_app):
    env, events = function_app
    before = os.environ.get("GREETING")
    ctx = flyte.with_servecontext(mode="local", parameter_values={"greeter": {"greeting": "hi"}}, health_check_path="/")
    handle = ctx.serve(env)
    port = port_of(handle.url)
    with handle.ephemeral_ctx_sync():
        assert handle.is_active()
        assert get_json(handle.url + "/") == {"greeting": "hi", "env": "hi"}
        assert events == [("startup", "hi")]
    assert events == [("startup", "hi"), ("shutdown",)]
    assert not port_open(port) and handle.is_deactivated()
    assert os.environ.get("GREETING") == before  # the app's env vars are restored


def test_parameter_values_must_name_parameters():
    env = flyte.app.AppEnvironment(name="p", command="true", parameters=[flyte.app.Parameter("a")])
    with pytest.raises(flyte.errors.ValidationError, match="parameter"):
        flyte.with_servecontext(mode="local").serve(env)  # 'a' has no value
    with pytest.raises(flyte.errors.ValidationError, match="parameter"):
        flyte.with_servecontext(mode="local", parameter_values={"p": {"b": "1"}}).serve(env)


async def test_async_handles_and_two_apps_at_once(function_app, env_app, no_leaked_processes):
    env, _ = function_app
    ctx = flyte.with_servecontext(mode="local", health_check_path="/")
    one = await ctx.serve.aio(env)
    two = await ctx.serve.aio(env_app)
    async with one.ephemeral_ctx(), two.ephemeral_ctx():
        assert one.url != two.url
        assert await asyncio.to_thread(one.is_active) and await asyncio.to_thread(two.is_active)
    assert not port_open(port_of(one.url)) and not port_open(port_of(two.url))
    await two.activate.aio(wait=True)  # a deactivated app starts again
    assert await asyncio.to_thread(two.is_active)
    await two.deactivate.aio(wait=True)


def test_a_task_depending_on_an_app_calls_it_during_flyte_run(env_app, no_leaked_processes):
    tasks = flyte.TaskEnvironment(name="caller", depends_on=[env_app])

    @tasks.task
    def ask() -> str:
        return get_json(env_app.endpoint + "/")["MODE"]

    with flyte.serve(env_app).ephemeral_ctx_sync():
        run = flyte.run(ask)
        assert run.outputs()[0] == "test"


def test_deactivate_without_wait_stops_soon(env_app, no_leaked_processes):
    handle = flyte.serve(env_app)
    handle.activate(wait=True)
    pid = handle.server.child.pid
    handle.deactivate()
    import time

    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)


def test_the_bound_socket_says_tcp_so_connections_get_nodelay():
    # asyncio sets TCP_NODELAY on accepted sockets only when the listening socket's proto is TCP;
    # without it every response written in two parts waits for the client's delayed ACK.
    from flyte._app_local import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_serving_leaves_the_root_logger_alone(function_app):
    # A handler on the root logger would silence logging's last resort (flyte's warnings) afterwards.
    env, _ = function_app
    before = list(logging.getLogger().handlers)
    with flyte.with_servecontext(mode="local", health_check_path="/").serve(env).ephemeral_ctx_sync():
        pass
    assert logging.getLogger().handlers == before
