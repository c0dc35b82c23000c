"""Where things are: the store file and the device, from a flag, else the environment.

Every command that needs a device or the store takes `--device SPEC` / `--db PATH` and falls
back to REPCUE_DEVICE / REPCUE_DB (repcue.cli.argtypes declares the flags); `resolve_*` read
them, so every command behaves the same.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

DB_ENV = "REPCUE_DB"
DEVICE_ENV = "REPCUE_DEVICE"
DB_FILENAME = "repcue.db"
DEFAULT_DEVICE = "serial:auto"


def default_db_path() -> Path:
    """The store's home when nothing says otherwise: the user data dir (per platform)."""
    return Path(user_data_dir("repcue", appauthor=False)) / DB_FILENAME


def resolve_db_path(db: Path | str | None = None) -> Path:
    """`db` if given, else $REPCUE_DB if set and non-empty, else the default path."""
    if db is not None and str(db) != "":
        return Path(db).expanduser()
    env = os.environ.get(DB_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return default_db_path()


def db_location(db: Path | str | None = None) -> tuple[Path, str]:
    """The store's path and who named it: "--db", "$REPCUE_DB", or "" for the default
    location (the only one repcue creates folders for)."""
    if db is not None and str(db) != "":
        return Path(db).expanduser(), "--db"
    if os.environ.get(DB_ENV, "").strip():
        return resolve_db_path(), f"${DB_ENV}"
    return default_db_path(), ""


def resolve_device_spec(device: str | None = None, default: str = DEFAULT_DEVICE) -> str:
    """`device` if given, else $REPCUE_DEVICE if set and non-empty, else `default`."""
    if device:
        return device
    env = os.environ.get(DEVICE_ENV, "").strip()
    return env or default
