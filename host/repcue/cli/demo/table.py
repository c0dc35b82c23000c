"""The table `repcue demo --group` ends with: per athlete, reps, mean rep against target."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table


def clock_text(at_ms: int) -> str:
    """A wall-clock instant in ms as 14:03:07.250 (local time)."""
    return time.strftime("%H:%M:%S", time.localtime(at_ms / 1000)) + f".{at_ms % 1000:03d}"


def rep_times(report: dict[str, Any]) -> tuple[float, float] | None:
    """(mean rep time, mean target time) in s over the work steps with a target."""
    reps = [
        (s["elapsed_ms"], s["elapsed_ms"] - s["delta_ms"])
        for s in report["steps"]
        if s["kind"] == "work" and s["delta_ms"] is not None
    ]
    if not reps:
        return None
    return (sum(r[0] for r in reps) / len(reps) / 1000, sum(r[1] for r in reps) / len(reps) / 1000)


def _mmss(s: float) -> str:
    return f"{int(s // 60)}:{s % 60:04.1f}"


def print_table(out: Console, result: dict[str, Any]) -> None:
    table = Table(title=None, box=None, header_style="bold")
    for column in ("athlete", "plan", "reps", "mean rep", "target", "+/- s", "result"):
        table.add_column(column, justify="right" if column in ("reps", "+/- s") else "left")
    for report in result["sessions"]:
        head = report["session"]
        times = rep_times(report)
        mean, target = (_mmss(times[0]), _mmss(times[1])) if times else ("", "")
        diff = f"{times[0] - times[1]:+.1f}" if times else ""
        reps = f"{head['reps_done']}/{head['reps_planned']}"
        table.add_row(report["athlete"], head["plan"], reps, mean, target, diff, head["end_reason"])
    out.print(table)
    start = result["group_start"]
    out.print(
        f"started together at {clock_text(start['at_ms'])} by every device's clock; "
        f"dashboard {result['dashboard']['url']} listed {result['dashboard']['sessions_listed']}"
    )
