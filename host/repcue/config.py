"""Where things are: the store file and the device, from a flag, else the environment.

Every command that needs a device or the store takes `--device SPEC` / `--db PATH` and falls
back to REPCUE_DEVICE / REPCUE_DB; use `add_device_argument` / `add_db_argument` to declare
them and `resolve_*` to read them, so every command behaves the same.
"""

from __future__ import annotations

import argparse
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


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help=f"the SQLite store (default: ${DB_ENV}, else {default_db_path()})",
    )


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """--device SPEC and --timeout S (how long to wait for the device at all)."""
    from repcue.cli.argtypes import seconds

    parser.add_argument(
        "--timeout",
        type=seconds,
        default=None,
        metavar="S",
        help="wait at most about S seconds for the device: the BLE scan and connection, "
        "and a port that does not answer (default: 10 s to find a BLE device, 5 s for an "
        "answer)",
    )
    parser.add_argument(
        "--device",
        metavar="SPEC",
        default=None,
        help=(
            "serial:PATH or a bare PATH, serial:auto, sim:, sim:FLASH.img, ble:NAME, "
            f"ble:ADDRESS or ble:auto (default: ${DEVICE_ENV}, else {DEFAULT_DEVICE})"
        ),
    )
