"""The `repcue` commands against a virtual device over its pty, through main():
upload -> start -> (the autopilot runs, with noise) -> sync -> show -> history, the demo,
and `repcue devices` listing a running virtual device."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from repcue.cli import demo_cmd, main
from repcue.errors import NotRunningError
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


def test_demo_looks_like_a_real_session(tmp_path: Path) -> None:
    # It used to show a metronome: every step +0.0, no pace, no target, no fade. The demo's
    # own plan and runner, on the stepped clock: exact, however busy the machine is.
    quiet = Console(file=io.StringIO())
    demo: Any = asyncio.run(demo_cmd._demo(1, str(tmp_path / "d.db"), quiet, clock="stepped"))
    steps = demo["steps"]
    kinds = {s["kind"] for s in steps}
    assert {"warmup", "work", "recovery", "cooldown"} <= kinds
    fartlek = [s for s in steps if s["kind"] == "work" and s["end_type"] == "time"]
    reps = [s for s in steps if s["kind"] == "work" and s["end_type"] == "distance"]
    jogs = [s for s in steps if s["kind"] == "recovery" and s["end_type"] == "distance"]
    assert len(fartlek) >= 4 and len(reps) >= 4  # the fartlek is kept, the track part added
    assert all(s["pace_s_per_km"] and s["target_pace_s_per_km"] for s in reps)
    assert all(s["fade_first_pct"] is not None for s in reps)
    offsets = [s["delta_ms"] for s in reps]
    assert offsets[0] < 0  # surging: the first rep a little fast
    assert len(set(offsets)) == len(offsets) and any(d > 0 for d in offsets)  # and tiring
    paces = [s["pace_s_per_km"] for s in jogs]
    assert paces[-1] > paces[0] * 1.02  # the jogs drift slower (noise aside)
    fade = demo["fade"]
    assert fade["basis"] == "pace" and fade["last_vs_first_pct"] > 0


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


def test_a_session_names_its_plan_on_any_host_and_keeps_that_name(
    start_device: StartDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Upload from one store ("the coach's laptop"), sync into another that never saw the
    # upload ("the runner's"): the session carries its program, so both show the same table.
    device = start_device()
    spec = f"serial:{device.pty_path}"
    uploader, other = str(tmp_path / "coach.db"), str(tmp_path / "runner.db")
    steps = "2min wu, 3x400m @5k w/ 60s jog, 2min cd"
    tuesday, thursday = tmp_path / "tue.txt", tmp_path / "thu.txt"
    tuesday.write_text(f"name: Tuesday track\n{steps}\n")
    thursday.write_text(f"name: Thursday track\n{steps}\n")
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE_TEXT)
    upload = ("--device", spec, "--profile", str(profile))
    repcue(capsys, "upload", str(tuesday), "--db", uploader, *upload)
    pilot.enable(device, NOISE)
    repcue(capsys, "start", "--device", spec)
    run_to_finish(device)
    repcue(capsys, "sync", "--device", spec, "--db", other, "--json")
    with Store(other) as store:
        summary = store.find_session("last")
        raw = store.session_raw(summary.row_id)
        name = store.device(summary.device_id)
    with Store(uploader) as store:  # the same session, as if the uploader had synced it
        store.upsert_device(summary.device_id, name=name.name if name else None)
        store.add_session(summary.device_id, decode_session_bytes(raw, summary.session_id), raw)
        store.mark_acked(summary.device_id, [summary.session_id])

    seen = [repcue(capsys, "show", "last", "--db", db, "--json") for db in (uploader, other)]
    for view in seen:
        del view["session"]["synced"]
        del view["session"]["row_id"]
    assert seen[0] == seen[1]
    head = seen[1]["session"]
    assert (head["plan"], head["reps_planned"], head["reps_done"]) == ("Tuesday track", 3, 3)
    assert all(s["target_pace_s_per_km"] for s in seen[1]["steps"] if s["kind"] == "work")
    tables = [repcue(capsys, "show", "last", "--db", db) for db in (uploader, other)]
    assert tables[0].split("\n", 2)[1:] == tables[1].split("\n", 2)[1:]
    assert "Tuesday track" in tables[1] and "program " not in tables[1]

    # The same steps renamed and uploaded again: the past keeps the name it was run with.
    repcue(capsys, "upload", str(thursday), "--db", uploader, *upload)
    repcue(capsys, "upload", str(thursday), "--db", other, *upload)
    for db in (uploader, other):
        history = repcue(capsys, "history", "--db", db, "--json")
        assert [h["plan"] for h in history] == ["Tuesday track"]


def test_sync_prints_a_line_per_session_and_info_a_readable_clock(
    start_device: StartDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    spec = f"serial:{device.pty_path}"
    db = str(tmp_path / "store.db")
    asyncio.run(install(device.pty_path, TWENTY_STEPS))
    record_sessions(device, 3)
    out = repcue(capsys, "sync", "--device", spec, "--db", db)
    lines = out.strip().splitlines()
    sessions = [line for line in lines if line.startswith("Session ")]
    assert len(sessions) == 3 and len(lines) == 4  # no step tables: `show` has those
    assert all(" · finished" in line and " · reps " in line for line in sessions)
    assert lines[-1].startswith("3 new sessions, ")
    asyncio.run(install(device.pty_path, TWENTY_STEPS))
    record_sessions(device, 1)
    assert (
        repcue(capsys, "sync", "--device", spec, "--db", db)
        .strip()
        .splitlines()[-1]
        .startswith("1 new session, ")
    )

    def clock() -> str:
        info = repcue(capsys, "info", "--device", spec)
        (line,) = [line for line in info.splitlines() if line.startswith("clock")]
        return line.split("│")[1].strip()

    assert clock() == "not set (`repcue time sync` sets it)"
    repcue(capsys, "time", "sync", "--device", spec)
    assert clock().startswith(time.strftime("%Y-"))  # a date, not an epoch


def test_stop_on_an_idle_device_says_nothing_ran(
    start_device: StartDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()  # no program installed, nothing running
    spec = f"serial:{device.pty_path}"
    for _ in range(2):  # before and after a program is there
        assert main(["stop", "--device", spec]) == NotRunningError.exit_code == 15
        out, err = capsys.readouterr()
        assert "stopped and saved" not in out
        assert "no session is running" in err and "Traceback" not in err
        asyncio.run(install(device.pty_path, SHORT))
    assert "started" in repcue(capsys, "start", "--device", spec)
    assert "stopped and saved" in repcue(capsys, "stop", "--device", spec)


def test_info_lists_the_device_sessions_and_which_are_acknowledged(
    start_device: StartDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    asyncio.run(install(device.pty_path, SHORT))
    record_sessions(device, 3)

    async def ack_first() -> None:
        async with client(device.pty_path) as dev:
            await dev.ack_sessions([1])

    asyncio.run(ack_first())
    spec = f"serial:{device.pty_path}"
    info = repcue(capsys, "info", "--device", spec, "--json")
    listed = [(s["session_id"], s["complete"], s["acknowledged"]) for s in info["sessions"]]
    assert listed == [(1, True, True), (2, True, False), (3, True, False)]
    segments = asyncio.run(read_all(device.pty_path))
    assert [entry.acknowledged for entry, _ in segments] == [True, False, False]
    text = repcue(capsys, "info", "--device", spec)
    assert "acknowledged" in text and "the device may delete it" in text
