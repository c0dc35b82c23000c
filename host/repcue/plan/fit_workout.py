"""A plan as FIT workout messages (workout, workout_step), and a FIT workout file of them.

The one place the plan model becomes FIT workout steps: `repcue plan export --format fit`
writes a workout file of them, and activity exports embed the same messages so a platform
shows planned against actual.

    warm-up/cool-down/recovery/rest/work  -> intensity warmup/cooldown/recovery/rest/active
    90s / 800m / lap (open)               -> duration time (ms) / distance (cm) / open
    8x(...)                               -> the body's steps, then a "repeat until steps
                                             complete" step pointing back at the first
    @5k, 3:45/km (pace known)             -> target speed, a range of +-SPEED_BAND
    Z4                                    -> target heart_rate zone 4
    hard, RPE 8, unknown paces            -> target open (the step's notes say it)

FIT has no place for what only repcue knows (named paces, efforts, RPE, an expected time of a
lap-ended step, per-step cues, the plan's cues): it goes into the step's `notes` and the
workout's `wkt_description` in plan-language words (`@5k pace, ~60s, countdown 5`), which a watch
shows as they are and `fit_read` reads back, so a repcue plan survives plan -> FIT -> plan.

garmin-fit-sdk's Encoder drops keys it does not know, sub-field names included, so the raw
fields are written with their raw scaling (time in ms, distance in cm, speed in mm/s).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from garmin_fit_sdk import Encoder, Profile

from repcue.plan.fartlek import resolve
from repcue.plan.model import (
    Cues,
    Distance,
    Duration,
    Effort,
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
from repcue.plan.profile import NamedPaces

MESG_FILE_ID: int = Profile["mesg_num"]["FILE_ID"]
MESG_WORKOUT: int = Profile["mesg_num"]["WORKOUT"]
MESG_WORKOUT_STEP: int = Profile["mesg_num"]["WORKOUT_STEP"]

INTENSITY = {
    StepKind.WORK: "active",
    StepKind.REST: "rest",
    StepKind.WARMUP: "warmup",
    StepKind.COOLDOWN: "cooldown",
    StepKind.RECOVERY: "recovery",
}
# A pace target is a speed range on a watch; +-2 % is about +-5 s/km at 4:00/km.
SPEED_BAND = 0.02
# A repeat block whose last round leaves out its trailing recovery (`3min between sets`);
# a watch runs that recovery (FIT cannot say otherwise), repcue reads the words back.
SKIP_LAST_RECOVERY = "no recovery after the last round"
MAX_STRING_BYTES = 254
DEVELOPMENT_MANUFACTURER = 255  # FIT's `development`: no manufacturer id of our own


@dataclass
class WorkoutMessages:
    """The workout message and its steps (field name -> raw value), in file order."""

    workout: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what a watch will not see


def fit_string(text: str) -> str:
    """`text` cut to what a FIT string field holds: 254 bytes of UTF-8 and its NUL."""
    return text.encode()[:MAX_STRING_BYTES].decode(errors="ignore")


# --- notes: the plan-language words of what FIT cannot hold ------------------------------


def pace_words(pace: Pace) -> str:
    if not pace.name:
        return clock_words(pace.s_per_km or 0.0) + "/km"
    return pace.name if pace.percent == 100 else f"{pace.percent}% {pace.name}"


def clock_words(seconds: float) -> str:
    """`3:45`, `3:45.5`: tenths only when there are any (the plan model keeps tenths)."""
    tenths = round(seconds * 10)
    minutes, rest = divmod(tenths, 600)
    text = f"{minutes}:{rest // 10:02d}"
    return text + (f".{rest % 10}" if rest % 10 else "")


def target_words(target: Target) -> str:
    if isinstance(target, Pace):  # `@easy pace`: `@easy` is the effort
        return "@" + pace_words(target) + ("" if not target.name else " pace")
    if isinstance(target, Effort):
        return "@" + target.word
    if isinstance(target, Rpe):
        return f"@RPE {target.level}"
    if isinstance(target, HrZone):
        return f"@Z{target.zone}"
    raise TypeError(target)


def step_notes(step: Step) -> str:
    parts: list[str] = []
    if step.target is not None:
        parts.append(target_words(step.target))
    estimate = step.end.estimate_s if isinstance(step.end, Distance | Open) else None
    if estimate is not None:
        parts.append(f"~{estimate}s")
    if step.countdown_s is not None:
        parts.append(f"countdown {step.countdown_s}" if step.countdown_s else "no countdown")
    if step.halfway is not None:
        parts.append("halfway" if step.halfway else "no halfway")
    return ", ".join(parts)


def cue_words(cues: Cues) -> str:
    """`cues: countdown 5, halfway` for plan cues other than the defaults, else ""."""
    default = Cues()
    parts: list[str] = []
    if cues.countdown_s != default.countdown_s:
        parts.append(f"countdown {cues.countdown_s}" if cues.countdown_s else "no countdown")
    if cues.halfway != default.halfway:
        parts.append("halfway" if cues.halfway else "no halfway")
    if cues.last_rep != default.last_rep:
        parts.append("last rep" if cues.last_rep else "no last rep")
    return "cues: " + ", ".join(parts) if parts else ""


# --- steps ----------------------------------------------------------------------------------


def speed_mm_s(s_per_km: float) -> int:
    return round(1_000_000 / s_per_km)


class _StepWriter:
    def __init__(self, paces: NamedPaces, out: WorkoutMessages) -> None:
        self.paces = paces
        self.out = out

    def nodes(self, nodes: Sequence[Node]) -> None:
        for node in nodes:
            if isinstance(node, Step):
                self.step(node)
            elif isinstance(node, Repeat):
                first = len(self.out.steps)
                self.nodes(node.body)
                mesg: dict[str, Any] = {
                    "message_index": len(self.out.steps),
                    "duration_type": "repeat_until_steps_cmplt",
                    "duration_value": first,
                    "target_type": "open",
                    "target_value": node.count,
                }
                if node.drop_last_recovery:
                    mesg["notes"] = SKIP_LAST_RECOVERY
                self.out.steps.append(mesg)
            else:
                raise TypeError("resolve fartleks (repcue.plan.fartlek) before writing FIT")

    def step(self, step: Step) -> None:
        index = len(self.out.steps)
        mesg: dict[str, Any] = {"message_index": index}
        if step.label:
            mesg["wkt_step_name"] = fit_string(step.label)
        end = step.end
        if isinstance(end, Duration):
            mesg["duration_type"], mesg["duration_value"] = "time", end.seconds * 1000
        elif isinstance(end, Distance):
            mesg["duration_type"], mesg["duration_value"] = "distance", end.metres * 100
        else:
            mesg["duration_type"] = "open"  # the lap button
        mesg.update(self.target(step.target, index))
        mesg["intensity"] = INTENSITY[step.kind]
        notes = step_notes(step)
        if notes:
            mesg["notes"] = fit_string(notes)
        self.out.steps.append(mesg)

    def target(self, target: Target | None, index: int) -> dict[str, Any]:
        if isinstance(target, HrZone):
            return {"target_type": "heart_rate", "target_value": target.zone}
        if isinstance(target, Pace):
            s_per_km = self.paces.pace_of(target)
            if s_per_km is None:
                self.out.warnings.append(
                    f"step {index + 1}: {pace_words(target)} pace is not in the profile: "
                    "no speed target on a watch (its notes name the pace)"
                )
            else:
                speed = speed_mm_s(s_per_km)
                return {
                    "target_type": "speed",
                    "target_value": 0,
                    "custom_target_value_low": round(speed * (1 - SPEED_BAND)),
                    "custom_target_value_high": round(speed * (1 + SPEED_BAND)),
                }
        return {"target_type": "open"}


def workout_messages(plan: Plan, paces: NamedPaces | None = None) -> WorkoutMessages:
    """The plan's workout and workout_step messages (fartleks resolved from their seeds)."""
    out = WorkoutMessages(workout={})
    _StepWriter(paces or NamedPaces(), out).nodes(resolve(plan).nodes)
    out.workout = {
        "sport": "running",
        "sub_sport": "generic",
        "num_valid_steps": len(out.steps),
        "wkt_name": fit_string(plan.name or "repcue plan"),
    }
    description = cue_words(plan.cues)
    if description:
        out.workout["wkt_description"] = description
    return out


def write_workout(encoder: Encoder, messages: WorkoutMessages) -> None:
    """The workout and its steps into an Encoder (an activity file embeds them so too)."""
    encoder.on_mesg(MESG_WORKOUT, messages.workout)
    for step in messages.steps:
        encoder.on_mesg(MESG_WORKOUT_STEP, step)


def workout_file(
    plan: Plan,
    paces: NamedPaces | None = None,
    *,
    created: datetime.datetime | None = None,
) -> tuple[bytes, list[str]]:
    """A FIT workout file of the plan, and what a watch will not see of it."""
    messages = workout_messages(plan, paces)
    encoder = Encoder()
    encoder.on_mesg(
        MESG_FILE_ID,
        {
            "type": "workout",
            "manufacturer": DEVELOPMENT_MANUFACTURER,
            "product": 0,
            "time_created": created or datetime.datetime.now(datetime.UTC),
        },
    )
    write_workout(encoder, messages)
    return bytes(encoder.close()), messages.warnings
