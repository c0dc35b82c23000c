"""The `repcue` commands against a virtual device over its pty, through main():
upload -> start -> (the autopilot runs, with noise) -> sync -> show -> history, the demo,
and `repcue devices` listing a running virtual device."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from repcue.cli import main
from repcue.plan import check
from repcue.sim import AutopilotOptions
from repcue.sim import autopilot as pilot
from repcue.sim.autopilot import run_to_finish
from repcue.store import Store
from repcue.sync import decode_session_bytes
from repcue_fw.wire.host import program as wp
from tests.e2e.conftest import StartDevice
from tests.e2e.rig import (
    PROFILE,
    PROFILE_TEXT,
    TWENTY_STEPS,
    client,
    expected_steps,
    record_sessions,
)
from tests.host.test_plan_compile import ISSUE_EXAMPLES

NOISE = AutopilotOptions(noise_frac=0.05, seed=11)
SHORT = wp.encode(wp.Program([wp.Step(wp.KIND_WORK, wp.END_TIME, 30)], countdown_s=0))


async def install(path: str, program: bytes) -> None:
    async with client(path) as dev:
        async for _ in dev.upload_program(program):
            pass


async def read_all(path: str) -> list[tuple[object, bytes]]:
    async with client(path) as dev:
        return [(entry, raw) async for entry, raw in dev.read_sessions()]


def repcue(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """Run `repcue ARGV` in-process; exit code 0 expected; stdout as JSON if it is."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    return json.loads(out) if out.lstrip().startswith(("{", "[")) else out


@pytest.mark.parametrize(
    "text", [ISSUE_EXAMPLES[13], "hills 8x45s hard, jog down"], ids=["tuesday", "hills"]
)
def test_upload_start_sync_show_history(
    start_device: StartDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    device = start_device()
    spec = f"serial:{device.pty_path}"
    db = str(tmp_path / "store.db")
    plan = tmp_path / "plan.txt"
    plan.write_text(text)
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE_TEXT)

    out = repcue(
        capsys, "upload", str(plan), "--device", spec, "--db", db, "--profile", str(profile)
    )
    assert "installed program" in out
    pilot.enable(device, NOISE)  # this runner drifts around the plan
    assert "started" in repcue(capsys, "start", "--device", spec)
    run_to_finish(device)
    synced = repcue(capsys, "sync", "--device", spec, "--db", db, "--json")
    assert len(synced["added"]) == 1 and synced["acked"] == synced["added"]
    assert synced["failed"] == [] and synced["incomplete"] == []
    session_id = synced["added"][0]

    shown = repcue(capsys, "show", "last", "--db", db, "--json")
    assert shown == synced["sessions"][0]
    assert shown["session"]["session_id"] == session_id
    report = check(text, profile=PROFILE)
    expected = expected_steps(report.program, AutopilotOptions())
    rows = shown["steps"]
    assert [(r["kind"], r["planned"]) for r in rows] == [(e.kind, e.planned) for e in expected]
    laps = [(r, e) for r, e in zip(rows, expected, strict=True) if e.end_reason == "lap"]
    assert laps
    for row, exp in zip(rows, expected, strict=True):
        if exp.end_reason == "time":
            assert row["elapsed_ms"] == exp.elapsed_ms
    # lap-ended steps follow the noisy runner: within its spread, and not all on plan
    for row, exp in laps:
        assert abs(row["elapsed_ms"] - exp.elapsed_ms) <= 0.16 * exp.elapsed_ms
    assert any(row["elapsed_ms"] != exp.elapsed_ms for row, exp in laps)

    history = repcue(capsys, "history", "--db", db, "--json")
    assert [(h["session_id"], h["end_reason"]) for h in history] == [(session_id, "finished")]
    assert history[0]["reps_done"] == report.work_steps
    again = repcue(capsys, "sync", "--device", spec, "--db", db, "--json")
    assert again["added"] == [] and again["failed"] == []


def test_demo_json_is_what_show_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "demo.db")
    demo = repcue(capsys, "demo", "--json", "--speed", "1000", "--db", db)
    assert demo["session"]["end_reason"] == "finished"
    assert demo["session"]["reps_done"] == demo["session"]["reps_planned"] > 0
    assert len(demo["steps"]) > 10
    assert repcue(capsys, "show", "last", "--db", db, "--json") == demo


def test_devices_lists_a_running_virtual_device(
    start_device: StartDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    listed = repcue(capsys, "devices", "--json")
    ports = [entry["port"] for entry in listed["sim"]]
    assert device.pty_path in ports


def test_sync_leaves_a_session_that_differs_from_the_stored_one(
    start_device: StartDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The store holds session 1 of this device, not yet acked (its ACK was lost); then the
    # device's flash is wiped and a different run becomes session 1 again. Acking it would
    # let the device erase a session the store does not have: it is left and reported.
    db = str(tmp_path / "store.db")
    first = start_device(device_id="c0ffee0001")
    asyncio.run(install(first.pty_path, TWENTY_STEPS))
    record_sessions(first, 1)
    ((_, raw),) = asyncio.run(read_all(first.pty_path))
    first.stop()
    with Store(db) as store:
        store.upsert_device("c0ffee0001")
        assert store.add_session("c0ffee0001", decode_session_bytes(raw, 1), raw) is not None
    wiped = start_device(device_id="c0ffee0001")
    asyncio.run(install(wiped.pty_path, SHORT))
    record_sessions(wiped, 1)
    spec = f"serial:{wiped.pty_path}"

    assert main(["sync", "--device", spec, "--db", db, "--json"]) == 1
    synced = json.loads(capsys.readouterr().out)
    assert synced["added"] == [] and synced["acked"] == []
    assert synced["failed"] == [
        {"session_id": 1, "message": "differs from the stored session with the same id"}
    ]
    assert main(["sync", "--device", spec, "--db", db]) == 1
    out = capsys.readouterr().out
    assert "left on the device for the next sync: session 1: differs from the stored" in out
    with Store(db) as store:
        kept = store.session_by_device_id("c0ffee0001", 1)
        assert kept is not None and store.session_raw(kept.row_id) == raw
