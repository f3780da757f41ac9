"""The store's schema: versioned, migrated forward on first open.

Append a new ``(version, statements)`` entry to :data:`MIGRATIONS` to change the schema; never
edit a shipped entry (databases written by earlier versions replay only the entries after
their version).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Tuple

from flyte._engine.store._sqlite import write
from flyte.errors import ValidationError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "schema_version"]

MIGRATIONS: Tuple[Tuple[int, Tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE runs (
                name TEXT PRIMARY KEY,
                task_name TEXT NOT NULL,
                status TEXT NOT NULL,
                mode TEXT NOT NULL,
                inputs TEXT,
                outputs TEXT,
                error_type TEXT,
                error_message TEXT,
                error_traceback TEXT,
                start_time REAL NOT NULL,
                end_time REAL,
                pid INTEGER,
                hostname TEXT,
                process_marker TEXT
            )""",
            "CREATE INDEX runs_by_start ON runs (start_time)",
            "CREATE INDEX runs_by_status ON runs (status)",
            """CREATE TABLE actions (
                run_name TEXT NOT NULL,
                action_name TEXT NOT NULL,
                parent TEXT,
                task_name TEXT,
                grp TEXT,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                start_time REAL,
                end_time REAL,
                error_type TEXT,
                error_message TEXT,
                error_traceback TEXT,
                cache_status TEXT,
                seq INTEGER,
                PRIMARY KEY (run_name, action_name)
            ) WITHOUT ROWID""",
            """CREATE TABLE logs (
                id INTEGER PRIMARY KEY,
                run_name TEXT NOT NULL,
                action_name TEXT NOT NULL,
                seq INTEGER NOT NULL,
                stream TEXT NOT NULL,
                text TEXT NOT NULL,
                time REAL NOT NULL
            )""",
            "CREATE INDEX logs_by_run ON logs (run_name, action_name, id)",
            """CREATE TABLE cache (
                key TEXT PRIMARY KEY,
                task_name TEXT NOT NULL,
                value BLOB NOT NULL,
                created REAL NOT NULL
            )""",
            "CREATE INDEX cache_by_task ON cache (task_name)",
        ),
    ),
    # When each attempt of an action started, a JSON object {"<attempt>": epoch seconds}, so
    # the gaps of a retry backoff show in `flyte get run`.
    (2, ("ALTER TABLE actions ADD COLUMN attempt_starts TEXT",)),
)

SCHEMA_VERSION = MIGRATIONS[-1][0]
"""The schema version this flyte writes."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version of the database behind ``conn`` (0: a new, empty database)."""
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            return 0
        raise
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the database at ``path`` (open as ``conn``) to :data:`SCHEMA_VERSION`.

    Raises ValidationError for a database written by a newer flyte.
    """
    if schema_version(conn) == SCHEMA_VERSION:
        return

    def body(c: sqlite3.Connection) -> None:
        c.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
        current = schema_version(c)  # another process may have migrated meanwhile
        if current > SCHEMA_VERSION:
            raise ValidationError(
                "local store",
                str(path),
                f"a store of schema version <= {SCHEMA_VERSION}; this one is version {current}, "
                "written by a newer flyte: upgrade flyte or point FLYTE_LOCAL_STORE elsewhere",
            )
        for version, statements in MIGRATIONS:
            if version > current:
                for stmt in statements:
                    c.execute(stmt)
                c.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, time.time()))

    write(conn, body)
