"""Resolved plan nodes -> the device program (repcue_fw.wire.host.program), and its bytes.

Repeats stay loops; ladders and fartleks arrive here as flat steps already. Pace targets
carry the pace name (index in PACE_NAMES, 0 for an explicit pace) and its value in tenths of
a second per km, 0 when the profile does not give it. Limits of the codec become
ProgramLimitError with the reason in words.
"""

from __future__ import annotations

from collections.abc import Sequence

from repcue.errors import ProgramLimitError
from repcue.plan.model import (
    EFFORTS,
    Cues,
    Distance,
    Duration,
    Effort,
    HrZone,
    Node,
    Pace,
    Repeat,
    Rpe,
    Step,
    Target,
)
from repcue.plan.profile import NamedPaces
from repcue_fw.wire import WireError
from repcue_fw.wire.host import program as wp

_LIMITS = {
    "nodes": f"expected at most {wp.MAX_NODES} steps and repeat blocks (ladders and fartleks "
    "count every step)",
    "depth": f"expected repeats nested at most {wp.MAX_DEPTH} deep",
    "size": f"expected at most {wp.MAX_PROGRAM_BYTES} bytes",
}


def _target(target: Target | None, paces: NamedPaces) -> tuple[int, int, int]:
    """(target_type, target_name, target_value) for the wire Step."""
    if target is None:
        return wp.TARGET_NONE, 0, 0
    if isinstance(target, Pace):
        value = paces.pace_of(target)
        name = wp.PACE_NAMES.index(target.name)
        return wp.TARGET_PACE, name, 0 if value is None else round(value * 10)
    if isinstance(target, Effort):
        return wp.TARGET_EFFORT, 0, EFFORTS.index(target.word) + 1
    if isinstance(target, Rpe):
        return wp.TARGET_RPE, 0, target.level
    if isinstance(target, HrZone):
        return wp.TARGET_HR_ZONE, 0, target.zone
    raise TypeError(target)


def _step(step: Step, paces: NamedPaces) -> wp.Step:
    end = step.end
    if isinstance(end, Duration):
        how, value = wp.END_TIME, end.seconds
    elif isinstance(end, Distance):
        how, value = wp.END_DISTANCE, end.metres
    else:
        how, value = wp.END_OPEN, end.estimate_s or 0
    t_type, t_name, t_value = _target(step.target, paces)
    return wp.Step(
        step.kind.wire, how, value, t_type, t_name, t_value, step.countdown_s, step.halfway
    )


def _nodes(nodes: Sequence[Node], paces: NamedPaces) -> list[object]:
    out: list[object] = []
    for node in nodes:
        if isinstance(node, Step):
            out.append(_step(node, paces))
        elif isinstance(node, Repeat):
            out.append(wp.Repeat(node.count, _nodes(node.body, paces), node.drop_last_recovery))
        else:
            raise TypeError("resolve fartleks (repcue.plan.fartlek) before compiling")
    return out


def to_program(nodes: Sequence[Node], cues: Cues, paces: NamedPaces, name: str = "") -> wp.Program:
    """The device program; it carries `name` (cut to the format's limit) so a session names
    its plan on a host that never saw the upload."""
    return wp.Program(
        _nodes(nodes, paces), cues.countdown_s, cues.halfway, cues.last_rep, wp.short_name(name)
    )


def encode(program: wp.Program) -> bytes:
    """The program's bytes; ProgramLimitError when it does not fit the device format."""
    try:
        data: bytes = wp.encode(program)
    except WireError as exc:
        reason = _LIMITS.get(exc.field, "expected values the format can hold")
        raise ProgramLimitError(
            f"the plan does not fit a device program: {reason} ({exc.field}: {exc.message})"
        ) from exc
    return data
