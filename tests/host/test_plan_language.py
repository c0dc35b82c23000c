"""Every plan-language form of issue 2 parses to the intended expanded steps."""

from __future__ import annotations

import pytest

from repcue.plan import (
    Cues,
    Distance,
    Duration,
    Effort,
    HrZone,
    Open,
    Pace,
    Repeat,
    Rpe,
    Step,
    StepKind,
    check,
    parse,
)
from repcue.plan.model import End, Target

Row = tuple[str, str, str | None]


def end_repr(end: End) -> str:
    if isinstance(end, Duration):
        return f"{end.seconds}s"
    if isinstance(end, Distance):
        return f"{end.metres}m"
    return "open"


def target_repr(target: Target | None) -> str | None:
    if target is None:
        return None
    if isinstance(target, Pace):
        return f"@{target.name}" if target.name else f"@{target.s_per_km}"
    if isinstance(target, Effort):
        return target.word
    if isinstance(target, Rpe):
        return f"rpe{target.level}"
    if isinstance(target, HrZone):
        return f"z{target.zone}"
    raise TypeError(target)


def flat(text: str, fmt: str = "repcue") -> list[Row]:
    """The expanded timeline as (kind, end, target) rows."""
    report = check(text, fmt=fmt)  # type: ignore[arg-type]
    return [(s.kind.value, end_repr(s.end), target_repr(s.target)) for s in report.steps]


WU = ("warmup", "600s", None)
CD = ("cooldown", "600s", None)


def test_warmup_repeat_group_cooldown() -> None:
    rows = flat("10min wu, 8x(1min hard, 1min easy), 10min cd")
    assert rows == [WU, *[("work", "60s", "hard"), ("recovery", "60s", "easy")] * 8, CD]


@pytest.mark.parametrize(
    "text",
    [
        "10 min WU; 8 × (1 min HARD, 1 min Easy)\n10min cd",
        "10' wu, 8x(1' hard, 60\" easy), 10' cd",
        "10m warm-up, 8x(60s hard, 60 sec easy), 10 mins cool down",
        "warmup 10min\n8 x (1:00 hard; 1:00 easy)\ncooldown 10min",
        "10min wu, (1min hard, 1min easy) x 8, 10min cd",
    ],
)
def test_spelling_variants_give_the_same_steps(text: str) -> None:
    assert flat(text) == flat("10min wu, 8x(1min hard, 1min easy), 10min cd")


SIX_BY_800 = [("work", "800m", "@5k"), ("recovery", "90s", "jog")] * 6


@pytest.mark.parametrize(
    "text",
    [
        "6x800m @5k w/ 90s jog",
        "6 x 800 @ 5k with 90s jog",
        "6×800m @5K / 1:30 jog",
        "6x800m @5k pace, 90s jog",
        "6x800 at 5k w/ 90 sec jog",
    ],
)
def test_six_by_800(text: str) -> None:
    assert flat(text) == SIX_BY_800


def test_recovery_after_a_comma_belongs_to_the_repeat() -> None:
    assert flat("6 x 800, 90s rec") == [("work", "800m", None), ("recovery", "90s", None)] * 6
    plan = parse("6 x 800, 90s rec")
    assert len(plan.nodes) == 1 and isinstance(plan.nodes[0], Repeat)


def test_slash_recovery_by_distance() -> None:
    assert (
        flat("10x200m @mile / 200m jog")
        == [
            ("work", "200m", "@mile"),
            ("recovery", "200m", "jog"),
        ]
        * 10
    )


def test_sets_with_rest_between_sets() -> None:
    one_set = [("work", "400m", "@3k"), ("recovery", "60s", None)] * 3 + [("work", "400m", "@3k")]
    rest = ("rest", "180s", None)
    assert flat("3x(4x400m @3k, 60s) 3min between sets") == [
        *one_set,
        rest,
        *one_set,
        rest,
        *one_set,
    ]
    (outer,) = parse("3x(4x400m @3k, 60s) 3min between sets").nodes
    assert isinstance(outer, Repeat) and outer.count == 3 and outer.drop_last_recovery
    inner = outer.body[0]
    assert isinstance(inner, Repeat) and inner.count == 4 and inner.drop_last_recovery


def test_pyramid_with_equal_jog_is_flat_steps_with_recoveries_between() -> None:
    rungs = [200, 400, 600, 800, 600, 400, 200]
    expected: list[Row] = []
    for i, metres in enumerate(rungs):
        expected.append(("work", f"{metres}m", "@5k"))
        if i < len(rungs) - 1:
            expected.append(("recovery", f"{metres}m", "jog"))
    assert flat("200-400-600-800-600-400-200 @5k w/ equal jog") == expected
    plan = parse("200-400-600-800-600-400-200 @5k w/ equal jog")
    assert all(isinstance(n, Step) for n in plan.nodes) and len(plan.nodes) == 13


def test_time_ladder_with_a_recovery_list() -> None:
    assert flat("2-4-6-4-2min @5k w/ 1-1.5-2-1.5min jog") == [
        ("work", "120s", "@5k"),
        ("recovery", "60s", "jog"),
        ("work", "240s", "@5k"),
        ("recovery", "90s", "jog"),
        ("work", "360s", "@5k"),
        ("recovery", "120s", "jog"),
        ("work", "240s", "@5k"),
        ("recovery", "90s", "jog"),
        ("work", "120s", "@5k"),
    ]


def test_ladder_units_decide_m_by_the_biggest_number() -> None:
    assert [r[1] for r in flat("200-100-50m hard")] == ["200m", "100m", "50m"]
    assert [r[1] for r in flat("1-2-3m hard")] == ["60s", "120s", "180s"]


def test_on_off_block_fills_the_time() -> None:
    assert flat("40/20 x 20min") == [("work", "40s", None), ("recovery", "20s", None)] * 20
    assert flat("30/30 x 10") == [("work", "30s", None), ("recovery", "30s", None)] * 10


def test_on_off_block_left_over_time_is_a_warning() -> None:
    report = check("40/30 x 10min", fmt="repcue")
    assert len(report.steps) == 16
    assert any("8 whole rounds" in w for w in report.warnings)


def test_tempo_at_threshold() -> None:
    report = check("tempo 20min @threshold", fmt="repcue")
    assert [(s.kind, s.end, s.target, s.label) for s in report.steps] == [
        (StepKind.WORK, Duration(1200), Pace("threshold"), "tempo")
    ]


def test_hills_with_open_jog_down() -> None:
    assert (
        flat("hills 8x45s hard, jog down")
        == [
            ("work", "45s", "hard"),
            ("recovery", "open", "jog"),
        ]
        * 8
    )
    report = check("hills 8x45s hard, jog down ~90s", fmt="repcue")
    assert report.steps[1].end == Open(90) and report.steps[1].planned_s == 90
    assert report.steps[0].label == "hills" and report.steps[1].label == "jog down"


def test_strides_with_walk() -> None:
    assert (
        flat("strides 6x20s / 60s walk")
        == [
            ("work", "20s", None),
            ("recovery", "60s", "walk"),
        ]
        * 6
    )


def test_two_sets_of_ten_200s_with_five_minutes_between() -> None:
    one_set = [("work", "200m", None), ("recovery", "200m", "jog")] * 9 + [("work", "200m", None)]
    assert flat("2x(10x200m / 200m jog) 5min between") == [
        *one_set,
        ("rest", "300s", None),
        *one_set,
    ]


def test_multi_line_plan_with_name_header_and_comments() -> None:
    text = "name: Tuesday track, 6x800\n# the classic\n10min wu\n6x800m @5k w/ 90s jog\n10min cd\n"
    plan = parse(text)
    assert plan.name == "Tuesday track, 6x800"
    assert flat(text) == [WU, *SIX_BY_800, CD]


def test_repeats_stay_loops() -> None:
    (block,) = parse("40x(200m, 200m jog)").nodes
    assert isinstance(block, Repeat) and block.count == 40 and len(block.body) == 2
    assert len(check("40x(200m, 200m jog)").steps) == 80


def test_between_after_a_recovery_drops_the_last_one() -> None:
    assert flat("6x800m @5k w/ 90s jog between") == SIX_BY_800[:-1]


def test_cue_options_for_plan_and_step() -> None:
    plan = parse("cues: countdown 5, halfway, no last rep\n6x800m @5k [countdown 10, no halfway]")
    assert plan.cues == Cues(countdown_s=5, halfway=True, last_rep=False)
    (block,) = plan.nodes
    assert isinstance(block, Repeat)
    step = block.body[0]
    assert isinstance(step, Step) and step.countdown_s == 10 and step.halfway is False
    report = check("cues: no countdown\n10min [halfway]")
    assert report.steps[0].countdown_s == 0 and report.steps[0].halfway is True


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("5x1km @3:45/km w/ 2min jog", Pace("", 225.0)),
        ("4x1mi @6:00/mi / 400m jog", Pace("", 223.7)),
        ("20min 4:00/km", Pace("", 240.0)),
        ("20min rpe 6", Rpe(6)),
        ("20min @RPE8", Rpe(8)),
        ("10min Z4", HrZone(4)),
        ("10min zone 3", HrZone(3)),
        ("10 min hr zone 2", HrZone(2)),
        ("6x30s all out / 2min walk", Effort("all out")),
        ("20min @marathon", Pace("marathon")),
        ("20min @hmp", Pace("half")),
        ("20min 10k pace", Pace("10k")),
        ("20min @easy", Pace("easy")),
    ],
)
def test_targets(text: str, target: Target) -> None:
    first_work = next(s for s in check(text).steps if s.kind is StepKind.WORK)
    assert first_work.target == target


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h30m easy", 5400),
        ("1:30:00 easy", 5400),
        ("1h 30min easy", 5400),
        ("1m30 easy", 90),
        ("2.5min", 150),
        ("10min 5min", None),
    ],
)
def test_compound_durations(text: str, seconds: int | None) -> None:
    if seconds is None:
        with pytest.raises(Exception, match="expected one duration"):
            check(text)
        return
    assert check(text).steps[0].end == Duration(seconds)


def test_kinds_follow_from_position_when_not_written() -> None:
    assert [r[0] for r in flat("15min easy, 20min @threshold, 10min easy")] == [
        "warmup",
        "work",
        "cooldown",
    ]
    assert flat("45min easy") == [("work", "2700s", "easy")]
    assert [r[0] for r in flat("10min, 4x(3min @10k, 2min), 5min jog, 10min")] == [
        "warmup",
        *["work", "recovery"] * 4,
        "cooldown",
        "cooldown",
    ]


def test_easy_step_after_comma_with_kind_word_is_not_a_recovery() -> None:
    assert flat("4x400m @3k, 10min cd") == [
        *[("work", "400m", "@3k")] * 4,
        ("cooldown", "600s", None),
    ]
