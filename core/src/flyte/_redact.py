"""Keep secret values out of captured output.

When a task's secrets are resolved (``flyte.Secret`` as an environment variable), the engine
notes their values here. Every line the kit captures from a child process (a server, a JVM, a
worker) goes through :func:`redact` before it is kept, printed or put in an error message, so
that a child echoing its environment does not leak a secret into logs or errors.
"""

from __future__ import annotations

import threading
from typing import Dict, Iterable, Optional, Set, Union

__all__ = ["MASK", "note_secret_values", "redact", "secret_in"]

MASK = "****"
"""What a secret value is replaced with."""

# Values shorter than this are not masked: masking "1" or "a" would garble every line.
_MIN_LENGTH = 4

_lock = threading.Lock()
_values: Set[str] = set()
_ordered: tuple = ()
# value -> the secret's name, for messages saying which secret a withheld value holds
_names: Dict[str, str] = {}


def note_secret_values(values: Iterable[str], name: Optional[str] = None) -> None:
    """Remember secret values that captured output must never show (``name``: the secret's
    name, for messages that say which secret an output holds; never its value)."""
    global _ordered
    with _lock:
        before = len(_values)
        for v in values:
            if isinstance(v, str) and len(v) >= _MIN_LENGTH:
                _values.add(v)
                if name:
                    _names[v] = name
        if len(_values) != before:
            # Longest first, so a secret containing another is masked whole.
            _ordered = tuple(sorted(_values, key=len, reverse=True))


def secret_in(data: Union[str, bytes]) -> Optional[str]:
    """The name of a noted secret whose value occurs in ``data`` (text, or bytes such as a
    serialized value, searched as UTF-8), ``"a secret"`` when its name is unknown, else None."""
    values = _ordered
    if not values or not data:
        return None
    for v in values:
        needle = v if isinstance(data, str) else v.encode("utf-8")
        if needle in data:
            return _names.get(v, "a secret")
    return None


def redact(text: str) -> str:
    """``text`` with every noted secret value replaced by :data:`MASK`."""
    values = _ordered
    if not values or not text:
        return text
    for v in values:
        if v in text:
            text = text.replace(v, MASK)
    return text
