"""The athlete profile: TOML, named paces, Riegel for the missing ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from repcue.errors import ProfileError
from repcue.plan import Pace, check, default_profile_path, load_profile
from repcue.plan.profile import (
    EASY_OFFSET_S_PER_KM,
    NamedPaces,
    Race,
    derive_paces,
    parse_profile,
    riegel_time_s,
)


def test_riegel_formula() -> None:
    five_k = Race("5k race", 5000, 1200)
    assert riegel_time_s(five_k, 10000) == pytest.approx(1200 * 2**1.06)
    assert riegel_time_s(five_k, 5000) == pytest.approx(1200)


def test_one_race_gives_every_named_pace() -> None:
    paces = parse_profile('[races]\n5k = "20:00"\n').named_paces()
    assert set(paces.values) == {"mile", "3k", "5k", "10k", "half", "marathon", "threshold", "easy"}
    assert paces.get("5k") == pytest.approx(240.0)
    assert paces.get("10k") == pytest.approx(240.0 * 2**0.06)
    marathon = paces.get("marathon")
    assert marathon is not None and paces.get("easy") == pytest.approx(
        marathon + EASY_OFFSET_S_PER_KM
    )
    threshold = paces.get("threshold")
    # One-hour race pace: between 10k and half-marathon pace for this runner.
    assert threshold is not None and paces.get("10k") < threshold < paces.get("half")  # type: ignore[operator]
    assert paces.values["10k"].source == "Riegel from 5k race 20:00"


def test_nearest_race_is_used_and_given_paces_win() -> None:
    profile = parse_profile(
        '[races]\n5k = "20:00"\nhalf = "1:30:00"\n[paces]\neasy = "6:00/km"\nmile = "6:00/mi"\n'
    )
    paces = profile.named_paces()
    assert paces.get("half") == pytest.approx(5400 / 21.0975)
    # marathon is nearer the half than the 5k
    assert paces.get("marathon") == pytest.approx(5400 * (42195 / 21097.5) ** 1.06 / 42.195)
    assert paces.get("easy") == 360.0
    assert paces.get("mile") == pytest.approx(360 / 1.609344)


def test_given_pace_stands_in_for_a_race_and_threshold_for_a_one_hour_race() -> None:
    assert derive_paces((), {"5k": 240.0})["10k"].s_per_km == pytest.approx(240 * 2**0.06)
    only_threshold = derive_paces((), {"threshold": 250.0})
    assert only_threshold["threshold"].s_per_km == 250.0
    assert "marathon" in only_threshold and "easy" in only_threshold


def test_custom_race_distances() -> None:
    profile = parse_profile('[races]\n"1500m" = "4:30"\n15k = 3600\n')
    assert [(r.distance_m, r.time_s) for r in profile.races] == [(1500, 270), (15000, 3600)]


def test_pace_of_named_explicit_and_percent_targets() -> None:
    paces = parse_profile('[paces]\nthreshold = "4:00/km"\n').named_paces()
    assert paces.pace_of(Pace("threshold")) == 240.0
    assert paces.pace_of(Pace("threshold", None, 80)) == pytest.approx(300.0)
    assert paces.pace_of(Pace("", 200.0)) == 200.0
    assert NamedPaces().pace_of(Pace("5k")) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[races\n", "is not valid TOML"),
        ("[shoes]\n", "unknown section 'shoes'"),
        ('[races]\n7 = "20:00"\n', "expected a race such as 5k"),
        ('[races]\n5k = "twenty"\n', "expected a time like 1:30"),
        ("[races]\n5k = true\n", "expected a time like"),
        ('[races]\n5k = "2:00"\n', "expected a pace between 1:30/km and 20:00/km"),
        ('[paces]\nfast = "3:00/km"\n', "unknown pace 'fast'"),
        ('[paces]\n5k = "3:00/yd"\n', "expected a pace like"),
        ("races = 5\n", "[races] must be a table"),
    ],
)
def test_bad_profiles_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message.replace("[", r"\[")):
        parse_profile(text, Path("p.toml"))


def test_default_profile_is_in_the_user_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_profile_path() == tmp_path / "repcue" / "profile.toml"
    assert load_profile() is None
    (tmp_path / "repcue").mkdir()
    default_profile_path().write_text('[races]\n10k = "40:00"\n')
    profile = load_profile()
    assert profile is not None and profile.path == default_profile_path()
    assert profile.named_paces().get("10k") == 240.0


def test_an_explicit_profile_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "missing.toml")


def test_plan_checks_without_a_profile_and_resolves_with_one() -> None:
    text = "10min wu, 6x800m @5k w/ 90s jog, 10min cd"
    bare = check(text)
    assert bare.unknown_paces == ("5k",)
    assert bare.steps[1].planned_s is None and bare.total_time_s == 600 + 540 + 600
    known = check(text, profile=parse_profile('[races]\n5k = "20:00"\n'))
    assert known.unknown_paces == ()
    assert known.steps[1].planned_s == pytest.approx(192.0)
    assert known.total_time_s == 600 + 6 * 192 + 540 + 600
