"""The `repcue` command: argument parsing and rendering only; the work is in the services.

Each command group lives in its own module with a `register(subparsers)` function that adds
its sub-commands and sets `func` (args -> exit code) on each.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console

from repcue import __version__
from repcue.errors import PlanError, RepcueError

GROUPS = (
    "plan",
    "history",
    "report",
    "device",
    "sync",
    "live",
    "coach",
    "pair",
    "demo",
    "sim",
    "firmware",
    "export",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repcue", description="Interval-timer companion for runners."
    )
    parser.add_argument("--version", action="version", version=f"repcue {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    import importlib

    for group in GROUPS:
        importlib.import_module(f"repcue.cli.{group}_cmd").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    err = Console(stderr=True, highlight=False)
    try:
        code: int = args.func(args)
    except PlanError as exc:
        err.print(exc.render(), markup=False, soft_wrap=True)
        return exc.exit_code
    except RepcueError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
