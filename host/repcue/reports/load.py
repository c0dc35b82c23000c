"""How hard a stored session was: its work minutes per intensity level, and whether it was an
anaerobic session and a hard day's work, judged by the plan's own rule (plan/intensity.py).

The program that ran (its bytes, as stored) is read back into the plan model's targets, so a
session is judged on what the device ran, not on plan text that may have changed since. Work
minutes are what the runner actually ran (elapsed time of work steps), not the plan's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from repcue.plan.intensity import HARD, anaerobic, level
from repcue.plan.model import Distance, Duration, Effort, End, HrZone, Open, Pace, Rpe, StepKind
from repcue.plan.model import Target as PlanTarget
from repcue.plan.profile import NamedPaces, PaceValue
from repcue.plan.timeline import PlannedStep
from repcue.store.db import Store
from repcue.store.models import SessionSummary, StepRecord
from repcue_fw.wire import WireError
from repcue_fw.wire.host import program as wp
from repcue_fw.wire.steps import Cursor, expected_ms

# A day with this much steady work (level 3: tempo, threshold, marathon-to-half pace) is hard
# even without an anaerobic session: a tempo run is "comfortably hard".
STEADY_HARD_DAY_S = 20 * 60
# Columns of `repcue week`: the 1-5 levels of plan/intensity.py, and work without a target.
LEVEL_NAMES = {5: "all out", 4: "hard", 3: "steady", 2: "easy", 1: "jog", 0: "untargeted"}


@dataclass(frozen=True)
class SessionLoad:
    row_id: int
    plan: str | None
    day: date | None  # local calendar day it started; None: the device clock was never set
    start_s: int | None
    anaerobic: bool
    reason: str  # in a few words, why (plan/intensity.py's wording)
    work_s_by_level: dict[int, float]  # 1-5, and 0 for work steps with no target the scale knows

    @property
    def steady_s(self) -> float:
        return self.work_s_by_level.get(3, 0.0)

    @property
    def hard(self) -> bool:
        """Anaerobic, or a long steady (tempo) session: what makes a hard day."""
        return self.anaerobic or self.steady_s >= STEADY_HARD_DAY_S


def _target(step: wp.Node) -> PlanTarget | None:
    kind, name, value = step.target_type, step.target_name, step.target_value
    if kind == wp.TARGET_PACE:
        if name:
            return Pace(name=wp.PACE_NAMES[name])
        return Pace(s_per_km=value / 10) if value else None
    if kind == wp.TARGET_EFFORT and 0 < value < len(wp.EFFORT_NAMES):
        return Effort(wp.EFFORT_NAMES[value])
    if kind == wp.TARGET_RPE and 1 <= value <= 10:
        return Rpe(value)
    if kind == wp.TARGET_HR_ZONE and 1 <= value <= 5:
        return HrZone(value)
    return None


def _end(step: wp.Node) -> End:
    if step.end == wp.END_TIME:
        return Duration(step.value)
    if step.end == wp.END_DISTANCE:
        return Distance(step.value)
    return Open(step.value or None)


def program_steps(program_bytes: bytes, count: int) -> list[PlannedStep]:
    """The first `count` steps the program runs, as the plan model's timeline steps."""
    try:
        cursor = Cursor(program_bytes)
    except WireError:
        return []  # checked when stored; a bad blob only costs the intensity
    out: list[PlannedStep] = []
    while len(out) < count:
        step = cursor.next()
        if step is None:
            break
        planned_ms = expected_ms(step)  # the cursor rewrites `step` in place: read it now
        pace = step.target_value / 10 if step.target_type == wp.TARGET_PACE else None
        out.append(
            PlannedStep(
                index=len(out) + 1,
                kind=StepKind(wp.KIND_NAMES[step.kind]),
                end=_end(step),
                target=_target(step),
                label="",
                pace_s_per_km=pace or None,
                planned_s=planned_ms / 1000 if planned_ms else None,
                start_s=0.0,
                rounds=(),
                countdown_s=0,
                halfway=False,
            )
        )
    return out


def _work_by_level(
    steps: Sequence[StepRecord], plan: Sequence[PlannedStep], paces: NamedPaces
) -> dict[int, float]:
    out: dict[int, float] = {}
    for step in steps:
        if step.kind != "work":
            continue
        known = plan[step.index] if 0 <= step.index < len(plan) else None
        lv = level(known.target, paces) if known else None
        out[lv or 0] = out.get(lv or 0, 0.0) + step.elapsed_ms / 1000
    return out


def _with_program_paces(paces: NamedPaces, plan: Sequence[PlannedStep]) -> NamedPaces:
    """The profile's named paces, and those the program was compiled with where it has none."""
    ran = {
        p.target.name: PaceValue(p.pace_s_per_km, "the program that ran")
        for p in plan
        if isinstance(p.target, Pace) and p.target.name and p.pace_s_per_km
    }
    return NamedPaces({**ran, **paces.values}, paces.path) if ran else paces


def session_load(store: Store, summary: SessionSummary, paces: NamedPaces) -> SessionLoad:
    steps = store.session_steps(summary.row_id)
    program = store.program(summary.program_id)
    count = max((s.index for s in steps), default=-1) + 1
    plan = program_steps(program.program_bytes, count) if program else []
    paces = _with_program_paces(paces, plan)
    if plan:
        # Only the steps it got to: a session stopped after the warm-up was no interval session.
        hard, reason = anaerobic(plan, paces)
    else:
        hard, reason = False, "program unknown to this store"
    day = None
    if summary.start_wall_s is not None:
        day = datetime.fromtimestamp(summary.start_wall_s).astimezone().date()
    return SessionLoad(
        row_id=summary.row_id,
        plan=summary.plan_name,
        day=day,
        start_s=summary.start_wall_s,
        anaerobic=hard,
        reason=reason,
        work_s_by_level=_work_by_level(steps, plan, paces),
    )


__all__ = ["HARD", "LEVEL_NAMES", "SessionLoad", "program_steps", "session_load"]
