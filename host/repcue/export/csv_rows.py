"""Sessions as CSV: one row per step, the columns docs/export.md describes.

The values are those of `repcue show --json` (the same session_report), in seconds with
millisecond decimals; an empty cell is a value that is not known (a distance the runner did
not finish, a pace without a distance, a program the store does not hold).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from repcue.export.tcx import iso_z
from repcue.export.timeline import Timeline

COLUMNS = (
    "session",  # the store's number (`repcue history`)
    "device",
    "device_session",  # the device's own session id
    "plan",
    "step",  # 1-based, in the order the device ran them
    "kind",  # warmup, work, recovery, rest, cooldown
    "start",  # the step's wall-clock start, ISO 8601 UTC
    "end_type",  # time, distance, open ('' when the program is not known)
    "planned",  # seconds (time, open: an estimate) or metres (distance)
    "elapsed_s",  # active time, pauses excluded
    "delta_s",  # actual minus planned time (a distance at its target pace)
    "distance_m",
    "pace_s_per_km",
    "target_pace_s_per_km",
    "fade_first_pct",  # this work rep against the first (positive: slower)
    "end_reason",  # time, lap, skip, stop
    "laps_s",  # lap presses inside the step, seconds from its start, ';'-separated
)


def _s(ms: int | None) -> str:
    return "" if ms is None else f"{ms / 1000:.3f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def rows(t: Timeline) -> Iterable[dict[str, Any]]:
    head = t.session
    for lap, step in zip(t.laps, t.report["steps"], strict=True):
        yield {
            "session": head["row_id"],
            "device": head["device"],
            "device_session": head["session_id"],
            "plan": head["plan"] or "",
            "step": lap.index + 1,
            "kind": step["kind"],
            "start": iso_z(t.wall(lap.start_ms)),
            "end_type": step["end_type"] or "",
            "planned": step["planned"],
            "elapsed_s": _s(step["elapsed_ms"]),
            "delta_s": _s(step["delta_ms"]),
            "distance_m": "" if step["distance_m"] is None else step["distance_m"],
            "pace_s_per_km": _num(step["pace_s_per_km"]),
            "target_pace_s_per_km": _num(step["target_pace_s_per_km"], 1),
            "fade_first_pct": _num(step["fade_first_pct"]),
            "end_reason": step["end_reason"],
            "laps_s": ";".join(_s(v) for v in step["laps_ms"]),
        }


def csv_text(timelines: Iterable[Timeline], *, header: bool = True) -> str:
    """The CSV of one or more sessions (one header row, then a row per step)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    for t in timelines:
        writer.writerows(rows(t))
    return out.getvalue()
