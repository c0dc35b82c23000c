"""One stored session laid out in time: the model every export format writes from.

Built from `session_report` (the same analysis `repcue show --json` prints): each step becomes
a lap with its wall-clock start, its active (timer) time, its distance where the step's
distance is known, and its place in the workout. The device records how long and how often a
session was paused, not when: the pauses go between steps, spread evenly over the session
(each one a timer stop and start, never a lap), so the laps' timer times add up to the
session's and the wall clock ends where the device's did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from repcue.errors import UndatedSessionError
from repcue.store.db import Store
from repcue.store.models import SessionSummary

# step kind -> lap intensity (FIT names; TCX has Active and Resting)
INTENSITY = {
    "warmup": "warmup",
    "work": "active",
    "recovery": "rest",
    "rest": "rest",
    "cooldown": "cooldown",
}


@dataclass(frozen=True)
class Lap:
    index: int  # 0-based, in the order the device ran the steps
    step_index: int  # the step's position in the unrolled program
    kind: str
    start_ms: int  # wall ms since the session start
    timer_ms: int  # active time (the step's elapsed_ms)
    distance_m: float | None  # known only for a distance step that ran to its end
    intensity: str  # warmup, active, rest, cooldown
    trigger: str  # time, distance, manual, session_end
    end_reason: str

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.timer_ms

    @property
    def speed_m_s(self) -> float | None:
        if self.distance_m is None or self.timer_ms <= 0:
            return None
        return self.distance_m / (self.timer_ms / 1000)


@dataclass(frozen=True)
class Pause:
    at_ms: int  # wall ms since the session start when the timer stopped
    length_ms: int


@dataclass(frozen=True)
class Timeline:
    start_s: int  # unix seconds of the session start
    assumed_date: bool  # start_s is the sync time's guess, not the device's clock
    laps: tuple[Lap, ...]
    pauses: tuple[Pause, ...]
    report: dict[str, Any]  # session_report: what `show --json` prints
    program_bytes: bytes  # b"" when the store does not hold the program
    device_id: str
    firmware_version: str
    track: bool  # a track session (sub_sport track)

    @property
    def timer_ms(self) -> int:
        return sum(lap.timer_ms for lap in self.laps)

    @property
    def elapsed_ms(self) -> int:
        return self.timer_ms + sum(p.length_ms for p in self.pauses)

    @property
    def distance_m(self) -> float:
        return sum(lap.distance_m or 0.0 for lap in self.laps)

    @property
    def session(self) -> dict[str, Any]:
        head: dict[str, Any] = self.report["session"]
        return head

    def wall(self, offset_ms: int) -> datetime:
        return datetime.fromtimestamp(self.start_s + offset_ms / 1000, UTC)


def _trigger(step: dict[str, Any], last: bool, session_end: str) -> str:
    if last and session_end != "finished" and step["end_reason"] == "stop":
        return "session_end"
    if step["end_reason"] == "time":
        return "time"
    if step["end_reason"] == "lap" and step["end_type"] == "distance":
        return "distance"  # the runner marked the distance with a lap press
    return "manual"


def _pause_slots(pauses: int, paused_ms: int, steps: int) -> list[tuple[int, int]]:
    """(after this many steps, length ms) for each pause, spread evenly between steps."""
    if paused_ms <= 0 or steps == 0:
        return []
    count = max(pauses, 1)
    each, rest = divmod(paused_ms, count)
    slots = []
    for j in range(count):
        after = min(steps - 1, max(1, round((j + 1) * steps / (count + 1)))) if steps > 1 else 1
        slots.append((after, each + (rest if j == count - 1 else 0)))
    return slots


def _is_track(report: dict[str, Any]) -> bool:
    """Track: the plan says so, or every work rep is a distance of whole 100 m up to 1600 m."""
    plan = report["session"]["plan"] or ""
    if "track" in plan.lower():
        return True
    work = [s for s in report["steps"] if s["kind"] == "work"]
    return bool(work) and all(
        s["end_type"] == "distance" and s["planned"] % 100 == 0 and s["planned"] <= 1600
        for s in work
    )


def build_timeline(
    store: Store,
    summary: SessionSummary,
    report: dict[str, Any],
    *,
    assume_date: bool = False,
) -> Timeline:
    """The timeline of one stored session. A session with no date (the device's clock was
    never set) raises UndatedSessionError unless `assume_date`: then it ends at its sync time."""
    head = report["session"]
    steps = report["steps"]
    if summary.start_wall_s is not None:
        start_s, assumed = summary.start_wall_s, False
    elif assume_date:
        start_s, assumed = summary.synced_s - (summary.total_ms + 999) // 1000, True
    else:
        raise UndatedSessionError(
            f"session {summary.row_id} ({head['device']} #{summary.session_id}) has no date: "
            "the device's clock was not set when it ran. Run `repcue time sync` before the "
            "next session; to export this one dated by its sync time, pass --assume-date",
            row_id=summary.row_id,
        )
    slots = _pause_slots(summary.pauses, summary.paused_ms, len(steps))
    laps: list[Lap] = []
    pauses: list[Pause] = []
    at_ms = 0
    for n, step in enumerate(steps):
        for after, length_ms in slots:
            if after == n:
                pauses.append(Pause(at_ms, length_ms))
                at_ms += length_ms
        distance = step["distance_m"]
        laps.append(
            Lap(
                index=n,
                step_index=step["index"],
                kind=step["kind"],
                start_ms=at_ms,
                timer_ms=step["elapsed_ms"],
                distance_m=None if distance is None else float(distance),
                intensity=INTENSITY.get(step["kind"], "active"),
                trigger=_trigger(step, n == len(steps) - 1, summary.end_reason),
                end_reason=step["end_reason"],
            )
        )
        at_ms += step["elapsed_ms"]
    for after, length_ms in slots:
        if after >= len(steps):  # a one-step session: its pauses go after the step
            pauses.append(Pause(at_ms, length_ms))
            at_ms += length_ms
    program = store.program(summary.program_id)
    device = store.device(summary.device_id)
    return Timeline(
        start_s=start_s,
        assumed_date=assumed,
        laps=tuple(laps),
        pauses=tuple(pauses),
        report=report,
        program_bytes=program.program_bytes if program else b"",
        device_id=summary.device_id,
        firmware_version=device.firmware_version if device else "",
        track=_is_track(report),
    )
