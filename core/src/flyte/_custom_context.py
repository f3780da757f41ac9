"""``flyte.custom_context`` / ``flyte.get_custom_context``: key/values that follow sub-actions."""

from __future__ import annotations

import contextlib
from typing import Dict, Iterator

from flyte._context import current_custom_context, current_run_state, current_task_context
from flyte.errors import ValidationError

__all__ = ["custom_context", "get_custom_context"]


@contextlib.contextmanager
def custom_context(**context: str) -> Iterator[None]:
    """Set key/values for the tasks started inside this block (and, through them, their sub-tasks)."""
    for k, v in context.items():
        if not isinstance(v, str):
            raise ValidationError(k, v, "a string value (custom context is str -> str)", owner="flyte.custom_context")
    merged = {**(current_custom_context.get() or {}), **context}
    token = current_custom_context.set(merged)
    try:
        yield
    finally:
        current_custom_context.reset(token)


def get_custom_context() -> Dict[str, str]:
    """The custom context visible here: the action's (inherited from its callers) plus open blocks."""
    tctx = current_task_context.get()
    if tctx is not None:
        base = dict(tctx.custom_context)
    else:
        state = current_run_state.get()
        base = dict(state.custom_context) if state is not None else {}
    block = current_custom_context.get()
    if block:
        base.update(block)
    return base
