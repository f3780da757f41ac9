"""Protecting the store: owner-only files, a check of the file on open, signed cache entries.

* The store's folder is created ``0700`` and its database ``0600`` (SQLite gives the ``-wal``
  and ``-shm`` files the database's permissions). A store someone else can read gets a warning:
  its logs and cached outputs are the user's data.
* A database damaged in the middle is found on open (``PRAGMA quick_check``, once per file and
  process), and every way the file can fail to open (damaged, not a database, read-only) is one
  :class:`~flyte._engine.store.records.LocalStoreError` naming the file and what to do.
* Cached outputs are signed (HMAC-SHA256) with a key kept next to the database in an
  owner-only file: an entry that does not verify (changed by whoever could write the database,
  or written before entries were signed) is never decoded; it is a cache miss with a warning.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _secrets
import sqlite3
import stat
import threading
import warnings
from pathlib import Path
from typing import Optional, Set, Tuple

from flyte._engine.store.records import LocalStoreError

__all__ = ["CacheSigner", "StoreWarning", "check_integrity", "open_error", "prepare", "private_home"]

KEY_SUFFIX = ".key"
_MAGIC = b"FLYC1"
_MAC_LEN = 32

_lock = threading.Lock()
_checked: Set[Tuple[str, int, int, int]] = set()
_warned: Set[str] = set()


class StoreWarning(UserWarning):
    """Something about the local store the user should know (permissions, a rejected cache entry)."""


def _warn_once(key: str, message: str) -> None:
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(message, StoreWarning, stacklevel=4)


def _wide(mode: int) -> bool:
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


def _read_only_error(path: Path, cause: BaseException) -> LocalStoreError:
    folder = path.parent
    return LocalStoreError(
        path,
        f"the local store {path} cannot be written ({cause}): {folder} is read-only for this user; "
        "point FLYTE_HOME (or FLYTE_LOCAL_STORE) at a writable folder",
    )


def prepare(path: Path) -> None:
    """Create the store's folder (0700) and database file (0600) if missing; warn when the
    existing ones are open to other users. Raises LocalStoreError when the folder cannot be written."""
    folder = path.parent
    _check_home(folder)
    try:
        if not folder.exists():
            folder.mkdir(parents=True, mode=0o700, exist_ok=True)
        if not path.exists():
            # An empty file is a valid new SQLite database; creating it here sets its mode.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
            return
    except PermissionError as e:
        raise _read_only_error(path, e) from None
    except OSError as e:
        if e.errno == 30:  # EROFS: a read-only file system
            raise _read_only_error(path, e) from None
        raise LocalStoreError(
            path,
            f"the local store {path} cannot be created ({e}); point FLYTE_HOME (or FLYTE_LOCAL_STORE) at a writable folder",
        ) from None
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if _wide(mode):
        _warn_once(
            f"mode:{path}",
            f"the local store {path} can be read by other users (mode {stat.S_IMODE(mode):o}); it holds your "
            f"runs' logs and cached outputs: chmod 600 {path}* (and chmod 700 {folder})",
        )


def private_home() -> None:
    """Create the flyte home (``FLYTE_HOME``, else ``~/.flyte``) owner-only if it is missing:
    whichever of the store and the raw data folder is written first, the home is private."""
    from flyte._config import default_home

    home = default_home().expanduser()
    if not home.exists():
        try:
            home.mkdir(parents=True, mode=0o700, exist_ok=True)
        except OSError:
            pass  # the store's open says what is wrong with the folder, naming it


def _check_home(folder: Path) -> None:
    from flyte._config import default_home

    home = default_home().expanduser()
    try:
        if folder.resolve() != home.resolve() or not _wide(home.stat().st_mode):
            return
        mode = stat.S_IMODE(home.stat().st_mode)
    except OSError:
        return
    _warn_once(
        f"mode:{home}",
        f"the flyte home {home} can be read by other users (mode {mode:o}); it holds the local store and your "
        f"runs' data: chmod 700 {home}",
    )


def open_error(path: Path, e: BaseException) -> LocalStoreError:
    """The one error a user sees when the store at ``path`` fails to open or is damaged."""
    text = str(e)
    low = text.lower()
    if "readonly" in low or "read-only" in low or "unable to open" in low:
        folder = path.parent
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            return _read_only_error(path, e)
    if "not a database" in low or "malformed" in low or "damaged" in low or "corrupt" in low:
        aside = path.with_name(path.name + ".damaged")
        return LocalStoreError(
            path,
            f"the local store {path} is damaged ({text}): move it aside (mv {path} {aside}; also its -wal and "
            "-shm files) and flyte starts a new one, or set FLYTE_LOCAL_STORE to another path",
        )
    return LocalStoreError(path, f"the local store {path} cannot be used ({text}); set FLYTE_LOCAL_STORE to another path")


def check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """``PRAGMA quick_check`` once per database file (and size) in this process; raises
    LocalStoreError for a damaged file."""
    try:
        st = path.stat()
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        return
    with _lock:
        if key in _checked:
            return
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as e:
        raise open_error(path, e) from None
    problems = [str(r[0]) for r in rows if str(r[0]).lower() != "ok"]
    if problems:
        raise open_error(path, sqlite3.DatabaseError("damaged: " + "; ".join(problems[:3])))
    with _lock:
        _checked.add(key)


class CacheSigner:
    """Signs cache entries with this store's key and checks them before they are decoded."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self.key_path = db_path.with_name(db_path.name + KEY_SUFFIX)
        self._key: Optional[bytes] = None

    def _load_key(self) -> bytes:
        if self._key is not None:
            return self._key
        path = self.key_path
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = self._create_key()
        if len(data) < 32:
            raise LocalStoreError(
                self.db_path,
                f"the cache key {path} is damaged ({len(data)} bytes); delete it (the cache then starts empty)",
            )
        try:
            if _wide(path.stat().st_mode):
                _warn_once(
                    f"mode:{path}",
                    f"the cache key {path} can be read by other users: chmod 600 {path} (whoever reads it can "
                    "forge cached outputs)",
                )
        except OSError:
            pass
        self._key = data
        return data

    def _create_key(self) -> bytes:
        # Written to a private temp file and linked into place: a concurrent process either
        # wins the link or reads the complete key of the one that did.
        path = self.key_path
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{_secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            os.write(fd, _secrets.token_bytes(32))
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
        return path.read_bytes()

    def _mac(self, key: str, value: bytes) -> bytes:
        return hmac.new(self._load_key(), key.encode("utf-8") + b"\0" + value, hashlib.sha256).digest()

    def sign(self, key: str, value: bytes) -> bytes:
        """The stored form of ``value`` under cache ``key``: a tag, its MAC, the value."""
        return _MAGIC + self._mac(key, value) + value

    def verify(self, key: str, blob: bytes) -> Optional[bytes]:
        """The value inside ``blob`` when its MAC is right for ``key``, else None (with a warning)."""
        head = len(_MAGIC) + _MAC_LEN
        if blob[: len(_MAGIC)] == _MAGIC and len(blob) >= head:
            value = blob[head:]
            if hmac.compare_digest(blob[len(_MAGIC) : head], self._mac(key, value)):
                return value
        task = key.split(":", 1)[0]
        _warn_once(
            f"entry:{self.db_path}:{key}:{hashlib.sha256(blob).hexdigest()}",
            f"a cached output of task {task} in {self.db_path} does not match this store's key {self.key_path} "
            "(changed outside flyte, or written by an older flyte): it was not read, and the task runs again",
        )
        return None
