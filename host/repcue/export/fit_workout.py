"""A device program as FIT workout messages (`workout` + `workout_step`), the one encoding of a
plan's steps in FIT: the activity export puts it beside the laps (planned against actual), and
a workout file (`repcue plan export --format fit`) can be built from the same messages.

The messages are dicts for garmin-fit-sdk's Encoder, with the raw values of fields whose
sub-fields the Encoder does not know (it drops unknown keys silently): `duration_value` is ms
for a time step and cm for a distance step, `target_value` the repeat count, and a pace target
is `custom_target_value_low/high` in mm/s (the Encoder scales nothing here: these fields have
no scale of their own, only their sub-fields have).

Repeats are "repeat until steps complete" steps after their body (duration_value = the index
of the body's first step, target_value = the count). A repeat that drops its last recovery
(`6x800m w/ 90s jog` runs no jog after the sixth) becomes the body repeated count - 1 times,
then the body once more without that recovery: what the watch runs is what the device runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from repcue_fw.wire.host import program as wp

WORKOUT_MESG = 26
WORKOUT_STEP_MESG = 27

# FIT profile enums (Profile['types']): wkt_step_duration, wkt_step_target, intensity
DURATION_TIME = 0
DURATION_DISTANCE = 1
DURATION_OPEN = 5  # "lap button": the runner ends the step
DURATION_REPEAT_STEPS = 6  # repeat_until_steps_cmplt
TARGET_SPEED = 0
TARGET_OPEN = 2
SPORT_RUNNING = 1
# warmup, work, recovery, rest, cooldown (wire KIND_*) -> FIT intensity
STEP_INTENSITY = {0: 2, 1: 0, 2: 4, 3: 1, 4: 3}
# a pace target X s/km is the speed range X +- this share (a watch needs a range)
PACE_BAND = 0.02


@dataclass
class FitWorkout:
    """`messages`: workout then workout_step dicts for the Encoder. `step_of_run[i]`: the
    workout_step message_index of the i-th step the device runs (repeats unrolled, dropped
    recoveries left out), what a lap's `wkt_step_index` names."""

    messages: list[dict[str, Any]]
    step_of_run: list[int] = field(default_factory=list)

    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.messages[1:]


def _target(step: wp.Step) -> dict[str, Any]:
    if step.target_type == wp.TARGET_PACE and step.target_value > 0:
        s_per_km = step.target_value / 10.0
        # slower pace = lower speed; mm/s, as the raw custom target fields hold it
        low = round(1_000_000 / (s_per_km * (1 + PACE_BAND)))
        high = round(1_000_000 / (s_per_km * (1 - PACE_BAND)))
        return {
            "target_type": TARGET_SPEED,
            "target_value": 0,
            "custom_target_value_low": low,
            "custom_target_value_high": high,
        }
    return {"target_type": TARGET_OPEN}


def step_message(step: wp.Step, index: int) -> dict[str, Any]:
    """One device step as a workout_step dict (message_index `index`)."""
    mesg: dict[str, Any] = {
        "mesg_num": WORKOUT_STEP_MESG,
        "message_index": index,
        "wkt_step_name": wp.KIND_NAMES[step.kind],
        "intensity": STEP_INTENSITY.get(step.kind, 0),
    }
    if step.end == wp.END_TIME:
        mesg.update(duration_type=DURATION_TIME, duration_value=step.value * 1000)
    elif step.end == wp.END_DISTANCE:
        mesg.update(duration_type=DURATION_DISTANCE, duration_value=step.value * 100)
    else:
        mesg["duration_type"] = DURATION_OPEN
    mesg.update(_target(step))
    return mesg


def _is_rest(node: object) -> bool:
    return isinstance(node, wp.Step) and node.kind in (wp.KIND_RECOVERY, wp.KIND_REST)


class _Builder:
    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.runs: list[int] = []  # unrolled: message index per run step

    def nodes(self, nodes: Sequence[object]) -> list[int]:
        """Append the messages of `nodes`; return, for one pass, the run order of message
        indexes (what the device runs through these nodes)."""
        order: list[int] = []
        for node in nodes:
            if isinstance(node, wp.Repeat):
                order.extend(self.repeat(node))
            else:
                assert isinstance(node, wp.Step)
                self.steps.append(step_message(node, len(self.steps)))
                order.append(len(self.steps) - 1)
        return order

    def repeat(self, node: wp.Repeat) -> list[int]:
        drop = node.drop_last_recovery and _is_rest(node.body[-1])
        rounds = node.count - 1 if drop else node.count
        order: list[int] = []
        if rounds > 0:
            first = len(self.steps)
            one = self.nodes(node.body)
            self.steps.append(
                {
                    "mesg_num": WORKOUT_STEP_MESG,
                    "message_index": len(self.steps),
                    "duration_type": DURATION_REPEAT_STEPS,
                    "duration_value": first,
                    "target_value": rounds,
                }
            )
            order = one * rounds
        if drop:
            order += self.nodes(node.body[:-1])
        return order


def build_workout(program: Any, name: str = "") -> FitWorkout:
    """The workout messages of a decoded program (`wire.host.program.decode`)."""
    builder = _Builder()
    order = builder.nodes(program.nodes)
    head: dict[str, Any] = {
        "mesg_num": WORKOUT_MESG,
        "sport": SPORT_RUNNING,
        "num_valid_steps": len(builder.steps),
        "wkt_name": (name or program.name or "repcue")[:40],
    }
    return FitWorkout([head, *builder.steps], order)


def workout_from_bytes(program_bytes: bytes, name: str = "") -> FitWorkout | None:
    """The workout of stored program bytes; None when they do not decode."""
    try:
        program = wp.decode(program_bytes)
    except Exception:  # WireError, or a blob from another firmware: only the workout is lost
        return None
    return build_workout(program, name)
