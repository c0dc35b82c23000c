"""The wearables' power defaults in the real micropython binary, on the boards wired to the
`machine` stand-in's chip models (tests/vm/wearables.py) with a stand-in `esp32` module for
the light-sleep wake-ups: glances and naps are on by default on the M5StickC Plus2 and the
T-Watch S3 (and off on the dev boards and the sim board unless the config asks), the config
turns them off; a nap lasts the whole wait on both (B ends a Plus2 nap); the Plus2's first
press of B on a dark screen only lights it and the next one pauses; the T-Watch's first touch
on a dark screen only lights it and the next one laps; a lap on a dark screen laps and lights
it; the screen is lit for the countdown to each change.

The flows run the real App, Runner, Screen and Idle on the real clock with glance_ms 2000
from the config (the 5 s default would only make them longer); the panel model says whether
the glass is lit. No timed assertions: each check comes well inside or well past a glance."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.firmware.test_boards_sleep import ESP32
from tests.mpy import ROOT, run_mpy

STANDINS = ROOT / "device" / "repcue_device"


def _run(body: str, timeout_s: float = 60) -> Any:
    code = (
        "import asyncio, json, sys, time, machine, machine_buses, chip_models, wearables\n"
        + ESP32
        + body
    )
    out = run_mpy(code, extra_path=[STANDINS], timeout_s=timeout_s)
    return json.loads(out.strip().splitlines()[-1])


def test_the_wearables_default_to_glances_and_naps_and_the_config_turns_them_off() -> None:
    got = _run(
        """
from repcue_fw.boards.sim import Board as Sim
out = {}
for name in ("m5stickc_plus2", "twatch_s3", "esp32c3", "picow"):
    on, _ = wearables.make(name)
    off, _ = wearables.make(name, {"glance_ms": 0, "naps": False})
    out[name] = [on.glance_ms, on.NAPS, off.glance_ms, off.config["naps"]]
out["sim"] = [Sim({"clock": "stepped"}).glance_ms,
              Sim({"clock": "stepped", "glance_ms": 5000}).glance_ms]
print(json.dumps(out))
"""
    )
    assert got["m5stickc_plus2"] == [5000, True, 0, False]
    assert got["twatch_s3"] == [5000, True, 0, False]
    assert got["esp32c3"] == [0, False, 0, False]  # no screen to glance at: as before
    assert got["picow"] == [0, False, 0, False]
    assert got["sim"] == [0, 5000]  # tests ask for either


_NAPS = """
board, _ = wearables.make({board!r}, {config!r})

async def main():
    board.start()
    board.screen_lit = False     # a dark screen in a session
    board.touched_ticks = time.ticks_add(time.ticks_ms(), -5000)  # nothing came in lately
    await asyncio.sleep_ms(50)
    del machine.sleeps[:]
    await asyncio.sleep_ms(400)
    board.stop()
    print(json.dumps(list(machine.sleeps)))
asyncio.run(main())
"""


@pytest.mark.parametrize(
    ("board", "config", "expect"),
    [
        ("m5stickc_plus2", {}, "whole"),  # B and A end a nap: one for the whole wait
        ("twatch_s3", {}, "whole"),  # the touch panel ends a nap
        ("m5stickc_plus2", {"naps": False}, "none"),
        ("twatch_s3", {"naps": False}, "none"),
    ],
)
def test_a_dark_screen_naps_by_default_on_the_wearables(
    board: str, config: dict[str, Any], expect: str
) -> None:
    sleeps = _run(_NAPS.format(board=board, config=config))
    if expect == "none":
        assert sleeps == []
        return
    assert sleeps and 300 <= sum(sleeps) <= 400  # the bulk of the 400 ms wait, slept
    assert max(sleeps) > 300  # in one nap: no cap wakes the chip in between


_B_IN_A_NAP = """
board, _ = wearables.make("m5stickc_plus2")
lit = []
b = machine.Pin(39)
lap = machine.Pin(37)

async def press(pin, in_nap):
    if in_nap:
        def down(ms):
            pin.drive(0)          # pressed while the CPU is stopped
            machine.during_sleep = None
        machine.during_sleep = down
        await asyncio.sleep_ms(300)
    else:
        pin.drive(0)
    await asyncio.sleep_ms(120)
    pin.drive(1)
    await asyncio.sleep_ms(100)

async def main():
    board.start()
    board.lighter = lambda: lit.append(1)   # what repcue_fw/idle.py hands the board
    board.screen_lit = False
    board.touched_ticks = time.ticks_add(time.ticks_ms(), -5000)
    del machine.sleeps[:]
    await press(b, True)
    napped = list(machine.sleeps)
    b_lit, b_buttons = len(lit), len(board.buttons)
    await press(lap, False)                 # A on the dark screen: a lap, as ever
    got = board.buttons.get_nowait()
    board.stop()
    print(json.dumps([napped[:1], b_lit, b_buttons, len(lit), got[0] if got else None,
                      sys.modules["esp32"].ext0, sys.modules["esp32"].ext1]))
asyncio.run(main())
"""


def test_the_plus2_b_pressed_in_a_nap_on_a_dark_screen_lights_it_and_is_no_button() -> None:
    napped, b_lit, b_buttons, lit_after_lap, lap, ext0, ext1 = _run(_B_IN_A_NAP)
    assert len(napped) == 1 and napped[0] > 250  # one nap for the 300 ms wait, B ended it
    assert b_lit == 1  # the board asked for a glance
    assert b_buttons == 0  # and queued no logical button: no pause reaches the engine
    assert lap == 3 and lit_after_lap == 1  # BTN_LAP; A lights through its engine event
    assert ext0 == [39, False] and ext1 == [[37], False]  # B and A end a nap


# the real app's parts on a wired wearable: the session runs, the screen glances
_FLOW = """
from repcue_fw.app import App, press_buttons
from repcue_fw.boards.sim import _mount_ram
from repcue_fw.idle import Idle
from repcue_fw.journal import Journal
from repcue_fw.runner import Runner
from repcue_fw.screen import Screen
from repcue_fw.wire import program as P
from repcue_fw.wire.events import EV_LAP, EV_PAUSE
from repcue_fw.wire.host.program import Program, Step, encode

# naps off: the stand-in's lightsleep blocks the whole process, the test's fingers too, and
# does not wake on a touch or a press as the chip's EXT0/EXT1 would (naps and presses during
# them: the tests above)
board, parts = wearables.make({board!r}, {{"glance_ms": 2000, "naps": False}})
panel = parts["panel"]
_mount_ram(16)
journal = Journal("/flash")
journal.install_program(encode(Program([Step(P.KIND_WORK, P.END_TIME, 120)], name="x")))
app = App(board, journal, None)
runner = Runner(board, journal, program_source=app.program_source, wall_clock=app.wall_s)
app.runner = runner
board.attach(runner)
runner.add_listener(board.on_event)
events = []
runner.add_listener(lambda code, a, b: events.append(code))
board.start()
app.screen = Screen(board, runner, app)
idle = Idle(app)


async def chip_timer():   # the stand-in's pattern timer fires when told: tell it, roughly on time
    while board.player is not None:
        await asyncio.sleep_ms(200)
        if board.player._timer.armed:
            board.player._timer.fire()

tasks = [asyncio.create_task(t) for t in (runner.run(), press_buttons(board, runner, app),
                                           app.screen.run(), idle.run(), chip_timer())]


async def until(cond, ms):   # polled, so a loaded machine only makes it slower
    for _ in range(ms // 20):
        if cond():
            return True
        await asyncio.sleep_ms(20)
    return bool(cond())

def dark():
    return not panel.lit()
"""

_PLUS2 = """
async def press(gpio, ms=120):
    pin = machine.Pin(gpio)
    pin.drive(0)
    await asyncio.sleep_ms(ms)
    pin.drive(1)

async def main():
    await asyncio.sleep_ms(100)
    runner.start()
    went_dark = await until(dark, 6000)     # the start's glance ends
    mark = len(events)
    await press(37)                          # A: a lap on the dark screen
    lit_by_lap = await until(panel.lit, 3000)
    lapped = EV_LAP in events[mark:]
    dark_again = await until(dark, 6000)     # that glance ends too
    mark = len(events)
    await press(39)                          # B on the dark screen
    lit = await until(panel.lit, 3000)
    await asyncio.sleep_ms(400)              # past the double-press window
    after_b = events[mark:]
    mark = len(events)
    await press(39)                          # B again, on the lit screen
    paused = await until(lambda: EV_PAUSE in events[mark:], 3000)
    print(json.dumps([went_dark, lapped, lit_by_lap, dark_again, lit, after_b, paused]))
    for t in tasks:
        t.cancel()
    board.stop()
asyncio.run(main())
"""


def test_the_plus2_b_on_a_dark_screen_only_lights_it_and_the_next_b_pauses() -> None:
    went_dark, lapped, lit_by_lap, dark_again, lit, after_b, paused = _run(
        _FLOW.format(board="m5stickc_plus2") + _PLUS2
    )
    assert went_dark is True  # dark between events
    assert lapped is True and lit_by_lap is True  # a lap on a dark screen laps and lights
    assert dark_again is True  # for a glance, not for good
    assert lit is True  # B lit it
    assert after_b == []  # and did nothing else: no pause, no engine event at all
    assert paused is True  # B on the lit screen pauses, as ever


_WATCH = """
touch = parts["touch"]

async def tap(ms=150):   # a finger's tap; the board scans the panel, so not too short
    touch.touch(120, 120)
    await asyncio.sleep_ms(ms)
    touch.release()

async def main():
    await asyncio.sleep_ms(100)
    runner.start()
    went_dark = await until(dark, 6000)     # the start's glance ends
    mark = len(events)
    await tap()                              # the first tap on the dark screen
    lit = await until(panel.lit, 3000)
    await asyncio.sleep_ms(600)              # past the double-tap window: a lap, if any
    first = events[mark:]
    mark = len(events)
    await tap()                              # the next one, on the lit screen
    await until(lambda: EV_LAP in events[mark:], 3000)
    await asyncio.sleep_ms(600)              # a second lap, if any
    print(json.dumps([went_dark, lit, first, events[mark:].count(EV_LAP), panel.lit()]))
    for t in tasks:
        t.cancel()
    board.stop()
asyncio.run(main())
"""


def test_a_t_watch_tap_on_a_dark_screen_only_lights_it_and_the_next_tap_laps() -> None:
    went_dark, lit, first, laps, lit_after = _run(_FLOW.format(board="twatch_s3") + _WATCH)
    assert went_dark is True
    assert lit is True and first == []  # lit, and no lap (no engine event at all)
    assert laps == 1 and lit_after is True


_COUNTDOWN = """
from repcue_fw.app import App
from repcue_fw.boards.sim import Board, _mount_ram
from repcue_fw.idle import Idle
from repcue_fw.journal import Journal
from repcue_fw.runner import Runner
from repcue_fw.wire import program as P
from repcue_fw.wire.events import EV_STEP_START
from repcue_fw.wire.host.program import Program, Repeat, Step, encode

board = Board({"clock": "stepped", "sleep_after_ms": 60000, "glance_ms": 5000})
clock = board.clock
_mount_ram(16)
journal = Journal("/flash")
body = [Step(P.KIND_WORK, P.END_TIME, 20), Step(P.KIND_RECOVERY, P.END_TIME, 20)]
journal.install_program(encode(Program([Repeat(2, body)], countdown_s=3, name="x")))
app = App(board, journal, None)
runner = Runner(board, journal, program_source=app.program_source, wall_clock=app.wall_s)
app.runner = runner
changes = []
runner.add_listener(lambda c, a, b: changes.append(clock.elapsed_ms()) if c == EV_STEP_START
                    else None)

class Screen:                 # the panel's on/off as the glances drive it, timed
    def __init__(self):
        self.log = []
    def sleep(self):
        self.log.append(["sleep", clock.elapsed_ms()])
    def wake(self):
        self.log.append(["wake", clock.elapsed_ms()])

app.screen = Screen()
idle = Idle(app)

async def main():
    tasks = [asyncio.create_task(runner.run()), asyncio.create_task(idle.run())]
    await clock.advance(1000)
    runner.start()
    await clock.advance(90000)
    print(json.dumps([changes, app.screen.log]))
    for t in tasks:
        t.cancel()
asyncio.run(main())
"""


def test_the_screen_is_lit_for_the_countdown_to_each_change() -> None:
    changes, log = _run(_COUNTDOWN)
    start = changes[0]
    assert changes[1:] == [start + 20000, start + 40000, start + 60000]
    expected = [["sleep", start + 5000]]  # the first step's glance ends
    for at in changes[1:]:
        # lit at the first of the 3 countdown cues, dark 5 s after the change
        expected += [["wake", at - 3000], ["sleep", at + 5000]]
    assert log[: len(expected)] == expected
