"""`repcue report SESSION -o FILE`, `repcue week` and `repcue trend NAME`: a session as a chart
(or one self-contained HTML page), the weeks against the anaerobic-dose guidance, and the same
workout over time. Tables need nothing more; charts need the `[charts]` extra (matplotlib)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from repcue.cli.argtypes import add_db_argument, whole_number
from repcue.cli.history_cmd import fmt_ms, fmt_pace
from repcue.cli.report_html import session_html
from repcue.errors import PathError
from repcue.plan import load_profile
from repcue.plan.profile import NamedPaces
from repcue.reports import charts
from repcue.reports.load import LEVEL_NAMES, session_load
from repcue.reports.series import session_series, trend_series, week_series
from repcue.reports.trend import TrendRow, trend
from repcue.reports.week import WeekRow, week_json, week_rows
from repcue.store import open_store
from repcue.store.analysis import session_report


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser(
        "report", help="one session as a chart (PNG/SVG) or a self-contained HTML page"
    )
    report.add_argument(
        "session", metavar="SESSION", help="a number from `repcue history`, 'last', or DEVICE:ID"
    )
    report.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help="FILE.png or FILE.svg (the chart), FILE.html (chart and step table in one file)",
    )
    report.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    add_db_argument(report)
    report.set_defaults(func=cmd_report)

    week = sub.add_parser(
        "week", help="anaerobic sessions per week against the guidance (one or two a week)"
    )
    week.add_argument(
        "--weeks", type=_weeks, default=8, metavar="N", help="the last N ISO weeks (8; 1-520)"
    )
    week.add_argument(
        "--until",
        type=_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the last week is the one holding this day (default: today)",
    )
    week.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="athlete profile (TOML): tells how hard explicit paces (3:45/km) are",
    )
    _chart_options(week)
    week.set_defaults(func=cmd_week)

    trend_p = sub.add_parser("trend", help="one workout (by plan name) over time: reps and fade")
    trend_p.add_argument("name", metavar="NAME", help="the plan's name (see `repcue history`)")
    _chart_options(trend_p)
    trend_p.set_defaults(func=cmd_trend)


MAX_WEEKS = 520  # ten years: more is a typo, and would overflow the calendar


def _weeks(text: str) -> int:
    value = whole_number(1)(text)
    if value > MAX_WEEKS:
        raise argparse.ArgumentTypeError(f"at most {MAX_WEEKS} weeks, not {text!r}")
    return value


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, not {text!r}") from None
    if not 1980 <= day.year <= 9000:  # the weeks before it must stay on the calendar
        raise argparse.ArgumentTypeError(f"expected a day from 1980 to 9000, not {text!r}")
    return day


def _chart_options(parser: argparse.ArgumentParser) -> None:
    add_db_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="also draw a chart: FILE.png or FILE.svg"
    )
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def _check_output(path: Path, force: bool) -> None:
    """Before any work: a chart is never half-written over something the user kept."""
    if path.is_dir():
        raise PathError(f"{path} is a folder: name a file", path=str(path))
    if path.exists() and not force:
        raise PathError(f"{path} is already there (--force overwrites it)", path=str(path))
    if not path.parent.is_dir():
        raise PathError(f"{path}: no folder {path.parent}", path=str(path))


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as err:
        raise PathError(f"cannot write {path}: {err.strerror or err}", path=str(path)) from err


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


# -- report --------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    path: Path = args.output
    fmt = charts.chart_format(path, html=True)
    html = fmt == "html"
    _check_output(path, args.force)
    charts.require()
    with open_store(args.db, read_only=True) as store:
        report = session_report(store, store.find_session(args.session))
    head = report["session"]
    title = f"Session {head['row_id']} · {head['plan'] or 'program ' + head['program_id']}"
    series = session_series(report)
    data = charts.save(charts.session_figure(series, title), None, "png" if html else fmt)
    _write(path, session_html(report, data).encode("utf-8") if html else data)
    Console(highlight=False).print(
        f"wrote {path} (work reps charted: {len(series.actual)}, by {series.basis})"
    )
    return 0


# -- week ----------------------------------------------------------------------------------


def cmd_week(args: argparse.Namespace) -> int:
    if args.output is not None:
        fmt = charts.chart_format(args.output)
        _check_output(args.output, args.force)
        charts.require()
    profile = load_profile(args.profile)
    paces = profile.named_paces() if profile else NamedPaces()
    with open_store(args.db, read_only=True) as store:
        loads = [session_load(store, s, paces) for s in store.sessions()]
    until = args.until or date.today()
    rows = week_rows(loads, weeks=args.weeks, until=until)
    undated = sum(1 for s in loads if s.day is None)
    if args.output is not None:
        title = f"Anaerobic dose, {rows[0].label} to {rows[-1].label}"
        _write(args.output, charts.save(charts.week_figure(week_series(rows), title), None, fmt))
    if args.json:
        _print_json(week_json(rows, undated))
        return 0
    console = Console(highlight=False)
    _print_weeks(console, rows)
    if undated:
        console.print(f"{undated} session(s) left out: the device clock was not set (no date)")
    if args.output is not None:
        console.print(f"wrote {args.output}")
    return 0


def _print_weeks(console: Console, rows: list[WeekRow]) -> None:
    levels = sorted({lv for r in rows for lv in r.work_s_by_level()}, reverse=True)
    table = Table(
        title="Anaerobic sessions a week (guidance: 1-2) and work minutes by intensity",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("week", no_wrap=True)
    table.add_column("runs", justify="right", no_wrap=True)
    table.add_column("anaerobic", justify="right", no_wrap=True)
    table.add_column("hard days", no_wrap=True)
    for lv in levels:
        table.add_column(LEVEL_NAMES[lv], justify="right", no_wrap=True)
    table.add_column("warnings", justify="right", no_wrap=True)
    for r in rows:
        count = len(r.anaerobic)
        minutes = r.work_s_by_level()
        table.add_row(
            r.label,
            str(len(r.sessions)),
            f"[red]{count}[/red]" if r.status == "too many" else str(count),
            ",".join(f"{d:%a}" for d in r.hard_days),
            *(f"{minutes[lv] / 60:.1f}" if lv in minutes else "" for lv in levels),
            f"[yellow]{len(r.warnings)}[/yellow]" if r.warnings else "",
        )
    console.print(table)
    for r in rows:
        for w in r.warnings:
            console.print(f"[yellow]warning[/yellow] {r.label}: {w.message}", soft_wrap=True)


# -- trend ---------------------------------------------------------------------------------


def cmd_trend(args: argparse.Namespace) -> int:
    if args.output is not None:
        fmt = charts.chart_format(args.output)
        _check_output(args.output, args.force)
        charts.require()
    with open_store(args.db, read_only=True) as store:
        rows = trend(store, args.name)
    if args.output is not None:
        _write(
            args.output, charts.save(charts.trend_figure(trend_series(rows), args.name), None, fmt)
        )
    if args.json:
        _print_json({"plan": args.name, "sessions": [asdict(r) for r in rows]})
        return 0
    console = Console(highlight=False)
    table = Table(
        title=f"{args.name}: {len(rows)} session(s)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for name in ("#", "date", "reps", "mean", "fastest", "slowest", "fade", "/rep", "end"):
        table.add_column(name, justify="left" if name in ("date", "end") else "right", no_wrap=True)
    for r in rows:
        table.add_row(
            str(r.row_id),
            r.start[:10] if r.start else "undated",
            str(r.reps),
            _measure(r, r.mean),
            _measure(r, r.fastest),
            _measure(r, r.slowest),
            _pct(r.fade_pct),
            _pct(r.fade_per_rep_pct),
            r.end_reason,
        )
    console.print(table)
    if args.output is not None:
        console.print(f"wrote {args.output}")
    return 0


def _measure(row: TrendRow, value: float | None) -> str:
    if value is None:
        return ""
    return fmt_pace(value) if row.basis == "pace" else fmt_ms(value * 1000)


def _pct(value: Any) -> str:
    return "" if value is None else f"{value:+.1f}%"
