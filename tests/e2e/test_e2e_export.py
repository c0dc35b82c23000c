"""`repcue export` of sessions a virtual device really recorded (the real firmware on the
stepped clock, a noisy autopilot runner), synced into a store through the CLI: FIT read back
by both decoders and TCX by xml.etree against `repcue show --json`; a device whose clock was
never set gives an undated session that is refused, then dated with --assume-date."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from repcue.cli import main
from repcue.sim import AutopilotOptions
from repcue.sim import autopilot as pilot
from repcue.sim.autopilot import run_to_finish
from tests.e2e.conftest import StartDevice
from tests.e2e.rig import client
from tests.host.export_sessions import program_of as plan_program
from tests.host.test_export_fit import fitdecode_read, sdk_read

TRACK = "name: Tuesday track\n5min wu\n4x400m @3:30/km w/ 60s jog\n3min cd"
NS = {"t": "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"}


def repcue(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    got = main(list(argv))
    out, err = capsys.readouterr()
    assert got == code, err
    assert "Traceback" not in err
    return out if code == 0 else err


def record(device: Any, spec: str, db: str, plan: Path, capsys: Any) -> None:
    """upload, start (both set the device's clock first), run, sync: through the CLI."""
    repcue(capsys, "upload", str(plan), "--device", spec, "--db", db)
    pilot.enable(device, AutopilotOptions(noise_frac=0.05, seed=5))
    repcue(capsys, "start", "--device", spec)
    run_to_finish(device)
    repcue(capsys, "sync", "--device", spec, "--db", db, "--json")


async def install_and_start_without_the_clock(path: str, text: str) -> None:
    """What a host that never sets the clock does: the device's clock stays unset."""
    async with client(path) as dev:
        info = await dev.hello()
        assert info.clock_s == 0  # so the test means it
        async for _ in dev.upload_program(plan_program(text)):
            pass
        await dev.start()


def test_a_recorded_session_exports_as_the_store_shows_it(
    start_device: StartDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    spec, db = f"serial:{device.pty_path}", str(tmp_path / "store.db")
    plan = tmp_path / "track.txt"
    plan.write_text(TRACK)
    record(device, spec, db, plan, capsys)
    shown = json.loads(repcue(capsys, "show", "last", "--db", db, "--json"))
    steps = shown["steps"]
    assert len(steps) == 10 and shown["session"]["start"] is not None

    out = tmp_path / "out"
    for fmt in ("fit", "tcx"):
        summary = json.loads(
            repcue(
                capsys, "export", "last", "--format", fmt, "--dir", str(out), "--db", db, "--json"
            )
        )
        assert summary["sessions"] == 1 and summary["files"][0]["assumed_date"] is False
    (fit_path,) = out.glob("*.fit")
    (tcx_path,) = out.glob("*.tcx")
    data = fit_path.read_bytes()
    m = sdk_read(data)
    assert fitdecode_read(data)["lap"] == len(steps)
    laps = m["lap_mesgs"]
    assert [lap["total_timer_time"] for lap in laps] == [s["elapsed_ms"] / 1000 for s in steps]
    distances = [lap.get("total_distance") for lap in laps]
    assert distances == [s["distance_m"] for s in steps]
    assert distances.count(400) == 4
    session = m["session_mesgs"][0]
    assert session["sub_sport"] == "track" and session["total_distance"] == 1600
    assert session["total_elapsed_time"] == shown["session"]["duration_ms"] / 1000
    wsteps = m["workout_step_mesgs"]
    work = [wsteps[lap["wkt_step_index"]] for lap in laps if lap["intensity"] == "active"]
    assert [w["duration_distance"] for w in work] == [400] * 4

    root = ET.parse(tcx_path).getroot()
    tcx_laps = root.findall("t:Activities/t:Activity/t:Lap", NS)
    seconds = [float(lap.findtext("t:TotalTimeSeconds", namespaces=NS) or "") for lap in tcx_laps]
    assert seconds == [s["elapsed_ms"] / 1000 for s in steps]
    points = root.findall(".//t:Trackpoint", NS)
    assert len(points) == len(m["record_mesgs"])


def test_an_undated_recorded_session_is_refused_then_dated_by_its_sync(
    start_device: StartDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    spec, db = f"serial:{device.pty_path}", str(tmp_path / "store.db")
    pilot.enable(device, AutopilotOptions(noise_frac=0.05, seed=5))
    asyncio.run(install_and_start_without_the_clock(device.pty_path, TRACK))
    run_to_finish(device)
    repcue(capsys, "sync", "--device", spec, "--db", db, "--json")
    shown = json.loads(repcue(capsys, "show", "last", "--db", db, "--json"))
    assert shown["session"]["start"] is None
    target = tmp_path / "u.fit"
    err = repcue(capsys, "export", "last", "-o", str(target), "--db", db, code=7)
    assert "repcue time sync" in err and not target.exists()
    out = repcue(capsys, "export", "last", "-o", str(target), "--db", db, "--assume-date")
    assert "dated by its sync time" in out
    assert len(sdk_read(target.read_bytes())["lap_mesgs"]) == len(shown["steps"])
