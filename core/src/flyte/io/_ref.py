"""What ``File`` and ``Dir`` share: a path, a name, a format, an optional content hash."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Dict, Optional, TypeVar, Union

from flyte.errors import TypeValidationError

T = TypeVar("T")


class DataRef:
    """A reference to data at a path (local or remote); the data itself is not loaded.

    Subscripting with a format name (``File["csv"]``) gives a subclass whose instances default to
    that format; the format is also put in the literal type.
    """

    _default_format: ClassVar[str] = ""
    _formats: ClassVar[Dict[str, type]]
    _kind: ClassVar[str] = "data"

    __slots__ = ("path", "name", "format", "hash", "hash_method", "__orig_class__", "__weakref__")

    def __init__(
        self,
        path: Union[str, os.PathLike],
        name: Optional[str] = None,
        format: str = "",  # noqa: A002 - published field name
        hash: Optional[str] = None,  # noqa: A002 - published field name
        hash_method: Any = None,
    ):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeValidationError("path", path, "str or os.PathLike", owner=type(self).__name__)
        self.path = str(path)
        self.name = name if name is not None else (os.path.basename(self.path.rstrip("/")) or None)
        self.format = format or type(self)._default_format
        self.hash = hash
        self.hash_method = hash_method

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_formats" not in cls.__dict__:
            cls._formats = {}

    def __class_getitem__(cls, item: Any) -> Any:
        fmt = item if isinstance(item, str) else getattr(item, "__forward_arg__", None)
        if fmt is None:
            # A type variable or a Python type: no format to pin, the class itself stands for it.
            return cls
        sub = cls._formats.get(fmt)
        if sub is None:
            sub = type(f"{cls.__name__}[{fmt}]", (cls,), {"_default_format": fmt, "__slots__": (), "__module__": cls.__module__})
            sub.__qualname__ = f"{cls.__qualname__}[{fmt}]"
            cls._formats[fmt] = sub
        return sub

    @classmethod
    def _base(cls) -> type:
        for c in cls.__mro__:
            if "_formats" in c.__dict__ and c.__dict__.get("_default_format", "") == "" and c is not DataRef:
                return c
        return cls

    # -- equality and display ----------------------------------------------------------------

    def _key(self) -> tuple:
        return (self.path, self.name, self.format, self.hash)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, DataRef) or type(self)._base() is not type(other)._base():
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, format={self.format!r}, hash={self.hash!r})"
        )

    def __getstate__(self) -> Dict[str, Any]:
        return {"path": self.path, "name": self.name, "format": self.format, "hash": self.hash}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        for k in ("path", "name", "format", "hash"):
            setattr(self, k, state.get(k))
        self.hash_method = None

    # -- plain form (inside dataclasses / pydantic models) ------------------------------------

    def _serialize(self) -> Dict[str, Optional[str]]:
        from flyte.io._upload import is_hashing, replacement_for

        obj = replacement_for(self)
        path = obj._stable_identity() if is_hashing() else obj.path
        return {"path": path, "name": obj.name, "format": obj.format, "hash": obj.hash}

    @classmethod
    def _deserialize(cls, value: Dict[str, Optional[str]]) -> Any:
        if "path" not in value or not value["path"]:
            raise TypeValidationError("path", value, f"a mapping with a 'path' for {cls.__name__}", owner=cls.__name__)
        return cls(
            path=value["path"], name=value.get("name"), format=value.get("format") or "", hash=value.get("hash")
        )

    @classmethod
    def _json_schema(cls) -> Dict[str, Any]:
        null_or_str = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
        return {
            "title": cls._base().__name__,
            "type": "object",
            "x-flyte-type": cls._kind,
            "properties": {
                "path": {"title": "Path", "type": "string"},
                "name": {"title": "Name", **null_or_str},
                "format": {"title": "Format", "type": "string", "default": ""},
                "hash": {"title": "Hash", **null_or_str},
            },
            "required": ["path"],
        }

    @classmethod
    def schema_match(cls, incoming: dict) -> bool:
        """Whether a JSON schema describes this type."""
        props = incoming.get("properties", {}) if isinstance(incoming, dict) else {}
        return incoming.get("x-flyte-type") == cls._kind or (
            incoming.get("title") == cls._base().__name__ and {"path", "format"} <= set(props)
        )

    # pydantic integration: only called by pydantic, so pydantic is imported only then.
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def validate(v: Any) -> Any:
            if isinstance(v, cls):
                return v
            if isinstance(v, DataRef):
                return cls(path=v.path, name=v.name, format=v.format, hash=v.hash)
            if isinstance(v, dict):
                return cls._deserialize(v)
            if isinstance(v, (str, os.PathLike)):
                return cls(path=v)
            raise ValueError(f"expected {cls.__name__}, a mapping with 'path', or a path string")

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v._serialize()),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Dict[str, Any]:
        return cls._json_schema()

    # -- location --------------------------------------------------------------------------

    def _is_local(self) -> bool:
        from flyte import storage

        return not storage.is_remote(self.path)

    def _local_path(self) -> str:
        from flyte import storage

        return storage.to_local_path(self.path)

    def _needs_upload(self) -> bool:
        """Local data outside the run's raw data path must be copied there at task boundaries."""
        from flyte.io._upload import under_raw_data_path

        return self._is_local() and os.path.exists(self._local_path()) and not under_raw_data_path(self.path)

    def _stable_identity(self) -> str:
        raise NotImplementedError

    async def _uploaded(self) -> Any:
        raise NotImplementedError
