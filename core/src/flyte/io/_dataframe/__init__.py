"""``flyte.io.DataFrame``: tabular data passed between tasks, and the registry of its handlers.

The wrapper knows a URI and a storage format; the code that writes a concrete dataframe library
to storage (pandas, pyarrow, polars, ...) lives in plugins, which register a
:class:`DataFrameEncoder` and a :class:`DataFrameDecoder` per Python type, protocol and format
with :meth:`DataFrameTransformerEngine.register`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, AsyncIterator, Dict, Generic, List, Optional, Type, TypeVar, Union

from flyte.types._transformer import Checker, TypeTransformer, TypeTransformerFailedError, _strip_annotated
from flyte.types._type_engine import TypeEngine

if TYPE_CHECKING:
    from flyteidl2.core.literals_pb2 import Literal, StructuredDataset, StructuredDatasetMetadata
    from flyteidl2.core.types_pb2 import LiteralType, StructuredDatasetType

__all__ = [
    "GENERIC_FORMAT",
    "GENERIC_PROTOCOL",
    "PARQUET",
    "DataFrame",
    "DataFrameDecoder",
    "DataFrameEncoder",
    "DataFrameTransformerEngine",
]

DF = TypeVar("DF")
T = TypeVar("T")

PARQUET = "parquet"
CSV = "csv"
GENERIC_FORMAT = ""
GENERIC_PROTOCOL = "generic protocol"


def _protocol_of(uri: Optional[str]) -> str:
    from flyte import storage

    if not uri or not storage.is_remote(uri):
        return "file"
    return uri.split("://", 1)[0].lower()


class DataFrame:
    """A table stored at ``uri`` in ``format`` (default parquet), or an in-memory dataframe to store.

    Wrap an in-memory dataframe with :meth:`from_df` (it is written when it leaves the task), or
    refer to stored data with :meth:`from_existing_remote`. Read it as a concrete library type
    with ``await df.open(pandas.DataFrame).all()`` (a handler for that type must be registered).
    """

    def __init__(self, uri: Optional[str] = None, format: Optional[str] = GENERIC_FORMAT, hash: Optional[str] = None, **kwargs: Any):  # noqa: A002
        self.uri = uri
        self.format = format if format is not None else GENERIC_FORMAT
        self.hash = hash
        self._raw_df: Any = kwargs.pop("val", None)
        self._metadata: Optional["StructuredDatasetMetadata"] = kwargs.pop("metadata", None)
        self._literal_sd: Optional["StructuredDataset"] = None
        self._dataframe_type: Optional[type] = None
        if kwargs:
            from flyte.errors import ValidationError

            raise ValidationError("DataFrame", sorted(kwargs), "uri, format, hash, val, metadata")

    # -- constructors ------------------------------------------------------------------------

    @classmethod
    def from_df(cls, val: Optional[Any] = None, uri: Optional[str] = None) -> "DataFrame":
        """Wrap an in-memory dataframe (written to ``uri``, or the raw data path, when it leaves the task)."""
        return cls(uri=uri, val=val)

    @classmethod
    def wrap_df(cls, val: Optional[Any] = None, uri: Optional[str] = None) -> "DataFrame":
        """Same as :meth:`from_df`."""
        return cls.from_df(val=val, uri=uri)

    @classmethod
    def from_existing_remote(cls, remote_path: str, format: Optional[str] = None, **kwargs: Any) -> "DataFrame":  # noqa: A002
        """Refer to a table already stored at ``remote_path`` in ``format`` (default parquet)."""
        return cls(uri=remote_path, format=format or PARQUET, hash=kwargs.get("hash"))

    @classmethod
    async def from_local(
        cls,
        df: Any,
        columns: Optional[Any] = None,
        remote_destination: Optional[str] = None,
        hash_method: Any = None,
    ) -> "DataFrame":
        """Write an in-memory dataframe to storage now, and return a reference to it."""
        wrapper = cls.from_df(val=df, uri=remote_destination)
        lt = TypeEngine.to_literal_type(cls)
        lv = await TypeEngine.to_literal(wrapper, cls, lt)
        out = await TypeEngine.to_python_value(lv, cls)
        out._raw_df = df
        if isinstance(hash_method, str):
            out.hash = hash_method
        return out

    @classmethod
    def from_local_sync(
        cls,
        df: Any,
        columns: Optional[Any] = None,
        remote_destination: Optional[str] = None,
        hash_method: Any = None,
    ) -> "DataFrame":
        """Blocking form of :meth:`from_local`."""
        from flyte.syncify import run_sync

        return run_sync(cls.from_local(df, columns, remote_destination, hash_method), name="DataFrame.from_local_sync")

    @classmethod
    def columns(cls) -> Dict[str, Type]:
        """The declared columns (none for a plain ``DataFrame``)."""
        return {}

    @classmethod
    def column_names(cls) -> List[str]:
        """Names of the declared columns."""
        return list(cls.columns())

    # -- state -------------------------------------------------------------------------------

    @property
    def val(self) -> Any:
        """The wrapped in-memory dataframe, if any."""
        return self._raw_df

    @property
    def metadata(self) -> Optional["StructuredDatasetMetadata"]:
        """The stored dataset's metadata (type, format), once known."""
        return self._metadata

    @property
    def literal(self) -> Optional["StructuredDataset"]:
        """The ``StructuredDataset`` literal this wrapper was read from, if any."""
        return self._literal_sd

    def _serialize(self) -> Dict[str, Optional[str]]:
        return {"uri": self.uri, "format": self.format, "hash": self.hash}

    @classmethod
    def _deserialize(cls, value: Dict[str, Any]) -> "DataFrame":
        return cls(uri=value.get("uri"), format=value.get("format") or GENERIC_FORMAT, hash=value.get("hash"))

    @classmethod
    def _json_schema(cls) -> Dict[str, Any]:
        null_or_str = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
        return {
            "title": "DataFrame",
            "type": "object",
            "x-flyte-type": "dataframe",
            "properties": {"uri": {"title": "Uri", **null_or_str}, "format": {"title": "Format", **null_or_str}, "hash": {"title": "Hash", **null_or_str}},
        }

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def validate(v: Any) -> Any:
            if isinstance(v, cls):
                return v
            if isinstance(v, dict):
                return cls._deserialize(v)
            raise ValueError(f"expected {cls.__name__} or a mapping with 'uri'")

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v._serialize())
        )

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, DataFrame):
            return NotImplemented
        return (self.uri, self.format, self.hash, self._raw_df is other._raw_df) == (other.uri, other.format, other.hash, True)

    def __hash__(self) -> int:
        return hash((self.uri, self.format, self.hash))

    def __repr__(self) -> str:
        held = f", val={type(self._raw_df).__name__}" if self._raw_df is not None else ""
        return f"DataFrame(uri={self.uri!r}, format={self.format!r}, hash={self.hash!r}{held})"

    # -- reading -----------------------------------------------------------------------------

    def open(self, dataframe_type: Type[DF]) -> "DataFrame":
        """Choose the library type to read as: ``await df.open(pandas.DataFrame).all()``."""
        self._dataframe_type = dataframe_type
        return self

    async def all(self) -> Any:
        """The whole table as the type chosen with :meth:`open`."""
        if self._dataframe_type is None:
            raise ValueError("Call .open(<dataframe type>) before .all(), e.g. df.open(pandas.DataFrame).all()")
        if self._raw_df is not None and isinstance(self._raw_df, self._dataframe_type):
            return self._raw_df
        engine = _engine()
        sd, meta = self._stored()
        return await engine.open_as(sd, self._dataframe_type, meta)

    def all_sync(self) -> Any:
        """Blocking form of :meth:`all`."""
        from flyte.syncify import run_sync

        return run_sync(self.all(), name="DataFrame.all_sync")

    async def iter(self) -> AsyncIterator[Any]:
        """The table in chunks, for decoders that stream."""
        if self._dataframe_type is None:
            raise ValueError("Call .open(<dataframe type>) before .iter()")
        engine = _engine()
        sd, meta = self._stored()
        result = await engine.iter_as(sd, self._dataframe_type, meta)
        async for chunk in result:
            yield chunk

    def _stored(self) -> tuple:
        from flyteidl2.core import literals_pb2, types_pb2

        if self._literal_sd is not None:
            return self._literal_sd, self._literal_sd.metadata
        if not self.uri:
            raise ValueError("This DataFrame has neither stored data (uri) nor a wrapped dataframe of the requested type")
        meta = literals_pb2.StructuredDatasetMetadata(
            structured_dataset_type=types_pb2.StructuredDatasetType(format=self.format or PARQUET)
        )
        return literals_pb2.StructuredDataset(uri=self.uri, metadata=meta), meta


class _DataFrameHandler:
    """What encoders and decoders share: the dataframe type, protocol and format they serve.

    ``protocol`` None serves every protocol; ``supported_format`` empty serves any format.
    """

    def __init__(self, python_type: Any, protocol: Optional[str] = None, supported_format: Optional[str] = None):
        self._python_type = python_type
        self._protocol = protocol.replace("://", "") if protocol else None
        self._supported_format = supported_format or ""

    @property
    def python_type(self) -> Any:
        """The dataframe type served."""
        return self._python_type

    @property
    def protocol(self) -> Optional[str]:
        """The storage protocol served (None: all)."""
        return self._protocol

    @property
    def supported_format(self) -> str:
        """The storage format served ("" for any)."""
        return self._supported_format


class DataFrameEncoder(_DataFrameHandler, ABC, Generic[T]):
    """Writes one dataframe library's values to storage, for a protocol and a format.

    ``protocol`` None serves every protocol; ``supported_format`` empty serves any format.
    """

    def __init__(self, python_type: Type[T], protocol: Optional[str] = None, supported_format: Optional[str] = None):
        super().__init__(python_type, protocol, supported_format)

    @abstractmethod
    async def encode(self, dataframe: DataFrame, structured_dataset_type: "StructuredDatasetType") -> "StructuredDataset":
        """Write ``dataframe.val`` (to ``dataframe.uri`` or a fresh raw-data path); return the literal."""


class DataFrameDecoder(_DataFrameHandler, ABC, Generic[DF]):
    """Reads stored tables as one dataframe library's values, for a protocol and a format."""

    def __init__(
        self,
        python_type: Type[DF],
        protocol: Optional[str] = None,
        supported_format: Optional[str] = None,
        additional_protocols: Optional[List[str]] = None,
    ):
        super().__init__(python_type, protocol, supported_format)
        self._additional_protocols = [p.replace("://", "") for p in additional_protocols or []]

    @abstractmethod
    async def decode(
        self, flyte_value: "StructuredDataset", current_task_metadata: "StructuredDatasetMetadata"
    ) -> Union[DF, AsyncIterator[DF]]:
        """Read the table at ``flyte_value.uri``."""


Handlers = Union[DataFrameEncoder, DataFrameDecoder]


def _content_identity(val: Any) -> Optional[str]:
    import hashlib

    from flyte.types._pickle import dumps

    try:
        return "sha256:" + hashlib.sha256(dumps(val)).hexdigest()
    except Exception:  # unpicklable frames fall back to their encoded location
        return None
_ANY = ""  # key for handlers serving every protocol / every format


def _engine() -> "DataFrameTransformerEngine":
    tr = TypeEngine.get_transformer(DataFrame)
    assert isinstance(tr, DataFrameTransformerEngine)
    return tr


class DataFrameTransformerEngine(TypeTransformer[DataFrame]):
    """The transformer of ``DataFrame`` and of every registered dataframe library type.

    Values become ``StructuredDataset`` literals: an in-memory dataframe is written by the encoder
    registered for its type, protocol and format; a stored one is passed by URI.
    """

    local_roundtrip = True

    ENCODERS: Dict[type, Dict[str, Dict[str, DataFrameEncoder]]] = {}
    DECODERS: Dict[type, Dict[str, Dict[str, DataFrameDecoder]]] = {}
    DEFAULT_PROTOCOLS: Dict[type, str] = {}
    DEFAULT_FORMATS: Dict[type, str] = {}
    Renderers: Dict[type, Any] = {}

    def __init__(self) -> None:
        super().__init__("DataFrame Transformer", DataFrame)

    # -- handler registry ----------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        h: Handlers,
        default_for_type: bool = False,
        override: bool = False,
        default_format_for_type: bool = False,
        default_storage_for_type: bool = False,
    ) -> None:
        """Register an encoder or decoder; its Python type then converts through this transformer.

        Raises ``ValueError`` when a handler for the same type, protocol and format exists,
        unless ``override``.
        """
        if isinstance(h, DataFrameEncoder):
            table: Dict[type, Dict[str, Dict[str, Any]]] = cls.ENCODERS
        elif isinstance(h, DataFrameDecoder):
            table = cls.DECODERS
        else:
            raise TypeError(f"Expected a DataFrameEncoder or DataFrameDecoder, got {type(h).__name__}")
        protocols = [h.protocol or _ANY]
        if isinstance(h, DataFrameDecoder):
            protocols += h._additional_protocols
        for proto in protocols:
            by_format = table.setdefault(h.python_type, {}).setdefault(proto, {})
            if h.supported_format in by_format and not override:
                raise ValueError(
                    f"A {type(h).__name__} for {h.python_type}, protocol {proto or '*'}, format "
                    f"{h.supported_format or '*'} is already registered: pass override=True to replace it"
                )
            by_format[h.supported_format] = h
        if h.supported_format and (default_for_type or default_format_for_type or h.python_type not in cls.DEFAULT_FORMATS):
            cls.DEFAULT_FORMATS[h.python_type] = h.supported_format
        if h.protocol and (default_for_type or default_storage_for_type or h.python_type not in cls.DEFAULT_PROTOCOLS):
            cls.DEFAULT_PROTOCOLS[h.python_type] = h.protocol
        TypeEngine.register_additional_type(_engine(), h.python_type, override=True)

    @classmethod
    def register_renderer(cls, python_type: Type, renderer: Any) -> None:
        """Render values of ``python_type`` in reports with ``renderer``."""
        cls.Renderers[python_type] = renderer

    @classmethod
    def _finder(cls, handler_map: Dict[type, Dict[str, Dict[str, Any]]], df_type: Type, protocol: str, format: str) -> Any:  # noqa: A002
        found = cls._find(handler_map, df_type, protocol, format)
        if found is None:
            # Handlers of type plugins are registered on first use of their library's type.
            from flyte.types import TypeEngine

            TypeEngine.lazy_import_transformers()
            TypeEngine.load_lazy_for(df_type)
            found = cls._find(handler_map, df_type, protocol, format)
        if found is not None:
            return found
        kind = "encoder" if handler_map is cls.ENCODERS else "decoder"
        raise TypeTransformerFailedError(
            f"No {kind} registered for {df_type} with protocol {protocol!r} and format {format or '*'!r}; "
            "install the plugin that handles this dataframe type (e.g. flyte-plugin-types for pandas/pyarrow)"
        )

    @classmethod
    def _find(cls, handler_map: Dict[type, Dict[str, Dict[str, Any]]], df_type: Type, protocol: str, format: str) -> Any:  # noqa: A002
        for t in getattr(df_type, "__mro__", (df_type,)):
            by_proto = handler_map.get(t)
            if not by_proto:
                continue
            for proto in (protocol, _ANY):
                by_format = by_proto.get(proto)
                if not by_format:
                    continue
                for fmt in (format, _ANY):
                    if fmt in by_format:
                        return by_format[fmt]
                if not format and len(by_format) == 1:
                    return next(iter(by_format.values()))
        return None

    @classmethod
    def get_encoder(cls, df_type: Type, protocol: str, format: str) -> DataFrameEncoder:  # noqa: A002
        """The encoder for ``df_type`` writing ``format`` to ``protocol``."""
        return cls._finder(cls.ENCODERS, df_type, protocol, format)

    @classmethod
    def get_decoder(cls, df_type: Type, protocol: str, format: str) -> DataFrameDecoder:  # noqa: A002
        """The decoder for ``df_type`` reading ``format`` from ``protocol``."""
        return cls._finder(cls.DECODERS, df_type, protocol, format)

    # -- literal types ---------------------------------------------------------------------------

    def _format_for(self, t: Any) -> str:
        t = _strip_annotated(t)
        if isinstance(t, type) and not issubclass(t, DataFrame):
            return self.DEFAULT_FORMATS.get(t, PARQUET)
        return GENERIC_FORMAT

    def get_literal_type(self, t: Any) -> "LiteralType":
        from flyteidl2.core import types_pb2

        return types_pb2.LiteralType(structured_dataset_type=types_pb2.StructuredDatasetType(format=self._format_for(t)))

    def value_checker(self, python_type: Any) -> Optional[Checker]:
        """``flyte.io.DataFrame`` accepts a ``DataFrame`` or any dataframe with a registered encoder."""
        if not (isinstance(python_type, type) and issubclass(python_type, DataFrame)):
            return None  # a library's dataframe class registered here: checked with isinstance
        cls = python_type
        encoders = self.ENCODERS

        def check(v: Any) -> Any:
            if isinstance(v, cls) or type(v) in encoders:
                return v
            raise TypeError(
                f"expected {cls.__qualname__} (or a dataframe with a registered encoder), got {type(v).__qualname__}"
            )

        return check

    def assert_type(self, t: Any, v: Any) -> None:
        if isinstance(v, DataFrame):
            return
        cls = _strip_annotated(t)
        if isinstance(cls, type) and not issubclass(cls, DataFrame) and not isinstance(v, cls):
            raise TypeTransformerFailedError(f"Expected {cls.__name__} but got {type(v).__name__}")
        if not (isinstance(cls, type) and not issubclass(cls, DataFrame)) and type(v) not in self.ENCODERS:
            raise TypeTransformerFailedError(
                f"Expected a flyte.io.DataFrame or a dataframe type with a registered encoder, got {type(v).__name__}"
            )

    # -- conversions ---------------------------------------------------------------------------

    async def to_literal(self, python_val: Any, python_type: Any, expected: "LiteralType") -> "Literal":
        from flyteidl2.core import literals_pb2, types_pb2

        self.assert_type(python_type, python_val)
        df = python_val if isinstance(python_val, DataFrame) else DataFrame.from_df(val=python_val)
        sd_type = expected.structured_dataset_type if expected.HasField("structured_dataset_type") else types_pb2.StructuredDatasetType()
        if df._raw_df is None:
            if df._literal_sd is not None:
                sd = df._literal_sd
            elif df.uri:
                fmt = df.format or sd_type.format or PARQUET
                sd = literals_pb2.StructuredDataset(
                    uri=df.uri,
                    metadata=literals_pb2.StructuredDatasetMetadata(
                        structured_dataset_type=types_pb2.StructuredDatasetType(columns=sd_type.columns, format=fmt)
                    ),
                )
            else:
                raise TypeTransformerFailedError("A DataFrame needs a uri or a wrapped dataframe (DataFrame.from_df(df))")
            return literals_pb2.Literal(scalar=literals_pb2.Scalar(structured_dataset=sd), hash=df.hash or "")
        from flyte.io._upload import is_hashing

        if is_hashing() and not df.uri:
            # A cache key must not depend on where an encoder would write: identify the data by
            # its pickled content when it can be pickled.
            identity = _content_identity(df._raw_df)
            if identity is not None:
                sd = literals_pb2.StructuredDataset(uri=identity)
                return literals_pb2.Literal(scalar=literals_pb2.Scalar(structured_dataset=sd), hash=df.hash or "")
        from flyte._context import raw_data_path

        df_type = type(df._raw_df)
        fmt = df.format or sd_type.format or self.DEFAULT_FORMATS.get(df_type, PARQUET)
        protocol = _protocol_of(df.uri or raw_data_path())
        encoder = self.get_encoder(df_type, protocol, fmt)
        sd = await encoder.encode(df, types_pb2.StructuredDatasetType(columns=sd_type.columns, format=fmt))
        if not sd.metadata.structured_dataset_type.format:
            sd.metadata.structured_dataset_type.format = fmt
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(structured_dataset=sd), hash=df.hash or "")

    async def to_python_value(self, lv: "Literal", expected_python_type: Any) -> Any:
        if not (lv.HasField("scalar") and lv.scalar.HasField("structured_dataset")):
            raise TypeTransformerFailedError(f"Expected a structured dataset literal, got {lv.WhichOneof('value')}")
        sd = lv.scalar.structured_dataset
        t = _strip_annotated(expected_python_type)
        if isinstance(t, type) and issubclass(t, DataFrame):
            out = t(uri=sd.uri, format=sd.metadata.structured_dataset_type.format, hash=lv.hash or None)
            out._literal_sd = sd
            out._metadata = sd.metadata
            return out
        return await self.open_as(sd, t, sd.metadata)

    async def open_as(self, sd: "StructuredDataset", df_type: Type[DF], updated_metadata: "StructuredDatasetMetadata") -> DF:
        """Read stored table ``sd`` as ``df_type`` with the registered decoder."""
        decoder = self.get_decoder(df_type, _protocol_of(sd.uri), sd.metadata.structured_dataset_type.format)
        result = await decoder.decode(sd, updated_metadata)
        if hasattr(result, "__anext__"):
            chunks = [c async for c in result]  # type: ignore[union-attr]
            if len(chunks) == 1:
                return chunks[0]
            raise TypeTransformerFailedError(f"Decoder for {df_type} streamed {len(chunks)} chunks; use .iter()")
        return result  # type: ignore[return-value]

    async def iter_as(self, sd: "StructuredDataset", df_type: Type[DF], updated_metadata: "StructuredDatasetMetadata") -> AsyncIterator[DF]:
        """Read stored table ``sd`` as chunks of ``df_type``."""
        decoder = self.get_decoder(df_type, _protocol_of(sd.uri), sd.metadata.structured_dataset_type.format)
        result = await decoder.decode(sd, updated_metadata)
        if hasattr(result, "__anext__"):
            return result  # type: ignore[return-value]

        async def one() -> AsyncIterator[DF]:
            yield result  # type: ignore[misc]

        return one()

    def guess_python_type(self, literal_type: "LiteralType") -> Type[DataFrame]:
        if literal_type.HasField("structured_dataset_type"):
            return DataFrame
        raise ValueError(f"DataFrame transformer cannot reverse {literal_type}")


