"""What `plan check` reports: JSON keys, totals, work:rest and the anaerobic verdict."""

from __future__ import annotations

import json

import pytest

from repcue.plan import check
from repcue.plan.profile import parse_profile
from repcue_fw.wire.host import program as wp

PROFILE = parse_profile('[races]\n5k = "20:00"\n')
SIX = "name: six\n10min wu, 6x800m @5k w/ 90s jog, 10min cd"


def test_json_has_the_issue_keys_and_each_step_says_what_ends_it() -> None:
    data = check(SIX, profile=PROFILE).to_json()
    json.dumps(data)  # serialisable as is
    for key in (
        "name",
        "steps",
        "work_steps",
        "total_time_s",
        "total_distance_m",
        "anaerobic",
        "program_bytes",
    ):
        assert key in data
    assert data["name"] == "six"
    steps = data["steps"]
    assert isinstance(steps, list) and len(steps) == 14
    assert steps[0] == {
        "index": 1,
        "kind": "warmup",
        "duration_s": 600,
        "target": None,
        "label": "",
        "planned_s": 600.0,
        "start_s": 0.0,
        "rounds": [],
    }
    assert steps[13]["rounds"] == [] and steps[12]["rounds"] == [[6, 6]]
    assert steps[1]["distance_m"] == 800 and "duration_s" not in steps[1]
    assert steps[1]["target"] == {"type": "pace", "name": "5k", "s_per_km": 240.0}
    assert steps[2]["target"] == {"type": "effort", "effort": "jog"}
    assert data["work_steps"] == 6
    assert data["total_time_s"] == 600 + 6 * 192 + 6 * 90 + 600
    assert data["total_distance_m"] == 4800
    assert data["anaerobic"] is True
    assert data["program_bytes"] == len(bytes.fromhex(str(data["program_hex"])))
    assert data["program_id"] == f"{wp.program_id(bytes.fromhex(str(data['program_hex']))):08x}"
    assert data["work_rest_ratio"] == pytest.approx(6 * 192 / (6 * 90), abs=0.01)


def test_open_steps_and_unknown_paces() -> None:
    data = check("hills 4x45s hard, jog down, 6x800m @5k").to_json()
    steps = data["steps"]
    assert isinstance(steps, list)
    assert steps[1]["open"] is True and steps[1]["planned_s"] is None
    assert data["total_time_s"] == 4 * 45
    assert data["total_distance_m"] == 4800
    assert data["unknown_paces"] == ["5k"] and data["profile"] is None
    assert data["work_rest_ratio"] is None
    assert any("no time estimate" in str(w) for w in data["warnings"])  # type: ignore[attr-defined]


def test_estimates_count_in_the_total() -> None:
    report = check("hills 4x45s hard, jog down ~90s")
    assert report.total_time_s == 4 * (45 + 90)
    assert check("10x200m / 200m jog ~60s").total_time_s == 10 * 60
    # effort distance steps use the profile's easy pace, walking a fixed 10:00/km
    easy = PROFILE.named_paces().get("easy")
    assert easy is not None
    assert check("1km jog", profile=PROFILE).total_time_s == round(easy)
    assert check("500m walk").total_time_s == 300


@pytest.mark.parametrize(
    ("text", "anaerobic", "reason"),
    [
        ("8x(1min hard, 1min easy)", True, "work at hard"),
        ("6x800m @5k w/ 90s jog", True, "work at 5k pace"),
        ("4x1km @10k w/ 2min jog", True, "work at 10k pace"),
        ("3x10min @threshold w/ 2min jog", False, "no hard or short work"),
        ("20min rpe 8", True, "work at RPE 8"),
        ("20min rpe 7", False, "no hard or short work"),
        ("10min Z4", True, "work at HR zone 4"),
        ("40min Z2", False, "no hard or short work"),
        ("40/20 x 20min", True, "20 short reps with recoveries"),
        ("strides 6x20s / 60s walk", True, "6 short reps"),
        ("fartlek 20min: 8 surges 30-90s, seed 7", True, "8 short reps"),
        ("3x(1min easy, 1min walk)", False, "no hard or short work"),
        ("tempo 20min @threshold", False, "no hard or short work"),
        ("45min easy", False, "no hard or short work"),
        ("3x200m w/ 200m jog", False, "no hard or short work"),
        ("4x200m w/ 200m jog", True, "4 short reps"),
    ],
)
def test_anaerobic_rule(text: str, anaerobic: bool, reason: str) -> None:
    report = check(text)
    assert report.anaerobic is anaerobic
    assert reason in report.anaerobic_reason


def test_explicit_pace_is_judged_against_the_profile() -> None:
    fast = "5x1km @3:50/km w/ 2min jog"  # faster than this runner's 10k pace (4:10/km)
    slow = "3x10min @4:40/km w/ 2min jog"  # slower than threshold, faster than marathon
    assert check(fast, profile=PROFILE).anaerobic
    assert not check(slow, profile=PROFILE).anaerobic
    assert not check(fast).anaerobic  # no profile: the pace cannot be judged, reps are long
