"""Stored sessions out to other programs: FIT activities, TCX, CSV rows and JSON.

`export_session` turns one stored session into the bytes of one file; each format has its own
module (fit.py with workout.py, tcx.py, csv_rows.py) over one model of the session in time
(timeline.py), built from the same `session_report` that `repcue show --json` prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from repcue.export.csv_rows import csv_text
from repcue.export.fit import fit_activity
from repcue.export.tcx import tcx_text
from repcue.export.timeline import Timeline, build_timeline
from repcue.store.analysis import session_report
from repcue.store.db import Store
from repcue.store.models import SessionSummary

Format = Literal["fit", "tcx", "csv", "json"]
FORMATS: tuple[Format, ...] = ("fit", "tcx", "csv", "json")


@dataclass(frozen=True)
class Exported:
    summary: SessionSummary
    data: bytes
    timeline: Timeline | None  # None for JSON (no date needed)


def export_session(
    store: Store, summary: SessionSummary, fmt: Format, *, assume_date: bool = False
) -> Exported:
    """One session as the bytes of a `fmt` file. FIT, TCX and CSV need the session's date:
    an undated one raises UndatedSessionError unless `assume_date`."""
    report = session_report(store, summary)
    if fmt == "json":
        return Exported(summary, (json.dumps(report, indent=2) + "\n").encode(), None)
    timeline = build_timeline(store, summary, report, assume_date=assume_date)
    if fmt == "fit":
        data = fit_activity(timeline)
    elif fmt == "tcx":
        data = tcx_text(timeline).encode()
    else:
        data = csv_text([timeline]).encode()
    return Exported(summary, data, timeline)


__all__ = ["FORMATS", "Exported", "Format", "Timeline", "build_timeline", "export_session"]
