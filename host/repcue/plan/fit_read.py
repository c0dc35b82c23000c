"""A FIT workout file (Garmin Connect, TrainingPeaks, `repcue plan export`) -> the plan model.

What the device cannot run is handled two ways:
- a step's *end* or a repeat it cannot do (until a heart rate, calories, power, a "repeat
  until time") changes the workout itself: refused, FitWorkoutError names the step;
- a *target* it cannot show (power, cadence, a heart rate in bpm, a speed zone) is dropped
  with a warning naming the step and what was dropped; the step runs without a target.

The notes repcue writes (fit_workout) are read back: `@5k pace`, `~60s`, `countdown 5`; notes in
other words (a coach's "relax the shoulders") are kept out of the plan and do no harm.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from garmin_fit_sdk import Decoder, Stream

from repcue.errors import FitWorkoutError
from repcue.plan.fit_workout import INTENSITY, SKIP_LAST_RECOVERY
from repcue.plan.model import (
    EFFORTS,
    PACE_NAMES,
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
from repcue.plan.reader import MAX_REPEATS
from repcue.plan.targets import MAX_PACE_S_PER_KM, MIN_PACE_S_PER_KM
from repcue.plan.units import MAX_DISTANCE_M, MAX_DURATION_S

FIT_HEADER_TAG = b".FIT"
_KIND = {value: kind for kind, value in INTENSITY.items()} | {"interval": StepKind.WORK}
# % of max heart rate -> zone (upper bounds of zones 1-4), as intervals.icu text maps it
_HR_PERCENT_BOUNDS = (60, 70, 80, 90)
_PACE = re.compile(r"^@(?:(\d+)% )?(" + "|".join(map(re.escape, PACE_NAMES)) + ") pace$")
_CLOCK_PACE = re.compile(r"^@(\d+):(\d\d(?:\.\d)?)/km$")


def looks_like_fit(data: bytes) -> bool:
    return len(data) >= 12 and data[8:12] == FIT_HEADER_TAG


def parse_fit_workout(data: bytes, name: str = "", *, where: str = "FIT file") -> Plan:
    """The plan of a FIT workout file (`name` when it has no wkt_name); FitWorkoutError
    for what is no workout or what the device cannot run, warnings for dropped targets."""
    mesgs = _decode(data, where)
    file_type = (mesgs.get("file_id_mesgs") or [{}])[0].get("type")
    if file_type != "workout":
        raise FitWorkoutError(f"{where} is a FIT {file_type or 'file'} file, not a workout")
    workouts = mesgs.get("workout_mesgs") or [{}]
    workout = workouts[0]
    steps = sorted(
        mesgs.get("workout_step_mesgs") or [], key=lambda m: int(m.get("message_index", 0))
    )
    if not steps:
        raise FitWorkoutError(f"{where} holds a workout without steps")
    reader = _Reader(where)
    sport = workout.get("sport")
    if sport not in (None, "running", "generic", "walking"):
        reader.warnings.append(f"a {sport} workout, read as running")
    nodes = reader.nodes(steps)
    description = str(workout.get("wkt_description") or "")
    return Plan(
        name=str(workout.get("wkt_name") or name),
        nodes=nodes,
        cues=_cues(description),
        format="fit",
        warnings=tuple(reader.warnings),
    )


def _decode(data: bytes, where: str) -> dict[str, list[dict[str, Any]]]:
    if not looks_like_fit(data):
        raise FitWorkoutError(f"{where} is not a FIT file (no .FIT header)")
    stream = Stream.from_byte_array(bytearray(data))
    decoder = Decoder(stream)
    if not decoder.check_integrity():
        raise FitWorkoutError(f"{where} is damaged: its CRC or size does not match")
    stream.reset()  # check_integrity leaves the stream at its end
    mesgs, errors = decoder.read()
    if errors:
        raise FitWorkoutError(f"{where} could not be read: {errors[0]}")
    return {key: list(value) for key, value in mesgs.items() if isinstance(value, list)}


def _cues(description: str) -> Cues:
    """The plan cues fit_workout writes as `cues: countdown 5, halfway, no last rep`."""
    cues = Cues()
    if not description.startswith("cues: "):
        return cues
    for part in description.removeprefix("cues: ").split(", "):
        if part.startswith("countdown ") and part[10:].isdigit():
            cues = replace(cues, countdown_s=min(int(part[10:]), 15))
        elif part == "no countdown":
            cues = replace(cues, countdown_s=0)
        elif part in ("halfway", "no halfway"):
            cues = replace(cues, halfway=part == "halfway")
        elif part in ("last rep", "no last rep"):
            cues = replace(cues, last_rep=part == "last rep")
    return cues


class _Reader:
    def __init__(self, where: str) -> None:
        self.where = where
        self.warnings: list[str] = []

    def error(self, index: int, message: str) -> FitWorkoutError:
        return FitWorkoutError(f"{self.where}, step {index + 1}: {message}")

    def nodes(self, mesgs: list[dict[str, Any]]) -> tuple[Node, ...]:
        # (index of the first FIT step, node); a repeat takes back the nodes from its start
        built: list[tuple[int, Node]] = []
        for mesg in mesgs:
            index = int(mesg.get("message_index", len(built)))
            duration = mesg.get("duration_type")
            if isinstance(duration, str) and duration.startswith("repeat_until"):
                built.append(self.repeat(index, mesg, duration, built))
            else:
                built.append((index, self.step(index, mesg)))
        return tuple(node for _, node in built)

    def repeat(
        self, index: int, mesg: dict[str, Any], duration: str, built: list[tuple[int, Node]]
    ) -> tuple[int, Node]:
        if duration != "repeat_until_steps_cmplt":
            what = _words(duration.removeprefix("repeat_until_"))
            raise self.error(
                index, f"repeats until {what}: the device repeats a number of times only"
            )
        first = int(mesg.get("duration_step", mesg.get("duration_value", index)))
        count = int(mesg.get("repeat_steps", mesg.get("target_value", 0)))
        starts = [start for start, _ in built]
        if first not in starts:
            raise self.error(index, f"repeats from step {first + 1}, which starts no step here")
        if not 1 <= count <= MAX_REPEATS:
            raise self.error(index, f"expected a repeat count from 1 to {MAX_REPEATS}, got {count}")
        at = starts.index(first)
        body = tuple(node for _, node in built[at:])
        del built[at:]
        drop = SKIP_LAST_RECOVERY in str(mesg.get("notes") or "")
        return first, Repeat(count, body, drop_last_recovery=drop)

    def step(self, index: int, mesg: dict[str, Any]) -> Step:
        notes = [part.strip() for part in str(mesg.get("notes") or "").split(",")]
        kind = _KIND.get(str(mesg.get("intensity")), StepKind.WORK)
        end = self.end(index, mesg, notes)
        noted = next((t for t in map(_noted_target, notes) if t is not None), None)
        target = noted or self.target(index, mesg)
        countdown_s: int | None = None
        halfway: bool | None = None
        for part in notes:
            if part.startswith("countdown ") and part[10:].isdigit():
                countdown_s = min(int(part[10:]), 15)
            elif part == "no countdown":
                countdown_s = 0
            elif part in ("halfway", "no halfway"):
                halfway = part == "halfway"
        label = str(mesg.get("wkt_step_name") or "")
        return Step(kind, end, target, countdown_s, halfway, label)

    def end(self, index: int, mesg: dict[str, Any], notes: list[str]) -> End:
        duration = mesg.get("duration_type")
        estimate = next((int(p[1:-1]) for p in notes if re.fullmatch(r"~\d+s", p)), None)
        if duration in ("time", "time_only"):
            seconds = round(float(mesg.get("duration_time") or 0))
            if not 0 < seconds <= MAX_DURATION_S:
                raise self.error(index, f"expected a time above zero and up to 24h, got {seconds}s")
            return Duration(seconds)
        if duration == "distance":
            metres = round(float(mesg.get("duration_distance") or 0))
            if not 0 < metres <= MAX_DISTANCE_M:
                raise self.error(index, f"expected a distance above zero, got {metres} m")
            return Distance(metres, estimate)
        if duration in ("open", None):
            return Open(estimate)
        what = _words(str(duration))
        raise self.error(
            index, f"ends on {what}: the device ends a step by time, distance or the lap button"
        )

    def target(self, index: int, mesg: dict[str, Any]) -> Target | None:
        kind = mesg.get("target_type")
        if kind in (None, "open"):
            return None
        low = int(mesg.get("custom_target_value_low") or 0)
        high = int(mesg.get("custom_target_value_high") or 0)
        zone = int(mesg.get("target_value") or 0)
        if kind in ("speed", "speed_lap") and zone:  # a zone number wins over custom values
            return self.drop(index, f"speed zone {zone} (the device knows paces, not zones)")
        if kind in ("speed", "speed_lap") and low and high:
            # the middle of the two paces, as a runner reads `4:10-3:50/km`
            s_per_km = round((1_000_000 / low + 1_000_000 / high) / 2, 1)
            if MIN_PACE_S_PER_KM <= s_per_km <= MAX_PACE_S_PER_KM:
                return Pace("", s_per_km)
            return self.drop(index, f"a pace of {s_per_km:.0f} s/km (out of range)")
        if kind in ("heart_rate", "heart_rate_lap"):
            if 1 <= zone <= 5:
                return HrZone(zone)
            if 0 < low <= 100 and 0 < high <= 100:
                middle = (low + high) / 2
                return HrZone(1 + sum(middle >= bound for bound in _HR_PERCENT_BOUNDS))
            if low > 100 and high > 100:
                return self.drop(
                    index,
                    f"a heart rate of {low - 100}-{high - 100} bpm "
                    "(the device knows heart-rate zones 1-5, not beats per minute)",
                )
        return self.drop(index, f"a {str(kind).replace('_', ' ')} target")

    def drop(self, index: int, what: str) -> Target | None:
        """None (no target), and a warning that names the step and what was dropped."""
        self.warnings.append(f"step {index + 1}: {what} dropped; the step runs without a target")
        return None


def _words(fit_name: str) -> str:
    """`hr_less_than` -> `heart rate less than`."""
    return re.sub(r"\bhr\b", "heart rate", fit_name.replace("_", " "))


def _noted_target(part: str) -> Target | None:
    """A target in the plan-language words fit_workout writes into a step's notes."""
    match = _PACE.match(part)
    if match:
        return Pace(match[2], None, int(match[1] or 100))
    match = _CLOCK_PACE.match(part)
    if match:
        return Pace("", round(int(match[1]) * 60 + float(match[2]), 1))
    if part.startswith("@RPE ") and part[5:].isdigit() and 1 <= int(part[5:]) <= 10:
        return Rpe(int(part[5:]))
    if re.fullmatch(r"@Z[1-5]", part):
        return HrZone(int(part[2]))
    if part[1:] in EFFORTS and part.startswith("@"):
        return Effort(part[1:])
    return None
