"""The session state a live view shows, built from the schema objects (events.py) and the
installed program's unrolled steps (store.analysis.planned_steps)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from repcue.store.analysis import PlannedStep


@dataclass(frozen=True)
class LastRep:
    index: int
    actual_ms: int
    target_ms: int | None  # the plan's expected time: None when unknown

    @property
    def delta_ms(self) -> int | None:
        return None if self.target_ms is None else self.actual_ms - self.target_ms


@dataclass
class LiveState:
    """What is happening on the device now. `apply` one schema object at a time, with
    the host's monotonic time of its arrival; the `*_ms(now_s)` methods read the clocks."""

    plan: Sequence[PlannedStep] = ()
    device: str = ""
    status: str = "idle"  # idle, running, paused, finished, stopped, power_lost, refused
    session_id: int | None = None
    steps: int | None = None
    index: int | None = None
    kind: str | None = None
    last_rep: LastRep | None = None
    gaps: int = 0  # gap objects seen
    missed: int = 0  # events known lost (gaps with a count)
    total_ms: int | None = None  # the device's figure, at the end
    _session_start_s: float | None = None
    _step_start_s: float | None = None
    _paused_at_s: float | None = None
    _paused_s: float = 0.0  # this session's pauses so far
    _step_paused_s: float = 0.0
    _reps_done: list[int] = field(default_factory=list)
    wall_now_s: Callable[[], float] = time.time  # the host's wall clock (tests step their own)

    def apply(self, obj: dict[str, Any], now_s: float) -> None:
        kind = obj["event"]
        if obj.get("filled"):  # from the session's record, after a gap: it happened earlier
            then_s = datetime.fromisoformat(obj["wall"]).timestamp()
            now_s -= max(0.0, self.wall_now_s() - then_s)
        if kind == "attached":
            self.device = obj["name"] or obj["device_id"]
            self.status = "running" if obj["running"] else "idle"
            if obj["index"] is not None:  # joined mid-session: where it is, from its record
                self.session_id, self.index = obj["session_id"], obj["index"]
                step = self.planned(self.index)
                self.kind = step.kind if step else None
        elif kind == "session_start":
            self.status, self.session_id, self.steps = "running", obj["session_id"], obj["steps"]
            self.last_rep, self.total_ms, self._reps_done = None, None, []
            self._session_start_s, self._paused_s = now_s, 0.0
        elif kind == "step_start":
            self.index, self.kind = obj["index"], obj["kind"]
            self._step_start_s, self._step_paused_s = now_s, 0.0
        elif kind == "step_end":
            self._step_end(obj)
        elif kind == "pause":
            self.status, self._paused_at_s = "paused", now_s
        elif kind == "resume":
            self.status = "running"
            if self._paused_at_s is not None:
                self._paused_s += now_s - self._paused_at_s
                self._step_paused_s += now_s - self._paused_at_s
            self._paused_at_s = None
        elif kind == "session_end":
            self.status, self.total_ms = obj["reason"], obj["total_ms"]
        elif kind == "refused":
            self.status = "refused"
        elif kind == "gap":
            self.gaps += 1
            self.missed += obj["missed"] or 0

    def _step_end(self, obj: dict[str, Any]) -> None:
        if obj["kind"] != "work" or obj["actual_ms"] is None:
            return
        step = self.planned(obj["index"])
        target = step.expected_ms if step is not None and step.expected_ms else None
        self.last_rep = LastRep(obj["index"], obj["actual_ms"], target)
        self._reps_done.append(obj["index"])

    # ---- what a view reads ------------------------------------------------------------

    def planned(self, index: int | None) -> PlannedStep | None:
        if index is None or not 0 <= index < len(self.plan):
            return None
        return self.plan[index]

    @property
    def next_step(self) -> PlannedStep | None:
        return None if self.index is None else self.planned(self.index + 1)

    @property
    def reps(self) -> tuple[int | None, int | None]:
        """(this work rep's number, work reps planned); None where unknown."""
        total = sum(1 for s in self.plan if s.kind == "work") if self.plan else None
        if self.index is None or self.kind != "work":
            return None, total
        if self.plan:
            return sum(1 for s in self.plan[: self.index + 1] if s.kind == "work"), total
        return len(self._reps_done) + 1, total

    @property
    def step_started_s(self) -> float | None:
        """When the current step started, on the clock `apply` was given."""
        return self._step_start_s

    @property
    def paused(self) -> bool:
        return self._paused_at_s is not None

    @property
    def reps_done(self) -> int:
        return len(self._reps_done)

    @property
    def finished(self) -> bool:
        return self.status in ("finished", "stopped", "power_lost")

    def _now(self, now_s: float) -> float:
        return self._paused_at_s if self._paused_at_s is not None else now_s

    def elapsed_ms(self, now_s: float) -> int | None:
        """Active time since the session started (pauses excluded), as far as seen."""
        if self.finished and self.total_ms is not None:
            return self.total_ms  # the device's own figure (pauses included)
        if self._session_start_s is None:
            return None
        return int((self._now(now_s) - self._session_start_s - self._paused_s) * 1000)

    def step_elapsed_ms(self, now_s: float) -> int | None:
        if self._step_start_s is None:
            return None
        return int((self._now(now_s) - self._step_start_s - self._step_paused_s) * 1000)

    def left_ms(self, now_s: float) -> int | None:
        """Time left in a time step (never below 0); None for another step or unknown."""
        step, done = self.planned(self.index), self.step_elapsed_ms(now_s)
        if self.finished or step is None or done is None or step.end_type != "time":
            return None
        return max(0, step.value * 1000 - done)
