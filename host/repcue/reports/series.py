"""The numbers behind each chart, apart from drawing: what `report`, `week` and `trend` plot.

Kept free of matplotlib so the tables work without the `[charts]` extra, and so tests can
compare what was drawn (the chart functions return these) with the store.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from repcue.reports.load import LEVEL_NAMES
from repcue.reports.trend import TrendRow
from repcue.reports.week import MOST_PER_WEEK, WeekRow


@dataclass(frozen=True)
class SessionSeries:
    """Work reps of one session: actual against target, recoveries after each, the fade."""

    basis: str  # "pace" (s/km of distance reps) or "time" (s)
    reps: tuple[int, ...]  # 1-based step numbers (as `repcue show` numbers them)
    actual: tuple[float, ...]
    target: tuple[float | None, ...]  # None: no target known for that rep
    recovery_s: tuple[float, ...]  # recovery and rest after each rep, before the next
    trend: tuple[float, ...]  # least-squares line through the measured reps ([] when < 2)


def session_series(report: dict[str, Any]) -> SessionSeries:
    """From a `session_report`: every work rep that was run (skipped ones are left out)."""
    steps = report["steps"]
    work = [s for s in steps if s["kind"] == "work" and s["end_reason"] != "skip"]
    basis = "pace" if any(s["pace_s_per_km"] for s in work) else "time"
    if basis == "pace":
        work = [s for s in work if s["pace_s_per_km"]]
    actual: list[float] = []
    target: list[float | None] = []
    for s in work:
        if basis == "pace":
            actual.append(s["pace_s_per_km"])
            target.append(s["target_pace_s_per_km"])
        else:
            actual.append(s["elapsed_ms"] / 1000)
            known = s["delta_ms"] is not None
            target.append((s["elapsed_ms"] - s["delta_ms"]) / 1000 if known else None)
    recovery: list[float] = []
    for n, s in enumerate(work):
        stop = work[n + 1]["seq"] if n + 1 < len(work) else None
        recovery.append(
            sum(
                r["elapsed_ms"] / 1000
                for r in steps
                if r["kind"] in ("recovery", "rest")
                and r["seq"] > s["seq"]
                and (stop is None or r["seq"] < stop)
            )
        )
    trend: tuple[float, ...] = ()
    if len(actual) >= 2:
        fit = statistics.linear_regression(list(range(len(actual))), actual)
        trend = tuple(fit.intercept + fit.slope * x for x in range(len(actual)))
    return SessionSeries(
        basis,
        tuple(s["index"] + 1 for s in work),
        tuple(actual),
        tuple(target),
        tuple(recovery),
        trend,
    )


@dataclass(frozen=True)
class WeekSeries:
    weeks: tuple[str, ...]  # 2026-W49
    minutes: dict[str, tuple[float, ...]]  # level name -> work minutes per week
    anaerobic: tuple[int, ...]
    most_per_week: int = MOST_PER_WEEK


def week_series(rows: Sequence[WeekRow]) -> WeekSeries:
    levels = sorted({lv for r in rows for lv in r.work_s_by_level()}, reverse=True)
    minutes = {
        LEVEL_NAMES[lv]: tuple(r.work_s_by_level().get(lv, 0.0) / 60 for r in rows) for lv in levels
    }
    return WeekSeries(tuple(r.label for r in rows), minutes, tuple(len(r.anaerobic) for r in rows))


@dataclass(frozen=True)
class TrendSeries:
    basis: str
    sessions: tuple[int, ...]  # store row ids, oldest first
    labels: tuple[str, ...]  # dates (or "#row" when undated)
    mean: tuple[float, ...]
    fastest: tuple[float, ...]
    slowest: tuple[float, ...]
    fade_pct: tuple[float | None, ...]


def trend_series(rows: Sequence[TrendRow]) -> TrendSeries:
    """Sessions with measured reps only, on the workout's usual basis."""
    bases = [r.basis for r in rows if r.reps]
    basis = max(set(bases), key=bases.count) if bases else "time"
    kept = [r for r in rows if r.reps and r.basis == basis]
    return TrendSeries(
        basis,
        tuple(r.row_id for r in kept),
        tuple(r.start[:10] if r.start else f"#{r.row_id}" for r in kept),
        tuple(r.mean or 0.0 for r in kept),
        tuple(r.fastest or 0.0 for r in kept),
        tuple(r.slowest or 0.0 for r in kept),
        tuple(r.fade_pct for r in kept),
    )
