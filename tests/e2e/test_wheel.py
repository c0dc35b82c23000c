"""What a user installs is what runs: the wheel built from this checkout carries every file
the README's commands need (the firmware, the stand-ins the virtual device runs it with,
the plan templates, the coach's page), and `repcue demo --ble` runs from it with the
checkout out of reach, and so does `repcue demo --group 2` (the coach's dashboard with it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mpy import FIRMWARE, ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, installed (without dependencies) into a directory."""
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(out), str(ROOT)], check=True, timeout=600)
    (wheel,) = out.glob("repcue-*.whl")
    site = out / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    return site


def test_the_wheel_carries_the_firmware_the_stand_ins_the_templates_and_the_page(
    installed: Path,
) -> None:
    files = {p.relative_to(installed).as_posix() for p in installed.rglob("*") if p.is_file()}
    firmware = {p.relative_to(FIRMWARE).as_posix() for p in FIRMWARE.rglob("repcue_fw/**/*.py")}
    assert firmware and firmware <= files
    assert {"repcue_device/bluetooth.py", "repcue_device/machine.py"} <= files
    templates = {
        f"repcue/plan/templates/{p.name}" for p in ROOT.glob("host/repcue/plan/templates/*")
    }
    assert templates and templates <= files
    page = {f"repcue/coach/static/{p.name}" for p in ROOT.glob("host/repcue/coach/static/*")}
    assert {"repcue/coach/static/index.html", "repcue/coach/static/coach.js"} <= page <= files


def test_demo_over_ble_runs_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    run_demo = (
        f"import sys; sys.path.insert(0, {str(installed)!r})\n"
        "import repcue, repcue_fw, repcue_device\n"
        "print('from', *(m.__file__ for m in (repcue, repcue_fw, repcue_device)))\n"
        "from repcue.cli import main\n"
        "sys.exit(main(['demo', '--ble']))\n"
    )
    env = dict(os.environ, REPCUE_SIM_REGISTRY=str(tmp_path / "sims"), COLUMNS="120")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [sys.executable, "-c", run_demo],
        cwd=tmp_path,  # not the checkout: nothing of it on sys.path
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    where = proc.stdout.splitlines()[0].split()[1:]
    assert len(where) == 3 and all(path.startswith(str(installed)) for path in where), where
    assert "connected over BLE" in proc.stdout and "authenticated" in proc.stdout
    assert "session 1 finished" in proc.stdout and "reps 10/10" in proc.stdout


def test_group_demo_runs_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    run_demo = (
        f"import sys; sys.path.insert(0, {str(installed)!r})\n"
        "import repcue\n"
        "print('from', repcue.__file__)\n"
        "from repcue.cli import main\n"
        "sys.exit(main(['demo', '--group', '2']))\n"
    )
    env = dict(os.environ, REPCUE_SIM_REGISTRY=str(tmp_path / "sims"), COLUMNS="120")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [sys.executable, "-c", run_demo],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.split()[1].startswith(str(installed))
    # the dashboard's page came from the wheel too: it served the group start and the list
    assert "the dashboard lists 2 finished sessions" in proc.stdout
    rows = [line.split() for line in proc.stdout.splitlines()]
    table = [(r[0], r[3], r[-1]) for r in rows if r[:1] in (["Ana"], ["Ben"]) and len(r) == 8]
    assert table == [("Ana", "5/5", "finished"), ("Ben", "5/5", "finished")], proc.stdout
