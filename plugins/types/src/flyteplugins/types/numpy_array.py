"""``numpy.ndarray`` <-> a ``.npy`` blob: dtype and shape preserved, never pickled."""

from __future__ import annotations

from typing import Any, Type

import numpy as np
from flyte.types import TypeTransformer, TypeTransformerFailedError

from flyteplugins.types._files import downloaded, scratch_dir, upload

NPY_FORMAT = "npy"


class NumpyArrayTransformer(TypeTransformer[np.ndarray]):
    """Stores an array as one ``.npy`` file (``numpy.save(allow_pickle=False)``).

    Object arrays (``dtype=object``) would need pickle to be stored, so they are refused with an
    error naming the dtype; convert them to a concrete dtype first.
    """

    #: Arrays stay in memory between tasks on the local engine (said explicitly: a transformer
    #: that sets none of this SDK's own attributes is treated as written for the published SDK).
    local_roundtrip = False

    def __init__(self) -> None:
        super().__init__("numpy.ndarray", np.ndarray)

    def get_literal_type(self, t: Type[np.ndarray]) -> Any:
        from flyteidl2.core import types_pb2

        return types_pb2.LiteralType(
            blob=types_pb2.BlobType(format=NPY_FORMAT, dimensionality=types_pb2.BlobType.BlobDimensionality.SINGLE)
        )

    def assert_type(self, t: Type[np.ndarray], v: Any) -> None:
        if not isinstance(v, np.ndarray):
            raise TypeTransformerFailedError(
                f"numpy.ndarray transformer: value {v!r:.80} of type {type(v).__name__} is not a numpy.ndarray"
            )

    async def to_literal(self, python_val: np.ndarray, python_type: Type[np.ndarray], expected: Any) -> Any:
        from flyteidl2.core import literals_pb2, types_pb2

        self.assert_type(python_type, python_val)
        if python_val.dtype.hasobject:
            raise TypeTransformerFailedError(
                f"numpy.ndarray transformer: an array of dtype {python_val.dtype} (shape {python_val.shape}) holds "
                "Python objects and cannot be stored without pickle; convert it to a numeric, bool, string or "
                "datetime dtype"
            )
        with scratch_dir() as folder:
            local = folder / "array.npy"
            np.save(local, python_val, allow_pickle=False)
            uri = await upload(local)
        blob_type = types_pb2.BlobType(format=NPY_FORMAT, dimensionality=types_pb2.BlobType.BlobDimensionality.SINGLE)
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(blob=literals_pb2.Blob(uri=uri, metadata=literals_pb2.BlobMetadata(type=blob_type)))
        )

    async def to_python_value(self, lv: Any, expected_python_type: Type[np.ndarray]) -> np.ndarray:
        if not (lv.HasField("scalar") and lv.scalar.HasField("blob")):
            raise TypeTransformerFailedError(
                f"numpy.ndarray transformer: expected a blob literal holding a .npy file, got {lv.WhichOneof('value')}"
            )
        async with downloaded(lv.scalar.blob.uri) as local:
            try:
                return np.load(local, allow_pickle=False)  # read whole: the copy goes at the block's end
            except ValueError as e:
                raise TypeTransformerFailedError(
                    f"numpy.ndarray transformer: {lv.scalar.blob.uri} is not a .npy file without pickled objects: {e}"
                ) from e

    def guess_python_type(self, literal_type: Any) -> Type[np.ndarray]:
        if literal_type.HasField("blob") and literal_type.blob.format == NPY_FORMAT:
            return np.ndarray
        raise ValueError(f"numpy.ndarray transformer cannot read literal type {literal_type}")
