"""repcue_fw/idle.py's glances in the real micropython binary, on the sim board's stepped
clock with a stand-in screen (the virtual device has no screen on this tree): during a
session the screen is lit for glance_ms after each engine event and dark in between; after
the session it stays lit until the board sleeps, sleep_after_ms after the last event."""

from __future__ import annotations

import json

from tests.mpy import run_mpy

_CODE = """
import asyncio, json
from repcue_fw.boards.sim import Board
from repcue_fw.idle import Idle

board = Board({"clock": "stepped", "sleep_after_ms": 60000, "glance_ms": 5000})

class Runner:
    active = True
    start_at = None
    def __init__(self):
        self.listeners = []
    def add_listener(self, fn):
        self.listeners.append(fn)

class Screen:
    def __init__(self):
        self.log = []
    def sleep(self):
        self.log.append(["sleep", board.clock.elapsed_ms()])
    def wake(self):
        self.log.append(["wake", board.clock.elapsed_ms()])

class App:
    ble = None
    pair_pending = None
    def __init__(self):
        self.board = board
        self.runner = Runner()
        self.screen = Screen()
    def wall_s(self):
        return 0
    def rebase_clock(self):
        pass

app = App()
idle = Idle(app)

def event():
    for fn in app.runner.listeners:
        fn(2, 0, 0)

async def main():
    task = asyncio.create_task(idle.run())
    clock = board.clock
    await clock.advance(1000)
    event()                       # a step change at 1 s: lit until 6 s
    await clock.advance(3000)
    event()                       # a countdown tick at 4 s: lit until 9 s
    await clock.advance(16000)
    event()                       # 20 s: lit again until 25 s
    await clock.advance(10000)
    app.runner.active = False
    event()                       # 30 s: the session's end
    await clock.advance(30000)
    lit_at_60 = board.screen_lit
    await clock.advance(60000)
    print(json.dumps([app.screen.log, lit_at_60, board.screen_lit, idle.sleeps]))
    task.cancel()

asyncio.run(main())
"""


def test_the_screen_is_lit_for_a_glance_after_each_event_and_dark_between() -> None:
    out = run_mpy(_CODE)
    log, lit_at_60, lit_at_120, sleeps = json.loads(out.strip().splitlines()[-1])
    assert log == [
        ["sleep", 9000],  # 5 s after the countdown tick, not after the change
        ["wake", 20000],
        ["sleep", 25000],
        ["wake", 30000],  # the end of the session: lit, and left lit
        ["sleep", 90000],  # the board sleeps 60 s after the last event
    ]
    assert lit_at_60 is True and lit_at_120 is False
    assert sleeps == 1
