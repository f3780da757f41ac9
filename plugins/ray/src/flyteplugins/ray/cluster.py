"""Ray tasks on an existing cluster: a Ray Client driver here, or a job through the Jobs API.

* ``ray://host:10001``: this process becomes a Ray Client driver of the cluster and the task
  body runs here, its ``@ray.remote`` calls running there.
* ``http://host:8265``: the task is submitted through the Ray Jobs API with its container
  command (``flyte-execute ...``) as the entrypoint; inputs are written as a file the job reads,
  its logs are streamed to this process's output, and its outputs (or error) read back.
* ``host:6379`` / ``auto``: this process connects as a regular driver of that cluster.
* Inside a Ray job (how the Jobs API and KubeRay run the task), the task connects to the job's
  own cluster.

Every address is first probed with a plain TCP connection, so an unreachable cluster is an
error naming the address within seconds rather than a long hang inside Ray's retries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import socket
import sys
import threading
import uuid
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from flyte.errors import RuntimeUserError, ValidationError

from flyteplugins.ray._session import RaySession, require_ray
from flyteplugins.ray.config import RayJobConfig

__all__ = [
    "CONNECT_TIMEOUT_S",
    "ClusterDriverSession",
    "JobSubmissionSession",
    "RayClusterUnreachableError",
    "RayJobFailedError",
    "open_session",
    "probe",
]

logger = logging.getLogger("flyteplugins.ray")

CONNECT_TIMEOUT_S = float(os.environ.get("FLYTE_RAY_CONNECT_TIMEOUT", "5"))
"""Seconds to wait for a cluster address to accept a connection."""

# What a Ray job may finish as.
_TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
# The working directory shipped to a job: the project, without what never belongs in it.
_WORKING_DIR_EXCLUDES = [".venv", "venv", ".git", "__pycache__", "*.pyc", ".tox", "*.egg-info", "build", "dist"]


class RayClusterUnreachableError(RuntimeUserError):
    """The Ray cluster address given to a task does not answer."""

    def __init__(self, address: str, reason: str):
        super().__init__(
            "RayClusterUnreachable",
            f"cannot reach the Ray cluster at {address}: {reason}. Check the address "
            f"(RayJobConfig.address or FLYTE_RAY_ADDRESS) and that the cluster is running",
        )
        self.address = address


class RayJobFailedError(RuntimeUserError):
    """A task submitted through the Ray Jobs API did not succeed."""


def _host_port(address: str) -> Tuple[str, int]:
    if "://" in address:
        parts = urlsplit(address)
        default = {"ray": 10001, "http": 80, "https": 443}.get(parts.scheme, 0)
        host, port = parts.hostname or "", parts.port or default
    else:
        host, _, port_text = address.rpartition(":")
        port = int(port_text)
    return host.strip("[]"), port


async def probe(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`RayClusterUnreachableError` unless ``address`` accepts a TCP connection
    within ``timeout`` seconds."""
    host, port = _host_port(address)
    if not host or not port:
        raise RayClusterUnreachableError(address, "the address names no host and port")

    def connect() -> None:
        with socket.create_connection((host, port), timeout=timeout):
            pass

    try:
        await asyncio.wait_for(asyncio.to_thread(connect), timeout + 1)
    except (OSError, asyncio.TimeoutError) as e:
        reason = "no answer" if isinstance(e, (asyncio.TimeoutError, socket.timeout)) else str(e) or type(e).__name__
        raise RayClusterUnreachableError(address, f"{reason} within {timeout:g}s") from e


class ClusterDriverSession(RaySession):
    """This process as a driver (Ray Client or plain) of a running cluster; ``stop`` disconnects."""

    def __init__(self, data: Dict[str, Any], connected_here: bool):
        super().__init__(data)
        self.kind = data["ray_target"]
        self._connected_here = connected_here

    def stop(self) -> None:
        if self._connected_here:
            self._connected_here = False
            _release_connection()


# The connection this module made (tasks of one process share it): target and users.
_conn_lock = threading.Lock()
_conn: Dict[str, Any] = {"target": None, "users": 0}


def connected_target() -> Optional[Tuple[str, str]]:
    """``(kind, address)`` of the cluster this process is connected to by a Ray task, if any."""
    return _conn["target"] if _conn["users"] > 0 else None


def _release_connection() -> None:
    with _conn_lock:
        _conn["users"] -= 1
        if _conn["users"] > 0:
            return
        _conn["target"] = None
        # Disconnects this driver only: the cluster was not started here and keeps running.
        require_ray().shutdown()


def _connect(address: Optional[str], runtime_env: Optional[dict], kind: str) -> ClusterDriverSession:
    ray = require_ray()
    target = (kind, address or "auto")
    with _conn_lock:
        if _conn["users"] > 0:
            if _conn["target"] != target:
                raise ValidationError(
                    "address",
                    target[1],
                    f"the Ray target this process is already connected to ({_conn['target'][1]}): one process "
                    "drives one Ray cluster at a time; run tasks with different addresses one after another",
                )
            _conn["users"] += 1
            return ClusterDriverSession({"ray_target": kind, "ray_address": target[1], "ray_reused": True}, True)
        from flyteplugins.ray import local

        if local.started_here():
            raise ValidationError(
                "address",
                target[1],
                "no address while a Ray task of this process runs on the Ray it started on this machine; "
                "run tasks with different Ray targets one after another",
            )
        if ray.is_initialized():
            # The user's own connection: use it, never disconnect it.
            return ClusterDriverSession({"ray_target": kind, "ray_address": target[1], "ray_reused": True}, False)
        session = _connect_new(ray, address, runtime_env, kind)
        _conn.update(target=target, users=1)
        return session


def _connect_new(ray: Any, address: Optional[str], runtime_env: Optional[dict], kind: str) -> ClusterDriverSession:
    kwargs: Dict[str, Any] = {}
    if runtime_env:
        kwargs["runtime_env"] = runtime_env
    # The Ray Client server starts one server process per client; under load that start
    # sometimes fails ("Initialization failure from server") and a second attempt succeeds.
    attempts = 2 if kind == "client" else 1
    for attempt in range(attempts):
        try:
            ray.init(address=address, **kwargs)
            break
        except ConnectionError as e:
            if attempt + 1 < attempts and isinstance(e, ConnectionAbortedError):
                logger.warning("Ray Client connection to %s failed (%s); retrying once", address, e)
                continue
            raise RayClusterUnreachableError(address or "auto", str(e)) from e
    return ClusterDriverSession({"ray_target": kind, "ray_address": address or "auto", "ray_reused": False}, True)


async def open_session(kind: str, address: Optional[str], config: RayJobConfig) -> RaySession:
    """Open the session of a non-local target (see :func:`flyteplugins.ray.task.target_address`)."""
    if kind == "job-driver":
        # The job's runtime env is already applied to this process.
        from flyteplugins.ray.task import _finish_or_undo

        return await _finish_or_undo(asyncio.to_thread(_connect, None, None, kind))
    assert address is not None
    if address != "auto":
        await probe(address)
    if kind in ("client", "driver"):
        from flyteplugins.ray.task import _finish_or_undo

        return await _finish_or_undo(asyncio.to_thread(_connect, address, config.runtime_env, kind))
    if kind == "jobs":
        return await JobSubmissionSession.open(address, config)
    raise ValueError(f"unknown Ray target kind {kind!r}")


def _module_root(task: Any) -> Optional[str]:
    """The directory from which the task's module imports under its name (None: unknown)."""
    func = getattr(task, "func", None)
    name = getattr(func, "__module__", None)
    module = sys.modules.get(name) if name else None
    file = getattr(module, "__file__", None)
    if not name or name == "__main__" or not file:
        return None
    root = os.path.dirname(os.path.abspath(file))
    depth = name.count(".") + (1 if os.path.basename(file) == "__init__.py" else 0)
    for _ in range(depth):
        root = os.path.dirname(root)
    return root


class JobSubmissionSession(RaySession):
    """A task run as a job through the Ray Jobs API; ``stop`` stops the job if it still runs."""

    kind = "jobs"
    runs_body_here = False

    def __init__(self, address: str, config: RayJobConfig, client: Any):
        super().__init__({"ray_target": "jobs", "ray_address": address})
        self.address = address
        self.config = config
        self.client = client
        self.job_id: Optional[str] = None
        self._finished = False

    @classmethod
    async def open(cls, address: str, config: RayJobConfig) -> "JobSubmissionSession":
        require_ray()
        from ray.job_submission import JobSubmissionClient

        try:
            client = await asyncio.wait_for(asyncio.to_thread(JobSubmissionClient, address), CONNECT_TIMEOUT_S * 2)
        except asyncio.TimeoutError as e:
            raise RayClusterUnreachableError(address, "the Jobs API did not answer") from e
        except ConnectionError as e:
            raise RayClusterUnreachableError(address, f"not a Ray Jobs API ({e})") from e
        return cls(address, config, client)

    def _runtime_env(self, root_dir: str) -> Dict[str, Any]:
        env = dict(self.config.runtime_env or {})
        if "working_dir" not in env:
            # The job imports the task by module name from its working directory: ship the
            # project the task was loaded from, as a cluster image would contain it.
            env["working_dir"] = root_dir
            env["excludes"] = list(env.get("excludes") or []) + _WORKING_DIR_EXCLUDES
        return env

    async def execute(self, task: Any, kwargs: Dict[str, Any]) -> Any:
        import flyte
        from flyte import storage
        from flyte.extend import container_command
        from flyte._serialize.io import read_error, read_outputs, write_inputs
        from flyte.models import SerializationContext

        tctx = flyte.ctx()
        from flyte._context import raw_data_path

        base = raw_data_path()
        if not storage.is_remote(base):
            base = "file://" + os.path.abspath(storage.to_local_path(base))
        work = storage.join(base, "ray-jobs", uuid.uuid4().hex[:16])
        input_types = {k: t for k, (t, _) in task.interface.inputs.items()}
        inputs = storage.join(work, "inputs.pb")
        await write_inputs(inputs, kwargs, input_types)
        outputs_prefix = storage.join(work, "outputs")
        root_dir = _module_root(task) or os.getcwd()
        sctx = SerializationContext(input_path=inputs, output_path=outputs_prefix, interpreter_path=sys.executable, root_dir=root_dir)
        command = container_command(task, sctx)
        # A cluster started from a virtual environment that was not activated (`.venv/bin/ray
        # start` on a laptop) lacks the environment's scripts on PATH; this interpreter's folder
        # goes first. On a remote cluster that folder does not exist and changes nothing.
        bindir = os.path.dirname(sys.executable)
        entrypoint = f'PATH={shlex.quote(bindir)}:"$PATH" ' + shlex.join(str(a) for a in command)
        submission_id = f"flyte-{uuid.uuid4().hex[:12]}"
        if tctx is not None:
            submission_id = f"flyte-{tctx.action.run_name}-{tctx.action.name}-{uuid.uuid4().hex[:6]}"
        self.job_id = await asyncio.to_thread(
            self.client.submit_job,
            entrypoint=entrypoint,
            runtime_env=self._runtime_env(root_dir),
            submission_id=submission_id,
        )
        logger.info("submitted task %s to the Ray cluster at %s as job %s", task.name, self.address, self.job_id)
        await self._stream_logs()
        status = await self._wait()
        self._finished = True
        if status == "SUCCEEDED":
            output_types = dict(task.interface.outputs)
            values = await read_outputs(outputs_prefix, output_types)
            if values is None:
                values = {}
            names = list(output_types)
            if not names:
                return None
            if len(names) == 1:
                return values[names[0]]
            return tuple(values[n] for n in names)
        error = await read_error(outputs_prefix)
        info = await asyncio.to_thread(self.client.get_job_info, self.job_id)
        if error is not None:
            message = error.message if not error.traceback else f"{error.message}\n{error.traceback}"
            raise RayJobFailedError(error.code or "RayJobFailed", f"task {task.name} failed in Ray job {self.job_id} at {self.address}: {message}")
        message = getattr(info, "message", "") or ""
        if "exit code 127" in message:
            message = (
                f"{command[0]} was not found on the Ray cluster: install flyte (and the task's plugins) "
                f"in the Python environment the cluster runs jobs with. {message}"
            )
        raise RayJobFailedError(
            "RayJobFailed", f"Ray job {self.job_id} of task {task.name} at {self.address} ended {status}: {message}"
        )

    async def _stream_logs(self) -> None:
        try:
            async for lines in self.client.tail_job_logs(self.job_id):
                sys.stdout.write(lines)
                sys.stdout.flush()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # logs are best effort; the job status decides the outcome
            logger.warning("could not stream the logs of Ray job %s: %s", self.job_id, e)

    async def _wait(self) -> str:
        while True:
            status = str(await asyncio.to_thread(self.client.get_job_status, self.job_id))
            status = status.rsplit(".", 1)[-1]
            if status in _TERMINAL:
                return status
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.job_id is not None and not self._finished:
            self._finished = True
            try:
                self.client.stop_job(self.job_id)
            except Exception as e:
                logger.warning("could not stop Ray job %s at %s: %s", self.job_id, self.address, e)
