"""flyte.io: File, Dir and DataFrame, through their own API and through the type engine."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, List, Optional

import pytest
from flyteidl2.core import literals_pb2, types_pb2

from flyte import storage
from flyte.io import DataFrame, Dir, File
from flyte.io.extend import DataFrameDecoder, DataFrameEncoder, DataFrameTransformerEngine
from flyte.types import TypeEngine, TypeTransformerFailedError, check_value


@pytest.fixture
def raw(isolated_flyte_home: Path) -> str:
    return str(isolated_flyte_home / "data")


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    p = tmp_path / "greeting.txt"
    p.write_text("hello file")
    return p


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.csv").write_text("a")
    (root / "b.txt").write_text("b")
    (root / "sub" / "c.csv").write_text("c")
    (root / "sub" / "deeper" / "d.csv").write_text("d")
    return root


# -- File ----------------------------------------------------------------------------------------


async def test_file_from_local_uploads_to_raw_data_path(text_file: Path, raw: str) -> None:
    f = await File.from_local(text_file)
    assert f.path.startswith(raw) and f.name == "greeting.txt" and f.path != str(text_file)
    assert await f.exists()
    async with f.open("rb") as fh:
        assert await fh.read() == b"hello file"


def test_file_from_local_sync_and_open_sync(text_file: Path, raw: str) -> None:
    f = File.from_local_sync(str(text_file))
    assert f.path.startswith(raw) and f.exists_sync()
    with f.open_sync("rb") as fh:
        assert fh.read() == b"hello file"


def test_file_from_local_rejects_missing_file(tmp_path: Path) -> None:
    import flyte.errors

    with pytest.raises(flyte.errors.ValidationError, match="local_path"):
        File.from_local_sync(tmp_path / "nope.txt")


async def test_file_from_local_to_explicit_destination_with_hash(text_file: Path, tmp_path: Path) -> None:
    import hashlib

    dest = str(tmp_path / "dest" / "g.txt")
    f = await File.from_local(text_file, remote_destination=dest, hash_method=hashlib.sha256())
    assert f.path == dest and Path(dest).read_text() == "hello file"
    assert f.hash == hashlib.sha256(b"hello file").hexdigest()
    assert (await File.from_local(text_file, hash_method="precomputed")).hash == "precomputed"


async def test_new_remote_write_then_read(raw: str) -> None:
    f = File.new_remote("out.json")
    assert f.path.startswith(raw) and f.name == "out.json"
    async with f.open("wb") as fh:
        await fh.write(b'{"k": 1}')
    with f.open_sync("r") as fh:
        assert json.load(fh) == {"k": 1}


async def test_download_async_and_sync(text_file: Path, tmp_path: Path) -> None:
    f = await File.from_local(text_file)
    local = await f.download()
    assert Path(local).read_text() == "hello file" and local != f.path
    into_dir = tmp_path / "dl"
    into_dir.mkdir()
    assert f.download_sync(into_dir) == str(into_dir / "greeting.txt")
    assert (into_dir / "greeting.txt").read_text() == "hello file"


def test_file_format_generic_and_existing_remote() -> None:
    f = File["csv"].from_existing_remote("s3://bucket/data.csv", file_cache_key="k1")
    assert f.format == "csv" and f.hash == "k1" and f.name == "data.csv"
    assert isinstance(f, File) and File["csv"] is File["csv"]
    assert TypeEngine.to_literal_type(File["csv"]).blob.format == "csv"
    assert check_value(f, File) is f


async def test_file_literal_is_single_blob_with_hash(text_file: Path) -> None:
    f = File.from_existing_remote("s3://b/k.parquet", file_cache_key="abc")
    lv = await TypeEngine.to_literal(f, File, TypeEngine.to_literal_type(File))
    assert lv.scalar.blob.uri == "s3://b/k.parquet" and lv.hash == "abc"
    assert lv.scalar.blob.metadata.type.dimensionality == types_pb2.BlobType.BlobDimensionality.SINGLE
    back = await TypeEngine.to_python_value(lv, File)
    assert back == f
    with pytest.raises(TypeTransformerFailedError, match="multipart"):
        await TypeEngine.to_python_value(lv, Dir)


async def test_local_file_is_uploaded_by_to_literal(text_file: Path, raw: str) -> None:
    lv = await TypeEngine.to_literal(File(path=str(text_file)), File, TypeEngine.to_literal_type(File))
    assert lv.scalar.blob.uri.startswith(raw)
    assert Path(lv.scalar.blob.uri).read_text() == "hello file"


async def test_file_nested_in_dataclass_round_trips(text_file: Path, raw: str) -> None:
    @dataclasses.dataclass
    class Report:
        title: str
        attachments: List[File]
        cover: Optional[File] = None

    value = Report("r", [File(path=str(text_file))], File(path=str(text_file)))
    lv = await TypeEngine.to_literal(value, Report, TypeEngine.to_literal_type(Report))
    back = await TypeEngine.to_python_value(lv, Report)
    assert back.attachments[0].path.startswith(raw) and back.cover.path.startswith(raw)
    with back.attachments[0].open_sync("rb") as fh:
        assert fh.read() == b"hello file"
    assert value.attachments[0].path == str(text_file)  # the caller's object is left alone


def test_file_pickles_and_compares() -> None:
    import pickle

    f = File(path="s3://b/k", hash="h")
    assert pickle.loads(pickle.dumps(f)) == f
    assert f != File(path="s3://b/other")
    assert "s3://b/k" in repr(f)


# -- Dir -----------------------------------------------------------------------------------------


async def test_dir_from_local_walk_and_list(tree: Path, raw: str) -> None:
    d = await Dir.from_local(tree)
    assert d.path.startswith(raw) and d.name == "tree"
    names = sorted([f.name async for f in d.walk()])
    assert names == ["a.csv", "b.txt", "c.csv", "d.csv"]
    assert sorted(f.name for f in await d.list_files()) == ["a.csv", "b.txt"]
    assert sorted(f.name for f in d.walk_sync(file_pattern="*.csv")) == ["a.csv", "c.csv", "d.csv"]
    assert sorted(f.name for f in d.walk_sync(max_depth=2)) == ["a.csv", "b.txt", "c.csv"]
    first = await d.get_file("a.csv")
    assert first is not None and first.exists_sync()
    assert d.get_file_sync("missing.txt") is None


def test_dir_from_local_sync_and_download(tree: Path, tmp_path: Path) -> None:
    d = Dir.from_local_sync(str(tree))
    local = d.download_sync(tmp_path / "copy")
    assert (Path(local) / "sub" / "deeper" / "d.csv").read_text() == "d"
    assert d.exists_sync()


async def test_dir_download_async(tree: Path) -> None:
    d = await Dir.from_local(tree)
    local = await d.download()
    assert sorted(os.listdir(local)) == ["a.csv", "b.txt", "sub"]


async def test_dir_literal_is_multipart_and_uploads_local_dirs(tree: Path, raw: str) -> None:
    lv = await TypeEngine.to_literal(Dir(path=str(tree)), Dir, TypeEngine.to_literal_type(Dir))
    assert lv.scalar.blob.metadata.type.dimensionality == types_pb2.BlobType.BlobDimensionality.MULTIPART
    assert lv.scalar.blob.uri.startswith(raw)
    back = await TypeEngine.to_python_value(lv, Dir)
    assert sorted(f.name for f in back.walk_sync()) == ["a.csv", "b.txt", "c.csv", "d.csv"]


async def test_dir_on_fsspec_protocol(tree: Path) -> None:
    dest = f"memory:///dirs{os.urandom(4).hex()}/tree"
    d = await Dir.from_local(tree, remote_destination=dest)
    assert d.path == dest
    files = [f async for f in d.walk()]
    assert sorted(f.name for f in files) == ["a.csv", "b.txt", "c.csv", "d.csv"]
    assert all(f.path.startswith("memory://") for f in files)
    async with files[0].open("rb") as fh:
        assert await fh.read() == b"a"


# -- DataFrame -----------------------------------------------------------------------------------


class Table:
    """A toy dataframe library: rows of dicts, stored as JSON lines."""

    def __init__(self, rows: List[dict]):
        self.rows = rows

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Table) and other.rows == self.rows


class TableEncoder(DataFrameEncoder):
    def __init__(self) -> None:
        super().__init__(Table, None, "jsonl")

    async def encode(self, dataframe: DataFrame, structured_dataset_type: Any) -> literals_pb2.StructuredDataset:
        uri = dataframe.uri or storage.join(storage._default_remote_path(None), "table.jsonl")
        fh = await storage.open(uri, "wb")
        async with fh:
            await fh.write("\n".join(json.dumps(r) for r in dataframe.val.rows).encode())
        return literals_pb2.StructuredDataset(
            uri=uri, metadata=literals_pb2.StructuredDatasetMetadata(structured_dataset_type=structured_dataset_type)
        )


class TableDecoder(DataFrameDecoder):
    def __init__(self) -> None:
        super().__init__(Table, None, "jsonl")

    async def decode(self, flyte_value: Any, current_task_metadata: Any) -> Table:
        async with await storage.open(flyte_value.uri, "rb") as fh:
            text = (await fh.read()).decode()
        return Table([json.loads(line) for line in text.splitlines() if line])


@pytest.fixture
def table_handlers() -> Any:
    saved_enc = {k: {p: dict(f) for p, f in v.items()} for k, v in DataFrameTransformerEngine.ENCODERS.items()}
    saved_dec = {k: {p: dict(f) for p, f in v.items()} for k, v in DataFrameTransformerEngine.DECODERS.items()}
    saved_fmt = dict(DataFrameTransformerEngine.DEFAULT_FORMATS)
    saved_reg = dict(TypeEngine._REGISTRY)
    DataFrameTransformerEngine.register(TableEncoder())
    DataFrameTransformerEngine.register(TableDecoder())
    yield
    for attr, saved in (("ENCODERS", saved_enc), ("DECODERS", saved_dec), ("DEFAULT_FORMATS", saved_fmt)):
        table = getattr(DataFrameTransformerEngine, attr)
        table.clear()
        table.update(saved)
    TypeEngine._REGISTRY.clear()
    TypeEngine._REGISTRY.update(saved_reg)
    TypeEngine._invalidate()


async def test_dataframe_wrapper_round_trip_and_open(table_handlers: Any, raw: str) -> None:
    t = Table([{"a": 1}, {"a": 2}])
    lt = TypeEngine.to_literal_type(DataFrame)
    assert lt.HasField("structured_dataset_type")
    lv = await TypeEngine.to_literal(DataFrame.from_df(t), DataFrame, lt)
    sd = lv.scalar.structured_dataset
    assert sd.uri.startswith(raw) and sd.metadata.structured_dataset_type.format == "jsonl"
    back = await TypeEngine.to_python_value(lv, DataFrame)
    assert isinstance(back, DataFrame) and back.uri == sd.uri and back.format == "jsonl"
    assert await back.open(Table).all() == t
    # Passing the reference on does not rewrite the data.
    again = await TypeEngine.to_literal(back, DataFrame, lt)
    assert again.scalar.structured_dataset.uri == sd.uri


async def test_registered_library_type_converts_directly(table_handlers: Any) -> None:
    t = Table([{"x": "y"}])
    assert TypeEngine.get_transformer(Table).name == "DataFrame Transformer"
    assert TypeEngine.to_literal_type(Table).structured_dataset_type.format == "jsonl"
    lm = await TypeEngine.dict_to_literal_map({"t": t}, {"t": Table})
    assert await TypeEngine.literal_map_to_kwargs(lm, {"t": Table}) == {"t": t}
    assert check_value(t, DataFrame) is t


async def test_dataframe_from_existing_remote_and_missing_handler() -> None:
    df = DataFrame.from_existing_remote("s3://bucket/t.parquet")
    assert df.format == "parquet"
    lv = await TypeEngine.to_literal(df, DataFrame, TypeEngine.to_literal_type(DataFrame))
    assert lv.scalar.structured_dataset.uri == "s3://bucket/t.parquet"

    class Unknown:
        pass

    with pytest.raises(TypeTransformerFailedError, match="No decoder"):
        await df.open(Unknown).all()


def test_duplicate_handler_needs_override(table_handlers: Any) -> None:
    with pytest.raises(ValueError, match="override=True"):
        DataFrameTransformerEngine.register(TableEncoder())
    DataFrameTransformerEngine.register(TableEncoder(), override=True)


def test_hash_function_sees_whole_content(text_file: Path) -> None:
    from flyte.io import HashFunction

    f = File.from_local_sync(text_file, hash_method=HashFunction.from_fn(lambda data: f"len={len(data)}"))
    assert f.hash == "len=10"


async def test_hash_inputs_of_in_memory_dataframe_is_stable(table_handlers: Any) -> None:
    from flyte.types import hash_inputs

    h1 = await hash_inputs({"t": Table([{"a": 1}])}, {"t": Table}, set())
    h2 = await hash_inputs({"t": DataFrame.from_df(Table([{"a": 1}]))}, {"t": DataFrame}, set())
    assert h1 == await hash_inputs({"t": Table([{"a": 1}])}, {"t": Table}, set())
    assert h1 != await hash_inputs({"t": Table([{"a": 2}])}, {"t": Table}, set())
    assert h2 == await hash_inputs({"t": DataFrame.from_df(Table([{"a": 1}]))}, {"t": DataFrame}, set())
