"""User-defined content hashes for files: ``File.from_local(p, hash_method=HashFunction(fn))``."""

from __future__ import annotations

from typing import Any, Callable, Optional

__all__ = ["HashFunction"]


class HashFunction:
    """A hash computed by a user function over the whole content.

    ``update(data)`` replaces the value with ``fn(data)`` (the function sees all the data at
    once); ``result()`` returns it. hashlib objects can be passed as ``hash_method`` directly.
    """

    def __init__(self, fn: Callable[[Any], str]):
        self._fn = fn
        self._value: Optional[str] = None

    @classmethod
    def from_fn(cls, fn: Callable[[Any], str]) -> "HashFunction":
        """Same as ``HashFunction(fn)``."""
        return cls(fn)

    def update(self, data: Any) -> None:
        """Hash ``data`` with the function."""
        self._value = self._fn(data)

    def result(self) -> str:
        """The hash of the data last given to :meth:`update`."""
        if self._value is None:
            raise ValueError("HashFunction.result() called before update()")
        return self._value
