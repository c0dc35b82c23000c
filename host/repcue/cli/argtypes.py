"""Argument types shared by the commands: numbers checked where they are parsed, so a bad
value is argparse's one-line usage error (exit 2), never a surprise further down."""

from __future__ import annotations

import argparse
from collections.abc import Callable


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
