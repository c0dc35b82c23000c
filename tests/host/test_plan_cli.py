"""`repcue plan check|templates|new` as a user runs them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from repcue.cli import main
from repcue.errors import PathError
from repcue.plan import parse

SIX = "10min wu, 6x800m @5k w/ 90s jog, 10min cd"


@pytest.fixture(autouse=True)
def no_user_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the developer's own profile out of the tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "repcue" / "profile.toml"


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "me.toml"
    path.write_text('[races]\n5k = "20:00"\n')
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["plan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_prints_a_table_totals_and_verdict(
    capsys: pytest.CaptureFixture[str], profile: Path
) -> None:
    code, out, err = run(capsys, "check", SIX, "--profile", str(profile))
    assert code == 0 and err == ""
    for text in ("kind", "ends by", "target", "planned", "cumulative"):
        assert text in out
    assert "lap at 800 m" in out and "5k pace (4:00/km)" in out and "recovery 6/6" in out
    assert "48:12" in out  # the cumulative time at the end
    assert "total 48:12 · distance steps 4.8 km · 6 work steps" in out
    assert "work:rest 19:12 : 9:00 = 2.13:1" in out
    assert "anaerobic: yes (work at 5k pace (4:00/km))" in out
    assert out.startswith("6x800m @5k  (repcue, 14 steps)")  # named by its main set
    assert "device program: 37 bytes" in out


def test_check_json_is_one_object(capsys: pytest.CaptureFixture[str], profile: Path) -> None:
    code, out, _ = run(capsys, "check", SIX, "--json", "--profile", str(profile))
    assert code == 0
    data = json.loads(out)
    assert data["work_steps"] == 6 and data["program_bytes"] == 37 and data["anaerobic"] is True
    assert data["profile"] == str(profile)


def test_unknown_paces_say_how_to_set_the_profile(
    capsys: pytest.CaptureFixture[str], no_user_profile: Path
) -> None:
    code, out, err = run(capsys, "check", SIX, "--json")
    assert code == 0
    assert json.loads(out)["unknown_paces"] == ["5k"]
    assert "unknown named paces: 5k" in err and str(no_user_profile) in err
    code, out, _ = run(capsys, "check", SIX)
    assert code == 0 and "5k pace (unknown)" in out and str(no_user_profile) in out


def test_check_reads_files_stdin_and_formats(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_file = tmp_path / "tuesday.txt"
    plan_file.write_text("6x800m @5k w/ 90s jog\n")
    code, out, _ = run(capsys, "check", str(plan_file), "--json")
    assert code == 0 and json.loads(out)["name"] == "tuesday"
    monkeypatch.setattr(sys, "stdin", io.StringIO("- 10m Z2\n- 5m Z4\n"))
    code, out, _ = run(capsys, "check", "-", "--json")
    assert code == 0 and json.loads(out)["format"] == "icu"
    code, _, err = run(capsys, "check", "- 10m Z2", "--format", "repcue")
    assert code == 2 and "unexpected '-'" in err


def test_missing_plan_file_and_profile_are_clear_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "check", str(tmp_path / "nope.txt"))
    assert code == PathError.exit_code and "does not exist" in " ".join(err.split())
    code, _, err = run(capsys, "check", SIX, "--profile", str(tmp_path / "none.toml"))
    assert code == 2 and "does not exist" in " ".join(err.split())
    bad = tmp_path / "bad.toml"
    bad.write_text("[races]\n5k = 'fast'\n")
    code, _, err = run(capsys, "check", SIX, "--profile", str(bad))
    assert code == 2 and "races.5k" in err


def test_program_limit_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "-".join(["200"] * 70) + " hard w/ equal jog")
    assert code == 2 and "expected at most 128 steps" in err


def test_templates_lists_each_template_with_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "templates")
    assert code == 0
    for name in ("hills", "track-400s", "track-800s", "track-200s", "fartlek", "fartlek-random"):
        assert name in out
    assert "tempo" in out and "strides" in out and "--reps 8" in out


def test_new_writes_a_plan_that_checks(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "hills.txt"
    code, _, err = run(capsys, "new", "hills", "--reps", "10", "-o", str(target))
    assert code == 0 and "wrote" in err
    plan = parse(target.read_text())
    assert plan.name == "Hill repeats"
    code, out, _ = run(capsys, "check", str(target), "--json")
    assert json.loads(out)["work_steps"] == 10
    code, _, err = run(capsys, "new", "hills", "-o", str(target))
    assert code == PathError.exit_code and "--force" in err
    assert run(capsys, "new", "hills", "--reps", "12", "-o", str(target), "--force")[0] == 0
    assert "hills 12x45s hard" in target.read_text()


def test_new_to_stdout_and_bad_values(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "new", "track-800s", "--pace", "3:50/km")
    assert code == 0 and "6x800m @3:50/km w/ 90s jog" in out
    code, _, err = run(capsys, "new", "hills", "--reps", "ten")
    assert code == 2 and "expected a whole number for reps" in err
    code, _, err = run(capsys, "new", "hills", "--pace", "5k")
    assert code == 2 and "has no parameter 'pace'" in err
    code, _, err = run(capsys, "new", "track-800s", "--pace", "warp")
    assert code == 2 and "^" in err
    code, _, err = run(capsys, "new", "yoga")
    assert code == 2 and "unknown template 'yoga'" in err


def test_console_script_runs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "repcue", "plan", "check", "6x800m @5k w/", "--format", "repcue"],
        capture_output=True,
        text=True,
        env={"XDG_CONFIG_HOME": str(tmp_path), "PATH": ""},
        timeout=60,
    )
    assert proc.returncode == 2
    assert "^" in proc.stderr and "Traceback" not in proc.stderr
