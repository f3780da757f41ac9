"""flyte.storage: local paths, file:// URIs, and fsspec protocols (exercised with memory://)."""

from __future__ import annotations

import os
from pathlib import Path

import fsspec  # a dependency of core: a missing one is a broken install, not a skip
import pytest

from flyte import storage


@pytest.fixture
def memfs():
    fs = fsspec.filesystem("memory")
    root = f"/t{os.urandom(4).hex()}"
    yield f"memory://{root}"
    fs.rm(root, recursive=True) if fs.exists(root) else None


def test_is_remote_and_local_path() -> None:
    assert storage.is_remote("s3://bucket/key")
    assert storage.is_remote("gs://b/k")
    assert not storage.is_remote("/tmp/x")
    assert not storage.is_remote("file:///tmp/x")
    assert not storage.is_remote(Path("relative/x"))
    assert storage.to_local_path("file:///tmp/x") == "/tmp/x"
    with pytest.raises(ValueError):
        storage.to_local_path("s3://b/k")


def test_join_keeps_uri_scheme_and_single_slashes() -> None:
    assert storage.join("s3://bucket/", "/a/", "b.txt") == "s3://bucket/a/b.txt"
    assert storage.join("/tmp", "a", "b") == os.path.join("/tmp", "a", "b")
    assert storage.join("file:///data", "x") == "file:///data/x"


def test_random_local_paths_are_fresh() -> None:
    p1, p2 = storage.get_random_local_path("f.csv"), storage.get_random_local_path("f.csv")
    assert p1 != p2 and p1.name == "f.csv" and not p1.exists()
    d = storage.get_random_local_directory()
    assert d.is_dir() and not any(d.iterdir())


async def test_put_defaults_to_raw_data_path_and_get_copies_back(tmp_path: Path, isolated_flyte_home: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("hello")
    remote = await storage.put(str(src))
    assert remote.startswith(str(isolated_flyte_home / "data")) and remote.endswith("a.txt")
    local = await storage.get(remote)
    assert Path(local).read_text() == "hello" and local != remote
    explicit = await storage.get(remote, tmp_path / "copy.txt")
    assert Path(explicit).read_text() == "hello"


async def test_put_and_get_directories_with_file_uris(tmp_path: Path) -> None:
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "top.txt").write_text("1")
    (src / "sub" / "deep.txt").write_text("2")
    dest = f"file://{tmp_path / 'remote' / 'tree'}"
    assert await storage.put(str(src), dest, recursive=True) == dest
    back = await storage.get(dest, tmp_path / "back", recursive=True)
    assert (Path(back) / "sub" / "deep.txt").read_text() == "2"
    with pytest.raises(IsADirectoryError):
        await storage.put(str(src), str(tmp_path / "x"))


async def test_open_write_then_read_async_and_exists(tmp_path: Path) -> None:
    target = str(tmp_path / "nested" / "out.bin")
    assert not await storage.exists(target)
    fh = await storage.open(target, "wb")
    async with fh:
        await fh.write(b"abc")
    assert await storage.exists(target) and storage.exists_sync(target)
    async with await storage.open(target, "rb") as rfh:
        assert await rfh.read() == b"abc"


async def test_streams(tmp_path: Path) -> None:
    async def chunks():
        for part in (b"ab", b"cd", b"ef"):
            yield part

    path = await storage.put_stream(chunks(), to_path=str(tmp_path / "s.bin"))
    got = [c async for c in storage.get_stream(path, chunk_size=4)]
    assert got == [b"abcd", b"ef"]
    named = await storage.put_stream(b"xyz", name="n.bin")
    assert named.endswith("n.bin") and Path(named).read_bytes() == b"xyz"


async def test_remote_protocol_through_fsspec(tmp_path: Path, memfs: str) -> None:
    src = tmp_path / "m.txt"
    src.write_text("in memory")
    remote = await storage.put(str(src), storage.join(memfs, "m.txt"))
    assert storage.is_remote(remote) and await storage.exists(remote)
    async with await storage.open(remote, "rb") as fh:
        assert await fh.read() == b"in memory"
    local = await storage.get(remote)
    assert Path(local).read_text() == "in memory"

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "x.txt").write_text("x")
    rdir = storage.join(memfs, "tree")
    await storage.put(str(tree), rdir, recursive=True)
    back = await storage.get(rdir, tmp_path / "tree_back", recursive=True)
    assert (Path(back) / "sub" / "x.txt").read_text() == "x"


def test_sync_helpers(tmp_path: Path) -> None:
    src = tmp_path / "s.txt"
    src.write_text("sync")
    remote = storage.put_sync(str(src))
    assert Path(storage.get_sync(remote)).read_text() == "sync"
    with storage.open_sync(str(tmp_path / "w" / "x.txt"), "w") as fh:
        fh.write("text")
    assert (tmp_path / "w" / "x.txt").read_text() == "text"
