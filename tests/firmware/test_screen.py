"""The screen UI (repcue_fw.screen) in the real micropython binary, on the sim board's
display (its frame a file, read back here pixel by pixel): the countdown's digits change
when a second passes on the stepped clock, the kind's colour changes between work and
recovery, paused and finished differ, the idle screen shows the program's name and the
battery, the 128x64 monochrome path draws, and a redraw allocates nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from repcue.sim.screen import Frame, quantize
from tests.mpy import run_mpy

W, H = 135, 240

_PRELUDE = """
import asyncio
from screen_rig import Rig
from repcue_fw.wire.events import BTN_PAUSE, BTN_SKIP, BTN_STOP
from repcue_fw.wire import program as P
from repcue_fw.wire.host.program import Program, Repeat, Step

def plan(name="track 2x1"):
    return Program([Step(P.KIND_WARMUP, P.END_TIME, 90),
                    Repeat(2, [Step(P.KIND_WORK, P.END_TIME, 75, P.TARGET_PACE, 0, 2400),
                               Step(P.KIND_RECOVERY, P.END_TIME, 60)]),
                    Step(P.KIND_WORK, P.END_DISTANCE, 400, P.TARGET_PACE, 0, 2400)],
                   name=name)
"""


def _run(tmp_path: Path, body: str, w: int = W, h: int = H, mono: bool = False) -> dict[str, Any]:
    frame = tmp_path / "frame.raw"
    code = (
        _PRELUDE
        + f"rig = Rig({str(frame)!r}, {w}, {h}, mono={mono})\n"
        + "async def main():\n"
        + "".join("    " + line + "\n" for line in body.strip().splitlines())
        + "asyncio.run(main())\n"
    )
    out = run_mpy(code, extra_path=[Path(__file__).parent.parent / "vm"])
    return json.loads(out.strip().splitlines()[-1])


def _frame(tmp_path: Path, name: str, w: int = W, h: int = H, mono: bool = False) -> Frame:
    data = (tmp_path / f"frame.raw.{name}").read_bytes()
    return Frame(w, h, mono, data)


def _session(tmp_path: Path) -> dict[str, Any]:
    return _run(
        tmp_path,
        """
rig.install(plan())
rig.start()
await rig.advance(50)
rig.snap("idle")
rig.runner.start()
await rig.advance(100)
rig.snap("warmup")
await rig.advance(1000)
rig.snap("warmup_1s")
await rig.press(BTN_SKIP)
await rig.advance(300)
rig.snap("work")
await rig.press(BTN_SKIP)
await rig.advance(300)
rig.snap("recovery")
await rig.press(BTN_PAUSE)
await rig.advance(300)
rig.snap("paused")
await rig.press(BTN_PAUSE)
await rig.press(BTN_STOP)
await rig.advance(300)
rig.snap("stopped")
await rig.advance(61000)  # the finished screen for a minute, then idle
rig.snap("idle_after")
rig.report(alloc=rig.frame_alloc())
""",
    )


def test_screen_session_pixels_and_no_allocation(tmp_path: Path) -> None:
    result = _session(tmp_path)
    idle = _frame(tmp_path, "idle")
    warmup = _frame(tmp_path, "warmup")
    warmup_1s = _frame(tmp_path, "warmup_1s")
    work = _frame(tmp_path, "work")
    recovery = _frame(tmp_path, "recovery")
    paused = _frame(tmp_path, "paused")
    stopped = _frame(tmp_path, "stopped")
    kind_band = (0, 0, W, 28)  # the kind word on its colour band
    # the kind's colour: red-orange for work, green for recovery, blue for the warm-up
    assert work.dominant(*kind_band) == quantize((255, 72, 0))
    assert recovery.dominant(*kind_band) == quantize((0, 200, 80))
    assert warmup.dominant(*kind_band) == quantize((60, 140, 255))
    # the countdown's digits change when a second passes (1:30 -> 1:29), the rest does not
    digits = (0, 64, W, 72)
    assert warmup.lit(*digits) > 200
    assert warmup.crop(*digits) != warmup_1s.crop(*digits)
    assert warmup.crop(*kind_band) == warmup_1s.crop(*kind_band)
    # paused: the word on black in yellow, the digits dimmed; stopped differs again
    assert quantize((255, 210, 0)) in paused.colours(*kind_band)
    assert paused.dominant(*kind_band) == (0, 0, 0)
    assert paused.crop(*kind_band) != recovery.crop(*kind_band)
    assert stopped.crop(0, 0, W, 100) != paused.crop(0, 0, W, 100)
    # idle: the program's name (rep strip) and the battery (its icon and "BAT 87%")
    assert idle.lit(0, 32, W, 32) > 100
    assert quantize((0, 200, 80)) in idle.colours(0, 64, W, 72)  # the battery icon's charge
    assert idle.lit(0, 160, W, 24) > 50
    # back to idle a minute after: the session is not synced yet ("1 TO SYNC")
    idle_after = _frame(tmp_path, "idle_after")
    assert idle_after.crop(0, 0, W, 64) == idle.crop(0, 0, W, 64)
    assert idle_after.crop(0, 136, W, 24) != idle.crop(0, 136, W, 24)
    assert idle_after.lit(0, 136, W, 24) > 50
    # a redraw allocates nothing (it ran with the heap locked)
    assert result["alloc"] == 0
    assert result["alive"]
    # redraws: one per change or second, not one per band
    assert result["snaps"]["warmup_1s"] - result["snaps"]["warmup"] <= 2


def test_screen_mono_128x64(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        """
rig.install(plan())
rig.start()
await rig.advance(50)
rig.snap("idle")
rig.runner.start()
await rig.advance(100)
rig.snap("warmup")
await rig.advance(1000)
rig.snap("warmup_1s")
rig.report(alloc=rig.frame_alloc())
""",
        w=128,
        h=64,
        mono=True,
    )
    idle = _frame(tmp_path, "idle", 128, 64, True)
    warmup = _frame(tmp_path, "warmup", 128, 64, True)
    warmup_1s = _frame(tmp_path, "warmup_1s", 128, 64, True)
    assert warmup.lit(0, 0, 128, 16) > 50  # "WARM-UP", lit though blue is dark in 1 bit
    assert warmup.lit(0, 24, 128, 32) > 100  # the digits
    assert warmup.crop(0, 24, 128, 32) != warmup_1s.crop(0, 24, 128, 32)
    assert idle.crop(0, 0, 128, 16) != warmup.crop(0, 0, 128, 16)
    assert result["alloc"] == 0
    assert result["alive"]


def test_screen_240x240_layout(tmp_path: Path) -> None:
    # the T-Watch S3's square panel: the word at 3x, every strip inside the panel
    result = _run(
        tmp_path,
        """
rig.install(plan())
rig.start()
rig.runner.start()
await rig.advance(100)
await rig.press(BTN_SKIP)
await rig.advance(300)
rig.snap("work")
rig.report(alloc=rig.frame_alloc(), ys=rig.screen.lay.ys, hs=rig.screen.lay.hs)
""",
        w=240,
        h=240,
    )
    work = _frame(tmp_path, "work", 240, 240)
    assert work.dominant(0, 0, 240, 36) == quantize((255, 72, 0))
    assert work.lit(0, 72, 240, 120) > 1000  # the digits
    assert all(y + h <= 240 for y, h in zip(result["ys"], result["hs"], strict=True))
    assert result["alloc"] == 0
    assert result["alive"]


def test_screen_sleep_stops_redraws_and_wake_redraws_everything(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        """
rig.install(plan())
rig.start()
rig.runner.start()
await rig.advance(500)
rig.screen.sleep()
await rig.advance(10)
asleep_blits = rig.board.display.blits
asleep_lit = rig.board.display.lit
await rig.advance(5000)  # five seconds of countdown, none drawn
still = rig.board.display.blits
rig.screen.wake()
await rig.advance(10)
rig.snap("woken")
rig.report(asleep_lit=asleep_lit, slept_blits=still - asleep_blits,
           woken_blits=rig.board.display.blits - still, lit=rig.board.display.lit)
""",
    )
    assert result["asleep_lit"] is False
    assert result["slept_blits"] == 0
    assert result["lit"] is True
    assert result["woken_blits"] >= 15  # the whole panel: every strip, band by band
    woken = _frame(tmp_path, "woken")
    assert woken.dominant(0, 0, W, 28) == quantize((60, 140, 255))  # still the warm-up
