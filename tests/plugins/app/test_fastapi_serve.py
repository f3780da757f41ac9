"""FastAPI apps served by flyte.serve (flyte-plugin-app): uvicorn on a thread on 127.0.0.1, the
flyte serve command, and the examples run as a new user runs them. Every port closed at the end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi import FastAPI

import flyte
import flyte.app
from flyte.app.extras import FastAPIAppEnvironment
from flyte.errors import TypeValidationError
from flyte.extend import AppStartError, PortInUseError

REPO = Path(__file__).resolve().parents[3]
FLYTE = str(REPO / ".venv" / "bin" / "flyte")


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def get(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def post(url: str, payload):
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


EVENTS: list = []
api = FastAPI()


@api.get("/health")
def health() -> dict:
    return {"ok": True}


@api.get("/env")
def env_view() -> dict:
    return {k: os.environ.get(k) for k in ("MODE", "MODEL_PATH", "EXTRA")}


@api.post("/double")
def double(body: dict) -> dict:
    return {"value": body["value"] * 2}


served_env = FastAPIAppEnvironment(
    name="fastapi-test", app=api, port=0, env_vars={"MODE": "test"},
    parameters=[flyte.app.Parameter("model", "/models/m1", env_var="MODEL_PATH")],
)


@served_env.on_startup
def _up(model: str) -> None:
    EVENTS.append(("startup", model))


@served_env.on_shutdown
async def _down() -> None:
    EVENTS.append(("shutdown",))


@pytest.fixture(scope="module")
def served():
    """One uvicorn server for the module's tests (started once: cheap tests share it)."""
    handle = flyte.with_servecontext(mode="local", env_vars={"EXTRA": "x"}).serve(served_env)
    handle.activate(wait=True)
    yield handle
    port = port_of(handle.url)
    handle.deactivate(wait=True)
    assert not port_open(port), "the port is closed when deactivate(wait=True) returns"
    assert EVENTS[-1] == ("shutdown",)


def test_the_handle_names_the_bound_port_and_the_app_answers(served):
    port = port_of(served.url)
    assert port != 0 and served.url == served.endpoint == served_env.endpoint
    assert served_env.get_port().port == port
    assert served.name == "fastapi-test" and served.is_active() and not served.is_deactivated()
    assert get(served.url + "/health") == {"ok": True}
    assert post(served.url + "/double", {"value": 21}) == {"value": 42}
    assert EVENTS[0] == ("startup", "/models/m1")


def test_env_vars_and_parameters_reach_the_app(served):
    assert get(served.url + "/env") == {"MODE": "test", "MODEL_PATH": "/models/m1", "EXTRA": "x"}


def test_a_task_calls_the_app_during_a_run(served):
    tasks = flyte.TaskEnvironment(name="fastapi-caller", depends_on=[served_env])

    @tasks.task
    def call(v: int) -> int:
        return post(served_env.endpoint + "/double", {"value": v})["value"]

    assert flyte.run(call, v=4).outputs()[0] == 8


def test_a_second_app_at_once_and_a_taken_port(served):
    other = FastAPIAppEnvironment(name="second", app=api, port=port_of(served.url))
    with pytest.raises(PortInUseError, match="port=0"):
        flyte.serve(other)
    other = other.clone_with("second", port=0)
    handle = flyte.serve(other)
    with handle.ephemeral_ctx_sync():
        assert handle.url != served.url and get(handle.url + "/health") == {"ok": True}
        assert served.is_active()
    assert not port_open(port_of(handle.url))


def test_a_lifespan_crash_surfaces_with_the_servers_log_lines():
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app):
        raise RuntimeError("model file missing: /nope.bin")
        yield

    env = FastAPIAppEnvironment(name="broken", app=FastAPI(lifespan=lifespan), port=0)
    handle = flyte.with_servecontext(mode="local", activate_timeout=20).serve(env)
    with pytest.raises(AppStartError) as e:
        handle.activate(wait=True)
    assert "start-up" in str(e.value) and "model file missing" in str(e.value)
    assert not handle.is_active() and handle.is_deactivated()
    assert not port_open(port_of(handle.url))


def test_uvicorn_config_is_used_with_flytes_socket():
    import uvicorn

    app = FastAPI()

    @app.get("/")
    def root() -> dict:
        return {"root": True}

    cfg = uvicorn.Config(app, port=1, access_log=False, log_level="warning")
    env = FastAPIAppEnvironment(name="configured", app=app, port=0, uvicorn_config=cfg)
    with flyte.with_servecontext(mode="local", health_check_path="/").serve(env).ephemeral_ctx_sync():
        assert get(env.endpoint + "/") == {"root": True}
        assert cfg.port == port_of(env.endpoint) and cfg.access_log is False


def test_bad_arguments_name_the_field():
    with pytest.raises(TypeValidationError, match="app") as e:
        FastAPIAppEnvironment(name="bad", app=object())
    assert "fastapi.FastAPI" in str(e.value)
    with pytest.raises(TypeValidationError, match="uvicorn_config"):
        FastAPIAppEnvironment(name="bad", app=api, uvicorn_config={"port": 1})
    with pytest.raises(flyte.errors.ValidationError, match="DNS-1035"):
        FastAPIAppEnvironment(name="Bad_Name", app=api)
    env = FastAPIAppEnvironment(name="links", app=api)
    assert env.type == "FastAPI" and env.links[0] == flyte.app.Link("/docs", "FastAPI OpenAPI Docs", True)


def test_without_fastapi_the_error_says_to_install_the_plugin():
    code = (
        "import sys\n"
        "sys.modules['fastapi'] = None\n"
        "from flyte.app.extras import FastAPIAppEnvironment\n"
        "try:\n"
        "    FastAPIAppEnvironment(name='x', app=object())\n"
        "except ImportError as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 3, res.stderr
    assert "flyte-plugin-app" in res.stdout and "fastapi" in res.stdout


# -- the flyte serve command ------------------------------------------------------------------------
def test_flyte_serve_in_the_foreground_logs_requests_and_stops_on_ctrl_c(tmp_path):
    env = {**os.environ, "FLYTE_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [FLYTE, "serve", "--local", "--port", "0", "-e", "GREETING=hi", "examples/app_predict.py", "predict_app"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        for line in proc.stderr:  # the readiness line comes once the app answers
            if "is ready at" in line:
                url = line.split("is ready at ", 1)[1].split()[0]
                break
            assert time.monotonic() < deadline
        assert url, "no readiness line"
        assert post(url + "/predict", {"values": [1.0, 1.0]}) == {"score": 1.0, "label": "high"}
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert '"POST /predict HTTP/1.1" 200' in out  # requests are logged
    assert "Traceback" not in err
    assert not port_open(port_of(url))


def test_flyte_serve_user_errors_are_one_line(tmp_path):
    env = {**os.environ, "FLYTE_HOME": str(tmp_path)}
    res = subprocess.run([FLYTE, "serve", "examples/app_predict.py", "nope"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "no app environment 'nope'" in res.stderr and "predict_app (predict-api)" in res.stderr
    assert "Traceback" not in res.stderr


# -- the examples, as a new user runs them ----------------------------------------------------------
@pytest.mark.parametrize("example,expect", [("app_predict.py", "label:"), ("app_two.py", "'backend_status': 200")])
def test_the_app_examples_run_from_python(example, expect, tmp_path):
    env = {**os.environ, "FLYTE_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    res = subprocess.run([sys.executable, f"examples/{example}"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert expect in res.stdout
