"""The same workout over time: per session of a plan (by name), the mean, fastest and slowest
work rep and the fade, from `session_report` (store/analysis.py) so the numbers are the ones
`repcue show` prints.

A rep is measured the way the fade is: by pace (s/km) when the workout's reps have a distance,
else by time (s) of reps the runner ended with a lap press. Timed reps all last their planned
time, so a workout of timed reps has no trend to show (its rows say so with `reps` 0).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from repcue.errors import StoreError
from repcue.store.analysis import session_report
from repcue.store.db import Store


@dataclass(frozen=True)
class TrendRow:
    row_id: int
    start: str | None  # ISO UTC, None when the device clock was never set
    synced: str
    basis: str  # "pace" (s/km) or "time" (s)
    reps: int  # measured work reps
    mean: float | None
    fastest: float | None
    slowest: float | None
    fade_pct: float | None  # last rep vs first, %
    fade_per_rep_pct: float | None
    end_reason: str


def rep_measures(report: dict[str, Any]) -> tuple[str, list[float]]:
    """(basis, the measured work reps) of a `session_report`, as its fade counts them."""
    work = [s for s in report["steps"] if s["kind"] == "work"]
    if any(s["pace_s_per_km"] for s in work):
        return "pace", [s["pace_s_per_km"] for s in work if s["pace_s_per_km"]]
    return "time", [s["elapsed_ms"] / 1000 for s in work if s["end_reason"] == "lap"]


def trend_row(report: dict[str, Any]) -> TrendRow:
    head, fade = report["session"], report["fade"]
    basis, measures = rep_measures(report)
    return TrendRow(
        row_id=head["row_id"],
        start=head["start"],
        synced=head["synced"],
        basis=basis,
        reps=len(measures),
        mean=statistics.fmean(measures) if measures else None,
        fastest=min(measures) if measures else None,
        slowest=max(measures) if measures else None,
        fade_pct=fade["last_vs_first_pct"] if fade else None,
        fade_per_rep_pct=fade["per_rep_pct"] if fade else None,
        end_reason=head["end_reason"],
    )


def plan_names(store: Store) -> list[str]:
    return sorted({s.plan_name for s in store.sessions() if s.plan_name})


def trend(store: Store, name: str) -> list[TrendRow]:
    """The sessions of plan `name` (case-insensitive), oldest first (sync order)."""
    sessions = [s for s in store.sessions() if (s.plan_name or "").lower() == name.lower()]
    if not sessions:
        known = ", ".join(repr(n) for n in plan_names(store)) or "none yet"
        raise StoreError(f"no stored session ran a plan named {name!r} (plans stored: {known})")
    return [trend_row(session_report(store, s)) for s in reversed(sessions)]
