"""The local SQLite store of devices, programs and synced sessions.

from repcue.store import open_store
with open_store(args.db) as store:      # --db, else REPCUE_DB, else the user data dir
    for s in store.sessions(limit=10): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from repcue.config import db_location
from repcue.errors import PathError
from repcue.paths import existing_file, new_file
from repcue.store.db import Store
from repcue.store.models import (
    DeviceRecord,
    ProgramRecord,
    SessionData,
    SessionSummary,
    StepData,
    StepRecord,
)
from repcue.store.schema import LATEST_VERSION

__all__ = [
    "LATEST_VERSION",
    "DeviceRecord",
    "ProgramRecord",
    "SessionData",
    "SessionSummary",
    "StepData",
    "StepRecord",
    "Store",
    "check_store_path",
    "open_store",
    "store_for_writing",
]


def open_store(db: Path | str | None = None, *, read_only: bool = False) -> Store:
    """Open the store at `db` or the configured place, creating and migrating it as needed;
    with `read_only`, only read it (a missing store at the default place reads as empty).

    Only the default place is created: a path the user named must be in a folder that is
    there, and (to be only read) must itself be there."""
    if not read_only:
        return Store(check_store_path(db))
    path, named = db_location(db)
    if not path.exists():
        if named:
            raise PathError(f"{named} {path}: no store there (check the path)", path=str(path))
        empty = Store(":memory:")  # nothing synced yet, and nothing created for it
        empty.path = path  # what messages name
        return empty
    if named:
        existing_file(path, named)
    return Store(path, read_only=True)


def check_store_path(db: Path | str | None = None) -> Path:
    """The store's path for a command that writes it, checked before any work is done: a
    path the user named must be a file (or nothing yet) in a folder that is there."""
    path, named = db_location(db)
    if named:
        new_file(path, named)
    return path


@contextmanager
def store_for_writing(db: Path | str | None = None) -> Iterator[Store]:
    """open_store(db) for a command that may fail before it stores anything (a sync whose
    device is not there): a store this call created is removed again if it holds no
    session when the command fails, so a typo or a missing device leaves no empty file."""
    path, _ = db_location(db)
    existed = path.exists()
    made = [folder for folder in path.parents if not folder.exists()]  # nearest first
    store = open_store(db)
    try:
        yield store
    except BaseException:
        empty = not existed and store.session_count() == 0
        store.close()
        if empty:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            with suppress(OSError):  # the default place's folders, made for this store
                for folder in made:
                    folder.rmdir()
        raise
    store.close()
