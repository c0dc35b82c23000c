"""intervals.icu workout text: detected or chosen, parsed to the same kind of plan."""

from __future__ import annotations

import pytest

from repcue.errors import PlanError
from repcue.plan import HrZone, Open, Pace, Repeat, Rpe, check, detect_format, parse
from tests.host.test_plan_language import flat

ICU = """Warmup
- 10m Z2
- 5m ramp 60-75%

Main set 5x
- 400mtr 95% pace
- recover 2m Z1 press lap

Cooldown
- 1m30 50% HR
- press lap
"""


def test_detected_and_parsed_with_sections_and_a_repeat_block() -> None:
    assert detect_format(ICU) == "icu"
    assert detect_format("10min wu, 6x800m @5k w/ 90s jog") == "repcue"
    assert flat(ICU, fmt="auto") == [
        ("warmup", "600s", "z2"),
        ("warmup", "300s", "z2"),
        *[("work", "400m", "@threshold"), ("recovery", "open", "z1")] * 5,
        ("cooldown", "90s", "z1"),
        ("cooldown", "open", None),
    ]
    plan = parse(ICU)
    assert plan.format == "icu"
    block = plan.nodes[2]
    assert isinstance(block, Repeat) and block.count == 5 and len(block.body) == 2


def test_targets_and_lap_steps_map_to_what_the_device_knows() -> None:
    report = check(ICU, fmt="icu")
    work, recovery = report.steps[2], report.steps[3]
    assert work.target == Pace("threshold", None, 95)
    assert recovery.end == Open(120) and recovery.label == "recover"
    assert any("of FTP (power) is shown as zone 2" in w for w in report.warnings)


@pytest.mark.parametrize(
    ("line", "target"),
    [
        ("- 5m Z4", HrZone(4)),
        ("- 5m Z2-Z3 HR", HrZone(2)),
        ("- 5m Z7", HrZone(5)),
        ("- 5m 95% LTHR", HrZone(4)),
        ("- 5m 85% HR", HrZone(4)),
        ("- 5m 110%", HrZone(5)),
        ("- 5m 4:30/km Pace", Pace("", 270.0)),
        ("- 5m 7:15-7:00/mi pace", Pace("", 265.6)),
        ("- Hard RPE9 2m press lap", Rpe(9)),
    ],
)
def test_icu_targets(line: str, target: object) -> None:
    (step,) = check(line).steps
    assert step.target == target


def test_icu_units_m_is_minutes_and_mtr_is_metres() -> None:
    assert flat("- 10m\n- 400mtr\n- 2km\n- 1mi\n- 1h2m30s\n- 5'\n- 30\"", fmt="icu") == [
        ("work", "600s", None),
        ("work", "400m", None),
        ("work", "2000m", None),
        ("work", "1609m", None),
        ("work", "3750s", None),
        ("work", "300s", None),
        ("work", "30s", None),
    ]


def test_watts_and_cadence_are_left_out_with_a_warning() -> None:
    report = check("- 10m 220w 90rpm")
    assert report.steps[0].target is None
    assert sum("left out" in w for w in report.warnings) == 2


def test_standalone_repeat_line_and_name() -> None:
    plan = parse("name: Icu intervals\n3x\n- 1m Z5\n- 1m Z1\n")
    assert plan.name == "Icu intervals"
    assert (
        flat("3x\n- 1m Z5\n- 1m Z1\n", fmt="auto")
        == [("work", "60s", "z5"), ("recovery", "60s", "z1")] * 3
    )


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("- \n", 1, 1, "expected a duration like 10m or 1m30"),
        ("- Z2\n", 1, 3, "expected a duration like 10m"),
        ("- 10q\n", 1, 5, "unknown unit 'q'"),
        ("Main set 0x\n- 1m Z4\n", 1, 10, "expected a repeat count from 1 to 999"),
        ("Main set 3x\n\n- 1m Z4\n", 1, 10, "expected steps like '- 2m Z4'"),
        ("- 5m Z9\n", 1, 7, "expected a zone from Z1 to Z7"),
        ("- 5m 10m\n", 1, 6, "expected one duration or distance per step"),
        ("Warmup\n", 1, 1, "expected at least one step line"),
    ],
)
def test_icu_errors_are_located(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(PlanError) as info:
        parse(text, "icu")
    assert (info.value.line, info.value.col) == (line, col), info.value.render()
    assert message in info.value.message
