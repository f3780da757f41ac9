"""Keep secret values out of captured output.

When a task's secrets are resolved (``flyte.Secret`` as an environment variable), the engine
notes their values here. Every line the kit captures from a child process (a server, a JVM, a
worker) goes through :func:`redact` before it is kept, printed or put in an error message, so
that a child echoing its environment does not leak a secret into logs or errors.
"""

from __future__ import annotations

import threading
from typing import Iterable, Set

__all__ = ["MASK", "note_secret_values", "redact"]

MASK = "****"
"""What a secret value is replaced with."""

# Values shorter than this are not masked: masking "1" or "a" would garble every line.
_MIN_LENGTH = 4

_lock = threading.Lock()
_values: Set[str] = set()
_ordered: tuple = ()


def note_secret_values(values: Iterable[str]) -> None:
    """Remember secret values that captured output must never show."""
    global _ordered
    with _lock:
        before = len(_values)
        _values.update(v for v in values if isinstance(v, str) and len(v) >= _MIN_LENGTH)
        if len(_values) != before:
            # Longest first, so a secret containing another is masked whole.
            _ordered = tuple(sorted(_values, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` with every noted secret value replaced by :data:`MASK`."""
    values = _ordered
    if not values or not text:
        return text
    for v in values:
        if v in text:
            text = text.replace(v, MASK)
    return text
