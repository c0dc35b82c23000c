"""`repcue history` and `repcue show SESSION`: what the store holds, as tables or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from repcue.cli.argtypes import add_db_argument, whole_number
from repcue.plan.units import fmt_clock
from repcue.store import open_store
from repcue.store.analysis import history_row, session_report


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    history = sub.add_parser("history", help="list the sessions synced into the store")
    add_db_argument(history)
    history.add_argument(
        "--limit", type=whole_number(1), default=None, metavar="N", help="newest N only (N >= 1)"
    )
    history.add_argument("--json", action="store_true", help="print JSON for scripts")
    history.set_defaults(func=cmd_history)

    show = sub.add_parser("show", help="one session step by step: planned vs actual, pace, fade")
    show.add_argument(
        "session", metavar="SESSION", help="a number from `repcue history`, 'last', or DEVICE:ID"
    )
    add_db_argument(show)
    show.add_argument("--json", action="store_true", help="print JSON for scripts")
    show.set_defaults(func=cmd_show)


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def cmd_history(args: argparse.Namespace) -> int:
    with open_store(args.db, read_only=True) as store:
        rows = [history_row(store, s) for s in store.sessions(limit=args.limit)]
    if args.json:
        _print_json(rows)
        return 0
    console = Console(highlight=False)
    if not rows:
        console.print("No sessions stored yet: run `repcue sync` after a workout.")
        return 0
    table = Table(title="Sessions", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("date")
    table.add_column("plan")
    table.add_column("duration", justify="right")
    table.add_column("reps", justify="right")
    table.add_column("device")
    for row in rows:
        table.add_row(
            str(row["row_id"]),
            _date(row),
            row["plan"] or f"program {row['program_id']}",
            fmt_ms(row["duration_ms"], tenths=False),
            _reps(row),
            f"{row['device']} #{row['session_id']}",
        )
    console.print(table)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with open_store(args.db, read_only=True) as store:
        report = session_report(store, store.find_session(args.session))
    if args.json:
        _print_json(report)
    else:
        print_session(Console(highlight=False), report)
    return 0


def session_line(report: dict[str, Any]) -> str:
    """One session on one line (what `repcue sync` prints per session; `show` has the table)."""
    head = report["session"]
    plan = head["plan"] or f"program {head['program_id']}"
    return (
        f"Session {head['row_id']} · {plan} · {_date(head)} · "
        f"{fmt_ms(head['duration_ms'], tenths=False)} · reps {_reps(head)} · "
        f"{head['end_reason']}"
    )


def session_notes(head: dict[str, Any]) -> str:
    """ " · paused 1:01 (2x) · cues late max 3 ms, mean 1 ms": what the one-line view leaves
    out (show and the HTML report add it)."""
    paused = ""
    if head["pauses"]:
        paused = f" · paused {fmt_ms(head['paused_ms'], tenths=False)} ({head['pauses']}x)"
    late = (
        "cue lateness unknown (the power went)"  # the device closed it at boot, blind
        if head["cue_late_max_ms"] is None
        else f"cues late max {head['cue_late_max_ms']} ms, mean {head['cue_late_mean_ms']} ms"
    )
    return f"{paused} · {late}"


def print_session(console: Console, report: dict[str, Any]) -> None:
    """The human view of a `session_report` (also what `repcue demo` shows at the end)."""
    head = report["session"]
    plan = head["plan"] or f"program {head['program_id']}"
    console.print(
        f"[bold]Session {head['row_id']}[/bold] · {plan} · {_date(head)} · "
        f"{head['device']} #{head['session_id']}"
    )
    console.print(
        f"{fmt_ms(head['duration_ms'], tenths=False)} · {head['end_reason']} · "
        f"reps {_reps(head)}{session_notes(head)}"
    )
    steps = report["steps"]
    table = Table(show_edge=False)
    for name in STEP_COLUMNS:
        justify: Literal["left", "right"] = "left" if name in ("step", "end") else "right"
        table.add_column(name, justify=justify, no_wrap=True)
    for step in steps:
        table.add_row(*step_cells(step))
    console.print(table)
    for step in steps:
        if step["laps_ms"]:
            laps = ", ".join(fmt_ms(v) for v in step["laps_ms"])
            console.print(f"Laps in step {step['index'] + 1} ({step['kind']}) at {laps}")
    fade = report["fade"]
    if fade:
        pace = fade["basis"] == "pace"

        def measure(value: float) -> str:
            return fmt_pace(value, unit="") if pace else fmt_ms(value * 1000)

        console.print(
            f"Fade ({fade['reps']} reps, {'min/km' if pace else 'time'}): "
            f"{measure(fade['first'])} -> {measure(fade['last'])}, mean {measure(fade['mean'])}; "
            f"last {_pct(fade['last_vs_first_pct'])} vs first, {_pct(fade['per_rep_pct'])}/rep"
        )


# -- formatting ------------------------------------------------------------------------------


def fmt_ms(ms: float | None, *, tenths: bool = True) -> str:
    """1:02:03, 3:12.4 (or 3:12 without tenths); '' for None."""
    if ms is None:
        return ""
    if not tenths:
        return fmt_clock(ms / 1000)
    seconds, tenth = divmod(round(ms / 100), 10)
    return f"{fmt_clock(seconds)}.{tenth}"


def fmt_pace(s_per_km: float | None, unit: str = "/km") -> str:
    return fmt_clock(s_per_km) + unit if s_per_km else ""


STEP_COLUMNS = ("#", "step", "planned", "actual", "±s", "pace/km", "target", "fade", "end")


def step_cells(step: dict[str, Any]) -> list[str]:
    """One row of the per-step table (`repcue show`, the HTML report)."""
    return [
        str(step["index"] + 1),
        step["kind"],
        _planned(step),
        fmt_ms(step["elapsed_ms"]),
        _signed_ms(step["delta_ms"]),
        fmt_pace(step["pace_s_per_km"], unit=""),
        fmt_pace(step["target_pace_s_per_km"], unit=""),
        _pct(step["fade_first_pct"]),
        step["end_reason"],
    ]


def _planned(step: dict[str, Any]) -> str:
    end_type = step["end_type"]
    if end_type == "distance":
        return f"{step['planned']} m"
    if end_type == "time":
        return fmt_ms(step["planned"] * 1000, tenths=False)
    if end_type == "open":
        return "open" if not step["planned"] else "~" + fmt_ms(step["planned"] * 1000, tenths=False)
    return str(step["planned"])  # program unknown here: the raw planned value


def _signed(value: float) -> str:
    """+1.2, -0.4, and 0.0 for what rounds to zero (never "-0.0")."""
    text = f"{value:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def _signed_ms(ms: int | None) -> str:
    return "" if ms is None else _signed(ms / 1000)


def _pct(value: float | None) -> str:
    return "" if value is None else _signed(value) + "%"


def _reps(row: dict[str, Any]) -> str:
    planned = row["reps_planned"]
    return f"{row['reps_done']}/{planned}" if planned is not None else str(row["reps_done"])


def _date(row: dict[str, Any]) -> str:
    start = row["start"]
    if start is None:
        synced = datetime.fromisoformat(row["synced"]).astimezone()
        return f"undated (synced {synced:%Y-%m-%d})"
    local = datetime.fromisoformat(start).astimezone()
    return f"{local:%Y-%m-%d %H:%M}"
