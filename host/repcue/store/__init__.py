"""The local SQLite store of devices, programs and synced sessions.

from repcue.store import open_store
with open_store(args.db) as store:      # --db, else REPCUE_DB, else the user data dir
    for s in store.sessions(limit=10): ...
"""

from __future__ import annotations

from pathlib import Path

from repcue.config import resolve_db_path
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
    "open_store",
]


def open_store(db: Path | str | None = None) -> Store:
    """Open (creating and migrating as needed) the store at `db` or the configured place."""
    return Store(resolve_db_path(db))
