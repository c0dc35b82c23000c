"""A plan through a FIT workout file onto a virtual device: `repcue plan export --format fit`,
then `repcue upload plan.fit` installs the very program the plan text compiles to."""

from __future__ import annotations

from pathlib import Path

import pytest

from repcue.plan import check
from repcue.plan.icu import parse_icu
from repcue.store import Store
from tests.e2e.conftest import StartDevice
from tests.e2e.rig import PROFILE, PROFILE_TEXT
from tests.e2e.test_e2e_cli import repcue

TEXT = "name: Tuesday 800s\n10min wu\n6x800m @5k w/ 90s jog\nhills 4x45s hard, jog down\n10min cd"


def test_upload_a_fit_workout(
    start_device: StartDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    spec = f"serial:{device.pty_path}"
    db = tmp_path / "store.db"
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE_TEXT)
    plan_txt = tmp_path / "tuesday.txt"
    plan_txt.write_text(TEXT)
    fit = tmp_path / "tuesday.fit"
    repcue(capsys, "plan", "export", str(plan_txt), "--format", "fit", "-o", str(fit))

    out = repcue(
        capsys, "upload", str(fit), "--device", spec, "--db", str(db), "--profile", str(profile)
    )
    expected = check(TEXT, profile=PROFILE)
    assert f"installed program {expected.program_id:08x}" in out
    assert f"Tuesday 800s  (fit, {len(expected.steps)} steps)" in out
    info = repcue(capsys, "info", "--device", spec, "--json")
    assert info["program_id"] == f"{expected.program_id:08x}"
    with Store(str(db)) as store:
        record = store.program(expected.program_id)
    assert record is not None and record.plan_name == "Tuesday 800s"
    assert bytes(record.program_bytes) == expected.program
    # the FIT workout is remembered as its intervals.icu text, which reads back as the plan
    assert parse_icu(record.plan_text).name == "Tuesday 800s"
    remembered = check(record.plan_text, profile=PROFILE).steps
    assert [(s.kind, s.end) for s in remembered] == [(s.kind, s.end) for s in expected.steps]
