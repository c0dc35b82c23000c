"""The workout a session ran, for its FIT activity: the program bytes the session record
carries, back as a plan model, written by the one FIT workout encoder
(`repcue.plan.fit_workout`, which `repcue plan export` uses too), plus where each step the
device ran sits among the workout_step messages (a lap's `wkt_step_index`).

Paces are the values the device ran (a named pace that was known at upload is its s/km
then, not today's profile); efforts, RPE and heart-rate zones are kept as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from repcue.plan.fit_workout import WorkoutMessages, workout_messages
from repcue.plan.model import (
    EFFORTS,
    Cues,
    Distance,
    Duration,
    Effort,
    End,
    HrZone,
    Node,
    Open,
    Pace,
    Plan,
    Repeat,
    Rpe,
    Step,
    StepKind,
    Target,
)
from repcue_fw.wire import WireError
from repcue_fw.wire.host import program as wp

_KINDS = {kind.wire: kind for kind in StepKind}


@dataclass(frozen=True)
class SessionWorkout:
    messages: WorkoutMessages
    step_of_run: list[int]  # the workout_step index of each step the device ran, in order


def _target(step: wp.Step) -> Target | None:
    if step.target_type == wp.TARGET_PACE:
        if step.target_value > 0:
            return Pace(s_per_km=step.target_value / 10)
        return Pace(name=wp.PACE_NAMES[step.target_name])  # unknown when uploaded
    if step.target_type == wp.TARGET_EFFORT and 0 < step.target_value <= len(EFFORTS):
        return Effort(EFFORTS[step.target_value - 1])
    if step.target_type == wp.TARGET_RPE:
        return Rpe(step.target_value)
    if step.target_type == wp.TARGET_HR_ZONE:
        return HrZone(step.target_value)
    return None


def _end(step: wp.Step) -> End:
    if step.end == wp.END_TIME:
        return Duration(step.value)
    if step.end == wp.END_DISTANCE:
        return Distance(step.value)
    return Open(step.value or None)


def _nodes(nodes: Sequence[Any]) -> tuple[Node, ...]:
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, wp.Repeat):
            out.append(Repeat(node.count, _nodes(node.body), node.drop_last_recovery))
        else:
            out.append(
                Step(
                    _KINDS[node.kind],
                    _end(node),
                    _target(node),
                    countdown_s=node.countdown_s,
                    halfway=node.halfway,
                )
            )
    return tuple(out)


def plan_of_program(program: wp.Program) -> Plan:
    """A decoded device program as a plan model (what compiling the plan gave, reversed)."""
    cues = Cues(program.countdown_s, program.halfway, program.last_rep)
    return Plan(name=program.name, nodes=_nodes(program.nodes), cues=cues)


def _is_rest(node: Node) -> bool:
    return isinstance(node, Step) and node.kind in (StepKind.RECOVERY, StepKind.REST)


def _run_order(nodes: Sequence[Node], first: int) -> tuple[list[int], int]:
    """(the message index of each step run through `nodes`, the next free index), in the
    layout of plan.fit_workout: a step is one message; a repeat its body's, then one
    "repeat until steps complete" message. A repeat that drops its last recovery runs it
    in every round but the last, as the device does (a watch runs it: FIT cannot say)."""
    order: list[int] = []
    at = first
    for node in nodes:
        if isinstance(node, Repeat):
            body, at = _run_order(node.body, at)
            at += 1  # the repeat step
            rounds = body * node.count
            if node.drop_last_recovery and node.body and _is_rest(node.body[-1]):
                rounds.pop()
            order += rounds
        else:
            order.append(at)
            at += 1
    return order, at


def session_workout(program_bytes: bytes, name: str = "") -> SessionWorkout | None:
    """The workout of stored program bytes; None when they do not decode."""
    try:
        program = wp.decode(program_bytes)
    except WireError:  # checked when stored; a bad blob only costs the workout
        return None
    plan = plan_of_program(program)
    if name:
        plan = Plan(name=name, nodes=plan.nodes, cues=plan.cues)
    order, _ = _run_order(plan.nodes, 0)
    return SessionWorkout(workout_messages(plan), order)
