"""Plans as FIT workouts and intervals.icu text, both ways.

"Unchanged" for plan -> FIT -> plan means: the read plan's nodes equal the written plan's
nodes with its fartleks resolved (kinds, ends, targets, labels, per-step cues, repeats), its
cues and name are equal, and so is the device program compiled with and without a profile.
For plan -> icu -> plan it means the same device program, with named paces other than
threshold compiled as the explicit pace the text carries (icu has no such names).
"""

from __future__ import annotations

import datetime
import io
import re
from dataclasses import replace
from pathlib import Path

import fitdecode
import pytest
from garmin_fit_sdk import Decoder, Stream
from hypothesis import given, settings
from hypothesis import strategies as st

from repcue.errors import FitWorkoutError, PlanError
from repcue.plan import Cues, Pace, Plan, Repeat, Step, parse, program_bytes
from repcue.plan.fartlek import resolve
from repcue.plan.fit_read import parse_fit_workout
from repcue.plan.fit_workout import cue_words, workout_file
from repcue.plan.icu_write import icu_text
from repcue.plan.model import Node
from repcue.plan.profile import NamedPaces, Profile, parse_profile
from repcue.plan.templates import load_templates

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plans.md"
CREATED = datetime.datetime(2026, 12, 5, 12, 0, tzinfo=datetime.UTC)
PROFILE = parse_profile(
    '[races]\n5k = "20:00"\n"1609m" = "5:50"\n"3000m" = "11:20"\n'
    '[paces]\nthreshold = "4:15/km"\neasy = "5:50/km"\n'
)


def docs_examples() -> list[str]:
    """Every plan docs/plans.md shows: the table's, the text blocks' and the commands'."""
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("## The plan language in examples")[1].split("\n### ")[0]
    found = re.findall(r"^\| `([^`]+)` \|", table, re.M)
    for lang, block in re.findall(r"```(\w*)\n(.*?)```", text, re.S):
        if lang == "" and block.startswith(("name:", "Warmup")):
            found.append(block)
    for command in re.findall(r'^\$ repcue plan check "([^"]+)"', text, re.M):
        try:
            parse(command)
        except PlanError:
            continue  # the error example
        found.append(command)
    return found


TEMPLATES = [template.render({}) for template in load_templates().values()]
EXAMPLES = docs_examples()
ALL = TEMPLATES + EXAMPLES


def test_the_docs_examples_are_found() -> None:
    assert len(EXAMPLES) >= 16 and any(e.startswith("Warmup") for e in EXAMPLES)
    assert len(TEMPLATES) == len(load_templates()) >= 8


def decode_sdk(data: bytes) -> dict[str, list[dict[str, object]]]:
    stream = Stream.from_byte_array(bytearray(data))
    decoder = Decoder(stream)
    assert decoder.is_fit() and decoder.check_integrity()
    stream.reset()
    mesgs, errors = decoder.read()
    assert errors == []
    return mesgs  # type: ignore[no-any-return]


def decode_fitdecode(data: bytes) -> list[fitdecode.FitDataMessage]:
    with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        return [frame for frame in reader if isinstance(frame, fitdecode.FitDataMessage)]


def flat_count(nodes: tuple[Node, ...]) -> int:
    return sum(1 + flat_count(n.body) if isinstance(n, Repeat) else 1 for n in nodes)


@pytest.mark.parametrize("profile", [None, PROFILE], ids=["no-profile", "profile"])
@pytest.mark.parametrize("text", ALL, ids=lambda t: t.splitlines()[-1][:40])
def test_plan_fit_plan_is_unchanged(text: str, profile: Profile | None) -> None:
    plan = parse(text)
    paces = profile.named_paces() if profile else None
    data, _ = workout_file(plan, paces, created=CREATED)
    back = parse_fit_workout(data)
    assert back.nodes == resolve(plan).nodes
    assert (back.name, back.cues, back.warnings) == (plan.name, plan.cues, ())
    assert program_bytes(back, profile) == program_bytes(plan, profile)
    assert program_bytes(back, PROFILE) == program_bytes(plan, PROFILE)


@pytest.mark.parametrize("text", ALL, ids=lambda t: t.splitlines()[-1][:40])
def test_every_exported_file_decodes_in_both_readers(text: str) -> None:
    plan = parse(text)
    data, _ = workout_file(plan, PROFILE.named_paces(), created=CREATED)
    mesgs = decode_sdk(data)
    steps = mesgs["workout_step_mesgs"]
    (workout,) = mesgs["workout_mesgs"]
    assert mesgs["file_id_mesgs"][0]["type"] == "workout"
    assert workout["sport"] == "running" and workout["wkt_name"] == plan.name
    assert workout["num_valid_steps"] == len(steps) == flat_count(resolve(plan).nodes)
    frames = decode_fitdecode(data)
    names = [frame.name for frame in frames]
    assert names.count("workout_step") == len(steps) and names[0] == "file_id"
    fd_steps = [frame for frame in frames if frame.name == "workout_step"]
    for ours, theirs in zip(steps, fd_steps, strict=True):
        assert theirs.get_value("duration_type") == ours["duration_type"]
        assert theirs.get_value("intensity", fallback=None) == ours.get("intensity")


def test_a_workout_lays_out_steps_repeats_and_speed_ranges() -> None:
    plan = parse("10min wu, 3x(1km @5k w/ 2min jog), hills 2x45s hard, jog down ~90s, 5min cd")
    data, warnings = workout_file(plan, PROFILE.named_paces(), created=CREATED)
    assert warnings == []
    steps = decode_sdk(data)["workout_step_mesgs"]
    assert [s["intensity"] for s in steps if "intensity" in s] == [
        "warmup", "active", "recovery", "active", "recovery", "cooldown",
    ]  # fmt: skip
    warm, rep, jog, repeat = steps[:4]
    assert (jog["duration_time"], jog["notes"]) == (120.0, "@jog")
    assert (warm["duration_type"], warm["duration_time"]) == ("time", 600.0)
    assert (rep["duration_type"], rep["duration_distance"]) == ("distance", 1000.0)
    # 5k in 20:00 is 4:00/km = 4.167 m/s; the range is +-2 %
    assert rep["target_type"] == "speed"
    assert rep["custom_target_speed_low"] == pytest.approx(4.083, abs=0.001)
    assert rep["custom_target_speed_high"] == pytest.approx(4.25, abs=0.001)
    assert rep["notes"] == "@5k pace"
    assert (repeat["duration_type"], repeat["duration_step"], repeat["repeat_steps"]) == (
        "repeat_until_steps_cmplt", 1, 3,
    )  # fmt: skip
    down = steps[5]
    assert (down["duration_type"], down["wkt_step_name"], down["notes"]) == (
        "open", "jog down", "@jog, ~90s",
    )  # fmt: skip
    assert steps[6]["duration_step"] == 4 and steps[6]["repeat_steps"] == 2
    assert steps[7]["intensity"] == "cooldown" and len(steps) == 8


def test_an_unknown_named_pace_has_no_speed_target_and_says_so() -> None:
    data, warnings = workout_file(parse("6x800m @5k w/ 90s jog"), created=CREATED)
    rep = decode_sdk(data)["workout_step_mesgs"][0]
    assert rep["target_type"] == "open" and rep["notes"] == "@5k pace"
    assert warnings == [
        "step 1: 5k pace is not in the profile: no speed target on a watch "
        "(its notes name the pace)"
    ]


def test_a_percent_of_threshold_pace_survives() -> None:
    plan = parse("- 10m Z1\n5x\n- 3m 95% Pace\n- 2m Z1\n", "icu")
    back = parse_fit_workout(workout_file(plan, created=CREATED)[0])
    assert back.nodes == plan.nodes
    repeat = back.nodes[1]
    assert isinstance(repeat, Repeat) and repeat.body[0].target == Pace("threshold", None, 95)


def test_names_are_cut_to_what_fit_holds() -> None:
    name = "Dienstag Bahn 800s ü " * 20  # 440 bytes of UTF-8
    data, _ = workout_file(parse(f"name: {name}\n6x800m @5k w/ 90s jog"), created=CREATED)
    back = parse_fit_workout(data)
    assert len(back.name.encode()) == 254 and name.startswith(back.name)
    assert decode_fitdecode(data)[1].get_value("wkt_name") == back.name


def test_plan_cues_travel_in_the_description() -> None:
    plan = parse("cues: countdown 5, halfway, no last rep\n4x1min hard [no countdown] / 1min")
    data, _ = workout_file(plan, created=CREATED)
    (workout,) = decode_sdk(data)["workout_mesgs"]
    assert workout["wkt_description"] == "cues: countdown 5, halfway, no last rep"
    back = parse_fit_workout(data)
    assert back.cues == plan.cues and back.nodes == plan.nodes


def explicit_paces(plan: Plan, paces: NamedPaces) -> Plan:
    """Named paces but threshold as their whole-second pace: what icu text can say."""

    def node(n: Node) -> Node:
        if isinstance(n, Repeat):
            return replace(n, body=tuple(map(node, n.body)))
        if isinstance(n, Step) and isinstance(n.target, Pace) and n.target.name != "threshold":
            value = paces.pace_of(n.target)
            assert value is not None
            return replace(n, target=Pace("", float(round(value))))
        return n

    return replace(plan, nodes=tuple(map(node, resolve(plan).nodes)))


NESTED = {"3x(4x400m @3k, 60s) 3min between sets", "2x(10x200m / 200m jog) 5min between"}


@pytest.mark.parametrize("text", ALL, ids=lambda t: t.splitlines()[-1][:40])
def test_plan_icu_plan_gives_the_same_program(text: str) -> None:
    plan = parse(text)
    paces = PROFILE.named_paces()
    if text in NESTED:
        with pytest.raises(PlanError, match="no repeats inside repeats"):
            icu_text(plan, paces)
        return
    out = icu_text(plan, paces)
    back = parse(out.text, "icu")
    assert back.name == plan.name and back.format == "icu"
    expected = explicit_paces(plan, paces)
    if plan.cues != Cues():  # icu text has no cues: said, and the program has the defaults
        assert f"the plan's {cue_words(plan.cues)}" in out.warnings
        expected = replace(expected, cues=Cues())
    assert program_bytes(back, PROFILE) == program_bytes(expected, PROFILE)
    assert program_bytes(back) == program_bytes(expected)


def test_icu_text_reads_as_intervals_icu_writes_it() -> None:
    out = icu_text(parse("name: Track 800s\n10min wu\n6x800m @5k w/ 90s jog\n10min cd"),
                   PROFILE.named_paces())  # fmt: skip
    assert out.text == (
        "name: Track 800s\n- 10m\n\n6x\n- 800mtr 4:00/km Pace\n- jog 1m30s\n\n- 10m\n"
    )
    assert out.warnings == ["step 2: 5k pace written as its pace"]


def test_icu_without_the_named_pace_is_refused() -> None:
    with pytest.raises(PlanError, match="no 5k pace"):
        icu_text(parse("6x800m @5k w/ 90s jog"))


def test_a_fit_file_that_is_not_a_workout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FitWorkoutError, match="not a FIT file"):
        parse_fit_workout(b"10min wu, 6x800m", where="plan.fit")
    data = bytearray(workout_file(parse("6x1min / 1min"), created=CREATED)[0])
    data[-5] ^= 0xFF
    with pytest.raises(FitWorkoutError, match="damaged"):
        parse_fit_workout(bytes(data), where="plan.fit")


_FIT_STEPS = st.sampled_from(
    [
        "90s",
        "400m @3k",
        "1mi @6:05/mi",
        "1min all out",
        "200m jog ~70s",
        "jog down ~90s",
        "press lap",
        "2min Z2",
        "30s rpe 9",
        "3:00 easy [countdown 5, halfway]",
        "800m @easy pace [no countdown]",
        "hills 45s hard",
    ]
)


@st.composite
def fit_plan_texts(draw: st.DrawFn, depth: int = 0) -> str:
    """Random valid plans over steps with every kind of target, estimate and step cue."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        choice = draw(st.integers(0, 3 if depth < 2 else 1))
        if choice <= 1:
            parts.append(draw(_FIT_STEPS))
        elif choice == 2:
            parts.append(f"{draw(st.integers(1, 5))}x{draw(_FIT_STEPS)} w/ {draw(_FIT_STEPS)}")
        else:
            inner = draw(fit_plan_texts(depth + 1))
            between = draw(st.sampled_from(["", " 2min between"]))
            parts.append(f"{draw(st.integers(1, 4))}x({inner}){between}")
    return ", ".join(parts)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["", "cues: countdown 0, halfway, no last rep\n"]),
    fit_plan_texts(),
    st.booleans(),
)
def test_any_plan_survives_fit(cues: str, text: str, with_profile: bool) -> None:
    plan = parse(cues + text)
    profile = PROFILE if with_profile else None
    data, _ = workout_file(plan, profile.named_paces() if profile else None, created=CREATED)
    back = parse_fit_workout(data)  # garmin-fit-sdk, integrity checked
    assert back.nodes == resolve(plan).nodes and back.cues == plan.cues
    assert program_bytes(back, PROFILE) == program_bytes(plan, PROFILE)
    frames = decode_fitdecode(data)
    assert [f.name for f in frames].count("workout_step") == flat_count(back.nodes)
