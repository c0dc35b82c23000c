"""Arguments shared by the commands (--db, --device, --timeout) and their types: numbers
are checked where they are parsed, so a bad value is argparse's one-line usage error (exit
2), never a surprise further down."""

from __future__ import annotations

import argparse
import datetime
import time
from collections.abc import Callable

from repcue.config import DB_ENV, DEFAULT_DEVICE, DEVICE_ENV, default_db_path


def whole_number(minimum: int) -> Callable[[str], int]:
    """An int of at least `minimum` (`--limit 0` would silently list nothing)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of {minimum} or more, not {text!r}"
            )
        return value

    return parse


def seconds(text: str) -> float:
    """A positive number of seconds (`--timeout 0.5`)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 1e6:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, not {text!r}")
    return value


def fraction(text: str) -> float:
    """A number from 0 up to (not including) 1 (`--noise 0.05`)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number from 0 to below 1, not {text!r}")
    return value


def start_instant(text: str) -> int:
    """`--at`: +SECONDS from now, an ISO 8601 date and time, or a time of day (today);
    without a zone, this computer's local time. -> Unix ms."""
    text = text.strip()
    try:
        if text.startswith("+"):
            delay_s = float(text[1:])
            if not 0 < delay_s < 1e6:
                raise ValueError(text)
            return round((time.time() + delay_s) * 1000)
        try:
            when = datetime.datetime.fromisoformat(text)
        except ValueError:
            of_day = datetime.time.fromisoformat(text)
            when = datetime.datetime.combine(datetime.date.today(), of_day)
        return round(when.timestamp() * 1000)  # naive: local time, as timestamp() takes it
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected +SECONDS, an ISO date and time or a time of day, not {text!r}"
        ) from None


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help=f"the SQLite store (default: ${DB_ENV}, else {default_db_path()})",
    )


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """--device SPEC and --timeout S (how long to wait for the device at all)."""
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
