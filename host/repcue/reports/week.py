"""The week against the seed's guidance on anaerobic dose: one or two anaerobic sessions a
week, recovery between them.

Rules, over all dated sessions (a rule that spans two weeks is told in the later one):
- `three_or_more`: three or more anaerobic sessions in one ISO week;
- `hard_days_in_a_row`: two calendar days in a row that are both hard days (a hard day has an
  anaerobic session, or 20 minutes or more of steady work: a tempo run);
- `no_easy_day_between`: two anaerobic sessions with no easy day between them (the same day,
  the next day, or only hard days between).
Pure functions over `SessionLoad`s (reports/load.py); the CLI renders `week_json`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from repcue.reports.load import LEVEL_NAMES, SessionLoad

MOST_PER_WEEK = 2  # the seed: "one or two anaerobic workouts per week"


@dataclass(frozen=True)
class Warning_:
    rule: str
    days: tuple[date, ...]
    sessions: tuple[int, ...]  # store row ids
    message: str


@dataclass
class WeekRow:
    monday: date
    sessions: list[SessionLoad] = field(default_factory=list)
    warnings: list[Warning_] = field(default_factory=list)

    @property
    def label(self) -> str:
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def anaerobic(self) -> list[SessionLoad]:
        return [s for s in self.sessions if s.anaerobic]

    @property
    def hard_days(self) -> list[date]:
        return sorted({s.day for s in self.sessions if s.hard and s.day})

    @property
    def status(self) -> str:
        count = len(self.anaerobic)
        return "none" if count == 0 else "ok" if count <= MOST_PER_WEEK else "too many"

    def work_s_by_level(self) -> dict[int, float]:
        out: dict[int, float] = {}
        for s in self.sessions:
            for lv, secs in s.work_s_by_level.items():
                out[lv] = out.get(lv, 0.0) + secs
        return out


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _fmt(day: date) -> str:
    return f"{day:%a} {day.isoformat()}"


def warnings(loads: Iterable[SessionLoad]) -> list[Warning_]:
    """Every rule broken by the dated sessions, in day order."""
    dated = sorted(
        ((s.day, s) for s in loads if s.day is not None), key=lambda d: (d[0], d[1].row_id)
    )
    hard_days = {day for day, s in dated if s.hard}
    out: list[Warning_] = []
    by_week: dict[date, list[tuple[date, SessionLoad]]] = {}
    for day, s in dated:
        if s.anaerobic:
            by_week.setdefault(monday_of(day), []).append((day, s))
    for monday, hard in sorted(by_week.items()):
        if len(hard) > MOST_PER_WEEK:
            out.append(
                Warning_(
                    "three_or_more",
                    tuple(day for day, _ in hard),
                    tuple(s.row_id for _, s in hard),
                    f"{len(hard)} anaerobic sessions in the week of {monday.isoformat()}: "
                    f"the guidance is one or two a week",
                )
            )
    for day in sorted(hard_days):
        after = day + timedelta(days=1)
        if after in hard_days:
            ids = tuple(s.row_id for d, s in dated if s.hard and d in (day, after))
            out.append(
                Warning_(
                    "hard_days_in_a_row",
                    (day, after),
                    ids,
                    f"hard days in a row: {_fmt(day)} and {_fmt(after)}",
                )
            )
    anaerobic = [(day, s) for day, s in dated if s.anaerobic]
    for (day_a, first), (day_b, second) in itertools.pairwise(anaerobic):
        between = [day_a + timedelta(days=n) for n in range(1, (day_b - day_a).days)]
        if all(d in hard_days for d in between):  # also true with no day between at all
            where = (
                f"both on {_fmt(day_a)}" if day_a == day_b else f"{_fmt(day_a)} and {_fmt(day_b)}"
            )
            out.append(
                Warning_(
                    "no_easy_day_between",
                    (day_a, day_b),
                    (first.row_id, second.row_id),
                    f"no easy day between anaerobic sessions {first.row_id} and "
                    f"{second.row_id} ({where})",
                )
            )
    return sorted(out, key=lambda w: (w.days[-1], w.rule))


def week_rows(loads: Sequence[SessionLoad], *, weeks: int, until: date) -> list[WeekRow]:
    """The `weeks` ISO weeks ending with the one holding `until`, oldest first."""
    last = monday_of(until)
    rows = [WeekRow(last - timedelta(weeks=n)) for n in range(weeks - 1, -1, -1)]
    index = {r.monday: r for r in rows}
    for s in loads:
        if s.day is not None and s.day <= until and monday_of(s.day) in index:
            index[monday_of(s.day)].sessions.append(s)
    for w in warnings(s for s in loads if s.day is None or s.day <= until):
        row = index.get(monday_of(w.days[-1]))
        if row is not None:
            row.warnings.append(w)
    for row in rows:
        row.sessions.sort(key=lambda s: (s.start_s or 0, s.row_id))
    return rows


def week_json(rows: Sequence[WeekRow], undated: int) -> dict[str, object]:
    """What `repcue week --json` prints."""
    return {
        "weeks": [
            {
                "week": r.label,
                "monday": r.monday.isoformat(),
                "sessions": len(r.sessions),
                "anaerobic_sessions": [
                    {
                        "row_id": s.row_id,
                        "day": s.day.isoformat() if s.day else None,
                        "plan": s.plan,
                        "reason": s.reason,
                    }
                    for s in r.anaerobic
                ],
                "hard_days": [d.isoformat() for d in r.hard_days],
                "status": r.status,
                "work_min": {
                    LEVEL_NAMES[lv]: round(secs / 60, 1)
                    for lv, secs in sorted(r.work_s_by_level().items(), reverse=True)
                },
                "warnings": [
                    {
                        "rule": w.rule,
                        "days": [d.isoformat() for d in w.days],
                        "sessions": list(w.sessions),
                        "message": w.message,
                    }
                    for w in r.warnings
                ],
            }
            for r in rows
        ],
        "undated_sessions": undated,
    }
