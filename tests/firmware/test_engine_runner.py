"""The runner in the real micropython binary, on a small fake board whose clock is real time
(time.ticks_ms): cues arrive in order, never before their deadline, button presses wake the
sleeping loop and are timed at their press tick, starts are refused without a program or with
a full journal, and a finished session's engine is dropped.

No timed assertions: only order, never-early, exact splits of presses stamped with a known
tick, and that the run finished (each scenario lasts a few seconds of real time at most)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.mpy import run_mpy

GOLDEN = Path(__file__).parent / "golden"

_BOARD = """
import asyncio, json, time
import harness as h
from harness import work_t, rec_t
from repcue_fw import cues
from repcue_fw.wire.host.events import cue_name
from repcue_fw.engine import *
from repcue_fw.wire.events import *
from repcue_fw.engine import EngineError
from repcue_fw.app import press_buttons
from repcue_fw.runner import Runner
from repcue_fw.wire.host import program as wp
from repcue_fw.wire.program import ProgramBytes
from repcue_fw.wire.host.program import Program, Repeat

class Buttons:
    # the HAL's button queue reduced to what the runner uses: get() and last_ticks
    def __init__(self):
        self.queue = []
        self.flag = asyncio.Event()
        self.last_ticks = 0
    def put(self, btn):
        self.queue.append((btn, time.ticks_ms()))
        self.flag.set()
    async def get(self):
        while not self.queue:
            self.flag.clear()
            await self.flag.wait()
        btn, self.last_ticks = self.queue.pop(0)
        return btn

class Board:
    name = "fake"
    def __init__(self):
        self.cues = []
        self.buttons = Buttons()
        self.runner = None
    def ticks_ms(self):
        return time.ticks_ms()
    def ticks_add(self, t, d):
        return time.ticks_add(t, d)
    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)
    def sleep_ms(self, ms):
        return asyncio.sleep_ms(ms)
    def cue(self, cue_id, pattern):
        e = self.runner.engine
        now = time.ticks_ms()
        due = now if e is None else e.due
        self.cues.append([cue_name(cue_id), time.ticks_diff(now, due),
                          pattern == cues.pattern(cue_id) and len(pattern) > 0])

class Journal:
    def __init__(self, data=None, full=False):
        self.data = data
        self.full = full
        self.calls = []
        self.steps = []  # [elapsed_ms, laps_ms] per recorded step
    def program(self):
        # what app.program_source gives: the installed program and its id
        if self.data is None:
            return None
        program = ProgramBytes(self.data)
        return program, program.id
    def begin_session(self, pid, wall_s, up):
        if self.full:
            raise h.JournalFull("full")
        self.calls.append(["begin", pid, wall_s])
        return 3
    def append_step(self, index, kind, reason, planned, elapsed, laps):
        self.calls.append(["step", index, reason, list(laps) != []])
        self.steps.append([elapsed, list(laps)])
    def end_session(self, total, paused, pauses, late_max, late_mean, reason):
        self.calls.append(["end", pauses, reason])

def make(data=None, full=False, **kw):
    board = Board()
    journal = Journal(data, full)
    source = kw.pop("program_source", journal.program)
    runner = Runner(board, journal, source, **kw)
    board.runner = runner
    events = []
    runner.add_listener(lambda code, a, b: events.append([code, a, b]))
    return board, journal, runner, events
"""


def mpy(code: str) -> Any:
    out = run_mpy(_BOARD + code, extra_path=[GOLDEN], timeout_s=30)
    return json.loads(out.strip().splitlines()[-1])


def test_cues_arrive_in_order_never_early_and_presses_wake_the_loop() -> None:
    r = mpy("""
p = Program([work_t(60), rec_t(2), Repeat(2, [work_t(1)])], countdown_s=1)
data = wp.encode(p)
board, journal, runner, events = make(data, wall_clock=lambda: 1700000000)

async def user():
    await asyncio.sleep_ms(200)
    runner.press(BTN_LAP)          # a lap inside the 60 s step
    await asyncio.sleep_ms(200)
    runner.press(BTN_SKIP)         # the loop sleeps on a 60 s deadline: must wake up
    await asyncio.sleep_ms(700)
    runner.press(BTN_PAUSE)
    await asyncio.sleep_ms(300)
    runner.press(BTN_PAUSE)        # resume: every later deadline moves 300 ms

async def main():
    loop = asyncio.create_task(runner.run())
    sid = runner.start()
    await user()
    while runner.active:
        await asyncio.sleep_ms(50)
    runner.close()
    await loop
    return sid

t0 = time.ticks_ms()
sid = asyncio.run(main())
print(json.dumps({"sid": sid, "cues": board.cues, "codes": [e[0] for e in events],
    "journal": journal.calls, "took": time.ticks_diff(time.ticks_ms(), t0),
    "engine": runner.engine is None, "last": runner.last_session}))
""")
    names = [c[0] for c in r["cues"]]
    assert names == [
        "work",
        "lap",
        "recovery",
        "pause",
        "resume",
        "countdown",
        "work",
        "last_rep",
        "finish",
    ]
    assert all(c[1] >= 0 for c in r["cues"]), "a cue played before its deadline"
    assert all(c[2] for c in r["cues"]), "each cue is played with its own pattern"
    assert r["sid"] == 3
    assert r["journal"][0][0] == "begin" and r["journal"][0][2] == 1700000000
    assert [c[2] for c in r["journal"][1:-1]] == [2, 0, 0, 0]  # skip, time, time, time
    assert r["journal"][1][3] is True  # the lap was recorded in the skipped step
    assert r["journal"][-1] == ["end", 1, 0]
    codes = r["codes"]
    assert codes[0] == 1 and codes[-1] == 7  # session start ... finish
    assert codes.index(4) < codes.index(8)  # the lap before the first step end
    # Woken by the skip: far less than the 60 s step it was sleeping on.
    assert r["took"] < 30_000
    # finished on time in the run loop: the engine (and its program) is dropped
    assert r["engine"] is True
    sid, reason, total_ms, late_max_ms, _late_mean_ms = r["last"]
    assert (sid, reason) == (3, 0)  # END_FINISHED
    assert total_ms >= 2_000 and late_max_ms >= 0


def test_the_buttons_start_and_the_long_press_stops() -> None:
    r = mpy("""
p = Program([work_t(60), rec_t(60)])
board, journal, runner, events = make(wp.encode(p))

async def main():
    loop = asyncio.create_task(runner.run())
    buttons = asyncio.create_task(press_buttons(board, runner))
    board.buttons.put(BTN_START)
    await asyncio.sleep_ms(150)
    active = runner.active
    board.buttons.put(BTN_STOP)
    await asyncio.sleep_ms(150)
    runner.close()
    await loop
    buttons.cancel()
    return active

t0 = time.ticks_ms()
active = asyncio.run(main())
print(json.dumps({"active": active, "cues": [c[0] for c in board.cues],
    "journal": journal.calls, "engine": runner.engine, "last": runner.last_session,
    "took": time.ticks_diff(time.ticks_ms(), t0)}))
""")
    assert r["active"] is True
    assert r["cues"] == ["work", "finish"]
    assert r["journal"][1] == ["step", 0, 3, False]  # END_STOP
    assert r["journal"][2] == ["end", 0, 1]  # stopped
    assert r["engine"] is None  # stopped by a press: dropped too
    assert r["last"][:2] == [3, 1]  # the journal stub's session 3, END_STOPPED
    assert r["took"] < 30_000


def test_presses_are_timed_at_their_press_tick_clamped_to_the_last_event_and_now() -> None:
    r = mpy("""
from repcue_fw.boards.base import ButtonQueue
p = Program([work_t(60), rec_t(60)])
board, journal, runner, events = make(wp.encode(p))
board.buttons = ButtonQueue()  # the HAL's queue: each press carries its tick
out = {}

async def main():
    loop = asyncio.create_task(runner.run())
    btask = asyncio.create_task(press_buttons(board, runner))
    seen = time.ticks_ms()
    board.buttons.push(BTN_START, time.ticks_add(seen, -500))  # a start happens now
    await asyncio.sleep_ms(30)
    t0 = runner.engine.start_ticks
    out["start_after_push"] = time.ticks_diff(t0, seen) >= 0
    await asyncio.sleep_ms(120)
    # pressed at +40, handled ~80 ms later: the split is the press's, not the handling's
    board.buttons.push(BTN_LAP, time.ticks_add(t0, 40))
    await asyncio.sleep_ms(20)
    # stamped before the engine's last event (the lap at +40): taken as +40
    board.buttons.push(BTN_LAP, time.ticks_add(t0, 30))
    await asyncio.sleep_ms(20)
    # a tick in the future cannot be: taken as now
    board.buttons.push(BTN_LAP, time.ticks_add(time.ticks_ms(), 60000))
    await asyncio.sleep_ms(20)
    stop_at = time.ticks_add(time.ticks_ms(), -5)
    board.buttons.push(BTN_STOP, stop_at)
    await asyncio.sleep_ms(20)
    out["stop_ms"] = time.ticks_diff(stop_at, t0)
    runner.close()
    await loop
    btask.cancel()

asyncio.run(main())
out["splits"] = [e[2] for e in events if e[0] == EV_LAP]
out["steps"] = journal.steps
out["finish"] = [e[1:] for e in events if e[0] == EV_FINISH]
out["engine"] = runner.engine
out["last"] = runner.last_session
print(json.dumps(out))
""")
    assert r["start_after_push"] is True
    first, clamped, future = r["splits"]
    assert first == 40
    assert clamped == 0
    assert 0 < future < 60_000
    stop_ms = r["stop_ms"]
    # the stop lands on its own press tick: the step's elapsed time and the session total
    assert r["steps"] == [[stop_ms, [40, 0, future]]]
    assert r["finish"] == [[1, stop_ms]]  # END_STOPPED, total ms
    assert r["engine"] is None
    assert r["last"][:3] == [3, 1, stop_ms]


def test_refused_without_a_program_and_with_a_full_journal() -> None:
    r = mpy("""
out = {}
board, journal, runner, events = make(None)
out["no_program_press"] = runner.press(BTN_START)
out["no_program_error"] = runner.last_error.field
out["no_program_cues"] = [c[0] for c in board.cues]
out["no_program_events"] = list(events)
try:
    runner.start()
except EngineError as e:
    out["raised"] = e.field

p = Program([work_t(5)])
board, journal, runner, events = make(wp.encode(p), full=True)
try:
    runner.start()
except h.JournalFull:
    out["full_raised"] = True
out["full_press"] = runner.press(BTN_START)
out["full_cues"] = [c[0] for c in board.cues]
out["full_active"] = runner.active
out["other_buttons"] = [runner.press(b) for b in (BTN_LAP, BTN_SKIP, BTN_STOP, BTN_PAUSE)]
print(json.dumps(out))
""")
    assert r["no_program_press"] is False
    assert r["no_program_error"] == "program"
    assert r["no_program_cues"] == ["refused"]
    assert r["no_program_events"] == [[3, 10, -1], [9, 1, 0]]
    assert r["raised"] == "program"
    assert r["full_raised"] is True
    assert r["full_press"] is False
    assert r["full_cues"] == ["refused", "refused"]
    assert r["full_active"] is False
    assert r["other_buttons"] == [False, False, False, False]


def test_a_session_that_cannot_be_set_up_is_refused_aloud_and_logged() -> None:
    # Out of memory making the engine: a button press must still be answered with the
    # refused cue (nobody else can tell the runner), the reason goes to the board's log,
    # and nothing is left half started: the next press starts a session.
    r = mpy("""
from harness import Engine
short = [True]
def factory(program, pid, clock, recorder, ghost):
    if short[0]:
        raise MemoryError("memory allocation failed, allocating 272 bytes")
    return Engine(program, pid, clock, recorder, ghost)
board, journal, runner, events = make(wp.encode(Program([work_t(5)])), engine_factory=factory)
logged = []
board.log = logged.append
out = {"press": runner.press(BTN_START), "cues": [c[0] for c in board.cues],
       "events": list(events), "logged": logged, "active": runner.active,
       "error": type(runner.last_error).__name__}
short[0] = False
out["again"] = runner.press(BTN_START)
out["active_again"] = runner.active
print(json.dumps(out))
""")
    assert r["press"] is False and r["active"] is False
    assert r["cues"] == ["refused"]
    assert r["events"] == [[3, 10, -1], [9, 2, 0]]  # EV_CUE refused, EV_REFUSED a=2: setup
    assert r["error"] == "MemoryError"
    assert len(r["logged"]) == 1 and "MemoryError" in r["logged"][0]
    assert r["again"] is True and r["active_again"] is True


def test_program_source_and_engine_factory_replace_the_journal() -> None:
    r = mpy("""
made = []
def factory(program, pid, clock, recorder, ghost):
    from harness import Engine
    made.append([pid, ghost, recorder is None])
    return Engine(program, pid, clock, recorder, ghost)
p = Program([work_t(1)], countdown_s=0)
board = Board()
runner = Runner(board, None, program_source=lambda: (p, 42), engine_factory=factory,
                ghost=False)
board.runner = runner

async def main():
    loop = asyncio.create_task(runner.run())
    runner.start()
    try:
        runner.start()
        again = None
    except EngineError as e:
        again = e.field
    while runner.active:
        await asyncio.sleep_ms(20)
    runner.close()
    await loop
    return again

again = asyncio.run(main())
print(json.dumps({"made": made, "again": again, "cues": [c[0] for c in board.cues],
    "never_early": all(c[1] >= 0 for c in board.cues)}))
""")
    assert r["made"] == [[42, False, True]]
    assert r["again"] == "state"
    assert r["cues"] == ["work", "finish"]
    assert r["never_early"] is True
