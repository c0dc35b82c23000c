"""`repcue plan export` and `repcue plan check workout.fit` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repcue.cli import main
from repcue.plan import (
    Distance,
    Duration,
    HrZone,
    Pace,
    Repeat,
    Step,
    StepKind,
    parse,
    program_bytes,
)
from repcue.plan.fit_read import parse_fit_workout
from tests.host.test_plan_fit import decode_fitdecode, decode_sdk
from tests.host.test_plan_fit_foreign import (
    JOG_2MIN_Z2,
    REP_1K,
    REPEAT_5,
    WARMUP_LAP,
    connect_file,
)

SIX = "10min wu, 6x800m @5k w/ 90s jog, 10min cd"
PROFILE_TEXT = '[races]\n5k = "20:00"\n'


@pytest.fixture(autouse=True)
def no_user_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "me.toml"
    path.write_text(PROFILE_TEXT)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["plan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_export_fit_writes_a_workout_both_readers_accept(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, profile: Path
) -> None:
    out_path = tmp_path / "six.fit"
    code, out, err = run(
        capsys, "export", SIX, "--format", "fit", "-o", str(out_path), "--profile", str(profile)
    )
    data = out_path.read_bytes()
    assert (code, out) == (0, "")
    assert err == f"wrote {out_path} (6x800m @5k, fit, {len(data)} bytes)\n"
    steps = decode_sdk(data)["workout_step_mesgs"]
    assert steps[1]["target_type"] == "speed" and steps[3]["repeat_steps"] == 6
    assert [f.name for f in decode_fitdecode(data)].count("workout_step") == 5
    assert program_bytes(parse_fit_workout(data)) == program_bytes(parse(SIX))


def test_export_fit_says_what_a_watch_will_not_see(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_path = tmp_path / "six.fit"
    code, out, err = run(capsys, "export", SIX, "--format", "fit", "-o", str(out_path), "--json")
    summary = json.loads(out)
    assert code == 0 and err == ""
    assert summary == {
        "plan": "6x800m @5k",
        "format": "fit",
        "output": str(out_path),
        "bytes": out_path.stat().st_size,
        "warnings": [
            "step 2: 5k pace is not in the profile: no speed target on a watch "
            "(its notes name the pace)"
        ],
    }


def test_export_fit_needs_a_file_and_keeps_an_existing_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "export", SIX, "--format", "fit")
    assert code == 16 and "name the file with -o FILE" in err
    there = tmp_path / "there.fit"
    there.write_bytes(b"mine")
    code, _, err = run(capsys, "export", SIX, "--format", "fit", "-o", str(there))
    assert code == 16 and "exists; pass --force" in err and there.read_bytes() == b"mine"
    code, _, _ = run(capsys, "export", SIX, "--format", "fit", "-o", str(there), "--force")
    assert code == 0 and there.read_bytes()[8:12] == b".FIT"


def test_export_icu_prints_the_text(capsys: pytest.CaptureFixture[str], profile: Path) -> None:
    code, out, err = run(capsys, "export", SIX, "--format", "icu", "--profile", str(profile))
    assert code == 0
    assert out == ("name: 6x800m @5k\n- 10m\n\n6x\n- 800mtr 4:00/km Pace\n- jog 1m30s\n\n- 10m\n")
    assert err == "warning: step 2: 5k pace written as its pace\n"


def test_export_icu_refuses_what_the_text_cannot_hold(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "export", SIX, "--format", "icu")
    assert (code, out) == (2, "")
    assert "intervals.icu text has no 5k pace; give a profile that knows it" in err


def test_check_reads_a_fit_workout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, profile: Path
) -> None:
    path = tmp_path / "connect.fit"
    path.write_bytes(connect_file([WARMUP_LAP, REP_1K, JOG_2MIN_Z2, REPEAT_5]))
    code, out, err = run(capsys, "check", str(path), "--json")
    report = json.loads(out)
    assert (code, err) == (0, "")
    assert report["format"] == "fit" and report["name"] == "Connect 5x1k"
    assert report["work_steps"] == 5 and len(report["steps"]) == 11
    assert report["steps"][1]["target"] == {"type": "pace", "name": None, "s_per_km": 240.1}


def test_check_says_what_was_dropped_from_a_fit_workout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bpm.fit"
    jog_bpm = {**JOG_2MIN_Z2, "target_value": 0}
    jog_bpm |= {"custom_target_value_low": 230, "custom_target_value_high": 245}
    path.write_bytes(connect_file([WARMUP_LAP, REP_1K, jog_bpm, REPEAT_5]))
    code, out, _ = run(capsys, "check", str(path))
    assert code == 0
    assert "warning: step 3: a heart rate of 130-145 bpm" in out


def test_check_refuses_a_fit_workout_the_device_cannot_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "hr.fit"
    path.write_bytes(connect_file([{**JOG_2MIN_Z2, "duration_type": "hr_less_than"}]))
    code, out, err = run(capsys, "check", str(path))
    assert (code, out) == (2, "")
    assert f"{path}, step 1: ends on heart rate less than" in err


def test_a_fit_workout_exports_to_icu(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "connect.fit"
    path.write_bytes(connect_file([WARMUP_LAP, REP_1K, JOG_2MIN_Z2, REPEAT_5]))
    code, out, err = run(capsys, "export", str(path), "--format", "icu")
    assert code == 0
    assert out == "name: Connect 5x1k\n- press lap\n\n5x\n- 1000mtr 4:00/km Pace\n- 2m Z2 HR\n"
    assert err == "warning: step 2: pace rounded to whole seconds\n"
    fit_plan = parse_fit_workout(path.read_bytes())
    back = parse(out, "icu")
    assert (back.name, back.nodes[0]) == (fit_plan.name, fit_plan.nodes[0])
    repeat = back.nodes[1]
    assert isinstance(repeat, Repeat) and repeat.count == 5
    assert repeat.body == (
        Step(StepKind.WORK, Distance(1000), Pace("", 240.0)),
        Step(StepKind.RECOVERY, Duration(120), HrZone(2)),
    )


def test_check_reads_a_fit_workout_from_stdin(tmp_path: Path) -> None:
    data = connect_file([WARMUP_LAP, REP_1K, JOG_2MIN_Z2, REPEAT_5])
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "repcue", "plan", "check", "-", "--json"],
        input=data,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "Connect 5x1k"
    done = subprocess.run(
        [sys.executable, "-m", "repcue", "plan", "check", "-"],
        input=b"\xff\xfe not text",
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 16 and b"stdin is neither UTF-8 text nor a FIT file" in done.stderr
