"""`repcue live` against a virtual device over its pty: --json for a whole session on the
stepped clock (every line checked against the schema), --start, a seq gap when events are
dropped, Ctrl-C leaving the session running, and the terminal view's closing lines."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from repcue.cli import main
from repcue.link.faults import FaultPlan
from repcue.live import EventMapper, follow, validate
from repcue.sim import VirtualDevice
from repcue.store import Store
from repcue_fw.wire.events import EV_FINISH, EV_SESSION_START
from tests.e2e.conftest import StartDevice
from tests.e2e.rig import TWENTY_STEPS, client
from tests.e2e.test_e2e_resume import Replug

PLAN = "warmup 2min\n3 x (400m @ 5k, 60s recovery)\ncooldown 2min\n"


async def _install(path: str) -> None:
    async with client(path) as dev:
        await dev.set_time(int(time.time()))
        async for _ in dev.upload_program(TWENTY_STEPS):
            pass


def _drive(device: VirtualDevice, chunk_ms: int = 1000, pause_s: float = 0.0) -> threading.Thread:
    """Once a session starts, advance the stepped clock chunk by chunk to its end (pause_s
    of the host's time between chunks: a session that lasts a while)."""
    ctl = device.require_control()
    mark = len(ctl.records)

    def run() -> None:
        ctl.wait_event(EV_SESSION_START, timeout_s=30, start=mark)
        while not any(r.get("k") == "ev" and r["c"] == EV_FINISH for r in ctl.records[mark:]):
            ctl.advance(chunk_ms)
            time.sleep(pause_s)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _lines(out: str) -> list[dict[str, Any]]:
    objs = [json.loads(line) for line in out.splitlines()]
    for obj in objs:
        validate(obj)
    return objs


def test_json_follows_a_whole_session_started_by_start(
    start_device: StartDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    asyncio.run(_install(device.pty_path))
    assert not device.require_control().events(EV_SESSION_START)  # nothing ran before
    driver = _drive(device)
    code = main(["live", "--device", f"serial:{device.pty_path}", "--json", "--start"])
    driver.join(30)
    out, err = capsys.readouterr()
    assert code == 0, err
    objs = _lines(out)
    kinds = [o["event"] for o in objs]
    assert kinds[0] == "attached" and objs[0]["running"] is False
    assert kinds[1] == "session_start" and objs[1]["steps"] == 20
    assert kinds[-1] == "session_end" and objs[-1]["reason"] == "finished"
    assert objs[-1]["total_ms"] == 10 * 30_000
    assert "gap" not in kinds
    seqs = [o["seq"] for o in objs[1:]]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # every event, in order
    ends = [o for o in objs if o["event"] == "step_end"]
    assert [o["index"] for o in ends] == list(range(20))
    assert [o["kind"] for o in ends[:2]] == ["work", "recovery"]
    assert all(o["reason"] == "time" and o["actual_ms"] is not None for o in ends)
    # the clock was set just before: device time is the host's, give or take a second
    wall_ms = time.time() * 1000
    assert all(abs(o["device_ms"] - wall_ms) < 60_000 for o in objs)


def test_dropped_events_show_as_a_gap(start_device: StartDevice) -> None:
    """The reader pauses while a whole session runs; its small queue keeps the newest
    events only, and the seq jump comes out as a "gap" object, not silence."""
    device = start_device()
    asyncio.run(_install(device.pty_path))

    async def run() -> list[dict[str, Any]]:
        async with client(device.pty_path, event_queue=8) as dev:
            objs: list[dict[str, Any]] = []
            gen = follow(dev, EventMapper(), start=True)
            objs.append(await gen.__anext__())  # attached
            objs.append(await gen.__anext__())  # session_start: subscribed and started
            await asyncio.to_thread(device.require_control().advance, 3_600_000)
            await asyncio.sleep(0.5)  # the device's events arrive while nobody reads
            objs += [obj async for obj in gen]
            return objs

    objs = asyncio.run(run())
    for obj in objs:
        validate(obj)
    gaps = [o for o in objs if o["event"] == "gap"]
    assert len(gaps) == 1 and gaps[0]["why"] == "seq", gaps
    assert gaps[0]["missed"] == 63 - 1 - 8  # session_start read, the newest 8 kept
    assert objs[-1]["event"] == "session_end"
    # what the ring dropped of the steps came back from the session's record, in order
    assert gaps[0]["record"] == "read" and gaps[0]["refilled"] > 30
    story = [(o["event"], o["index"]) for o in objs if o["event"] in ("step_start", "step_end")]
    assert story == [(kind, i) for i in range(20) for kind in ("step_start", "step_end")]
    filled = [o for o in objs if o.get("filled")]
    assert [o["actual_ms"] for o in filled if o["event"] == "step_end"][:2] == [20_000, 10_000]


def test_ctrl_c_leaves_the_session_running(start_device: StartDevice) -> None:
    device = start_device()
    asyncio.run(_install(device.pty_path))
    ctl = device.require_control()
    ctl.press("start")
    ctl.wait_event(EV_SESSION_START, timeout_s=10)
    ctl.advance(65_000)  # (20 s work, 10 s recovery) x 2, then 5 s into step 4
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "repcue", "live", "--device", f"serial:{device.pty_path}", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        attached = json.loads(proc.stdout.readline())  # the state at once: running
        validate(attached)
        assert attached["event"] == "attached" and attached["running"] is True
        assert (attached["session_id"], attached["index"]) == (1, 4)  # from its record
        time.sleep(0.3)  # subscribed by now
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "session_end" not in out and not ctl.events(EV_FINISH)

    async def running() -> bool:
        async with client(device.pty_path) as dev:
            return (await dev.device_info()).running

    assert asyncio.run(running())


def test_the_view_ends_with_the_state_and_a_summary(
    start_device: StartDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    db = str(tmp_path / "store.db")
    spec = f"serial:{device.pty_path}"
    assert main(["upload", PLAN, "--device", spec, "--db", db]) == 0  # the store knows the plan
    capsys.readouterr()
    driver = _drive(device, chunk_ms=5000)
    code = main(["live", "--device", spec, "--db", db, "--start"])
    driver.join(30)
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert ["status", "finished"] in lines, out
    assert ["step", "cooldown", "(8/8)"] in lines, out
    assert out.splitlines()[-1].startswith("session 1 finished: 3/3 work reps in "), out


def test_the_view_takes_the_plan_from_the_session_on_a_computer_that_never_saw_it(
    start_device: StartDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    spec = f"serial:{device.pty_path}"
    uploader = str(tmp_path / "coach.db")
    assert main(["upload", PLAN, "--device", spec, "--db", uploader]) == 0
    capsys.readouterr()
    driver = _drive(device, chunk_ms=5000)
    elsewhere = tmp_path / "runner.db"
    Store(elsewhere).close()  # a store that never saw the upload
    code = main(["live", "--device", spec, "--db", str(elsewhere), "--start"])
    driver.join(30)
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert ["step", "cooldown", "(8/8)"] in lines, out  # the plan came with the session
    assert out.splitlines()[-1].startswith("session 1 finished: 3/3 work reps in "), out


def test_a_dropped_link_reconnects_resubscribes_and_marks_a_gap(
    start_device: StartDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    asyncio.run(_install(device.pty_path))
    port = tmp_path / "port"
    # cut once the session's first few events have crossed, then a cable that holds
    with Replug(device.pty_path, port, [FaultPlan(cut_after_bytes=900), FaultPlan()]) as cable:
        driver = _drive(device, pause_s=0.02)
        code = main(["live", "--device", f"serial:{port}", "--json", "--start"])
        driver.join(60)
        assert len(cable.proxies) == 2  # the cut happened
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "link lost; reconnecting (1/3)" in err
    objs = _lines(out)
    kinds = [o["event"] for o in objs]
    cut = kinds.index("gap")
    assert objs[cut]["why"] == "link" and objs[cut]["missed"] is None
    again = objs[cut + 1]
    assert again["event"] == "attached" and again["running"] is True
    assert again["session_id"] == 1 and again["index"] is not None
    assert kinds.count("attached") == 2 and kinds.count("gap") == 1
    assert kinds[-1] == "session_end" and objs[-1]["reason"] == "finished"
    ends = [o["index"] for o in objs[cut:] if o["event"] == "step_end"]
    assert ends == list(range(ends[0], 20)) and ends[0] <= again["index"] + 1


def test_keys_on_a_terminal_press_the_device_buttons(start_device: StartDevice) -> None:
    device = start_device()
    asyncio.run(_install(device.pty_path))
    ctl = device.require_control()
    master, slave = os.openpty()  # stdin is a terminal, as when a person runs it
    proc = subprocess.Popen(
        [sys.executable, "-m", "repcue", "live", "--device", f"serial:{device.pty_path}", "--json"],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    os.close(slave)
    seen: list[str] = []

    def press(key: bytes, then: str) -> None:
        """Type a key; read lines until the event it causes."""
        assert proc.stdout is not None
        os.write(master, key)
        while True:
            line = proc.stdout.readline()
            assert line, f"live ended before {then!r} after {key!r}"
            seen.append(line)
            if json.loads(line)["event"] == then:
                return

    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert json.loads(proc.stdout.readline())["event"] == "attached"
        help_line = proc.stderr.readline()  # the keys are read by now
        assert "s start, p pause/resume, l lap, k skip, x stop" in help_line
        assert not ctl.events(EV_SESSION_START)
        press(b"s", "session_start")
        ctl.advance(5_000)
        press(b"l", "lap")
        press(b"p", "pause")
        press(b"p", "resume")
        press(b"k", "step_start")  # skipped to the first recovery
        ctl.advance(4_000)
        os.write(master, b"x")
        out, err = proc.communicate(timeout=20)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    objs = _lines("".join(seen) + out)
    assert objs[-1]["event"] == "session_end" and objs[-1]["reason"] == "stopped"
    ends = [(o["index"], o["reason"]) for o in objs if o["event"] == "step_end"]
    assert ends == [(0, "skip"), (1, "stop")]
    assert [o["split_ms"] for o in objs if o["event"] == "lap"] == [5_000]
    assert ctl.events(EV_FINISH)[0].a == 1  # the device stopped it (1: stopped)


LIVE = [sys.executable, "-m", "repcue", "live"]


class HeldReplug(Replug):
    """A Replug whose cable stays out after a cut until `plug_again` is set: the device
    runs on (the test moves its clock) while the host cannot reach it."""

    def __init__(self, device_path: str, port: Path, plans: list[FaultPlan]) -> None:
        super().__init__(device_path, port, plans)
        self.plug_again = threading.Event()

    def _watch(self) -> None:
        while not self._stop.is_set():
            if self.current.cut_done.wait(0.02) and not self._stop.is_set():
                while not self.plug_again.wait(0.02):
                    if self._stop.is_set():
                        return
                self._plug()


def _read_until(
    lines: queue.Queue[str | None],
    got: list[dict[str, Any]],
    want: Callable[[dict[str, Any]], bool],
) -> None:
    while True:
        line = lines.get(timeout=30)
        assert line is not None, f"live ended before what was awaited; got {got}"
        obj = json.loads(line)
        validate(obj)
        got.append(obj)
        if want(obj):
            return


def test_a_dropped_link_is_filled_in_from_the_session_record(
    start_device: StartDevice, tmp_path: Path
) -> None:
    """The cable is out while the session goes from recovery 1 (a lap pressed in it)
    through work 2 and recovery 3 into work 4: the stream gets them back from the record,
    marked filled, and a gap for the cues the record does not keep."""
    device = start_device()
    asyncio.run(_install(device.pty_path))
    ctl = device.require_control()
    port = tmp_path / "port"
    with HeldReplug(device.pty_path, port, [FaultPlan()]) as cable:
        proc = subprocess.Popen(
            [*LIVE, "--device", f"serial:{port}", "--json", "--start", "--retries", "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        got: list[dict[str, Any]] = []
        try:
            _read_until(lines, got, lambda o: o["event"] == "session_start")
            ctl.advance(25_000)  # work 0 (20 s) ends live; 5 s into recovery 1
            _read_until(lines, got, lambda o: o["event"] == "step_start" and o["index"] == 1)
            cable.current.cut()
            ctl.advance(3_000)
            ctl.press("lap")  # 8 s into recovery 1, while nobody listens
            ctl.advance(37_000)  # recovery 1, work 2, recovery 3 end; 5 s into work 4
            cable.plug_again.set()
            _read_until(lines, got, lambda o: o["event"] == "step_start" and o["index"] == 4)
            while not ctl.events(EV_FINISH):  # the rest of the session, live
                ctl.advance(1000)
                time.sleep(0.01)
            _read_until(lines, got, lambda o: o["event"] == "session_end")
            _, err = proc.communicate(timeout=30)  # stdout: the pump reads it
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    assert "link lost; reconnecting (1/20)" in err
    assert lines.get(timeout=5) is None  # nothing after the session's end
    kinds = [o["event"] for o in got]
    assert kinds.count("gap") == 1 and kinds.count("attached") == 2
    cut = kinds.index("gap")
    gap, again = got[cut], got[cut + 1]
    assert again["event"] == "attached" and (again["session_id"], again["index"]) == (1, 4)
    filled = [o for o in got if o.get("filled")]
    assert [(o["event"], o["index"]) for o in filled] == [
        ("lap", 1),
        ("step_end", 1),
        ("step_start", 2),
        ("step_end", 2),
        ("step_start", 3),
        ("step_end", 3),
        ("step_start", 4),
    ]
    assert got[cut + 2 : cut + 2 + len(filled)] == filled  # right after the new attach
    assert all(o["seq"] is None for o in filled)
    assert filled[0]["split_ms"] == 8_000
    work_2 = filled[3]
    assert (work_2["kind"], work_2["reason"], work_2["actual_ms"]) == ("work", "time", 20_000)
    # the gap says what the record could not give: the cues (and pauses) in between
    assert (gap["why"], gap["record"], gap["refilled"]) == ("link", "read", len(filled))
    assert "cue" in gap["lost"] and "step_end" not in gap["lost"]
    assert (gap["from_index"], gap["to_index"]) == (1, 4)
    # one consecutive story of steps: every start then its end, 0 to 19, none twice
    story = [(o["event"], o["index"]) for o in got if o["event"] in ("step_start", "step_end")]
    assert story == [(kind, i) for i in range(20) for kind in ("step_start", "step_end")]
    assert kinds[-1] == "session_end" and got[-1]["reason"] == "finished"
