"""``ContainerTask``: a task that runs a command in a container image of your choice.

On a cluster the task's pod runs ``command + arguments`` in ``image``; the backend's copilot
writes the inputs under ``input_data_dir`` and reads the outputs from files under
``output_data_dir`` (``DataLoadingConfig``). It serializes and appears in manifests like any
task: its container's command is its own, not ``flyte-execute``.

Locally the engine does the same with ``docker`` or ``podman`` (``FLYTE_CONTAINER_RUNTIME``
names one, else the first found on ``PATH``): each input is written as a file
``<input_data_dir>/<name>`` (a ``File`` or ``Dir`` copied there), ``{{.inputs.<name>}}`` in
the command is replaced by the value, the container runs with both folders mounted, and each
output is read back from ``<output_data_dir>/<name>``. Without a container runtime the task
fails with :class:`ContainerRuntimeError` saying so.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import inspect
import json
import os
import pathlib
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Optional, Tuple, Type, Union

from flyte._task import TaskTemplate
from flyte.errors import RuntimeUserError, ValidationError
from flyte.models import NativeInterface, SerializationContext

__all__ = ["ContainerRuntimeError", "ContainerTask"]

_TEMPLATE = re.compile(r"\{\{\s*\.inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_RUNTIMES = ("docker", "podman")
_OUTPUT_TAIL = 20  # lines of the container's output quoted when it fails


class ContainerRuntimeError(RuntimeUserError):
    """A ``ContainerTask`` could not run locally: no ``docker``/``podman``, a runtime that does
    not answer, or a container that exited non-zero (the message quotes its last lines)."""

    def __init__(self, message: str, code: str = "ContainerRuntime"):
        super().__init__(code, message)


MetadataFormat = Literal["JSON", "YAML", "PROTO"]


@dataclass(kw_only=True, init=False)
class ContainerTask(TaskTemplate):
    """Run ``command`` (+ ``arguments``) in ``image``, with typed inputs and outputs.

    Args:
        name: The task's name.
        image: The image to run (a URI such as ``"alpine:3.20"``, or a ``flyte.Image``).
        command: The command, a list of strings; ``{{.inputs.x}}`` is replaced by input ``x``.
        inputs: Input name -> type.
        arguments: More strings appended to the command.
        outputs: Output name -> type; each is read from the file ``<output_data_dir>/<name>``.
        input_data_dir: Where the inputs appear in the container (default ``/var/inputs``).
        output_data_dir: Where the container writes its outputs (default ``/var/outputs``).
        metadata_format: How the cluster's copilot writes input metadata: JSON, YAML or PROTO.
        local_logs: Print the container's output in local runs (it is captured as the task's log).
        file_input_layout: ``"DIRECT"`` (a file input is ``<input_data_dir>/<name>``) or
            ``"NAMED_DIR"`` (a folder ``<name>`` holding the file under its own name).

    Other task settings (``cache``, ``retries``, ``timeout``, ``resources``, ``env_vars``,
    ``secrets``...) are those of every task.
    """

    interface: NativeInterface = field(default=None)  # type: ignore[assignment] # built from inputs/outputs
    command: List[str] = field(default_factory=list)
    inputs: Optional[Dict[str, Type]] = None
    arguments: Optional[List[str]] = None
    outputs: Optional[Dict[str, Type]] = None
    input_data_dir: Union[str, pathlib.Path] = "/var/inputs"
    output_data_dir: Union[str, pathlib.Path] = "/var/outputs"
    metadata_format: MetadataFormat = "JSON"
    local_logs: bool = True
    file_input_layout: Literal["DIRECT", "NAMED_DIR"] = "DIRECT"
    task_type: str = "raw-container"

    def __init__(
        self,
        name: str,
        image: Any,
        command: List[str],
        inputs: Optional[Dict[str, Type]] = None,
        arguments: Optional[List[str]] = None,
        outputs: Optional[Dict[str, Type]] = None,
        input_data_dir: Union[str, pathlib.Path] = "/var/inputs",
        output_data_dir: Union[str, pathlib.Path] = "/var/outputs",
        metadata_format: MetadataFormat = "JSON",
        local_logs: bool = True,
        file_input_layout: Literal["DIRECT", "NAMED_DIR"] = "DIRECT",
        **kwargs: Any,
    ):
        # The published signature (name, image and command may be positional); the task settings
        # of every task come as keywords. dataclasses.replace (override()) calls this too.
        self.command = command
        self.inputs = inputs
        self.arguments = arguments
        self.outputs = outputs
        self.input_data_dir = input_data_dir
        self.output_data_dir = output_data_dir
        self.metadata_format = metadata_format
        self.local_logs = local_logs
        self.file_input_layout = file_input_layout
        kwargs.setdefault("task_type", "raw-container")
        kwargs.setdefault("interface", None)
        TaskTemplate.__init__(self, name=name, image=image, **kwargs)

    def __post_init__(self) -> None:
        owner = f"ContainerTask {self.name}"
        if not isinstance(self.command, (list, tuple)) or not self.command or not all(isinstance(c, str) for c in self.command):
            raise ValidationError("command", self.command, "a non-empty list of strings", owner=owner)
        if self.arguments is not None and (
            not isinstance(self.arguments, (list, tuple)) or not all(isinstance(a, str) for a in self.arguments)
        ):
            raise ValidationError("arguments", self.arguments, "None or a list of strings", owner=owner)
        for what, spec in (("inputs", self.inputs), ("outputs", self.outputs)):
            if spec is not None and (not isinstance(spec, dict) or not all(isinstance(k, str) and k.isidentifier() for k in spec)):
                raise ValidationError(what, spec, "None or a dict of name (an identifier) -> type", owner=owner)
        if self.metadata_format not in ("JSON", "YAML", "PROTO"):
            raise ValidationError("metadata_format", self.metadata_format, "'JSON', 'YAML' or 'PROTO'", owner=owner)
        if self.file_input_layout not in ("DIRECT", "NAMED_DIR"):
            raise ValidationError("file_input_layout", self.file_input_layout, "'DIRECT' or 'NAMED_DIR'", owner=owner)
        for what in ("input_data_dir", "output_data_dir"):
            value = str(getattr(self, what))
            if not value.startswith("/"):
                raise ValidationError(what, value, "an absolute path inside the container", owner=owner)
        if self.image is None or self.image == "auto" or (isinstance(self.image, str) and not self.image.strip()):
            raise ValidationError("image", self.image, "the image to run: a URI such as 'alpine:3.20', or a flyte.Image", owner=owner)
        self.command = list(self.command)
        self.arguments = list(self.arguments) if self.arguments is not None else None
        used = {m for part in self.command + (self.arguments or []) for m in _TEMPLATE.findall(part)}
        unknown = sorted(used - set(self.inputs or {}))
        if unknown:
            raise ValidationError(
                "command", f"{{{{.inputs.{unknown[0]}}}}}", f"a reference to one of the inputs: {', '.join(self.inputs or {}) or '(none)'}",
                owner=owner,
            )
        if self.interface is None:
            self.interface = NativeInterface(
                {k: (t, inspect.Parameter.empty) for k, t in (self.inputs or {}).items()}, dict(self.outputs or {})
            )
        super().__post_init__()
        self._set_cache_version()

    def _spec(self) -> Dict[str, Any]:
        return {
            "command": self.command,
            "arguments": self.arguments or [],
            "input_data_dir": str(self.input_data_dir),
            "output_data_dir": str(self.output_data_dir),
            "metadata_format": self.metadata_format,
            "file_input_layout": self.file_input_layout,
        }

    def _set_cache_version(self) -> None:
        # A container task has no Python function whose source could version its cache: what it
        # runs (image, command, staging) does. An explicit version_override still wins.
        from flyte._cache import cache_from_request

        cache = cache_from_request(self.cache)
        if cache is None or cache.behavior != "auto" or cache.version_override:
            return
        body = json.dumps({"image": self._image_ref(), **self._spec()}, sort_keys=True)
        self.__dict__["_flyte_cache_version"] = hashlib.sha256(body.encode()).hexdigest()

    def _image_ref(self) -> str:
        image = self.image
        if isinstance(image, str):
            return image
        uri = getattr(image, "uri", None)
        return uri if isinstance(uri, str) else repr(image)

    # -- description for clusters -------------------------------------------------------------
    def container_args(self, sctx: SerializationContext) -> List[str]:
        """The container's command: ``command + arguments`` (templates left for the cluster)."""
        return self.command + (self.arguments or [])

    def data_loading_config(self, sctx: SerializationContext) -> Any:
        """Where the cluster's copilot puts inputs and finds outputs."""
        from flyteidl2.core import tasks_pb2

        fmt = {"JSON": tasks_pb2.DataLoadingConfig.JSON, "YAML": tasks_pb2.DataLoadingConfig.YAML, "PROTO": tasks_pb2.DataLoadingConfig.PROTO}
        config = tasks_pb2.DataLoadingConfig(
            enabled=True,
            input_path=str(self.input_data_dir),
            output_path=str(self.output_data_dir),
            format=fmt[self.metadata_format],
        )
        if self.file_input_layout == "NAMED_DIR":
            if not hasattr(tasks_pb2.DataLoadingConfig, "NAMED_DIR"):
                raise ValidationError(
                    "file_input_layout", "NAMED_DIR", "'DIRECT' with this flyteidl2 (upgrade flyteidl2 for NAMED_DIR)",
                    owner=f"ContainerTask {self.name}",
                )
            config.file_input_layout = tasks_pb2.DataLoadingConfig.NAMED_DIR
        return config

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeUserError(
            "ContainerTaskOutsideRun",
            f"ContainerTask {self.name} runs a container; call it inside a run (flyte.run or a calling task)",
        )

    # -- local execution ----------------------------------------------------------------------
    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Run the container with ``docker``/``podman`` and read the outputs back."""
        if args:
            kwargs = {**dict(zip(self.interface.inputs, args)), **kwargs}
        runtime = await _container_runtime(self.name)
        work = pathlib.Path(tempfile.mkdtemp(prefix="flyte-container-"))
        try:
            in_dir, out_dir = work / "inputs", work / "outputs"
            in_dir.mkdir()
            out_dir.mkdir()
            await self._stage_inputs(in_dir, kwargs)
            command = [_render(part, kwargs) for part in self.command + (self.arguments or [])]
            await self._run(runtime, command, in_dir, out_dir)
            values = [await _read_output(self.name, out_dir / k, t) for k, t in (self.outputs or {}).items()]
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not values:
            return None
        return values[0] if len(values) == 1 else tuple(values)

    async def _stage_inputs(self, in_dir: pathlib.Path, values: Dict[str, Any]) -> None:
        from flyte.io import Dir, File

        for name, value in values.items():
            target = in_dir / name
            if isinstance(value, File):
                local = await _local_copy(value)
                if self.file_input_layout == "NAMED_DIR":
                    target.mkdir()
                    target = target / (os.path.basename(value.name or local) or name)
                shutil.copyfile(local, target)
            elif isinstance(value, Dir):
                shutil.copytree(await _local_copy(value), target)
            elif isinstance(value, list) and value and all(isinstance(v, File) for v in value):
                target.mkdir()
                for i, f in enumerate(value):
                    local = await _local_copy(f)
                    base = os.path.basename(f.name or local) if self.file_input_layout == "NAMED_DIR" else str(i)
                    shutil.copyfile(local, target / (base if not (target / base).exists() else f"{i}_{base}"))
            else:
                target.write_text(_scalar_text(value), encoding="utf-8")

    async def _run(self, runtime: str, command: List[str], in_dir: pathlib.Path, out_dir: pathlib.Path) -> None:
        name = f"flyte-{re.sub(r'[^a-zA-Z0-9_.-]', '-', self.name)[:40]}-{uuid.uuid4().hex[:8]}"
        argv = [runtime, "run", "--rm", "--name", name]
        argv += ["-v", f"{in_dir}:{self.input_data_dir}:ro", "-v", f"{out_dir}:{self.output_data_dir}"]
        for k, v in (self.env_vars or {}).items():
            argv += ["-e", f"{k}={v}"]
        if hasattr(os, "getuid"):  # outputs written as the user, so the engine can read and remove them
            argv += ["--user", f"{os.getuid()}:{os.getgid()}"]
        argv += [self._image_uri(), *command]
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        tail: List[str] = []
        try:
            assert proc.stdout is not None
            async for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                tail = (tail + [line])[-_OUTPUT_TAIL:]
                if self.local_logs:
                    print(f"[{self.name}] {line}", flush=True)
            code = await proc.wait()
        except BaseException:
            # Cancelled or timed out: the container goes too, not only the client process.
            await _stop(proc, runtime, name)
            raise
        if code != 0:
            last = "\n".join(tail) or "(no output)"
            raise ContainerRuntimeError(
                f"ContainerTask {self.name}: the container ({self._image_uri()}) exited with code {code}; its last lines:\n{last}",
                code="ContainerFailed",
            )

    def _image_uri(self) -> str:
        return self._image_ref()


def _render(part: str, values: Dict[str, Any]) -> str:
    return _TEMPLATE.sub(lambda m: _scalar_text(values[m.group(1)]), part)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as the cluster renders it
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


async def _local_copy(value: Any) -> str:
    from flyte._uri import is_remote, to_local_path

    path = str(value.path)
    if not is_remote(path):
        return to_local_path(path)
    return str(await value.download())


_TIMEDELTA = re.compile(r"^(?:(\d+) days?, )?(\d+):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6}))?$")


def _parse_timedelta(text: str) -> _dt.timedelta:
    m = _TIMEDELTA.match(text)
    if m is not None:
        days, h, mi, s, frac = m.groups()
        return _dt.timedelta(
            days=int(days or 0), hours=int(h), minutes=int(mi), seconds=int(s), microseconds=int((frac or "0").ljust(6, "0"))
        )
    return _dt.timedelta(seconds=float(text))  # plain seconds, e.g. "1.5"


async def _read_output(task: str, path: pathlib.Path, tp: Any) -> Any:
    from flyte.io import Dir, File

    owner = f"ContainerTask {task}"
    if isinstance(tp, type) and issubclass(tp, (File, Dir)):
        if not path.exists():
            raise ValidationError(f"output {path.name!r}", str(path.name), "a file or folder the container wrote under its output directory", owner=owner)
        # Copied to the run's raw data path before the work folder goes.
        return await (Dir if issubclass(tp, Dir) else File).from_local(str(path))
    if not path.is_file():
        raise ValidationError(f"output {path.name!r}", None, f"a file {path.name} written by the container under its output directory", owner=owner)
    text = path.read_text(encoding="utf-8").strip()
    try:
        if tp is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return text.lower() in ("true", "1")
        if tp is _dt.datetime:
            return _dt.datetime.fromisoformat(text)
        if tp is _dt.timedelta:
            return _parse_timedelta(text)
        if tp in (int, float, str):
            return tp(text)
        return json.loads(text)
    except ValueError as e:
        raise ValidationError(f"output {path.name!r}", text[:80], f"a value of type {getattr(tp, '__name__', tp)}", owner=owner) from e


_runtime_checked: Dict[str, Optional[str]] = {}


async def _container_runtime(task: str) -> str:
    """The container CLI to use, checked once per process to answer (its daemon runs)."""
    chosen = os.environ.get("FLYTE_CONTAINER_RUNTIME")
    candidates: Tuple[str, ...] = (chosen,) if chosen else _RUNTIMES
    found = [p for p in (shutil.which(c) for c in candidates) if p]
    if not found:
        where = f"FLYTE_CONTAINER_RUNTIME={chosen!r} is not an executable" if chosen else "neither docker nor podman is on PATH"
        raise ContainerRuntimeError(
            f"ContainerTask {task} runs locally in a container through docker or podman, but {where}; "
            "install one (or set FLYTE_CONTAINER_RUNTIME), or run the task on a cluster",
            code="ContainerRuntimeNotFound",
        )
    runtime = found[0]
    if runtime not in _runtime_checked:
        proc = await asyncio.create_subprocess_exec(
            runtime, "info", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        except BaseException:
            await _stop(proc, None, None)
            raise
        lines = err.decode("utf-8", "replace").strip().splitlines()
        _runtime_checked[runtime] = None if proc.returncode == 0 else (lines[-1] if lines else f"exit code {proc.returncode}")
    problem = _runtime_checked[runtime]
    if problem is not None:
        raise ContainerRuntimeError(
            f"ContainerTask {task} runs locally through {runtime}, which does not answer ({runtime} info: {problem}); "
            "start its daemon (or set FLYTE_CONTAINER_RUNTIME to another runtime), or run the task on a cluster",
            code="ContainerRuntimeNotFound",
        )
    return runtime


async def _stop(proc: Any, runtime: Optional[str], name: Optional[str]) -> None:
    """Stop a container client by its pid (TERM, wait, KILL), and the container by its name."""
    if name is not None and runtime is not None:
        try:
            rm = await asyncio.create_subprocess_exec(
                runtime, "rm", "-f", name, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            await asyncio.wait_for(rm.wait(), 30)
        except (OSError, asyncio.TimeoutError):
            pass
    if proc.returncode is None:
        try:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
        except ProcessLookupError:
            pass
