"""Values of types without a transformer travel pickled (cloudpickle when installed).

Pickles can only be read by the same Python (and library) versions that wrote them, so this is
the fallback, not the recommendation: the literal type says which Python class was pickled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Type

from flyte.types._transformer import TypeTransformer, TypeTransformerFailedError

if TYPE_CHECKING:
    from flyteidl2.core.literals_pb2 import Literal
    from flyteidl2.core.types_pb2 import LiteralType

__all__ = ["FlytePickle", "FlytePickleTransformer", "dumps", "loads"]

PICKLE_FORMAT = "PythonPickle"


def dumps(value: Any) -> bytes:
    """Pickle ``value``: cloudpickle (functions, lambdas, local classes) when installed, else pickle."""
    try:
        import cloudpickle
    except ImportError:
        import pickle

        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return cloudpickle.dumps(value)


def loads(data: bytes) -> Any:
    """Unpickle bytes written by :func:`dumps`."""
    import pickle

    return pickle.loads(data)


class FlytePickle:
    """Marker type: annotate with ``FlytePickle`` to force a value to travel pickled."""

    @classmethod
    def python_type(cls) -> type:
        return type(None)

    @classmethod
    def to_pickle(cls, python_val: Any) -> bytes:
        """The pickled bytes of ``python_val``."""
        return dumps(python_val)

    @classmethod
    def from_pickle(cls, data: bytes) -> Any:
        """The value pickled in ``data``."""
        return loads(data)


class FlytePickleTransformer(TypeTransformer[FlytePickle]):
    """Any Python value as pickled bytes in a ``Binary`` literal (or a pickle file ``Blob``)."""

    def __init__(self) -> None:
        super().__init__("FlytePickle", FlytePickle)

    def assert_type(self, t: Type, v: Any) -> None:
        return None

    def get_literal_type(self, t: Type) -> "LiteralType":
        from flyteidl2.core import types_pb2
        from google.protobuf import struct_pb2

        meta = struct_pb2.Struct()
        meta.update({"python_class_name": str(t)})
        tag = types_pb2.TypeStructure(tag=self.name)
        return types_pb2.LiteralType(
            union_type=types_pb2.UnionType(
                variants=[
                    types_pb2.LiteralType(blob=types_pb2.BlobType(format=PICKLE_FORMAT), structure=tag),
                    types_pb2.LiteralType(simple=types_pb2.SimpleType.BINARY, structure=tag),
                ]
            ),
            metadata=meta,
        )

    async def to_literal(self, python_val: Any, python_type: Type, expected: "LiteralType") -> "Literal":
        from flyteidl2.core import literals_pb2

        try:
            data = dumps(python_val)
        except Exception as e:
            raise TypeTransformerFailedError(f"Cannot pickle value of type {type(python_val).__name__}: {e}") from e
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=data)))

    async def to_python_value(self, lv: "Literal", expected_python_type: Type) -> Any:
        if lv.HasField("scalar") and lv.scalar.HasField("binary"):
            return loads(lv.scalar.binary.value)
        if lv.HasField("scalar") and lv.scalar.HasField("blob"):
            from flyte import storage

            fh = await storage.open(lv.scalar.blob.uri, "rb")
            try:
                return loads(await fh.read())
            finally:
                await fh.close()
        raise TypeTransformerFailedError(f"Expected a pickled binary or blob literal, got {lv}")

    def guess_python_type(self, literal_type: "LiteralType") -> Type:
        if literal_type.HasField("blob") and literal_type.blob.format == PICKLE_FORMAT:
            return FlytePickle
        if literal_type.HasField("union_type"):
            variants = literal_type.union_type.variants
            if variants and all(v.structure.tag == self.name for v in variants):
                return FlytePickle
        raise ValueError(f"FlytePickle cannot reverse {literal_type}")


