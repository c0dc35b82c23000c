"""Plans compile to device programs that round-trip under CPython and real MicroPython."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repcue.plan import check, parse, program_bytes
from repcue.plan.profile import parse_profile
from repcue_fw.wire.host import program as wp
from tests.host.plan_examples import ISSUE_2_EXAMPLES
from tests.mpy import run_mpy

ISSUE_EXAMPLES = [
    *ISSUE_2_EXAMPLES,
    "name: Tuesday\n10min wu\n6x800m @5k w/ 90s jog\n10min cd",
    "Warmup\n- 10m Z2\n\nMain set 5x\n- 400mtr 95% pace\n- 2m Z1 press lap\n\nCooldown\n- 10m Z1",
]
PROFILE = parse_profile('[races]\n5k = "20:00"\n')


def test_six_by_800_with_warmup_and_cooldown() -> None:
    plan = parse("10min wu, 6x800m @5k w/ 90s jog, 10min cd")
    program = wp.decode(program_bytes(plan, PROFILE))
    assert program == wp.Program(
        [
            wp.Step(wp.KIND_WARMUP, wp.END_TIME, 600),
            wp.Repeat(
                6,
                [
                    wp.Step(wp.KIND_WORK, wp.END_DISTANCE, 800, wp.TARGET_PACE, 3, 2400),
                    wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 90, wp.TARGET_EFFORT, 0, 6),
                ],
            ),
            wp.Step(wp.KIND_COOLDOWN, wp.END_TIME, 600),
        ],
        name="6x800m @5k",  # an inline plan is named by its main set
    )
    assert len(program_bytes(plan, PROFILE)) <= 64


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("hills 8x45s hard, jog down", "hills 8x45s hard"),
        ("15min wu\n3x(4x400m @3k, 60s) 3min between sets\n10min cd", "3x(4x400m @3k, 60s)"),
        ("2x(10x200m / 200m jog) 5min between", "2x(10x200m / 200m jog)"),
        ("20min easy", "20min easy"),
        ("name: Tuesday track\n6x800m @5k", "Tuesday track"),
        (
            "10min wu, 2x(6x200m @mile w/ 200m jog) 5min between, 10min cd",
            "2x(6x200m @mile w/ 200m jog)",
        ),
    ],
)
def test_a_plan_without_a_name_is_named_by_its_main_set(text: str, name: str) -> None:
    assert parse(text).name == name
    assert wp.decode(program_bytes(parse(text))).name == name


def test_unknown_pace_is_zero_and_explicit_pace_has_no_name() -> None:
    (block,) = wp.decode(program_bytes(parse("6x800m @5k"))).nodes
    assert (block.body[0].target_name, block.body[0].target_value) == (3, 0)
    (step,) = wp.decode(program_bytes(parse("20min @3:45/km"))).nodes
    assert (step.target_type, step.target_name, step.target_value) == (wp.TARGET_PACE, 0, 2250)


def test_targets_open_steps_cues_and_dropped_recoveries_reach_the_program() -> None:
    text = (
        "cues: countdown 5, halfway, no last rep\n"
        "4x30s rpe 9 [countdown 10], jog down ~90s between\n"
        "10min Z2"
    )
    program = wp.decode(program_bytes(parse(text)))
    assert (program.countdown_s, program.halfway, program.last_rep) == (5, True, False)
    block, easy = program.nodes
    assert block.drop_last_recovery
    rep, down = block.body
    assert (rep.target_type, rep.target_value, rep.countdown_s) == (wp.TARGET_RPE, 9, 10)
    assert (down.kind, down.end, down.value) == (wp.KIND_RECOVERY, wp.END_OPEN, 90)
    assert (easy.target_type, easy.target_value) == (wp.TARGET_HR_ZONE, 2)


@pytest.mark.parametrize("text", ISSUE_EXAMPLES)
def test_examples_round_trip_and_match_the_timeline(text: str) -> None:
    report = check(text, profile=PROFILE)
    program = wp.decode(report.program)
    assert wp.encode(program) == report.program
    assert wp.expanded_count(program.nodes) == len(report.steps)


def test_examples_round_trip_under_micropython() -> None:
    blobs = [check(text, profile=PROFILE).program.hex() for text in ISSUE_EXAMPLES]
    out = run_mpy(
        "import binascii\n"
        "from repcue_fw.wire.host import program as wp\n"
        f"blobs = {json.dumps(blobs)}\n"
        "for b in blobs:\n"
        "    p = wp.decode(binascii.unhexlify(b))\n"
        "    print(binascii.hexlify(wp.encode(p)).decode(), wp.expanded_count(p.nodes))\n"
    )
    lines = out.split()
    assert lines[0::2] == blobs
    counts = [len(check(text, profile=PROFILE).steps) for text in ISSUE_EXAMPLES]
    assert [int(n) for n in lines[1::2]] == counts


_STEPS = st.sampled_from(
    ["90s", "400m @3k", "1min hard", "200m jog", "jog down", "2min Z2", "30s rpe 9", "3:00 easy"]
)


@st.composite
def plan_texts(draw: st.DrawFn, depth: int = 0) -> str:
    """Random but valid plan text: steps, groups, recoveries and `between` rests."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        choice = draw(st.integers(0, 3 if depth < 2 else 1))
        if choice <= 1:
            parts.append(draw(_STEPS))
        elif choice == 2:
            count = draw(st.integers(1, 5))
            parts.append(
                f"{count}x{draw(_STEPS)} w/ {draw(_STEPS)}"
                + draw(st.sampled_from(["", " between"]))
            )
        else:
            count = draw(st.integers(1, 4))
            inner = draw(plan_texts(depth + 1))
            parts.append(f"{count}x({inner})" + draw(st.sampled_from(["", " 2min between"])))
    return ", ".join(parts)


@settings(max_examples=150, deadline=None)
@given(plan_texts())
def test_timeline_and_device_agree_on_the_steps_of_any_plan(text: str) -> None:
    report = check(text)
    program = wp.decode(report.program)
    assert wp.expanded_count(program.nodes) == len(report.steps)
    kinds = {wp.KIND_NAMES.index(s.kind.value) for s in report.steps}
    assert kinds <= set(range(5))
