"""FIT workouts as Garmin Connect lays them out, read into the plan model.

Built with garmin-fit-sdk's Encoder message by message as Connect writes a run workout:
file_id (workout, manufacturer garmin, product 65534 = Connect), workout (sport running,
sub_sport generic, capabilities, num_valid_steps), then workout_step messages with raw fields:
times in ms, distances in cm, speeds in mm/s (low = the slower end), heart rates in bpm + 100,
no step names or notes, repeats as "repeat until steps complete" pointing back.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from garmin_fit_sdk import Encoder

from repcue.errors import FitWorkoutError
from repcue.plan import (
    Distance,
    Duration,
    HrZone,
    Open,
    Pace,
    Repeat,
    Step,
    StepKind,
    program_bytes,
)
from repcue.plan.fit_read import parse_fit_workout
from repcue.plan.fit_workout import MESG_FILE_ID, MESG_WORKOUT, MESG_WORKOUT_STEP

GARMIN = 1
CONNECT = 65534


def connect_file(steps: list[dict[str, Any]], sport: str = "running") -> bytes:
    encoder = Encoder()
    encoder.on_mesg(
        MESG_FILE_ID,
        {
            "type": "workout",
            "manufacturer": GARMIN,
            "product": CONNECT,
            "serial_number": 1,
            "time_created": datetime.datetime(2026, 11, 30, 18, 2, 11, tzinfo=datetime.UTC),
        },
    )
    encoder.on_mesg(
        MESG_WORKOUT,
        {
            "wkt_name": "Connect 5x1k",
            "sport": sport,
            "sub_sport": "generic",
            "capabilities": 32,
            "num_valid_steps": len(steps),
        },
    )
    for index, step in enumerate(steps):
        encoder.on_mesg(MESG_WORKOUT_STEP, {"message_index": index, **step})
    return bytes(encoder.close())


WARMUP_LAP = {"duration_type": "open", "target_type": "open", "intensity": "warmup"}
# 1 km between 4:10/km (3.996 m/s) and 3:50/km (4.348 m/s): 250.25 and 229.99 s/km, the
# middle of the two paces 240.1 s/km
REP_1K = {
    "duration_type": "distance",
    "duration_value": 100_000,
    "target_type": "speed",
    "target_value": 0,
    "custom_target_value_low": 3996,
    "custom_target_value_high": 4348,
    "intensity": "active",
}
JOG_2MIN_Z2 = {
    "duration_type": "time",
    "duration_value": 120_000,
    "target_type": "heart_rate",
    "target_value": 2,
    "intensity": "recovery",
}
REPEAT_5 = {"duration_type": "repeat_until_steps_cmplt", "duration_value": 1, "target_value": 5}
COOLDOWN_10MIN = {
    "duration_type": "time",
    "duration_value": 600_000,
    "target_type": "open",
    "intensity": "cooldown",
}


def test_a_connect_workout_reads_as_the_plan_it_is() -> None:
    steps = [WARMUP_LAP, REP_1K, JOG_2MIN_Z2, REPEAT_5, COOLDOWN_10MIN]
    plan = parse_fit_workout(connect_file(steps))
    assert plan.name == "Connect 5x1k" and plan.format == "fit" and plan.warnings == ()
    assert plan.nodes == (
        Step(StepKind.WARMUP, Open()),
        Repeat(
            5,
            (
                Step(StepKind.WORK, Distance(1000), Pace("", 240.1)),
                Step(StepKind.RECOVERY, Duration(120), HrZone(2)),
            ),
        ),
        Step(StepKind.COOLDOWN, Duration(600)),
    )
    assert len(program_bytes(plan)) > 0


def test_a_heart_rate_in_bpm_is_dropped_with_a_warning_naming_the_step() -> None:
    jog_bpm = {**JOG_2MIN_Z2, "target_value": 0}
    jog_bpm |= {"custom_target_value_low": 230, "custom_target_value_high": 245}
    plan = parse_fit_workout(connect_file([WARMUP_LAP, REP_1K, jog_bpm, REPEAT_5]))
    assert plan.warnings == (
        "step 3: a heart rate of 130-145 bpm (the device knows heart-rate zones 1-5, not beats "
        "per minute) dropped; the step runs without a target",
    )
    repeat = plan.nodes[1]
    assert isinstance(repeat, Repeat) and repeat.body[1] == Step(StepKind.RECOVERY, Duration(120))


def test_a_percent_of_max_heart_rate_becomes_a_zone() -> None:
    jog_pct = {**JOG_2MIN_Z2, "target_value": 0}
    jog_pct |= {"custom_target_value_low": 65, "custom_target_value_high": 72}
    plan = parse_fit_workout(connect_file([jog_pct]))
    assert plan.nodes == (Step(StepKind.RECOVERY, Duration(120), HrZone(2)),)


POWER_250_300W = {
    "target_type": "power",
    "target_value": 0,
    "custom_target_value_low": 1250,  # watts + 1000
    "custom_target_value_high": 1300,
}
CADENCE_88_92 = {
    "target_type": "cadence",
    "target_value": 0,
    "custom_target_value_low": 88,
    "custom_target_value_high": 92,
}
SPEED_ZONE_3 = {"target_type": "speed", "target_value": 3}


@pytest.mark.parametrize(
    ("target", "said"),
    [
        (POWER_250_300W, "a power target"),
        (CADENCE_88_92, "a cadence target"),
        (SPEED_ZONE_3, "speed zone 3 (the device knows paces, not zones)"),
    ],
)
def test_targets_the_device_cannot_show_are_dropped(target: dict[str, Any], said: str) -> None:
    plan = parse_fit_workout(connect_file([{**REP_1K, **target}]))
    assert plan.nodes == (Step(StepKind.WORK, Distance(1000)),)
    assert plan.warnings == (f"step 1: {said} dropped; the step runs without a target",)


@pytest.mark.parametrize(
    ("step", "said"),
    [
        ({"duration_type": "hr_less_than", "duration_value": 230}, "ends on heart rate less than"),
        ({"duration_type": "calories", "duration_value": 100}, "ends on calories"),
    ],
)
def test_ends_the_device_cannot_run_are_refused(step: dict[str, Any], said: str) -> None:
    data = connect_file([WARMUP_LAP, {**JOG_2MIN_Z2, **step}])
    with pytest.raises(FitWorkoutError, match=rf"x\.fit, step 2: {said}: the device ends a step"):
        parse_fit_workout(data, where="x.fit")


def test_a_repeat_until_a_time_is_refused() -> None:
    until_time = {"duration_type": "repeat_until_time", "duration_value": 1, "target_value": 600}
    with pytest.raises(FitWorkoutError, match="step 4: repeats until time: the device repeats"):
        parse_fit_workout(connect_file([WARMUP_LAP, REP_1K, JOG_2MIN_Z2, until_time]))


def test_an_activity_file_is_not_a_workout() -> None:
    encoder = Encoder()
    encoder.on_mesg(MESG_FILE_ID, {"type": "activity", "manufacturer": GARMIN})
    with pytest.raises(FitWorkoutError, match=r"run\.fit is a FIT activity file, not a workout"):
        parse_fit_workout(bytes(encoder.close()), where="run.fit")


def test_a_cycling_workout_is_read_with_a_warning() -> None:
    plan = parse_fit_workout(connect_file([COOLDOWN_10MIN], sport="cycling"))
    assert plan.warnings == ("a cycling workout, read as running",)
