"""``flyte.io.Dir``: a reference to a directory, local or remote, passed between tasks."""

from __future__ import annotations

import fnmatch
import os
from typing import TYPE_CHECKING, AsyncIterator, Generic, Iterator, List, Optional, Type, TypeVar, Union

from flyte.io._file import File
from flyte.io._ref import BlobRefTransformer, DataRef
from flyte.types._transformer import TypeTransformer

if TYPE_CHECKING:
    from pathlib import Path

    from flyteidl2.core.types_pb2 import LiteralType

__all__ = ["Dir", "DirTransformer"]

T = TypeVar("T")


class Dir(DataRef, Generic[T]):
    """A directory that tasks pass to each other by reference.

    Build one from a local directory with :meth:`from_local` (copied to the run's raw data path)
    or refer to an existing one with :meth:`from_existing_remote`; list it with :meth:`walk` /
    :meth:`list_files`, fetch it with :meth:`download`. ``Dir["csv"]`` pins the format of its files.
    """

    __slots__ = ()
    _kind = "dir"

    # -- constructors ------------------------------------------------------------------------

    @classmethod
    def new_remote(cls, dir_name: Optional[str] = None, hash: Optional[str] = None) -> "Dir[T]":  # noqa: A002
        """A new, empty directory location under the current run's raw data path."""
        from flyte import storage
        from flyte._context import raw_data_path

        name = dir_name or os.urandom(16).hex()
        return cls(path=storage.join(raw_data_path(), os.urandom(16).hex(), name), name=name, hash=hash)

    @classmethod
    def from_existing_remote(cls, remote_path: str, dir_cache_key: Optional[str] = None) -> "Dir[T]":
        """Refer to a directory that already exists; ``dir_cache_key`` stands for its content in cache keys."""
        return cls(path=remote_path, hash=dir_cache_key)

    @classmethod
    async def from_local(
        cls,
        local_path: Union[str, Path],
        remote_destination: Optional[str] = None,
        dir_cache_key: Optional[str] = None,
        batch_size: Optional[int] = None,
        chunk_size: Optional[int] = None,
        max_concurrency: Optional[int] = None,
    ) -> "Dir[T]":
        """Copy a local directory to ``remote_destination`` (default: the run's raw data path)."""
        return cls._from_local(local_path, remote_destination, dir_cache_key)

    @classmethod
    def from_local_sync(
        cls,
        local_path: Union[str, Path],
        remote_destination: Optional[str] = None,
        dir_cache_key: Optional[str] = None,
        batch_size: Optional[int] = None,
        chunk_size: Optional[int] = None,
        max_concurrency: Optional[int] = None,
    ) -> "Dir[T]":
        """Blocking form of :meth:`from_local`."""
        return cls._from_local(local_path, remote_destination, dir_cache_key)

    @classmethod
    def _from_local(cls, local_path: Union[str, Path], remote_destination: Optional[str], key: Optional[str]) -> "Dir[T]":
        from flyte import storage
        from flyte.errors import ValidationError

        src = storage.to_local_path(str(local_path))
        if not os.path.isdir(src):
            raise ValidationError("local_path", str(local_path), "an existing local directory", owner=cls.__name__)
        target = storage.put_sync(src, remote_destination, recursive=True)
        return cls(path=target, name=os.path.basename(src.rstrip("/")), hash=key)

    # -- listing ---------------------------------------------------------------------------

    def _file(self, path: str) -> File:
        return File[self.format](path=path) if self.format else File(path=path)

    def _iter_paths(self, recursive: bool, pattern: str, max_depth: Optional[int]) -> Iterator[str]:
        from flyte import storage

        if self._is_local():
            root = self._local_path()
            if not os.path.isdir(root):
                return
            base_depth = root.rstrip(os.sep).count(os.sep)
            for cur, dirs, files in os.walk(root):
                dirs.sort()
                depth = cur.rstrip(os.sep).count(os.sep) - base_depth
                if not recursive or (max_depth is not None and depth + 1 >= max_depth):
                    dirs[:] = []
                for name in sorted(files):
                    if fnmatch.fnmatch(name, pattern):
                        yield os.path.join(cur, name)
            return
        fs = storage.get_underlying_filesystem(path=self.path)
        root = self.path.rstrip("/")
        if recursive:
            found = fs.find(root, maxdepth=max_depth)
        else:
            found = [p for p in fs.ls(root, detail=False) if fs.isfile(p)]
        proto = self.path.split("://", 1)[0]
        for p in sorted(found):
            if fnmatch.fnmatch(p.rsplit("/", 1)[-1], pattern):
                yield p if "://" in p else f"{proto}://{p}"

    async def walk(self, recursive: bool = True, max_depth: Optional[int] = None) -> AsyncIterator[File[T]]:
        """Yield a ``File`` for each file in the directory (sub-directories too when ``recursive``)."""
        import asyncio

        if self._is_local():
            for p in self._iter_paths(recursive, "*", max_depth):
                yield self._file(p)
            return
        paths = await asyncio.to_thread(lambda: list(self._iter_paths(recursive, "*", max_depth)))
        for p in paths:
            yield self._file(p)

    def walk_sync(
        self, recursive: bool = True, file_pattern: str = "*", max_depth: Optional[int] = None
    ) -> Iterator[File[T]]:
        """Blocking form of :meth:`walk`, with a glob ``file_pattern`` on file names."""
        for p in self._iter_paths(recursive, file_pattern, max_depth):
            yield self._file(p)

    async def list_files(self) -> List[File[T]]:
        """The files directly in this directory (not in sub-directories)."""
        return [f async for f in self.walk(recursive=False)]

    def list_files_sync(self) -> List[File[T]]:
        """Blocking form of :meth:`list_files`."""
        return list(self.walk_sync(recursive=False))

    async def get_file(self, file_name: str) -> Optional[File[T]]:
        """The file ``file_name`` directly in this directory, or None when it does not exist."""
        f = self._file(self._child(file_name))
        return f if await f.exists() else None

    def get_file_sync(self, file_name: str) -> Optional[File[T]]:
        """Blocking form of :meth:`get_file`."""
        f = self._file(self._child(file_name))
        return f if f.exists_sync() else None

    def _child(self, name: str) -> str:
        from flyte import storage

        return storage.join(self.path, name)

    async def exists(self) -> bool:
        """Whether the directory exists."""
        from flyte import storage

        return await storage.exists(self.path)

    def exists_sync(self) -> bool:
        """Blocking form of :meth:`exists`."""
        from flyte import storage

        return storage.exists_sync(self.path)

    async def download(self, local_path: Optional[Union[str, Path]] = None) -> str:
        """Copy the directory to ``local_path`` (default: a fresh temporary path); return that path."""
        from flyte import storage

        return await storage.get(self.path, self._download_target(local_path), recursive=True)

    def download_sync(self, local_path: Optional[Union[str, Path]] = None) -> str:
        """Blocking form of :meth:`download`."""
        from flyte import storage

        return storage.get_sync(self.path, self._download_target(local_path), recursive=True)

    def _download_target(self, local_path: Optional[Union[str, Path]]) -> str:
        from flyte import storage

        if local_path is None:
            return str(storage.get_random_local_path(self.name or "dir"))
        return str(local_path)

    # -- engine hooks -----------------------------------------------------------------------

    def _stable_identity(self) -> str:
        if self.hash:
            return f"hash:{self.hash}"
        if self._is_local() and os.path.isdir(self._local_path()):
            from flyte.io._upload import dir_content_hash

            return f"sha256:{dir_content_hash(self._local_path())}"
        return self.path

    async def _uploaded(self) -> "Dir[T]":
        from flyte import storage

        target = await storage.put(self._local_path(), recursive=True)
        return type(self)(path=target, name=self.name, format=self.format, hash=self.hash)


class DirTransformer(BlobRefTransformer, TypeTransformer[Dir]):
    """``Dir`` as a multipart ``Blob`` literal; local directories are uploaded first."""

    ref_type = Dir
    multipart = True

    def __init__(self) -> None:
        TypeTransformer.__init__(self, "Dir", Dir)

    def guess_python_type(self, literal_type: "LiteralType") -> Type[Dir]:
        return self._guess(literal_type)
