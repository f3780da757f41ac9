"""Ray tasks on an existing cluster: a Ray Client driver here, or a job through the Jobs API.

* ``ray://host:10001``: this process becomes a Ray Client driver of the cluster and the task
  body runs here, its ``@ray.remote`` calls running there.
* ``http://host:8265``: the task is submitted through the Ray Jobs API with its container
  command (``flyte-execute ...``) as the entrypoint (:func:`flyte.extend.container_call`);
  inputs are written as a file the job reads, its logs are streamed to this process's output,
  and its outputs (or error) read back.
* ``host:6379`` / ``auto``: this process connects as a regular driver of that cluster.
* Inside a Ray job (how the Jobs API and KubeRay run the task), the task connects to the job's
  own cluster.

Connections are shared by the Ray tasks of the process like local Ray is
(:mod:`flyteplugins.ray._process`). Every address is first probed with a plain TCP connection
(:func:`flyte.extend.probe_tcp`), so an unreachable cluster is an error naming the address within
seconds rather than a long hang inside Ray's retries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import sys
from typing import Any, Dict, Optional

from flyte.errors import ClusterUnreachableError, RuntimeUserError
from flyte.extend import Lease, RemoteCall, collect_outputs, open_cancellably, prepare_remote_call, probe_tcp
from flyte.extend import read_remote_error, redact

from flyteplugins.ray._process import RayRuntime, RayShape, acquire, env_key
from flyteplugins.ray._session import RaySession, require_ray
from flyteplugins.ray.config import ADDRESS_ENV_VAR, RayJobConfig

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

RAY_DEFAULT_PORTS = {"ray": 10001, "http": 80, "https": 443}

# What a Ray job may finish as.
_TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
# The working directory shipped to a job: the project, without what never belongs in it.
_WORKING_DIR_EXCLUDES = [".venv", "venv", ".git", "__pycache__", "*.pyc", ".tox", "*.egg-info", "build", "dist"]
_ADDRESS_HINT = f"RayJobConfig.address or {ADDRESS_ENV_VAR}"


class RayClusterUnreachableError(ClusterUnreachableError):
    """The Ray cluster address given to a task does not answer."""

    def __init__(self, address: str, reason: str):
        super().__init__(address, reason, hint=_ADDRESS_HINT, code="RayClusterUnreachable")
        # The message names Ray: the published plugin's users search their logs for it.
        self.args = (f"cannot reach the Ray cluster at {address}: {reason}. Check the address "
                     f"({_ADDRESS_HINT}) and that the cluster is running",)


class RayJobFailedError(RuntimeUserError):
    """A task submitted through the Ray Jobs API did not succeed."""


async def probe(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`RayClusterUnreachableError` unless ``address`` accepts a TCP connection
    within ``timeout`` seconds."""
    try:
        await probe_tcp(address, RAY_DEFAULT_PORTS, timeout=timeout, hint=_ADDRESS_HINT)
    except ClusterUnreachableError as e:
        raise RayClusterUnreachableError(address, e.reason) from e.__cause__


class ClusterDriverSession(RaySession):
    """This process as a driver (Ray Client or plain) of a running cluster; ``stop`` releases
    the shared connection (the cluster keeps running)."""

    def __init__(self, data: Dict[str, Any], lease: "Lease[RayRuntime]"):
        super().__init__(data)
        self.kind = data["ray_target"]
        self.lease = lease

    def release(self) -> None:
        self.lease.release()


def _start_connection(address: Optional[str], runtime_env: Optional[dict], kind: str) -> RayRuntime:
    ray = require_ray()
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
    return RayRuntime({})


def _connect(address: Optional[str], runtime_env: Optional[dict], kind: str) -> ClusterDriverSession:
    shape = RayShape(kind, address or "auto", runtime_env=env_key(runtime_env))
    lease = acquire(shape, lambda: _start_connection(address, runtime_env, kind))
    data = {"ray_target": kind, "ray_address": address or "auto", "ray_reused": not lease.owned, "ray_warm": lease.reused}
    return ClusterDriverSession(data, lease)


async def open_session(kind: str, address: Optional[str], config: RayJobConfig) -> RaySession:
    """Open the session of a non-local target (see :func:`flyteplugins.ray.task.target_address`)."""
    if kind == "job-driver":
        # The job's runtime env is already applied to this process.
        return await open_cancellably(lambda: _connect(None, None, kind), lambda s: s.stop())
    assert address is not None
    if address != "auto":
        await probe(address)
    if kind in ("client", "driver"):
        return await open_cancellably(lambda: _connect(address, config.runtime_env, kind), lambda s: s.stop())
    if kind == "jobs":
        return await JobSubmissionSession.open(address, config)
    raise ValueError(f"unknown Ray target kind {kind!r}")


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
        call = await prepare_remote_call(task, kwargs, prefix="ray-jobs")
        status = await self._submit(task, call)
        where = f"in Ray job {self.job_id} at {self.address}"
        if status == "SUCCEEDED":
            return await collect_outputs(task, call, error_type=RayJobFailedError, where=where)
        error = await read_remote_error(call)
        if error is not None:
            await collect_outputs(task, call, error_type=RayJobFailedError, where=where)  # raises the task's error
        info = await asyncio.to_thread(self.client.get_job_info, self.job_id)
        message = getattr(info, "message", "") or ""
        if "exit code 127" in message:
            message = (
                f"{call.command[0]} was not found on the Ray cluster: install flyte (and the task's plugins) "
                f"in the Python environment the cluster runs jobs with. {message}"
            )
        raise RayJobFailedError(
            "RayJobFailed", f"Ray job {self.job_id} of task {task.name} at {self.address} ended {status}: {message}"
        )

    async def _submit(self, task: Any, call: RemoteCall) -> str:
        # A cluster started from a virtual environment that was not activated (`.venv/bin/ray
        # start` on a laptop) lacks the environment's scripts on PATH; this interpreter's folder
        # goes first. On a remote cluster that folder does not exist and changes nothing.
        bindir = os.path.dirname(sys.executable)
        entrypoint = f'PATH={shlex.quote(bindir)}:"$PATH" ' + shlex.join(call.command)
        # Known before submitting: a task cancelled while the submission is in flight still
        # stops its job in release().
        self.job_id = call.name
        self.job_id = await asyncio.to_thread(
            self.client.submit_job,
            entrypoint=entrypoint,
            runtime_env=self._runtime_env(call.root_dir),
            submission_id=call.name,
        )
        logger.info("submitted task %s to the Ray cluster at %s as job %s", task.name, self.address, self.job_id)
        await self._stream_logs()
        status = await self._wait()
        self._finished = True
        return status

    async def _stream_logs(self) -> None:
        try:
            async for lines in self.client.tail_job_logs(self.job_id):
                sys.stdout.write(redact(lines))
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

    def release(self) -> None:
        if self.job_id is not None and not self._finished:
            self._finished = True
            try:
                self.client.stop_job(self.job_id)
            except Exception as e:
                logger.warning("could not stop Ray job %s at %s: %s", self.job_id, self.address, e)
