"""Short human wording of targets and step ends, shared by the CLI table and messages."""

from __future__ import annotations

from repcue.plan.model import Distance, Duration, Effort, End, HrZone, Pace, Rpe, Target
from repcue.plan.profile import NamedPaces
from repcue.plan.units import fmt_clock, fmt_distance, fmt_pace


def pace_text(target: Pace, paces: NamedPaces | None = None) -> str:
    """`5k pace (3:45/km)`, `5k pace (unknown)`, `95% threshold`, `3:45/km`."""
    if not target.name:
        return fmt_pace(target.s_per_km or 0.0)
    name = f"{target.name} pace" if target.percent == 100 else f"{target.percent}% {target.name}"
    if paces is None:
        return name
    value = paces.pace_of(target)
    return f"{name} ({fmt_pace(value) if value is not None else 'unknown'})"


def target_text(target: Target | None, paces: NamedPaces | None = None) -> str:
    if target is None:
        return ""
    if isinstance(target, Pace):
        return pace_text(target, paces)
    if isinstance(target, Effort):
        return target.word
    if isinstance(target, Rpe):
        return f"RPE {target.level}"
    if isinstance(target, HrZone):
        return f"HR zone {target.zone}"
    raise TypeError(target)


def end_text(end: End) -> str:
    """What ends a step: `time 1:30`, `lap at 800 m` (no GPS: the runner presses lap), `lap`."""
    if isinstance(end, Duration):
        return f"time {fmt_clock(end.seconds)}"
    if isinstance(end, Distance):
        return f"lap at {fmt_distance(end.metres)}"
    return "lap button"
