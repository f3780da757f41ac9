"""pandas.DataFrame and pyarrow.Table <-> parquet datasets, as ``flyte.io.DataFrame`` handlers.

A stored dataset is a directory holding one parquet file (``00000``); either library can read
what the other wrote, so a ``flyte.io.DataFrame`` opens as ``pandas.DataFrame`` or as
``pyarrow.Table``. A task whose input declares columns (``Annotated[pd.DataFrame, cols]``)
reads only those.
"""

from __future__ import annotations

from typing import Any, List, Optional

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from flyte.io import PARQUET, DataFrame
from flyte.io.extend import DataFrameDecoder, DataFrameEncoder
from flyte.types import TypeTransformerFailedError

from flyteplugins.types._files import downloaded, scratch_dir, upload

FILE_NAME = "00000"


def _columns(metadata: Any) -> Optional[List[str]]:
    cols = [c.name for c in metadata.structured_dataset_type.columns] if metadata is not None else []
    return cols or None


def _to_table(value: Any) -> pa.Table:
    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pd.DataFrame):
        try:
            return pa.Table.from_pandas(value)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
            raise TypeTransformerFailedError(
                f"pandas.DataFrame with columns {list(value.columns)!r:.120} cannot be written as parquet: {e}"
            ) from e
    raise TypeTransformerFailedError(f"expected a pandas.DataFrame or pyarrow.Table, got {type(value).__name__}")


async def _write(df: DataFrame, structured_dataset_type: Any) -> Any:
    from flyteidl2.core import literals_pb2, types_pb2

    table = _to_table(df.val)
    with scratch_dir() as folder:
        local_dir = folder / "dataset"
        local_dir.mkdir()
        pq.write_table(table, local_dir / FILE_NAME)
        uri = await upload(local_dir, df.uri)
    sd_type = types_pb2.StructuredDatasetType(columns=structured_dataset_type.columns, format=PARQUET)
    return literals_pb2.StructuredDataset(uri=uri, metadata=literals_pb2.StructuredDatasetMetadata(structured_dataset_type=sd_type))


async def _read(flyte_value: Any, current_task_metadata: Any) -> pa.Table:
    columns = _columns(current_task_metadata)
    async with downloaded(flyte_value.uri, recursive=True) as local:
        try:
            # Read whole (no memory map): the local copy is removed when the block ends.
            return pq.read_table(local, columns=columns, memory_map=False)
        except (pa.ArrowInvalid, KeyError) as e:
            raise TypeTransformerFailedError(f"cannot read parquet dataset {flyte_value.uri} (columns {columns}): {e}") from e


class PandasToParquetEncoder(DataFrameEncoder[pd.DataFrame]):
    """Writes a pandas DataFrame as a parquet dataset (dtypes kept in the pandas metadata)."""

    def __init__(self) -> None:
        super().__init__(pd.DataFrame, None, PARQUET)

    async def encode(self, dataframe: DataFrame, structured_dataset_type: Any) -> Any:
        return await _write(dataframe, structured_dataset_type)


class ParquetToPandasDecoder(DataFrameDecoder[pd.DataFrame]):
    """Reads a parquet dataset as a pandas DataFrame."""

    def __init__(self) -> None:
        super().__init__(pd.DataFrame, None, PARQUET)

    async def decode(self, flyte_value: Any, current_task_metadata: Any) -> pd.DataFrame:
        return (await _read(flyte_value, current_task_metadata)).to_pandas()


class ArrowToParquetEncoder(DataFrameEncoder[pa.Table]):
    """Writes a pyarrow Table as a parquet dataset."""

    def __init__(self) -> None:
        super().__init__(pa.Table, None, PARQUET)

    async def encode(self, dataframe: DataFrame, structured_dataset_type: Any) -> Any:
        return await _write(dataframe, structured_dataset_type)


class ParquetToArrowDecoder(DataFrameDecoder[pa.Table]):
    """Reads a parquet dataset as a pyarrow Table."""

    def __init__(self) -> None:
        super().__init__(pa.Table, None, PARQUET)

    async def decode(self, flyte_value: Any, current_task_metadata: Any) -> pa.Table:
        return await _read(flyte_value, current_task_metadata)


HANDLERS = (PandasToParquetEncoder, ParquetToPandasDecoder, ArrowToParquetEncoder, ParquetToArrowDecoder)
