"""Error records of runs and actions: what user code raised, without the engine's own frames."""

from __future__ import annotations

import asyncio
import os
import traceback
from typing import Dict

from flyte.errors import BaseRuntimeError, RuntimeUserError

__all__ = ["error_record", "user_error", "user_traceback"]


def user_error(task_name: str, e: BaseException) -> BaseRuntimeError:
    """The error a caller sees for an exception raised by user code, keeping its traceback."""
    if isinstance(e, BaseRuntimeError):
        return e
    err = RuntimeUserError(type(e).__name__, str(e) or type(e).__name__)
    err.__cause__ = e
    err.traceback = user_traceback(e)  # type: ignore[attr-defined]
    err.task_name = task_name  # type: ignore[attr-defined]
    return err


_FLYTE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep


def user_traceback(e: BaseException) -> str:
    """The exception's traceback without the engine's own frames: what the user's code did."""
    frames = [
        f
        for f in traceback.extract_tb(e.__traceback__)
        if not f.filename.startswith(_FLYTE_DIR) and not f.filename.startswith(_ASYNCIO_DIR)
    ]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    lines += traceback.format_exception_only(type(e), e)
    return "".join(lines)


def error_record(e: BaseException) -> Dict[str, str]:
    tb = getattr(e, "traceback", None)
    if tb is None:
        cause = e.__cause__ or e
        tb = user_traceback(cause)
    kind = getattr(e, "code", None) or type(e).__name__
    return {"type": kind, "message": str(e), "traceback": tb}
