"""Seed templates: each one renders, parses and is the workout it says it is."""

from __future__ import annotations

import pytest

from repcue.errors import PlanError
from repcue.plan import StepKind, check, parse
from repcue.plan.templates import get_template, load_templates, parse_template
from tests.host.test_plan_language import flat

NAMES = [
    "fartlek",
    "fartlek-random",
    "hills",
    "strides",
    "tempo",
    "track-200s",
    "track-400s",
    "track-800s",
]


def test_the_reference_workouts_are_all_there() -> None:
    assert sorted(load_templates()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_template_renders_to_a_plan_that_checks(name: str) -> None:
    template = get_template(name)
    assert template.summary and template.params
    text = template.render({"seed": "1"} if "seed" in template.param_names() else {})
    report = check(text)
    assert report.plan.name and report.work_steps > 0
    assert text.startswith("# ") and f"# from template {name}:" in text


def test_hills_default_and_with_ten_reps() -> None:
    rows = flat(get_template("hills").render({"reps": "10"}))
    assert rows == [
        ("warmup", "900s", None),
        *[("work", "45s", "hard"), ("recovery", "open", "jog")] * 10,
        ("cooldown", "600s", None),
    ]


def test_track_templates_are_the_classic_sessions() -> None:
    assert flat(get_template("track-800s").render())[1:3] == [
        ("work", "800m", "@5k"),
        ("recovery", "90s", "jog"),
    ]
    assert len(check(get_template("track-200s").render()).steps) == 22
    assert flat(get_template("track-400s").render({"pace": "3:40/km"}))[1] == (
        "work",
        "400m",
        "@220.0",
    )


def test_strides_follow_an_easy_run_and_tempo_is_at_threshold() -> None:
    strides = check(get_template("strides").render())
    assert strides.steps[0].kind is StepKind.WARMUP and strides.steps[0].end.seconds == 1800  # type: ignore[union-attr]
    assert strides.work_steps == 6 and strides.anaerobic
    tempo = check(get_template("tempo").render({"duration": "25min"}))
    assert [s.label for s in tempo.steps if s.kind is StepKind.WORK] == ["tempo"]
    assert not tempo.anaerobic


def test_random_fartlek_writes_its_seed_down() -> None:
    text = get_template("fartlek-random").render()
    seed = int(text.split("seed ")[-1].split()[0])
    report = check(text)
    assert report.seeds == (seed,)
    assert not any("derived" in w for w in report.warnings)
    assert check(text).program == report.program  # the same file, the same surges


def test_bad_parameters() -> None:
    hills = get_template("hills")
    with pytest.raises(PlanError, match="expected a whole number for reps"):
        hills.render({"reps": "many"})
    with pytest.raises(PlanError, match="has no parameter 'pace'"):
        hills.render({"pace": "5k"})
    with pytest.raises(PlanError, match="expected a single value"):
        hills.render({"rep": "45s, 10min cd"})
    with pytest.raises(PlanError, match="unknown template"):
        get_template("yoga")
    with pytest.raises(PlanError):  # a value the plan language rejects, located in the text
        parse(hills.render({"effort": "gently"}))


def test_template_placeholders_must_match_declared_parameters() -> None:
    with pytest.raises(ValueError, match="placeholders"):
        parse_template("broken", "# what\n# param reps = 5: reps\n{reps}x{rep}\n")
