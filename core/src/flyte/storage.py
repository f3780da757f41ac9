"""Reading and writing data wherever it lives: local paths, ``file://`` URIs and fsspec URIs.

Local paths are handled with the standard library, so the local engine never imports fsspec.
Any other protocol (``s3://``, ``gs://``, ``abfs://``, ...) goes through fsspec, which must have
the matching backend installed (``s3fs``, ``gcsfs``, ...). Blocking remote calls run in a worker
thread so that the event loop keeps serving other tasks.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncGenerator, AsyncIterable, Dict, Optional, Union

from flyte._uri import LOCAL_PROTOCOLS, is_remote, join, protocol, to_local_path

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "ABFS",
    "GCS",
    "S3",
    "Storage",
    "exists",
    "exists_sync",
    "get",
    "get_configured_fsspec_kwargs",
    "get_random_local_directory",
    "get_random_local_path",
    "get_stream",
    "get_sync",
    "get_underlying_filesystem",
    "is_remote",
    "join",
    "open",
    "open_sync",
    "put",
    "put_stream",
    "put_sync",
    "to_local_path",
]

_CHUNK = 10 * 1024 * 1024

# The pure path helpers live in flyte._uri (importable by every layer); these names keep
# working from here.
_LOCAL_PROTOCOLS = LOCAL_PROTOCOLS
_protocol = protocol


def get_random_local_directory() -> "Path":
    """A new, empty directory under the system temporary directory."""
    import tempfile
    from pathlib import Path

    d = Path(tempfile.gettempdir()) / "flyte" / os.urandom(16).hex()
    d.mkdir(parents=True, exist_ok=True)
    return d


def get_random_local_path(file_path_or_file_name: Optional[Union["Path", str]] = None) -> "Path":
    """A fresh local path (not created) whose last segment is the given file name, if any."""
    import tempfile
    from pathlib import Path

    base = Path(tempfile.gettempdir()) / "flyte" / os.urandom(16).hex()
    if file_path_or_file_name:
        return base / os.path.basename(str(file_path_or_file_name).rstrip("/"))
    return base


def get_configured_fsspec_kwargs(protocol: Optional[str] = None, anonymous: bool = False) -> Dict[str, Any]:
    """Keyword arguments for ``fsspec.filesystem(protocol, ...)``.

    Credentials come from each backend's own environment variables and files; only anonymous
    access needs saying here.
    """
    if anonymous and protocol in ("s3", "s3a"):
        return {"anon": True}
    if anonymous and protocol in ("gs", "gcs"):
        return {"token": "anon"}
    return {}


def get_underlying_filesystem(
    protocol: Optional[str] = None, anonymous: bool = False, path: Optional[str] = None, **kwargs: Any
) -> Any:
    """The fsspec filesystem serving ``protocol`` (or the protocol of ``path``)."""
    import fsspec

    if protocol is None:
        protocol = _protocol(path or "") or "file"
    opts = {**get_configured_fsspec_kwargs(protocol, anonymous), **kwargs}
    return fsspec.filesystem(protocol, **opts)


def _default_remote_path(name: Optional[str]) -> str:
    from flyte._context import raw_data_path

    return join(raw_data_path(), os.urandom(16).hex(), name) if name else join(raw_data_path(), os.urandom(16).hex())


def _copy_local(src: str, dst: str, recursive: bool) -> None:
    import shutil

    if os.path.isdir(src):
        if not recursive:
            raise IsADirectoryError(f"{src} is a directory; pass recursive=True to copy it")
        shutil.copytree(src, dst, dirs_exist_ok=True)
        return
    parent = os.path.dirname(dst)
    if parent:
        os.makedirs(parent, exist_ok=True)
    shutil.copyfile(src, dst)


def _transfer(from_path: str, to_path: str, recursive: bool, **kwargs: Any) -> None:
    src_remote, dst_remote = is_remote(from_path), is_remote(to_path)
    if not src_remote and not dst_remote:
        _copy_local(to_local_path(from_path), to_local_path(to_path), recursive)
        return
    if src_remote and dst_remote:
        fs = get_underlying_filesystem(path=from_path, **kwargs)
        fs.copy(from_path, to_path, recursive=recursive)
        return
    if dst_remote:
        fs = get_underlying_filesystem(path=to_path, **kwargs)
        src = to_local_path(from_path)
        if os.path.isdir(src):
            # fsspec's put copies the directory *into* the target when it exists; copying the
            # contents keeps the layout the same for every backend.
            fs.put(src.rstrip("/") + "/", to_path.rstrip("/") + "/", recursive=True)
        else:
            fs.put(src, to_path)
        return
    fs = get_underlying_filesystem(path=from_path, **kwargs)
    dst = to_local_path(to_path)
    if recursive or fs.isdir(from_path):
        os.makedirs(dst, exist_ok=True)
        fs.get(from_path.rstrip("/") + "/", dst.rstrip("/") + "/", recursive=True)
    else:
        parent = os.path.dirname(dst)
        if parent:
            os.makedirs(parent, exist_ok=True)
        fs.get(from_path, dst)


async def _run(fn: Any, *args: Any, remote: bool, **kwargs: Any) -> Any:
    # Local copies of small files are faster inline than through a thread hop.
    if remote:
        import asyncio

        return await asyncio.to_thread(fn, *args, **kwargs)
    return fn(*args, **kwargs)


def get_sync(from_path: str, to_path: Optional[Union[str, "Path"]] = None, recursive: bool = False, **kwargs: Any) -> str:
    """Blocking form of :func:`get`, usable inside event loops (it does not need one)."""
    target = str(to_path) if to_path is not None else str(get_random_local_path(os.path.basename(str(from_path).rstrip("/"))))
    _transfer(str(from_path), target, recursive, **kwargs)
    return target


def put_sync(from_path: str, to_path: Optional[str] = None, recursive: bool = False, **kwargs: Any) -> str:
    """Blocking form of :func:`put`, usable inside event loops (it does not need one)."""
    src = str(from_path)
    target = to_path or _default_remote_path(os.path.basename(to_local_path(src).rstrip("/")))
    _transfer(src, target, recursive, **kwargs)
    return target


async def get(
    from_path: str, to_path: Optional[Union[str, "Path"]] = None, recursive: bool = False, **kwargs: Any
) -> str:
    """Copy ``from_path`` (file, or directory with ``recursive=True``) to a local path; return it."""
    target = str(to_path) if to_path is not None else str(get_random_local_path(os.path.basename(str(from_path).rstrip("/"))))
    await _run(_transfer, str(from_path), target, recursive, remote=is_remote(from_path), **kwargs)
    return target


async def put(
    from_path: str,
    to_path: Optional[str] = None,
    recursive: bool = False,
    batch_size: Optional[int] = None,
    chunk_size: Optional[int] = None,
    max_concurrency: Optional[int] = None,
    **kwargs: Any,
) -> str:
    """Copy a local file (or directory with ``recursive=True``) to ``to_path``; return the target.

    Without ``to_path`` the target is a fresh location under the current run's raw data path.
    """
    src = str(from_path)
    target = to_path or _default_remote_path(os.path.basename(to_local_path(src).rstrip("/")))
    await _run(_transfer, src, target, recursive, remote=is_remote(target), **kwargs)
    return target


def exists_sync(path: str, **kwargs: Any) -> bool:
    """True when a file or directory exists at ``path``."""
    if not is_remote(path):
        return os.path.exists(to_local_path(path))
    return bool(get_underlying_filesystem(path=path, **kwargs).exists(path))


async def exists(path: str, **kwargs: Any) -> bool:
    """True when a file or directory exists at ``path``."""
    return await _run(exists_sync, path, remote=is_remote(path), **kwargs)


def open_sync(path: str, mode: str = "rb", **kwargs: Any) -> Any:
    """A blocking file object for ``path``; parent directories are created for local writes."""
    if not is_remote(path):
        local = to_local_path(path)
        if any(c in mode for c in "wax"):
            parent = os.path.dirname(local)
            if parent:
                os.makedirs(parent, exist_ok=True)
        return _builtin_open(local, mode)
    import fsspec

    return fsspec.open(path, mode, **kwargs).open()


_builtin_open = open


class AsyncFile:
    """An async view of a file object: ``await f.read()``, ``await f.write(data)``.

    Calls on remote files run in a worker thread; local ones run inline. Usable as
    ``async with`` (closes on exit) and also as a plain ``with``.
    """

    def __init__(self, fh: Any, remote: bool):
        self._fh = fh
        self._remote = remote

    async def _call(self, name: str, *args: Any) -> Any:
        return await _run(getattr(self._fh, name), *args, remote=self._remote)

    async def read(self, size: int = -1) -> Any:
        """Read up to ``size`` bytes (all when negative)."""
        return await self._call("read", size)

    async def write(self, data: Any) -> int:
        """Write ``data``; return the number of bytes or characters written."""
        return await self._call("write", data)

    async def readline(self, size: int = -1) -> Any:
        """Read one line (at most ``size`` bytes or characters when ``size`` >= 0)."""
        return await self._call("readline", size)

    async def readlines(self, hint: int = -1) -> list:
        """Read the remaining lines (stopping once ``hint`` bytes or characters are read, when >= 0)."""
        return await self._call("readlines", hint)

    async def writelines(self, lines: Any) -> None:
        """Write each of ``lines`` (no separators are added)."""
        await self._call("writelines", list(lines))

    async def seek(self, offset: int, whence: int = 0) -> int:
        """Move the position; return the new one."""
        return await self._call("seek", offset, whence)

    def tell(self) -> int:
        """The current position."""
        return self._fh.tell()

    async def flush(self) -> None:
        """Flush buffered writes."""
        await self._call("flush")

    async def close(self) -> None:
        """Close the file (uploads buffered remote writes)."""
        await self._call("close")

    @property
    def closed(self) -> bool:
        return bool(self._fh.closed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    async def __aenter__(self) -> "AsyncFile":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __enter__(self) -> Any:
        return self._fh

    def __exit__(self, *exc: Any) -> None:
        self._fh.close()

    def __aiter__(self) -> "AsyncFile":
        return self

    async def __anext__(self) -> Any:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line


async def open(path: str, mode: str = "rb", **kwargs: Any) -> AsyncFile:  # noqa: A001 - published name
    """Open ``path`` for async reading or writing: ``fh = await storage.open(p, "wb")``."""
    remote = is_remote(path)
    fh = await _run(open_sync, path, mode, remote=remote, **kwargs)
    return AsyncFile(fh, remote)


async def get_stream(path: str, chunk_size: int = _CHUNK, **kwargs: Any) -> AsyncGenerator[bytes, None]:
    """Yield the bytes of ``path`` in chunks of ``chunk_size``."""
    fh = await open(path, "rb", **kwargs)
    try:
        while True:
            chunk = await fh.read(chunk_size)
            if not chunk:
                break
            yield chunk
    finally:
        await fh.close()


async def put_stream(
    data_iterable: Union[AsyncIterable[bytes], bytes],
    *,
    name: Optional[str] = None,
    to_path: Optional[str] = None,
    size_hint: Optional[int] = None,
    chunk_size: Optional[int] = None,
    max_concurrency: Optional[int] = None,
    **kwargs: Any,
) -> str:
    """Write bytes (or an async iterable of bytes) to ``to_path``, by default a fresh raw-data path."""
    target = to_path or _default_remote_path(name)
    fh = await open(target, "wb", **kwargs)
    try:
        if isinstance(data_iterable, (bytes, bytearray, memoryview)):
            await fh.write(bytes(data_iterable))
        else:
            async for chunk in data_iterable:
                await fh.write(chunk)
    finally:
        await fh.close()
    return target


# -- Object-store settings, under the published SDK's names ------------------------------------
#
# This SDK leaves object-store credentials to each fsspec backend's own environment variables
# and files (see get_configured_fsspec_kwargs). Plugins written for the published SDK still read
# them as ``flyte.storage.S3`` / ``GCS`` / ``ABFS`` objects (``flyteplugins-polars`` turns them
# into polars' storage options), and programs pass one to ``flyte.init(storage=...)``: these
# frozen records carry the same fields, and ``auto()`` fills them from the environment. Secret
# fields are left out of ``repr`` so that logging a record never prints a credential.


def _env(*names: str) -> Optional[str]:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


@dataclass(frozen=True)
class Storage:
    """Object-store settings common to every provider (compatibility record; see above)."""

    retries: int = 3
    backoff: datetime.timedelta = datetime.timedelta(seconds=5)
    enable_debug: bool = False
    attach_execution_metadata: bool = True

    @classmethod
    def _common_from_env(cls) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        retries = _env("FLYTE_STORAGE_RETRIES")
        if retries is not None and retries.strip().isdigit():
            out["retries"] = int(retries)
        backoff = _env("FLYTE_STORAGE_BACKOFF_SECONDS")
        if backoff is not None and backoff.strip().isdigit():
            out["backoff"] = datetime.timedelta(seconds=int(backoff))
        debug = _env("FLYTE_STORAGE_DEBUG")
        if debug is not None:
            out["enable_debug"] = debug.strip().lower() in ("1", "true", "yes", "on")
        return out

    @classmethod
    def auto(cls) -> "Storage":
        """The settings found in the environment."""
        return cls(**cls._common_from_env())


@dataclass(frozen=True)
class S3(Storage):
    """S3 (and S3-compatible) settings; ``auto()`` reads ``FLYTE_AWS_*``, then the standard ``AWS_*`` variables."""

    endpoint: Optional[str] = None
    access_key_id: Optional[str] = None
    secret_access_key: Optional[str] = field(default=None, repr=False)
    region: Optional[str] = None
    addressing_style: Optional[str] = None

    @classmethod
    def auto(cls, region: Optional[str] = None) -> "S3":  # type: ignore[override]
        """The settings found in the environment (``region`` overrides the environment's)."""
        return cls(
            **cls._common_from_env(),
            endpoint=_env("FLYTE_AWS_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
            access_key_id=_env("FLYTE_AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
            secret_access_key=_env("FLYTE_AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
            region=region or _env("AWS_REGION", "AWS_DEFAULT_REGION"),
            addressing_style=_env("FLYTE_AWS_S3_ADDRESSING_STYLE"),
        )


@dataclass(frozen=True)
class GCS(Storage):
    """Google Cloud Storage settings (credentials come from the application default credentials)."""

    @classmethod
    def auto(cls) -> "GCS":
        """The settings found in the environment."""
        return cls(**cls._common_from_env())


@dataclass(frozen=True)
class ABFS(Storage):
    """Azure Blob Storage settings; ``auto()`` reads the standard ``AZURE_*`` variables."""

    account_name: Optional[str] = None
    account_key: Optional[str] = field(default=None, repr=False)
    tenant_id: Optional[str] = None
    client_id: Optional[str] = None
    client_secret: Optional[str] = field(default=None, repr=False)

    @classmethod
    def auto(cls) -> "ABFS":
        """The settings found in the environment."""
        return cls(
            **cls._common_from_env(),
            account_name=_env("AZURE_STORAGE_ACCOUNT_NAME"),
            account_key=_env("AZURE_STORAGE_ACCOUNT_KEY"),
            tenant_id=_env("AZURE_TENANT_ID"),
            client_id=_env("AZURE_CLIENT_ID"),
            client_secret=_env("AZURE_CLIENT_SECRET"),
        )
