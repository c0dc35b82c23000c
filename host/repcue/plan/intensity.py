"""How hard a target is, on one 1-5 scale, and whether a session is anaerobic.

Levels: 1 walk/jog, 2 easy, 3 steady/marathon-to-threshold, 4 hard (10k-5k pace, RPE 8-9,
HR zone 4), 5 all out (3k pace and faster, RPE 10, zone 5). The parser uses the levels without
a profile to tell work from recovery; the anaerobic rule uses them with the profile.

A session is anaerobic when a work step is at level 4 or above (hard, all out, RPE >= 8,
HR zone >= 4, or a pace at or faster than 10k pace), or when it has at least four short work
steps (<= 2 min, or <= 600 m when only the distance is known) next to recoveries and not
marked easy: intervals like 40/20, strides or fartlek surges.
"""

from __future__ import annotations

from collections.abc import Sequence

from repcue.plan.describe import target_text
from repcue.plan.model import Distance, Effort, HrZone, Pace, Rpe, StepKind, Target
from repcue.plan.profile import NamedPaces
from repcue.plan.timeline import RECOVERY_KINDS, PlannedStep

HARD = 4
EASY = 2
EFFORT_LEVEL = {"walk": 1, "jog": 1, "easy": 2, "float": 2, "steady": 3, "hard": 4, "all out": 5}
NAMED_PACE_LEVEL = {
    "easy": 2,
    "marathon": 3,
    "half": 3,
    "threshold": 3,
    "10k": 4,
    "5k": 4,
    "3k": 5,
    "mile": 5,
}
_RPE_LEVEL = (1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5)  # index: RPE 0-10

SHORT_REP_S = 120.0
SHORT_REP_M = 600
MIN_SHORT_REPS = 4


def level(target: Target | None, paces: NamedPaces | None = None) -> int | None:
    """1 (walk) to 5 (all out); None when it cannot be told (no target, unknown pace)."""
    if isinstance(target, Effort):
        return EFFORT_LEVEL[target.word]
    if isinstance(target, Rpe):
        return _RPE_LEVEL[target.level]
    if isinstance(target, HrZone):
        return target.zone
    if isinstance(target, Pace):
        return _pace_level(target, paces)
    return None


def _pace_level(target: Pace, paces: NamedPaces | None) -> int | None:
    if target.name and target.percent == 100:
        return NAMED_PACE_LEVEL[target.name]
    if target.name == "threshold":  # intervals.icu "% Pace": percent of threshold speed
        return (
            2
            if target.percent < 85
            else 3
            if target.percent < 103
            else 4
            if target.percent < 110
            else 5
        )
    value = paces.pace_of(target) if paces else None
    if value is None or paces is None:
        return None
    for name, lv in (("3k", 5), ("10k", 4), ("threshold", 3), ("marathon", 3)):
        ref = paces.get(name)
        if ref is not None and value <= ref + 0.05:  # tenths of a second are noise
            return lv
    return EASY if paces.get("marathon") is not None else None


def is_easy(target: Target | None) -> bool:
    """Recovery-like without a profile: walk, jog, easy, float, RPE <= 5, zone <= 2."""
    lv = level(target)
    return lv is not None and lv <= EASY


def anaerobic(steps: Sequence[PlannedStep], paces: NamedPaces) -> tuple[bool, str]:
    """(anaerobic?, the reason in a few words)."""
    work = [s for s in steps if s.kind is StepKind.WORK]
    for step in work:
        lv = level(step.target, paces)
        if lv is not None and lv >= HARD:
            return True, f"work at {target_text(step.target, paces)}"
    short = [
        s
        for s in work
        if _is_short(s) and _next_to_recovery(steps, s) and (level(s.target, paces) or 3) > EASY
    ]
    if len(short) >= MIN_SHORT_REPS:
        return True, f"{len(short)} short reps with recoveries"
    if not work:
        return False, "no work steps"
    return False, "no hard or short work steps"


def _is_short(step: PlannedStep) -> bool:
    if step.planned_s is not None:
        return step.planned_s <= SHORT_REP_S
    return isinstance(step.end, Distance) and step.end.metres <= SHORT_REP_M


def _next_to_recovery(steps: Sequence[PlannedStep], step: PlannedStep) -> bool:
    i = step.index - 1  # indexes are 1-based positions
    around = [*steps[max(i - 1, 0) : i], *steps[i + 1 : i + 2]]
    return any(s.kind in RECOVERY_KINDS for s in around)
