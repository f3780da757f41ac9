"""Task inputs, outputs and errors as files at a storage URI.

A container run exchanges data with whoever started it through three kinds of file:

* ``inputs.pb``: the inputs, a flyteidl2 ``LiteralMap`` (``--inputs`` names the file itself, or a
  folder holding ``inputs.pb``);
* ``outputs.pb`` under the outputs prefix: the outputs, a ``LiteralMap``;
* ``error.pb`` and ``error.json`` under the outputs prefix when the task failed: a flyteidl2
  ``ErrorDocument`` for control planes, and the same facts (kind, code, message, the user's
  traceback) as JSON for people and tools.

Paths may be plain paths, ``file://`` URIs or any fsspec URI (``s3://``, ``gs://``, ``memory://``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Literal, Optional

from flyte import storage

if TYPE_CHECKING:
    from flyteidl2.core import literals_pb2

__all__ = [
    "ERROR_FILE",
    "ERROR_JSON_FILE",
    "INPUTS_FILE",
    "OUTPUTS_FILE",
    "ErrorInfo",
    "inputs_uri",
    "read_error",
    "read_inputs",
    "read_literal_map",
    "read_outputs",
    "write_error",
    "write_inputs",
    "write_literal_map",
    "write_outputs",
]

INPUTS_FILE = "inputs.pb"
OUTPUTS_FILE = "outputs.pb"
ERROR_FILE = "error.pb"
ERROR_JSON_FILE = "error.json"


def inputs_uri(uri: str) -> str:
    """The inputs file that ``uri`` designates: itself, or ``inputs.pb`` inside a folder URI."""
    if uri.endswith("/") or (not storage.is_remote(uri) and _is_local_dir(uri)):
        return storage.join(uri, INPUTS_FILE)
    return uri


def _is_local_dir(uri: str) -> bool:
    import os

    return os.path.isdir(storage.to_local_path(uri))


async def write_literal_map(uri: str, lm: "literals_pb2.LiteralMap") -> str:
    """Write ``lm`` as a protobuf file at ``uri`` (deterministic bytes); return ``uri``."""
    return await storage.put_stream(lm.SerializeToString(deterministic=True), to_path=uri)


async def read_literal_map(uri: str) -> Optional["literals_pb2.LiteralMap"]:
    """The ``LiteralMap`` stored at ``uri``, or None when there is no file there.

    Raises ``ValueError`` naming the URI when the file is not a ``LiteralMap``.
    """
    from flyteidl2.core import literals_pb2
    from google.protobuf.message import DecodeError

    if not await storage.exists(uri):
        return None
    fh = await storage.open(uri, "rb")
    try:
        data = await fh.read()
    finally:
        await fh.close()
    lm = literals_pb2.LiteralMap()
    try:
        lm.ParseFromString(data)
    except DecodeError as e:
        raise ValueError(f"{uri} is not a flyteidl2 LiteralMap protobuf file: {e}") from e
    return lm


async def write_inputs(uri: str, values: Dict[str, Any], types: Dict[str, Any]) -> str:
    """Convert ``values`` with the type engine and write them as the inputs file at ``uri``."""
    from flyte.types import TypeEngine

    lm = await TypeEngine.dict_to_literal_map(values, types)
    return await write_literal_map(inputs_uri(uri), lm)


async def read_inputs(uri: str, types: Dict[str, Any]) -> Dict[str, Any]:
    """The inputs at ``uri`` as Python values of ``types``; no file means no inputs (``{}``)."""
    from flyte.types import TypeEngine

    lm = await read_literal_map(inputs_uri(uri))
    if lm is None:
        return {}
    return await TypeEngine.literal_map_to_kwargs(lm, types)


async def write_outputs(prefix: str, values: Dict[str, Any], types: Dict[str, Any]) -> str:
    """Convert ``values`` and write them as ``outputs.pb`` under ``prefix``; return its URI."""
    from flyte.types import TypeEngine

    lm = await TypeEngine.dict_to_literal_map(values, types)
    return await write_literal_map(storage.join(prefix, OUTPUTS_FILE), lm)


async def read_outputs(prefix: str, types: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The outputs under ``prefix`` as Python values of ``types``; None when none were written."""
    from flyte.types import TypeEngine

    lm = await read_literal_map(storage.join(prefix, OUTPUTS_FILE))
    if lm is None:
        return None
    return await TypeEngine.literal_map_to_kwargs(lm, types)


@dataclass
class ErrorInfo:
    """Why a task run failed, as written to the error documents.

    ``kind`` is ``"user"`` (the task's code or its inputs) or ``"system"`` (the machinery around
    it); ``code`` a short machine name (the exception class); ``traceback`` the user's
    traceback when there is one. ``recoverable`` tells a control plane whether retrying the
    whole container may help (user errors have had their retries already).
    """

    kind: Literal["user", "system"]
    code: str
    message: str
    traceback: str = ""
    task: Optional[str] = None
    recoverable: bool = False
    details: Dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Error documents outlive the container: a resolved secret's value never goes in one.
        from flyte._redact import redact

        self.message = redact(self.message)
        self.traceback = redact(self.traceback or "")

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


async def write_error(prefix: str, info: ErrorInfo) -> str:
    """Write ``error.pb`` (flyteidl2 ``ErrorDocument``) and ``error.json`` under ``prefix``."""
    from flyteidl2.core import execution_pb2

    message = info.message if not info.traceback else f"{info.message}\n\n{info.traceback}"
    doc = execution_pb2.ErrorDocument(
        error=execution_pb2.ContainerError(
            code=info.code,
            message=message,
            kind=(
                execution_pb2.ContainerError.RECOVERABLE
                if info.recoverable
                else execution_pb2.ContainerError.NON_RECOVERABLE
            ),
            origin=execution_pb2.ExecutionError.USER if info.kind == "user" else execution_pb2.ExecutionError.SYSTEM,
        )
    )
    uri = storage.join(prefix, ERROR_FILE)
    await storage.put_stream(doc.SerializeToString(deterministic=True), to_path=uri)
    text = json.dumps(info.to_dict(), indent=2).encode("utf-8")
    await storage.put_stream(text, to_path=storage.join(prefix, ERROR_JSON_FILE))
    return uri


async def read_error(prefix: str) -> Optional[ErrorInfo]:
    """The error written under ``prefix`` (from ``error.json``, else ``error.pb``), or None."""
    json_uri = storage.join(prefix, ERROR_JSON_FILE)
    if await storage.exists(json_uri):
        fh = await storage.open(json_uri, "rb")
        try:
            data = json.loads((await fh.read()).decode("utf-8"))
        finally:
            await fh.close()
        return ErrorInfo(**data)
    pb_uri = storage.join(prefix, ERROR_FILE)
    if not await storage.exists(pb_uri):
        return None
    from flyteidl2.core import execution_pb2

    fh = await storage.open(pb_uri, "rb")
    try:
        doc = execution_pb2.ErrorDocument.FromString(await fh.read())
    finally:
        await fh.close()
    err = doc.error
    return ErrorInfo(
        kind="user" if err.origin == execution_pb2.ExecutionError.USER else "system",
        code=err.code,
        message=err.message,
        recoverable=err.kind == execution_pb2.ContainerError.RECOVERABLE,
    )
