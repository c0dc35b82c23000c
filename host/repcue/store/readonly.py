"""Opening the store for reading only (`history`, `show`): nothing is written, so a store
in a read-only folder, on a read-only mount or owned by someone else can still be read.

SQLite's mode=ro cannot open a WAL database whose -shm file is missing and cannot be
created (a folder we may not write): that case is read as immutable, which is right for a
file nobody here can write anyway.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from repcue.errors import StoreError
from repcue.store.schema import user_version

_QUERIES = ("mode=ro", "mode=ro&immutable=1")


def connect_read_only(path: Path, timeout_s: float) -> sqlite3.Connection:
    """A read-only connection to the existing store at `path` (autocommit, any thread)."""
    uri = path.resolve().as_uri()
    failure: sqlite3.Error | None = None
    for query in _QUERIES:
        conn = sqlite3.connect(
            f"{uri}?{query}",
            uri=True,
            timeout=timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            user_version(conn)  # the first read finds out whether it opens at all
            return conn
        except sqlite3.OperationalError as err:
            conn.close()
            failure = err
        except sqlite3.DatabaseError as err:
            conn.close()
            raise StoreError(f"{path} is not a usable repcue database: {err}") from err
    raise StoreError(f"cannot read {path}: {failure}") from failure


def cannot_write(path: Path) -> str | None:
    """Why the store at `path` cannot be written here (None: it can): a write lock taken
    and given back at once, so nothing changes."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=1.0)
    except sqlite3.Error as err:
        return str(err)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return None
    except sqlite3.Error as err:
        return str(err)
    finally:
        conn.close()
