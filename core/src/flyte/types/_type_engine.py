"""The type engine: the registry of transformers and the conversions that go through it.

A :class:`TypeTransformer` converts between one family of Python types and flyteidl2
``Literal`` / ``LiteralType`` protos. :class:`TypeEngine` finds the transformer of a Python type
and offers the conversions of whole values and literal maps (task inputs and outputs).

Protos are imported inside functions only: ``import flyte`` must not pay for protobuf.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import sys
import threading
import typing
from typing import Callable, TYPE_CHECKING, Any, Dict, Generic, List, Optional, Type, TypeVar

from flyte import _transformer_loader
from flyte.types._hints import _is_namedtuple, _is_pydantic_model, _is_typeddict, _is_union, _strip_annotated
from flyte.types._transformer import TypeTransformer, TypeTransformerFailedError

if TYPE_CHECKING:
    from flyteidl2.core.literals_pb2 import Literal, LiteralMap
    from flyteidl2.core.types_pb2 import LiteralType

__all__ = ["TypeEngine", "TypeTransformer", "TypeTransformerFailedError"]

T = TypeVar("T")
logger = logging.getLogger("flyte.types")


class TypeEngine(Generic[T]):
    """The registry of transformers, and the conversions between Python values and literals.

    All methods are class methods: there is one engine per process.
    """

    _REGISTRY: Dict[Any, TypeTransformer] = {}
    _RESTRICTED_TYPES: List[Any] = []
    _UNION_TRANSFORMER: Optional[TypeTransformer] = None
    _LITERAL_TRANSFORMER: Optional[TypeTransformer] = None
    _ENUM_TRANSFORMER: Optional[TypeTransformer] = None
    _DATACLASS_TRANSFORMER: Optional[TypeTransformer] = None
    _PYDANTIC_TRANSFORMER: Optional[TypeTransformer] = None
    _TUPLE_TRANSFORMER: Optional[TypeTransformer] = None
    _NAMEDTUPLE_TRANSFORMER: Optional[TypeTransformer] = None
    _TYPEDDICT_TRANSFORMER: Optional[TypeTransformer] = None
    _PICKLE_TRANSFORMER: Optional[TypeTransformer] = None
    lazy_import_lock = threading.RLock()
    _builtins_loaded = False
    _plugins_loaded = False
    _cache: Dict[Any, TypeTransformer] = {}
    _LAZY: Dict[str, List[Callable[[], Any]]] = {}
    _builtins_loading = False

    # -- registration ---------------------------------------------------------------------

    @classmethod
    def _invalidate(cls) -> None:
        """Forget lookups cached before the registry changed."""
        cls._cache.clear()
        boundary = sys.modules.get("flyte.types._boundary")
        if boundary is not None:
            boundary._roundtrip_cache.clear()

    @classmethod
    def register(cls, transformer: TypeTransformer, additional_types: Optional[List[Type]] = None) -> None:
        """Register ``transformer`` for its ``python_type`` (and ``additional_types``).

        Raises ``ValueError`` when a type already has a transformer: overriding silently would
        make results depend on import order.
        """
        for t in [transformer.python_type, *(additional_types or [])]:
            existing = cls._REGISTRY.get(t)
            if existing is not None and existing is not transformer:
                raise ValueError(
                    f"Transformer {existing.name} for type {t} is already registered. "
                    f"Cannot override with {transformer.name}"
                )
            cls._REGISTRY[t] = transformer
        cls._invalidate()

    @classmethod
    def register_lazy(cls, type_path: str, loader: Callable[[], Any]) -> None:
        """Defer a transformer until a type named ``type_path`` is first looked up.

        ``type_path`` is the defining module and qualified name of a class (``"numpy.ndarray"``,
        ``"pandas.core.frame.DataFrame"``); ``loader`` imports what it needs and calls
        :meth:`register`. A value of that type can only exist once its library is imported, so
        plugins register this way and loading them imports no data library.
        """
        cls._LAZY.setdefault(type_path, []).append(loader)

    @classmethod
    def load_lazy_for(cls, python_type: Any) -> bool:
        """Run the deferred loaders registered for ``python_type`` or its bases; True if any ran."""
        t = _strip_annotated(python_type)
        t = typing.get_origin(t) or t
        if not cls._LAZY or not isinstance(t, type):
            return False
        ran = False
        with cls.lazy_import_lock:
            for c in t.__mro__:
                loaders = cls._LAZY.pop(f"{c.__module__}.{c.__qualname__}", None)
                for loader in loaders or ():
                    loader()
                    ran = True
        if ran:
            cls._invalidate()
        return ran

    @classmethod
    def register_additional_type(cls, transformer: TypeTransformer, additional_type: Type, override: bool = False) -> None:
        """Also route ``additional_type`` to ``transformer`` (replacing an existing one only with ``override``)."""
        if additional_type not in cls._REGISTRY or override:
            cls._REGISTRY[additional_type] = transformer
            cls._invalidate()

    @classmethod
    def register_restricted_type(cls, name: str, type: Type) -> None:  # noqa: A002 - published name
        """Forbid ``type`` as a task input or output (it cannot be moved between processes)."""
        cls._RESTRICTED_TYPES.append(type)
        cls._invalidate()

    @classmethod
    def get_available_transformers(cls) -> typing.KeysView:
        """The Python types with a registered transformer."""
        cls._ensure_builtins()
        return cls._REGISTRY.keys()

    @classmethod
    def set_loader(
        cls,
        load_builtins: Optional[Callable[[Any], None]],
        *,
        load_plugins: Optional[Callable[[], None]] = None,
    ) -> None:
        """Install the functions that fill the registry; the composition root calls this.

        ``load_builtins(engine)`` registers the transformers every process has (the core's own,
        through the plugin framework's type hook); it runs once, before the first lookup.
        ``load_plugins()`` loads the type plugins installed in the environment; it runs once,
        at the first lookup that finds no transformer. The engine itself knows no plugin
        framework: ``import flyte`` installs both (``flyte/__init__.py``), and every
        ``flyte.*`` import runs that first.
        """
        with cls.lazy_import_lock:
            _transformer_loader.install(load_builtins, load_plugins=load_plugins)

    @classmethod
    def _ensure_builtins(cls) -> None:
        if not cls._builtins_loaded and not cls._builtins_loading:
            with cls.lazy_import_lock:
                if cls._builtins_loaded or cls._builtins_loading:
                    return
                cls._builtins_loading = True
                try:
                    cls._load_builtins()
                finally:
                    cls._builtins_loading = False

    @classmethod
    def _load_builtins(cls) -> None:
        loader = _transformer_loader.builtins_loader()
        if loader is None:
            raise TypeTransformerFailedError(
                "TypeEngine has no transformer loader: TypeEngine.set_loader(None) removed it; "
                "import flyte installs the default one (the plugin framework's type hook)"
            )
        loader(cls)
        if not cls._builtins_loaded:
            # Nothing registered the core's transformers: the loader or the built-in type hook is
            # broken. Failing here names the cause; pickling every value would hide it.
            raise TypeTransformerFailedError(
                f"TypeEngine's transformer loader {getattr(loader, '__qualname__', loader)!r} registered "
                "no built-in transformers (flyte_register_type_transformers of flyte.builtin did not run)"
            )

    @classmethod
    def lazy_import_transformers(cls) -> None:
        """Load the installed type plugins (the ``flyte.plugins.types`` entry points), once."""
        with cls.lazy_import_lock:
            cls._ensure_builtins()
            if cls._plugins_loaded:
                return
            cls._plugins_loaded = True
            load_plugins = _transformer_loader.plugins_loader()
            if load_plugins is not None:
                load_plugins()
            cls._invalidate()

    # -- lookup ---------------------------------------------------------------------------

    @classmethod
    def _get_transformer(cls, python_type: Any) -> Optional[TypeTransformer]:
        cls._ensure_builtins()
        t = _strip_annotated(python_type)
        if t in cls._RESTRICTED_TYPES:
            raise TypeTransformerFailedError(f"Type {t} cannot be used as a task input or output")
        reg = cls._REGISTRY
        try:
            hit = reg.get(t)
        except TypeError:  # unhashable type hint
            hit = None
        if hit is not None:
            return hit
        if _is_union(t):
            return cls._UNION_TRANSFORMER
        origin = typing.get_origin(t)
        if origin is typing.Literal:
            return cls._LITERAL_TRANSFORMER
        if t is tuple:
            return cls._TUPLE_TRANSFORMER
        if origin is not None:
            if origin is tuple:
                return cls._TUPLE_TRANSFORMER
            if origin in reg:
                return reg[origin]
            t = origin
        if isinstance(t, type):
            if issubclass(t, enum.Enum):
                return cls._ENUM_TRANSFORMER
            if _is_namedtuple(t):
                return cls._NAMEDTUPLE_TRANSFORMER
            if _is_typeddict(t):  # a dict subclass, but checked and carried like a dataclass
                return cls._TYPEDDICT_TRANSFORMER
            if dataclasses.is_dataclass(t):
                return cls._DATACLASS_TRANSFORMER
            if _is_pydantic_model(t):
                return cls._PYDANTIC_TRANSFORMER
            for base in t.__mro__[1:]:
                if base in reg and base is not object:
                    return reg[base]
        return None

    @classmethod
    def get_transformer(cls, python_type: Type) -> TypeTransformer:
        """The transformer for ``python_type``; unknown types fall back to pickling."""
        try:
            return cls._cache[python_type]
        except (KeyError, TypeError):
            pass
        tr = cls._get_transformer(python_type)
        if tr is None and not cls._plugins_loaded:
            cls.lazy_import_transformers()
            tr = cls._get_transformer(python_type)
        if tr is None and cls.load_lazy_for(python_type):
            tr = cls._get_transformer(python_type)
        if tr is None:
            if python_type is not typing.Any and python_type is not object:
                logger.debug("No transformer for %s: values of this type are pickled", python_type)
            tr = cls._PICKLE_TRANSFORMER
            assert tr is not None
        try:
            cls._cache[python_type] = tr
        except TypeError:
            pass
        return tr

    # -- conversions ----------------------------------------------------------------------

    @classmethod
    def to_literal_type(cls, python_type: Type) -> "LiteralType":
        """The ``LiteralType`` of ``python_type``."""
        tr = cls.get_transformer(python_type)
        return tr.get_literal_type(python_type)

    @classmethod
    def to_literal_checks(cls, python_val: Any, python_type: Type, expected: "LiteralType") -> None:
        """Reject values that cannot be converted before calling the transformer."""
        if python_val is None and expected.WhichOneof("type") not in ("union_type", "simple", None):
            raise TypeTransformerFailedError(f"Python value cannot be None, expected {python_type}/{expected}")

    @classmethod
    async def to_literal(cls, python_val: Any, python_type: Type, expected: "LiteralType") -> "Literal":
        """Convert ``python_val`` of ``python_type`` to a ``Literal`` of type ``expected``."""
        tr = cls.get_transformer(python_type)
        if tr.type_assertions_enabled:
            tr.assert_type(python_type, python_val)
        return await tr.to_literal(python_val, python_type, expected)

    @classmethod
    async def unwrap_offloaded_literal(cls, lv: "Literal") -> "Literal":
        """Read an offloaded literal (stored at a URI) back into memory."""
        if not lv.HasField("offloaded_metadata"):
            return lv
        from flyteidl2.core import literals_pb2

        from flyte import storage

        fh = await storage.open(lv.offloaded_metadata.uri, "rb")
        try:
            data = await fh.read()
        finally:
            await fh.close()
        out = literals_pb2.Literal()
        out.ParseFromString(data)
        return out

    @classmethod
    async def to_python_value(cls, lv: "Literal", expected_python_type: Type) -> Any:
        """Convert literal ``lv`` to a value of ``expected_python_type``."""
        if lv.HasField("offloaded_metadata"):
            lv = await cls.unwrap_offloaded_literal(lv)
        tr = cls.get_transformer(expected_python_type)
        if tr is not cls._UNION_TRANSFORMER and lv.HasField("scalar") and lv.scalar.HasField("union"):
            # A union literal read as one of its variants (a producer typed Optional[T], a
            # consumer typed T): the value inside is what the consumer wants.
            lv = lv.scalar.union.value
        return await tr.to_python_value(lv, expected_python_type)

    @classmethod
    def to_html(cls, python_val: Any, expected_python_type: Type) -> str:
        """An HTML rendering of ``python_val`` for reports."""
        return cls.get_transformer(expected_python_type).to_html(python_val, expected_python_type)

    @classmethod
    def guess_python_type(cls, flyte_type: "LiteralType") -> Type:
        """A Python type able to hold values of ``flyte_type``."""
        cls._ensure_builtins()
        from flyte.types._guess import guess_python_type

        return guess_python_type(cls, flyte_type)

    @classmethod
    def guess_python_types(cls, flyte_variable_list: typing.Sequence[Any]) -> Dict[str, Type]:
        """Python types for a list of ``VariableEntry`` (``key`` + ``value.type``)."""
        return {v.key: cls.guess_python_type(v.value.type) for v in flyte_variable_list}

    # -- literal maps ---------------------------------------------------------------------

    @classmethod
    async def dict_to_literal_map(cls, d: Dict[str, Any], type_hints: Optional[Dict[str, type]] = None) -> "LiteralMap":
        """Convert a dict of named values into a ``LiteralMap``.

        Each value is converted with its type from ``type_hints``, else with ``type(value)``.
        """
        import asyncio

        from flyteidl2.core import literals_pb2

        hints = type_hints or {}

        async def one(k: str, v: Any) -> "Literal":
            t = hints.get(k, type(v))
            try:
                return await cls.to_literal(v, t, cls.to_literal_type(t))
            except TypeTransformerFailedError as e:
                raise TypeTransformerFailedError(f"Error converting '{k}' to a literal: {e}") from e

        keys = list(d)
        if len(keys) <= 1:
            values = [await one(k, d[k]) for k in keys]
        else:
            values = await asyncio.gather(*(one(k, d[k]) for k in keys))
        return literals_pb2.LiteralMap(literals=dict(zip(keys, values)))

    @classmethod
    async def literal_map_to_kwargs(
        cls,
        lm: "LiteralMap",
        python_types: Optional[Dict[str, type]] = None,
        literal_types: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        """Convert a ``LiteralMap`` to keyword arguments.

        Types come from ``python_types`` or, when only ``literal_types`` (name -> ``Variable``) is
        given, are guessed from them. Names absent from the map are left out, so that the caller's
        defaults apply.
        """
        import asyncio

        if python_types is None and literal_types is None:
            raise ValueError("At least one of python_types or literal_types must be provided")
        if literal_types:
            py_types: Dict[str, Any] = {k: cls.guess_python_type(v.type) for k, v in literal_types.items()}
        else:
            py_types = dict(python_types or {})
        extra = [k for k in lm.literals if k not in py_types]
        if extra:
            raise ValueError(f"Received values for unknown names {sorted(extra)}; known names: {sorted(py_types)}")

        async def one(k: str) -> Any:
            try:
                return await cls.to_python_value(lm.literals[k], py_types[k])
            except Exception as e:
                raise TypeTransformerFailedError(
                    f"Error converting input '{k}' to {py_types[k]}: {e}"
                ) from e

        keys = list(lm.literals)
        if len(keys) <= 1:
            values = [await one(k) for k in keys]
        else:
            values = await asyncio.gather(*(one(k) for k in keys))
        return dict(zip(keys, values))

    @classmethod
    async def literal_map_to_python(cls, lm: "LiteralMap", python_types: Dict[str, type]) -> Dict[str, Any]:
        """Alias of :meth:`literal_map_to_kwargs` taking Python types."""
        return await cls.literal_map_to_kwargs(lm, python_types)

    @classmethod
    def named_tuple_to_variable_map(cls, t: Any) -> Any:
        """A ``VariableMap`` with one variable per field of NamedTuple ``t``."""
        from flyteidl2.core import interface_pb2

        hints = typing.get_type_hints(t)
        return interface_pb2.VariableMap(
            variables=[
                interface_pb2.VariableEntry(key=name, value=interface_pb2.Variable(type=cls.to_literal_type(hints[name])))
                for name in t._fields
            ]
        )


# Names of the msgpack annotation on structured literal types, under the published SDK's names:
# plugins written for it (``flyteplugins-omegaconf``) build their literal types with these.
# ``LiteralType.annotation`` carries ``{CACHE_KEY_METADATA: {SERIALIZATION_FORMAT: MESSAGEPACK}}``
# for values stored as msgpack ``Binary`` literals (tag ``MESSAGEPACK``).
MESSAGEPACK = "msgpack"
CACHE_KEY_METADATA = "cache-key-metadata"
SERIALIZATION_FORMAT = "serialization-format"
