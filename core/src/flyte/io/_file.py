"""``flyte.io.File``: a reference to one file, local or remote, passed between tasks."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any, AsyncIterator, Generic, Iterator, Optional, Type, TypeVar, Union

from flyte.io._ref import BlobRefTransformer, DataRef
from flyte.types._transformer import TypeTransformer

if TYPE_CHECKING:
    from pathlib import Path

    from flyteidl2.core.types_pb2 import LiteralType

__all__ = ["File", "FileTransformer"]

T = TypeVar("T")


def _resolve_hash(hash_method: Any, local_path: Optional[str] = None) -> Optional[str]:
    """A precomputed hash (a string), or one computed by a hashlib-like object over the file."""
    if hash_method is None:
        return None
    if isinstance(hash_method, str):
        return hash_method
    from flyte.io._hashing import HashFunction

    if local_path is not None and isinstance(hash_method, HashFunction):
        with open(local_path, "rb") as fh:
            hash_method.update(fh.read())
        return hash_method.result()
    if local_path is not None and hasattr(hash_method, "update"):
        with open(local_path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                hash_method.update(chunk)
        for name in ("result", "hexdigest"):
            fn = getattr(hash_method, name, None)
            if callable(fn):
                return str(fn())
    return None


class File(DataRef, Generic[T]):
    """A file that tasks pass to each other by reference.

    Build one from a local file with :meth:`from_local` (copied to the run's raw data path), from
    data that already exists with :meth:`from_existing_remote`, or write a new one with
    :meth:`new_remote` and :meth:`open`. ``File["csv"]`` pins the format.

    Fields: ``path`` (local path or URI), ``name`` (the file name), ``format``, ``hash`` (a
    content hash, used in cache keys when set).
    """

    __slots__ = ()
    _kind = "file"

    # -- constructors ------------------------------------------------------------------------

    @classmethod
    def new_remote(cls, file_name: Optional[str] = None, hash_method: Any = None) -> "File[T]":
        """A new, not yet written file under the current run's raw data path."""
        from flyte import storage
        from flyte._context import raw_data_path

        name = file_name or os.urandom(16).hex()
        return cls(path=storage.join(raw_data_path(), os.urandom(16).hex(), name), name=name, hash_method=hash_method)

    @classmethod
    def named_remote(cls, name: str) -> "File[T]":
        """A file with a stable path (``name``) under the current run's raw data path."""
        from flyte import storage
        from flyte._context import raw_data_path

        return cls(path=storage.join(raw_data_path(), name), name=os.path.basename(name))

    @classmethod
    def from_existing_remote(cls, remote_path: str, file_cache_key: Optional[str] = None) -> "File[T]":
        """Refer to a file that already exists; ``file_cache_key`` stands for its content in cache keys."""
        return cls(path=remote_path, hash=file_cache_key)

    @classmethod
    async def from_local(
        cls,
        local_path: Union[str, Path],
        remote_destination: Optional[str] = None,
        hash_method: Any = None,
        chunk_size: Optional[int] = None,
        max_concurrency: Optional[int] = None,
    ) -> "File[T]":
        """Copy a local file to ``remote_destination`` (default: the run's raw data path)."""
        return cls._from_local(local_path, remote_destination, hash_method)

    @classmethod
    def from_local_sync(
        cls,
        local_path: Union[str, Path],
        remote_destination: Optional[str] = None,
        hash_method: Any = None,
        chunk_size: Optional[int] = None,
        max_concurrency: Optional[int] = None,
    ) -> "File[T]":
        """Blocking form of :meth:`from_local`."""
        return cls._from_local(local_path, remote_destination, hash_method)

    @classmethod
    def _from_local(cls, local_path: Union[str, Path], remote_destination: Optional[str], hash_method: Any) -> "File[T]":
        from flyte import storage
        from flyte.errors import ValidationError

        src = storage.to_local_path(str(local_path))
        if not os.path.isfile(src):
            raise ValidationError("local_path", str(local_path), "an existing local file", owner=cls.__name__)
        hash_value = _resolve_hash(hash_method, src)
        target = storage.put_sync(src, remote_destination)
        return cls(path=target, name=os.path.basename(src), hash=hash_value)

    # -- reading and writing -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def open(
        self,
        mode: str = "rb",
        block_size: Optional[int] = None,
        cache_type: str = "readahead",
        cache_options: Optional[dict] = None,
        compression: Optional[str] = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Open the file: ``async with f.open("rb") as fh: data = await fh.read()``."""
        from flyte import storage

        fh = await storage.open(self.path, mode, **kwargs)
        try:
            yield fh
        finally:
            await fh.close()

    @contextlib.contextmanager
    def open_sync(
        self,
        mode: str = "rb",
        block_size: Optional[int] = None,
        cache_type: str = "readahead",
        cache_options: Optional[dict] = None,
        compression: Optional[str] = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Open the file with blocking I/O: ``with f.open_sync("rb") as fh: fh.read()``."""
        from flyte import storage

        fh = storage.open_sync(self.path, mode, **kwargs)
        try:
            yield fh
        finally:
            fh.close()

    async def exists(self) -> bool:
        """Whether the file exists."""
        from flyte import storage

        return await storage.exists(self.path)

    def exists_sync(self) -> bool:
        """Blocking form of :meth:`exists`."""
        from flyte import storage

        return storage.exists_sync(self.path)

    async def download(self, local_path: Optional[Union[str, Path]] = None) -> str:
        """Copy the file to ``local_path`` (default: a fresh temporary path); return that path."""
        from flyte import storage

        return await storage.get(self.path, self._download_target(local_path))

    def download_sync(self, local_path: Optional[Union[str, Path]] = None) -> str:
        """Blocking form of :meth:`download`."""
        from flyte import storage

        return storage.get_sync(self.path, self._download_target(local_path))

    def _download_target(self, local_path: Optional[Union[str, Path]]) -> str:
        from flyte import storage

        name = self.name or os.path.basename(self.path) or "file"
        if local_path is None:
            return str(storage.get_random_local_path(name))
        target = str(local_path)
        if os.path.isdir(target):
            return os.path.join(target, name)
        return target

    # -- engine hooks -----------------------------------------------------------------------

    def _stable_identity(self) -> str:
        if self.hash:
            return f"hash:{self.hash}"
        if self._is_local() and os.path.isfile(self._local_path()):
            from flyte.io._upload import content_hash

            return f"sha256:{content_hash(self._local_path())}"
        return self.path

    async def _uploaded(self) -> "File[T]":
        from flyte import storage

        target = await storage.put(self._local_path())
        return type(self)(path=target, name=self.name, format=self.format, hash=self.hash)


class FileTransformer(BlobRefTransformer, TypeTransformer[File]):
    """``File`` as a single-part ``Blob`` literal; local files are uploaded first."""

    ref_type = File
    multipart = False

    def __init__(self) -> None:
        TypeTransformer.__init__(self, "File", File)

    def guess_python_type(self, literal_type: "LiteralType") -> Type[File]:
        return self._guess(literal_type)
