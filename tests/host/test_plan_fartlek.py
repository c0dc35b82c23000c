"""Random fartleks: the same plan text always yields the same surges."""

from __future__ import annotations

import zlib

import pytest

from repcue.plan import Duration, Effort, Fartlek, StepKind, check, parse, program_bytes
from repcue.plan.fartlek import fartlek_steps, resolve
from repcue.plan.parser import text_seed

SEEDED = "fartlek 20min: 8 surges 30-90s, seed 7"


def durations(text: str) -> list[int]:
    out = []
    for step in check(text).steps:
        assert isinstance(step.end, Duration)
        out.append(step.end.seconds)
    return out


def test_parsed_as_a_fartlek_node_with_its_seed() -> None:
    (node,) = parse(SEEDED).nodes
    assert node == Fartlek(1200, 8, 30, 90, seed=7)


def test_seed_7_gives_these_surges_on_every_python() -> None:
    # random.Random(int).random() is stable across versions: these numbers must never change.
    assert durations(SEEDED) == [
        36, 49, 110, 39, 43, 69, 46, 34, 109, 62, 183, 52, 53, 33, 71, 60, 151,
    ]  # fmt: skip


def test_shape_of_the_resolved_steps() -> None:
    report = check(SEEDED)
    kinds = [s.kind for s in report.steps]
    assert kinds == [StepKind.RECOVERY, *[StepKind.WORK, StepKind.RECOVERY] * 8]
    assert sum(durations(SEEDED)) == 1200
    surges = durations(SEEDED)[1::2]
    easy = durations(SEEDED)[0::2]
    assert all(30 <= s <= 90 for s in surges) and all(e >= 30 for e in easy)
    assert all(s.target == Effort("easy") for s in report.steps if s.kind is StepKind.RECOVERY)
    assert report.seeds == (7,) and not any("derived" in w for w in report.warnings)


@pytest.mark.parametrize("seed", [0, 1, 7, 12345, 2**32 - 1])
def test_any_seed_fills_the_time_exactly(seed: int) -> None:
    steps = fartlek_steps(Fartlek(600, 5, 20, 40), seed)
    total = 0
    for step in steps:
        assert isinstance(step.end, Duration)
        total += step.end.seconds
    assert total == 600 and len(steps) == 11


def test_without_a_seed_it_comes_from_the_plan_text_and_is_shown() -> None:
    text = "10min wu\nfartlek 20min: 8 surges 30-90s\n10min cd"
    report = check(text)
    expected = zlib.crc32(" ".join(text.lower().split()).encode())
    assert report.seeds == (expected,) == (text_seed(text),)
    assert any(
        f"seed {expected}" in w and "derived from the plan text" in w for w in report.warnings
    )
    assert report.to_json()["seed"] == expected
    # spacing and case do not change it, any real edit does
    assert check(text.upper().replace("\n", "\n  ")).seeds == report.seeds
    assert check(text.replace("8 surges", "7 surges")).seeds != report.seeds


def test_same_text_same_program_different_seed_different_program() -> None:
    assert program_bytes(parse(SEEDED)) == program_bytes(parse(SEEDED))
    assert program_bytes(parse(SEEDED)) != program_bytes(parse(SEEDED.replace("7", "8")))


def test_plan_seed_line_and_several_fartleks_get_distinct_seeds() -> None:
    plan = parse(
        "seed: 100\nfartlek 10min: 3 surges 20-40s\nfartlek 10min: 3 surges 20-40s, seed 5"
    )
    resolved = resolve(plan)
    assert resolved.seeds == (100, 5) and resolved.derived == (True, False)
    twice = resolve(parse("seed 9\nfartlek 10min: 3 surges 20-40s\nfartlek 10min: 3 surges 20-40s"))
    assert twice.seeds == (9, 10)


def test_surge_target_and_fixed_length_surges() -> None:
    report = check("fartlek 15min: 5 surges 45s @5k, seed 3")
    surges = [s for s in report.steps if s.kind is StepKind.WORK]
    assert len(surges) == 5 and all(s.end == Duration(45) for s in surges)
    assert all(s.label == "surge" and s.target is not None for s in surges)
