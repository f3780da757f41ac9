"""Error records of runs and actions: what user code raised, without the engine's own frames."""

from __future__ import annotations

import asyncio
import os
import traceback
from typing import Any, Dict, Optional

from flyte.errors import BaseRuntimeError, RuntimeUserError

__all__ = ["error_record", "strip_engine_frames", "timeout_traceback", "user_error", "user_traceback"]


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
_STDLIB_DIR = os.path.dirname(os.__file__) + os.sep


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


def _user_frames(frames: "traceback.StackSummary") -> list:
    return [f for f in frames if not f.filename.startswith(_FLYTE_DIR) and not f.filename.startswith(_ASYNCIO_DIR)]


def timeout_traceback(err: BaseException, interrupted: Optional[BaseException]) -> str:
    """The traceback of a task timeout: where the user's code was when its time ran out.

    ``interrupted`` is the exception the body was stopped with (the ``CancelledError`` of an
    async body, whose frames end at the ``await`` that was waiting); a sync body cannot be
    stopped, so the bridge records its thread's stack on it as ``abandoned_stack``.
    """
    lines = ["Traceback (most recent call last):\n"]
    stack = getattr(interrupted, "abandoned_stack", None) if interrupted is not None else None
    if stack is not None:
        lines = ["Stack of the sync body when its timeout passed (most recent call last; it was left running):\n"]
        frames = _user_frames(stack)
        # The worker thread's own start-up frames (threading) come before the body's: drop them.
        while frames and frames[0].filename.startswith(_STDLIB_DIR):
            frames.pop(0)
        lines += traceback.format_list(frames)
    elif interrupted is not None:
        lines += traceback.format_list(_user_frames(traceback.extract_tb(interrupted.__traceback__)))
    lines += traceback.format_exception_only(type(err), err)
    return "".join(lines)


def error_record(e: BaseException) -> Dict[str, str]:
    tb = getattr(e, "traceback", None)
    if tb is None:
        cause = e.__cause__ or e
        tb = user_traceback(cause)
    kind = getattr(e, "code", None) or type(e).__name__
    return {"type": kind, "message": str(e), "traceback": tb}


def _engine_frame(tb: Any) -> bool:
    name = tb.tb_frame.f_code.co_filename
    return name.startswith(_FLYTE_DIR) or name.startswith(_ASYNCIO_DIR)


def strip_engine_frames(e: BaseException) -> BaseException:
    """Drop the engine's own frames from the tracebacks of ``e`` and its causes, in place.

    What a run raises to the user then reads as their code: the task's line that failed, the
    caller's line that called it, and nothing of the controller, asyncio or the store between.
    ``FLYTE_DEBUG=1`` keeps every frame. Returns ``e``.
    """
    if os.environ.get("FLYTE_DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
        return e
    import types

    seen: set = set()
    current: Optional[BaseException] = e
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kept = []
        tb = current.__traceback__
        while tb is not None:
            if not _engine_frame(tb):
                kept.append(tb)
            tb = tb.tb_next
        if kept or current.__traceback__ is not None:
            chain = None
            for t in reversed(kept):
                chain = types.TracebackType(chain, t.tb_frame, t.tb_lasti, t.tb_lineno)
            current.__traceback__ = chain
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return e
