"""What a stored session means: planned vs actual per step, pace, fade across work reps.

Pure functions over store records plus the program bytes (when the store has them): the CLI
renders the result as a table and `--json` prints `session_report` as is.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from repcue.store.db import Store
from repcue.store.models import SessionSummary, StepRecord
from repcue_fw.wire import WireError
from repcue_fw.wire.host import program as wire_program
from repcue_fw.wire.steps import Cursor, expected_ms

_DONE = ("time", "lap")  # step end reasons that mean the step ran to its planned end


@dataclass(frozen=True)
class PlannedStep:
    """A step of the unrolled program, as far as the report needs it."""

    kind: str
    end_type: str  # time, distance, open
    value: int  # seconds, metres, or estimated seconds
    target_pace_s_per_km: float | None
    expected_ms: int  # its time, its distance at the target pace, its estimate; 0 unknown


@dataclass(frozen=True)
class StepView:
    seq: int
    index: int
    kind: str
    end_reason: str
    end_type: str | None  # None: program unknown to this store
    planned: int
    elapsed_ms: int
    delta_ms: int | None  # actual minus planned time (time, open, or target pace x distance)
    distance_m: int | None
    pace_s_per_km: float | None
    target_pace_s_per_km: float | None
    fade_first_pct: float | None  # this rep vs the first work rep (positive: slower)
    fade_mean_pct: float | None  # this rep vs the mean of the work reps
    laps_ms: tuple[int, ...]


@dataclass(frozen=True)
class Fade:
    basis: str  # "pace" (s/km of distance reps) or "time" (s of lap-ended reps)
    reps: int
    first: float
    last: float
    mean: float
    last_vs_first_pct: float
    per_rep_pct: float  # least-squares slope per rep, as % of the mean


def _count_work(nodes: Sequence[Any]) -> int:
    total = 0
    for node in nodes:
        if isinstance(node, wire_program.Repeat):
            total += node.count * _count_work(node.body)
        else:
            total += int(node.kind == wire_program.KIND_WORK)
    return total


def _decode_program(program_bytes: bytes) -> Any | None:
    try:
        return wire_program.decode(program_bytes)
    except WireError:
        return None  # checked when stored; a bad blob only costs the planned column


def planned_steps(program_bytes: bytes, count: int) -> list[PlannedStep]:
    """The first `count` steps of the unrolled program."""
    try:
        # The engine's own cursor, over the bytes: its order is what the step indexes count.
        cursor = Cursor(program_bytes)
    except WireError:
        return []  # checked when stored; a bad blob only costs the planned column
    out: list[PlannedStep] = []
    while len(out) < count:
        step = cursor.next()
        if step is None:
            break
        pace = None
        if step.target_type == wire_program.TARGET_PACE and step.target_value > 0:
            pace = step.target_value / 10.0
        out.append(
            PlannedStep(
                wire_program.KIND_NAMES[step.kind],
                wire_program.END_NAMES[step.end],
                step.value,
                pace,
                expected_ms(step),
            )
        )
    return out


@lru_cache(maxsize=64)  # `history` asks once per session, mostly of the same few programs
def planned_work_reps(program_bytes: bytes) -> int | None:
    program = _decode_program(program_bytes)
    return None if program is None else _count_work(program.nodes)


def _fade(basis: str, measures: list[float]) -> Fade | None:
    if len(measures) < 2:
        return None
    mean = statistics.fmean(measures)
    xs = range(len(measures))
    slope = statistics.linear_regression(list(xs), measures).slope
    return Fade(
        basis=basis,
        reps=len(measures),
        first=measures[0],
        last=measures[-1],
        mean=mean,
        last_vs_first_pct=(measures[-1] / measures[0] - 1) * 100 if measures[0] else 0.0,
        per_rep_pct=slope / mean * 100 if mean else 0.0,
    )


def step_views(
    steps: Sequence[StepRecord], plan: Sequence[PlannedStep]
) -> tuple[list[StepView], Fade | None]:
    """Per-step rows plus the fade of the work reps."""
    rows: list[dict[str, Any]] = []
    for step in steps:
        known = plan[step.index] if 0 <= step.index < len(plan) else None
        # Trust the program only where it agrees with what the device recorded.
        if known is not None and (known.kind != step.kind or known.value != step.planned):
            known = None
        end_type = known.end_type if known else None
        done = step.end_reason in _DONE
        # a distance step the runner stopped or skipped covered an unknown distance
        distance_m = step.planned if end_type == "distance" and done else None
        pace = step.elapsed_ms / distance_m if distance_m and done else None
        target = known.target_pace_s_per_km if known and end_type == "distance" else None
        delta: int | None = None
        if known and known.expected_ms and (done or end_type != "distance"):
            delta = step.elapsed_ms - known.expected_ms
        rows.append(
            dict(
                seq=step.seq,
                index=step.index,
                kind=step.kind,
                end_reason=step.end_reason,
                end_type=end_type,
                planned=step.planned,
                elapsed_ms=step.elapsed_ms,
                delta_ms=delta,
                distance_m=distance_m,
                pace_s_per_km=pace,
                target_pace_s_per_km=target,
                laps_ms=step.laps_ms,
            )
        )
    # Fade compares like with like: pace when any work rep has a distance, else the times
    # of reps the runner ended with a lap press (timed reps all last their planned time).
    work = [r for r in rows if r["kind"] == "work"]
    basis = "pace" if any(r["pace_s_per_km"] for r in work) else "time"
    measured: list[tuple[dict[str, Any], float]] = []
    for r in work:
        if basis == "pace" and r["pace_s_per_km"]:
            measured.append((r, r["pace_s_per_km"]))
        elif basis == "time" and r["end_reason"] == "lap" and r["elapsed_ms"]:
            measured.append((r, r["elapsed_ms"] / 1000))
    fade = _fade(basis, [m for _, m in measured])
    for r, m in measured:
        if fade is not None:
            r["fade_first_pct"] = (m / fade.first - 1) * 100 if fade.first else None
            r["fade_mean_pct"] = (m / fade.mean - 1) * 100 if fade.mean else None
    views = [StepView(**{"fade_first_pct": None, "fade_mean_pct": None, **r}) for r in rows]
    return views, fade


def iso_time(epoch_s: int | None) -> str | None:
    if epoch_s is None:
        return None
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


def history_row(store: Store, summary: SessionSummary) -> dict[str, Any]:
    """One session as `repcue history --json` prints it."""
    program = store.program(summary.program_id)
    return {
        "row_id": summary.row_id,
        "start": iso_time(summary.start_wall_s),
        "synced": iso_time(summary.synced_s),
        "plan": summary.plan_name,
        "program_id": f"{summary.program_id:08x}",
        "duration_ms": summary.total_ms,
        "reps_done": summary.work_done,
        "reps_planned": planned_work_reps(program.program_bytes) if program else None,
        "device": summary.device_name or summary.device_id,
        "device_id": summary.device_id,
        "session_id": summary.session_id,
        "end_reason": summary.end_reason,
    }


def session_report(store: Store, summary: SessionSummary) -> dict[str, Any]:
    """Everything `repcue show --json` prints for one session (JSON-ready)."""
    steps = store.session_steps(summary.row_id)
    program = store.program(summary.program_id)
    count = max((s.index for s in steps), default=-1) + 1
    plan = planned_steps(program.program_bytes, count) if program else []
    views, fade = step_views(steps, plan)
    head = history_row(store, summary)
    head.update(
        paused_ms=summary.paused_ms,
        pauses=summary.pauses,
        # a session the power cut short was closed at boot: how late its cues were is unknown
        cue_late_max_ms=None if summary.end_reason == "power_lost" else summary.late_max_ms,
        cue_late_mean_ms=None if summary.end_reason == "power_lost" else summary.late_mean_ms,
        acked=summary.acked,
    )
    return {
        "session": head,
        # vars(), not asdict(): the fields are flat, and asdict's deep copy was a third of
        # an export's time (bench/export.py)
        "steps": [{**vars(v), "laps_ms": list(v.laps_ms)} for v in views],
        "fade": None if fade is None else asdict(fade),
    }
