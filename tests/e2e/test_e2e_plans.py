"""Every plan-language example, end to end on the real firmware over its pty with pyserial:
upload -> start -> autopilot run -> sync -> show. The stored steps are the plan's expanded
steps (count, kinds, planned values), timed steps last exactly their time, and lap-ended
steps last what the autopilot runner took."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from repcue.cli import main
from repcue.cli.device_cmd import run_sync, upload_plan
from repcue.plan.model import Distance, Duration, Open
from repcue.plan.timeline import PlannedStep
from repcue.sim import AutopilotOptions, VirtualDevice
from repcue.sim.autopilot import run_to_finish
from repcue.store import open_store
from repcue_fw.wire.host import program as wp
from tests.e2e.rig import PROFILE_TEXT, client, expected_steps, stepped_device
from tests.host.test_plan_compile import ISSUE_EXAMPLES

IDS = [
    f"{i:02d}-" + "".join(c if c.isalnum() else "_" for c in t[:24])
    for i, t in enumerate(ISSUE_EXAMPLES)
]


@pytest.fixture(scope="module")
def device() -> Iterator[VirtualDevice]:
    dev = stepped_device()
    yield dev
    dev.stop()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plans")
    (folder / "profile.toml").write_text(PROFILE_TEXT)
    return folder


def plan_value(step: PlannedStep) -> int:
    """What the plan says the device records as a step's planned value."""
    end = step.end
    if isinstance(end, Duration):
        return end.seconds
    if isinstance(end, Distance):
        return end.metres
    assert isinstance(end, Open)
    return end.estimate_s or 0


@pytest.mark.parametrize("text", ISSUE_EXAMPLES, ids=IDS)
async def test_example_uploads_runs_syncs_and_shows(
    device: VirtualDevice, workdir: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(workdir / "store.db")
    quiet = Console(file=io.StringIO())
    async with client(device.pty_path) as dev:
        report = await upload_plan(
            dev, text, "", profile_path=workdir / "profile.toml", fmt="auto", db=db, out=quiet
        )
        info = await dev.device_info()
        assert info.program_id == wp.program_id(report.program)
        session_id = await dev.start()
        assert session_id > 0
        finish = await asyncio.to_thread(run_to_finish, device)
        result = await run_sync(dev, db, quiet)
    assert session_id in result.added and result.failed == ()
    assert session_id in result.acked

    expected = expected_steps(report.program, AutopilotOptions())
    assert len(expected) == len(report.steps) == wp.expanded_count(wp.decode(report.program).nodes)
    with open_store(db) as store:
        summary = store.session_by_device_id(info.device_id, session_id)
        assert summary is not None
        steps = store.session_steps(summary.row_id)
    assert (summary.end_reason, summary.program_id) == ("finished", info.program_id)
    assert summary.acked and summary.step_count == len(expected)
    # the plan's own expansion: count, kinds, planned values
    assert [(s.index, s.kind, s.planned) for s in steps] == [
        (i, p.kind.value, plan_value(p)) for i, p in enumerate(report.steps)
    ]
    # what the device ran: time steps to the ms, lap-ended steps as the autopilot pressed
    assert [(s.end_reason, s.elapsed_ms) for s in steps] == [
        (e.end_reason, e.elapsed_ms) for e in expected
    ]
    assert summary.total_ms == sum(e.elapsed_ms for e in expected) == finish["b"]
    for planned, stored in zip(report.steps, steps, strict=True):
        if planned.planned_s is not None and planned.pace_s_per_km is not None:
            # the plan's pace estimate and the device's (tenths of s/km) agree
            assert stored.elapsed_ms == pytest.approx(planned.planned_s * 1000, rel=1e-3)

    assert main(["show", f"{info.device_id}:{session_id}", "--db", db, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["session"]["session_id"] == session_id
    assert shown["session"]["reps_done"] == report.work_steps == shown["session"]["reps_planned"]
    if report.plan.name:
        assert shown["session"]["plan"] == report.plan.name
    rows = shown["steps"]
    assert [(r["kind"], r["planned"], r["elapsed_ms"]) for r in rows] == [
        (s.kind, s.planned, s.elapsed_ms) for s in steps
    ]
    assert [r["end_type"] for r in rows] == [e.end for e in expected]
    for row in rows:
        assert row["delta_ms"] in (0, None)  # on plan to the ms wherever a plan time exists
        if row["end_type"] == "distance":
            assert row["pace_s_per_km"] == pytest.approx(row["elapsed_ms"] / row["planned"])
