"""`repcue export`: stored sessions to FIT, TCX, CSV or JSON files for other programs."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from repcue.cli.argtypes import add_db_argument
from repcue.errors import PathError, UndatedSessionError
from repcue.export import FORMATS, Format, export_session
from repcue.export.csv_rows import csv_text
from repcue.export.select import file_name, select_sessions
from repcue.paths import new_file, new_folder, path_error
from repcue.store import open_store
from repcue.store.db import Store
from repcue.store.models import SessionSummary

STDOUT = "-"


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, not {text!r}") from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="stored sessions to FIT, TCX, CSV or JSON files (Strava, Garmin Connect, ...)",
        description="Write stored sessions as files other programs read: FIT activities "
        "(with the workout that ran), TCX, CSV (one row per step) or JSON (as `repcue show "
        "--json`). One file per session in --dir (default: the current folder), or one "
        "file with -o.",
    )
    p.add_argument(
        "sessions",
        nargs="*",
        metavar="SESSION",
        help="a number from `repcue history`, 'last', or DEVICE:ID",
    )
    p.add_argument("--since", type=_date, metavar="DATE", help="every session from DATE on")
    p.add_argument("--all", action="store_true", dest="everything", help="every stored session")
    p.add_argument("--format", choices=FORMATS, default="fit", help="the file format (fit)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="one file ('-': stdout, not for FIT on a terminal); several sessions only as "
        "CSV (one table) or JSON (a list)",
    )
    where.add_argument("--dir", metavar="DIR", help="one file per session in DIR")
    p.add_argument("--force", action="store_true", help="overwrite files that are there")
    p.add_argument(
        "--assume-date",
        action="store_true",
        help="date a session the device could not date (its clock was not set) by its sync "
        "time (said in the output)",
    )
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print a JSON summary for scripts")
    p.set_defaults(func=cmd_export, parser=p)


@dataclass
class Written:
    path: str
    session: int
    bytes: int
    assumed_date: bool


def _check_dates(sessions: list[SessionSummary], fmt: Format, assume: bool) -> None:
    """Refuse before any file is written when a session has no date and one is needed."""
    undated = [s for s in sessions if s.start_wall_s is None]
    if not undated or fmt == "json" or assume:
        return
    many = len(undated) > 1
    names = ", ".join(str(s.row_id) for s in undated[:10])
    more = f" and {len(undated) - 10} more" if len(undated) > 10 else ""
    raise UndatedSessionError(
        f"session{'s' if many else ''} {names}{more} {'have' if many else 'has'} no date: the "
        f"device's clock was not set when {'they' if many else 'it'} ran. Run `repcue time "
        f"sync` before the next session; to export {'them' if many else 'it'} dated by the "
        "sync time, pass --assume-date",
        row_id=undated[0].row_id,
    )


def _targets(args: argparse.Namespace, sessions: list[SessionSummary]) -> list[Path]:
    """The file of each session in --dir, checked before anything is written."""
    folder = new_folder(args.dir or ".", "--dir")
    with contextlib.suppress(FileExistsError):
        folder.mkdir()
    paths = [folder / file_name(s, args.format) for s in sessions]
    for path in paths:
        new_file(path, "export file", overwrite=args.force)
    return paths


@contextlib.contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Any]:
    """A bar on stderr for bulk exports, only on a terminal (scripts never see it)."""
    err = Console(stderr=True)
    if quiet or total < 2 or not err.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    )
    with bar:
        task = bar.add_task("export", total=total)
        yield lambda: bar.advance(task)


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as err:
        raise path_error(err, path, "export file") from err


def _one_file(args: argparse.Namespace, store: Store, sessions: list[SessionSummary]) -> Written:
    """Everything into -o FILE (or stdout): one session, or CSV / JSON of several."""
    fmt: Format = args.format
    if len(sessions) > 1 and fmt in ("fit", "tcx"):
        args.parser.error(
            f"{len(sessions)} sessions do not go in one {fmt.upper()} file: use --dir DIR "
            "(a file per session)"
        )
    exports = [export_session(store, s, fmt, assume_date=args.assume_date) for s in sessions]
    if len(exports) == 1:
        data = exports[0].data
    elif fmt == "csv":
        data = csv_text([e.timeline for e in exports if e.timeline is not None]).encode()
    else:
        reports = [json.loads(e.data) for e in exports]
        data = (json.dumps(reports, indent=2) + "\n").encode()
    assumed = any(e.timeline is not None and e.timeline.assumed_date for e in exports)
    if args.output == STDOUT:
        if fmt == "fit" and sys.stdout.isatty():
            raise PathError("FIT is binary: give -o FILE, or pipe stdout", path=STDOUT)
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return Written(STDOUT, sessions[0].row_id, len(data), assumed)
    path = new_file(args.output, "export file", overwrite=args.force)
    _write(path, data)
    return Written(str(path), sessions[0].row_id, len(data), assumed)


def cmd_export(args: argparse.Namespace) -> int:
    if not (args.sessions or args.since or args.everything):
        args.parser.error(
            "nothing to export: name sessions (a number, 'last', DEVICE:ID), --since DATE or --all"
        )
    out = Console(stderr=args.output == STDOUT, highlight=False)
    with open_store(args.db, read_only=True) as store:
        sessions = select_sessions(
            store, args.sessions, since=args.since, everything=args.everything
        )
        if not sessions:
            out.print("No sessions to export (see `repcue history`).")
            if args.json:
                _print_json([], 0)
            return 0
        _check_dates(sessions, args.format, args.assume_date)
        written: list[Written] = []
        if args.output is not None:
            written.append(_one_file(args, store, sessions))
        else:
            paths = _targets(args, sessions)
            with _progress(len(sessions), args.json) as step:
                for summary, path in zip(sessions, paths, strict=True):
                    done = export_session(store, summary, args.format, assume_date=args.assume_date)
                    _write(path, done.data)
                    assumed = done.timeline is not None and done.timeline.assumed_date
                    written.append(Written(str(path), summary.row_id, len(done.data), assumed))
                    if step is not None:
                        step()
        notes = _date_notes(sessions, args)
    if args.json:
        _print_json(written, len(sessions), notes)
        return 0
    for note in notes:
        out.print(note)
    if len(written) <= 5 and not (args.output and len(sessions) > 1):  # bulk: the total
        for w in written:
            if w.path != STDOUT:
                out.print(f"Session {w.session} -> {w.path} ({w.bytes:,} bytes)")
    total = sum(w.bytes for w in written)
    if len(sessions) > 1:
        place = "stdout" if args.output == STDOUT else args.dir or args.output or "."
        out.print(
            f"Exported {len(sessions)} sessions as {args.format.upper()}: {len(written)} "
            f"file{'s' if len(written) > 1 else ''}, {total:,} bytes in {place}"
        )
    return 0


def _date_notes(sessions: list[SessionSummary], args: argparse.Namespace) -> list[str]:
    """What --assume-date did, said where a person (or a script) sees it."""
    if not args.assume_date or args.format == "json":
        return []
    notes = []
    for s in sessions:
        if s.start_wall_s is None:
            synced = datetime.datetime.fromtimestamp(s.synced_s, datetime.UTC)
            notes.append(
                f"Session {s.row_id} has no date: dated by its sync time, ending "
                f"{synced:%Y-%m-%d %H:%M} UTC (--assume-date)"
            )
    return notes


def _print_json(written: list[Written], sessions: int, notes: list[str] | None = None) -> None:
    summary = {
        "files": [w.__dict__ for w in written],
        "sessions": sessions,
        "bytes": sum(w.bytes for w in written),
        "notes": notes or [],
    }
    sys.stderr.flush()
    target = sys.stderr if written and written[0].path == STDOUT else sys.stdout
    target.write(json.dumps(summary, indent=2) + "\n")
