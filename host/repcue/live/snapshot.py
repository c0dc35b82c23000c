"""The retained `state` topic: one JSON snapshot of an athlete's session (schema v1,
docs/live.md "The state snapshot"), rebuilt after every live object so a dashboard that
joins late sees everyone at once.

Its clock is the objects' own `wall` (the host's wall clock at each event's arrival; an
object filled in from the session's record after a gap is dated by its `wall` in the past,
and leaves the clock where it is): a snapshot says where the session was at its last
event, and `ends_wall` lets a dashboard count down to the next change without more messages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from repcue.live.state import LiveState
from repcue.store.analysis import PlannedStep, planned_steps
from repcue_fw.wire import WireError
from repcue_fw.wire.host import program as wire_program

SNAPSHOT_VERSION = 1
MAX_STEPS = 10_000  # more than a device program unrolls to
# LiveState's statuses as the schema names them: a start the device refused leaves it idle
_STATUS = {"power_lost": "stopped", "refused": "idle"}


def _iso(wall_s: float) -> str:
    return datetime.fromtimestamp(wall_s, UTC).isoformat(timespec="milliseconds")


def _wall_s(obj: dict[str, Any]) -> float:
    return datetime.fromisoformat(obj["wall"]).timestamp()


def plan_of(program_bytes: bytes) -> tuple[list[PlannedStep], str | None]:
    """A program's unrolled steps and its plan's name (None when the bytes do not decode)."""
    try:
        name = wire_program.decode(program_bytes).name or None
    except WireError:
        return [], None
    return planned_steps(program_bytes, MAX_STEPS), name


class Snapshot:
    """The state of one athlete's device. `apply` each live object in order, `set_program`
    when the session's program is known; `build()` is the JSON object to publish."""

    def __init__(self, athlete: str) -> None:
        self.athlete = athlete
        # a filled object (refill.py) is dated by its own wall against this "now"
        self.state = LiveState(wall_now_s=lambda: self._now_s)
        self.device_id = ""
        self.name = ""
        self.plan_name: str | None = None
        self.seq: int | None = None
        self._now_s = 0.0

    @property
    def has_plan(self) -> bool:
        return bool(self.state.plan)

    def set_program(self, program_bytes: bytes) -> None:
        steps, name = plan_of(program_bytes)
        if steps:
            self.state.plan, self.plan_name = steps, name

    def apply(self, obj: dict[str, Any]) -> None:
        if not obj.get("filled"):  # a filled object happened earlier: the clock stays
            self._now_s = max(self._now_s, _wall_s(obj))
        if obj["event"] == "attached":
            self.device_id, self.name = str(obj["device_id"]), str(obj["name"])
        if obj["seq"] is not None:
            self.seq = obj["seq"]
        self.state.apply(obj, self._now_s)

    def build(self) -> dict[str, Any]:
        s, now = self.state, self._now_s
        return {
            "v": SNAPSHOT_VERSION,
            "athlete": self.athlete,
            "device_id": self.device_id,
            "name": self.name,
            "wall": _iso(now),
            "seq": self.seq,
            "status": _STATUS.get(s.status, s.status),
            "plan_name": self.plan_name,
            "session_id": s.session_id,
            "step": self._step(),
            "next": _brief(s.next_step),
            "last_rep": self._last_rep(),
            "reps_done": s.reps_done,
            "elapsed_ms": s.elapsed_ms(now) or 0,
        }

    def _step(self) -> dict[str, Any] | None:
        s, now = self.state, self._now_s
        if s.index is None or s.finished:
            return None
        planned = s.planned(s.index)
        rep, reps = s.reps
        started, left = s.step_started_s, s.left_ms(now)
        return {
            "index": s.index,
            "kind": s.kind or (planned.kind if planned else None),
            "rep": rep,
            "reps": reps,
            **_amounts(planned),
            "target_pace_s_per_km": planned.target_pace_s_per_km if planned else None,
            "started_wall": None if started is None else _iso(started),
            # a countdown's end; unknown while paused (it moves) and for distance steps
            "ends_wall": None if left is None or s.paused else _iso(now + left / 1000),
        }

    def _last_rep(self) -> dict[str, Any] | None:
        s = self.state
        last = s.last_rep
        if last is None:
            return None
        planned = s.planned(last.index)
        if s.plan:
            rep = sum(1 for step in s.plan[: last.index + 1] if step.kind == "work")
        else:
            rep = s.reps_done
        distance_m = planned.value if planned and planned.end_type == "distance" else None
        return {
            "rep": rep,
            "actual_ms": last.actual_ms,
            "target_ms": last.target_ms,
            "diff_ms": last.delta_ms,
            # ms per metre is s per km
            "pace_s_per_km": round(last.actual_ms / distance_m, 1) if distance_m else None,
        }


def _amounts(step: PlannedStep | None) -> dict[str, int | None]:
    if step is None:
        return {"duration_ms": None, "distance_m": None}
    return {
        "duration_ms": step.value * 1000 if step.end_type == "time" else None,
        "distance_m": step.value if step.end_type == "distance" else None,
    }


def _brief(step: PlannedStep | None) -> dict[str, Any] | None:
    return None if step is None else {"kind": step.kind, **_amounts(step)}
