"""flyte-plugin-types: numpy, pandas and pyarrow values through the type engine and local runs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import flyte
import flyte.io
from flyte._plugins.manager import TYPES_GROUP, list_entry_points, load_type_plugins
from flyte.types import TypeEngine, TypeTransformerFailedError


@pytest.fixture(autouse=True)
def plugin_loaded():
    load_type_plugins()


def roundtrip(value, tp):
    async def go():
        lt = TypeEngine.to_literal_type(tp)
        lv = await TypeEngine.to_literal(value, tp, lt)
        return lv, await TypeEngine.to_python_value(lv, tp)

    return asyncio.run(go())


def test_registered_through_the_types_entry_point():
    eps = {ep.name: ep for ep in list_entry_points(TYPES_GROUP)}
    assert eps["types"].value == "flyteplugins.types.hooks"
    assert eps["types"].dist.name == "flyte-plugin-types"
    from flyteplugins.types.numpy_array import NumpyArrayTransformer

    assert isinstance(TypeEngine.get_transformer(np.ndarray), NumpyArrayTransformer)
    assert TypeEngine.get_transformer(pd.DataFrame) is TypeEngine.get_transformer(flyte.io.DataFrame)


def test_installing_the_plugin_adds_no_import_to_import_flyte():
    code = (
        "import sys, importlib.metadata as md\n"
        "assert any(ep.value == 'flyteplugins.types.hooks' for ep in md.entry_points(group='flyte.plugins.types'))\n"
        "import flyte, flyte.extend\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'pyarrow', 'flyteplugins.types', 'flyteplugins.types.hooks') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        np.array([[True, False]], dtype=bool),
        np.array(["a", "bcd"], dtype="<U3"),
        np.array(["2024-01-01", "2024-02-29"], dtype="datetime64[D]"),
        np.array(3.5, dtype=np.float64),  # 0-d
        np.zeros((0, 5), dtype=np.int16),  # empty
        np.asfortranarray(np.arange(6, dtype=np.uint8).reshape(2, 3)),
        np.array([1 + 2j], dtype=np.complex128),
    ],
    ids=["float32-3d", "bool", "unicode", "datetime64", "0d", "empty", "fortran", "complex"],
)
def test_numpy_roundtrip_preserves_dtype_shape_and_values(array):
    lv, back = roundtrip(array, np.ndarray)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    # Stored as a plain .npy blob, readable without pickle.
    assert lv.scalar.blob.metadata.type.format == "npy"
    np.testing.assert_array_equal(np.load(lv.scalar.blob.uri, allow_pickle=False), array)


def test_numpy_object_arrays_are_refused_naming_the_dtype():
    with pytest.raises(TypeTransformerFailedError, match="dtype object"):
        roundtrip(np.array([{"a": 1}, None], dtype=object), np.ndarray)


def test_numpy_wrong_value_is_an_error_naming_it():
    with pytest.raises(TypeTransformerFailedError, match=r"\[1, 2\] of type list is not a numpy.ndarray"):
        TypeEngine.get_transformer(np.ndarray).assert_type(np.ndarray, [1, 2])


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i8": pd.Series([1, -2, 3], dtype="int8"),
            "f32": pd.Series([0.5, 1.5, None], dtype="float32"),
            "nullable": pd.Series([1, None, 3], dtype="Int64"),
            "cat": pd.Categorical(["x", "y", "x"]),
            "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]).tz_localize("UTC"),
            "s": pd.Series(["a", "b", None], dtype="string"),
            "b": [True, False, True],
        }
    )


def test_pandas_roundtrip_preserves_column_types():
    df = _frame()
    lv, back = roundtrip(df, pd.DataFrame)
    pd.testing.assert_frame_equal(back, df)
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    assert lv.scalar.structured_dataset.metadata.structured_dataset_type.format == "parquet"
    stored = pq.read_table(lv.scalar.structured_dataset.uri)  # a parquet dataset, not a pickle
    assert stored.num_rows == 3


def test_arrow_roundtrip_preserves_the_schema():
    table = pa.table(
        {
            "k": pa.array([1, 2], pa.int8()),
            "v": pa.array([[1.0], [2.0, 3.0]], pa.list_(pa.float32())),
            "d": pa.array([1, 2], pa.date32()),
        }
    )
    _, back = roundtrip(table, pa.Table)
    assert back.schema.remove_metadata() == table.schema
    assert back.equals(table)


def test_unwritable_dataframe_is_an_error_naming_the_columns():
    bad = pd.DataFrame({"obj": [object(), object()]})
    with pytest.raises(TypeTransformerFailedError, match="obj"):
        roundtrip(bad, pd.DataFrame)


env = flyte.TaskEnvironment(name="types_plugin")


@env.task
async def scale(x: np.ndarray, k: float) -> np.ndarray:
    return x * k


@env.task
async def enrich(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(total=df["i8"].astype("int64") * 2)


@env.task
async def to_table(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


@env.task
async def wrap(t: pa.Table) -> flyte.io.DataFrame:
    return flyte.io.DataFrame.from_df(t)


@env.task
async def open_both(d: flyte.io.DataFrame) -> tuple[pd.DataFrame, pa.Table]:
    return await d.open(pd.DataFrame).all(), await d.open(pa.Table).all()


def test_numpy_through_a_local_task_run():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    out = flyte.run(scale, x=x, k=2.0).outputs()[0]
    assert out.dtype == np.float32 and out.shape == (3, 2)
    np.testing.assert_array_equal(out, x * 2)


def test_pandas_and_arrow_through_local_task_runs():
    df = _frame()
    out = flyte.run(enrich, df=df).outputs()[0]
    assert out.dtypes.drop("total").to_dict() == df.dtypes.to_dict()
    assert out["total"].tolist() == [2, -4, 6]
    table = flyte.run(to_table, df=df[["i8", "cat"]]).outputs()[0]
    assert table.schema.field("i8").type == pa.int8()
    assert pa.types.is_dictionary(table.schema.field("cat").type)


def test_flyte_io_dataframe_opens_as_pandas_or_arrow():
    table = pa.table({"k": pa.array([1, 2, 3], pa.int16()), "name": ["a", "b", "c"]})
    wrapped = flyte.run(wrap, t=table).outputs()[0]
    assert isinstance(wrapped, flyte.io.DataFrame) and wrapped.uri
    assert Path(wrapped.uri.removeprefix("file://")).exists()
    as_pandas, as_arrow = flyte.run(open_both, d=wrapped).outputs()
    assert as_pandas["k"].dtype == np.int16 and as_pandas["name"].tolist() == ["a", "b", "c"]
    assert as_arrow.equals(table) or as_arrow.select(["k", "name"]).cast(table.schema).equals(table)


def test_encoding_and_decoding_leave_no_scratch_folder(plugin_loaded, tmp_path, monkeypatch):
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the plugin stages its copies
    _, arr = roundtrip(np.arange(12).reshape(3, 4), np.ndarray)
    _, df = roundtrip(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), pd.DataFrame)
    assert arr.sum() == 66 and list(df["b"]) == ["x", "y"]  # read whole before the copy went
    assert sorted(p.name for p in scratch.iterdir()) == []
