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


class BlobRefTransformer:
    """What the ``File`` and ``Dir`` transformers share: a ``Blob`` literal whose URI is the data.

    Subclasses set ``ref_type`` (the ``DataRef`` class) and ``multipart`` (a directory). Local
    data is uploaded to the run's raw data path when converted; while hashing inputs for a cache
    key, the stable identity (content hash) stands for the URI.
    """

    local_roundtrip = True
    ref_type: ClassVar[type]
    multipart: ClassVar[bool]

    def _dimensionality(self) -> Any:
        from flyteidl2.core import types_pb2

        dims = types_pb2.BlobType.BlobDimensionality
        return dims.MULTIPART if self.multipart else dims.SINGLE

    def get_literal_type(self, t: Any) -> Any:
        from flyteidl2.core import types_pb2

        fmt = getattr(t, "_default_format", "") if isinstance(t, type) else ""
        return types_pb2.LiteralType(blob=types_pb2.BlobType(format=fmt, dimensionality=self._dimensionality()))

    def assert_type(self, t: Any, v: Any) -> None:
        from flyte.types import TypeTransformerFailedError

        if not isinstance(v, self.ref_type):
            raise TypeTransformerFailedError(f"Expected a {self.ref_type.__name__} but got {type(v).__name__}")

    async def to_literal(self, python_val: Any, python_type: Any, expected: Any) -> Any:
        from flyteidl2.core import literals_pb2, types_pb2

        from flyte.io._upload import is_hashing

        self.assert_type(python_type, python_val)
        if is_hashing():
            uri = python_val._stable_identity()
        elif python_val._needs_upload():
            python_val = await python_val._uploaded()
            uri = python_val.path
        else:
            uri = python_val.path
        blob = literals_pb2.Blob(
            metadata=literals_pb2.BlobMetadata(
                type=types_pb2.BlobType(format=python_val.format, dimensionality=self._dimensionality())
            ),
            uri=uri,
        )
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(blob=blob), hash=python_val.hash or "")

    async def to_python_value(self, lv: Any, expected_python_type: Any) -> Any:
        from flyte.types import TypeTransformerFailedError

        kind = self.ref_type.__name__
        if not (lv.HasField("scalar") and lv.scalar.HasField("blob")):
            raise TypeTransformerFailedError(f"Expected a blob literal for {kind}, got {lv.WhichOneof('value')}")
        blob = lv.scalar.blob
        if blob.metadata.type.dimensionality != self._dimensionality():
            other = "a single-part one (a File)" if self.multipart else "a multipart one (a Dir)"
            want = "a multipart" if self.multipart else "a single-part"
            raise TypeTransformerFailedError(f"Expected {want} blob for {kind}, got {other}")
        ok = isinstance(expected_python_type, type) and issubclass(expected_python_type, self.ref_type)
        cls = expected_python_type if ok else self.ref_type
        name = os.path.basename(blob.uri.rstrip("/"))
        return cls(path=blob.uri, name=name, format=blob.metadata.type.format, hash=lv.hash or None)

    def value_checker(self, python_type: Any) -> Any:
        """Values must be instances of the class (``File["csv"]`` accepts any ``File["csv"]``)."""
        if not (isinstance(python_type, type) and issubclass(python_type, self.ref_type)):
            return None
        cls = python_type
        label = cls.__qualname__

        def check(v: Any) -> Any:
            if isinstance(v, cls):
                return v
            raise TypeError(f"expected {label}, got {type(v).__qualname__}")

        return check

    def schema_match(self, schema: dict) -> bool:
        """An object schema with this type's ``x-flyte-type`` (or its title and fields) is this type."""
        return isinstance(schema, dict) and bool(self.ref_type.schema_match(schema))

    def _guess(self, literal_type: Any) -> Any:
        if literal_type.HasField("blob") and literal_type.blob.dimensionality == self._dimensionality():
            if self.multipart or literal_type.blob.format != "PythonPickle":
                fmt = literal_type.blob.format
                return self.ref_type[fmt] if fmt else self.ref_type
        raise ValueError(f"{self.ref_type.__name__} transformer cannot reverse {literal_type}")
