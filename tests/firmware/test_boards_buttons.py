"""The board helpers in the real micropython binary: the gesture decoder (short / double /
long press, timed at the first press edge, across the 30-bit tick wrap), the bounded
button queue, and the sim board's clock (stepped wakes on exact ticks, the wrap, speed)."""

from __future__ import annotations

import json
from typing import Any

from tests.mpy import run_mpy

_PRELUDE = """
import asyncio, json, time
from repcue_fw.boards.buttons import ButtonDecoder
from repcue_fw.boards.base import ButtonQueue
from repcue_fw.boards.sim.clock import SimClock, PERIOD
LAP, PAUSE, SKIP, STOP = 3, 2, 4, 5
START = PERIOD - 1000   # 1 s before the wrap of a 32-bit board's ticks_ms
clock = SimClock("stepped", 1, START)
out = []
def emit(btn, ticks):
    out.append([btn, ticks])
def t(ms):
    return clock.ticks_add(START, ms)
"""


def _run(body: str) -> Any:
    return json.loads(run_mpy(_PRELUDE + body).strip().splitlines()[-1])


def test_short_press_without_double_mapping_fires_on_release() -> None:
    got = _run(
        """
d = ButtonDecoder(((PAUSE, 0, STOP),), clock, emit)
d.edge(0, 1, t(900))
d.edge(0, 0, t(1100))        # released 1.1 s after START: after the wrap
print(json.dumps([out, d.next_deadline(), d.busy()]))
"""
    )
    assert got == [[[2, (1 << 30) - 100]], None, False]


def test_short_press_with_double_mapping_waits_for_the_window() -> None:
    got = _run(
        """
d = ButtonDecoder(((LAP, SKIP, STOP),), clock, emit)
d.edge(0, 1, t(990))
d.edge(0, 0, t(1050))
waiting = list(out)
deadline = d.next_deadline()
d.poll(t(1050 + 299))
before = list(out)
d.poll(t(1050 + 300))
print(json.dumps([waiting, clock.ticks_diff(deadline, t(1050)), before, out]))
"""
    )
    waiting, window_ms, before, after = got
    assert waiting == [] and before == []
    assert window_ms == 300
    # reported with the tick of the press, which was before the wrap
    assert after == [[3, (1 << 30) - 10]]


def test_double_press_and_long_press() -> None:
    got = _run(
        """
d = ButtonDecoder(((LAP, SKIP, STOP), (PAUSE, 0, STOP)), clock, emit)
d.edge(0, 1, t(0)); d.edge(0, 0, t(80)); d.edge(0, 1, t(200)); d.edge(0, 0, t(260))
d.poll(t(2000))
double = list(out)
del out[:]
d.edge(1, 1, t(3000))
d.poll(t(3799))
early = list(out)
d.poll(t(3800))
held = list(out)
d.edge(1, 0, t(5000))        # the release after a long press reports nothing more
d.poll(t(6000))
print(json.dumps([double, early, held, out, d.busy()]))
"""
    )
    double, early, held, after, busy = got
    assert double == [[4, (1 << 30) - 1000]]
    assert early == []
    assert held == [[5, 2000]] == after
    assert busy is False


def test_short_only_button_reports_on_the_press_edge() -> None:
    got = _run(
        """
d = ButtonDecoder(((LAP, 0, 0),), clock, emit)
d.edge(0, 1, t(0))
on_press = list(out)
d.poll(t(5000)); d.edge(0, 0, t(5001)); d.poll(t(9000))
print(json.dumps([on_press, out, d.busy()]))
"""
    )
    on_press, after, busy = got
    assert on_press == [[3, (1 << 30) - 1000]] == after  # once, at the press; not on release
    assert busy is False


def test_unmapped_gesture_reports_nothing_and_mapping_can_change() -> None:
    got = _run(
        """
d = ButtonDecoder(((LAP, 0, SKIP),), clock, emit)
d.edge(0, 1, t(0)); d.poll(t(500)); d.edge(0, 0, t(501))
first = list(out)
try:
    d.set_mapping(((1, 2, 3), (4, 5, 6)))
    bad = "accepted"
except ValueError as e:
    bad = str(e)
d.set_mapping(((0, 0, STOP),))
d.edge(0, 1, t(6000)); d.poll(t(7000))
print(json.dumps([first, bad, out]))
"""
    )
    first, bad, after = got
    # released before long_ms: a short press, reported on release
    assert first == [[3, 0 - 1000 + (1 << 30)]]
    assert "1 buttons" in bad
    assert after[-1] == [5, 5000]


def test_button_queue_is_bounded_and_keeps_press_ticks() -> None:
    got = _run(
        """
q = ButtonQueue(3)
pushed = [q.push(b, 100 + b) for b in (1, 2, 3, 4)]
async def main():
    first = await q.get()
    return [first, q.last_ticks, q.get_nowait(), len(q)]
res = asyncio.run(main())
print(json.dumps([pushed, q.dropped, res, q.get_nowait(), q.get_nowait()]))
"""
    )
    pushed, dropped, res, third, empty = got
    assert pushed == [True, True, True, False] and dropped == 1
    assert res == [1, 101, [2, 102], 1]
    assert third == [3, 103] and empty is None


def test_button_queue_wakes_a_waiting_task() -> None:
    got = _run(
        """
q = ButtonQueue()
async def presser():
    await asyncio.sleep_ms(5)
    q.push(LAP, 42)
async def main():
    asyncio.create_task(presser())
    return [await q.get(), q.last_ticks]
print(json.dumps(asyncio.run(main())))
"""
    )
    assert got == [3, 42]


def test_stepped_clock_wakes_each_sleeper_on_its_exact_tick_across_the_wrap() -> None:
    got = _run(
        """
log = []
async def sleeper(name, ms):
    await clock.sleep_ms(ms)
    log.append([name, clock.elapsed_ms(), clock.ticks_ms()])
async def chain():
    for _ in range(3):
        await clock.sleep_ms(700)
        log.append(["chain", clock.elapsed_ms(), clock.ticks_ms()])
async def main():
    asyncio.create_task(sleeper("b", 1500))
    asyncio.create_task(sleeper("a", 250))
    asyncio.create_task(chain())
    await clock.settle()
    wake = clock.next_wake_ms()
    end = await clock.advance(1600)
    late = await clock.advance(1000)
    return [wake, end, late]
res = asyncio.run(main())
print(json.dumps([res, log, clock.ticks_diff(clock.ticks_ms(), START)]))
"""
    )
    res, log, since_start = got
    assert res == [250, 1600, 2600]
    period = 1 << 30
    expected = [
        ["a", 250, period - 750],
        ["chain", 700, period - 300],
        ["chain", 1400, 400],
        ["b", 1500, 500],
        ["chain", 2100, 1100],
    ]
    assert log == expected
    assert since_start == 2600


def test_stepped_clock_forgets_a_cancelled_sleep_and_refuses_going_back() -> None:
    got = _run(
        """
async def main():
    task = asyncio.create_task(clock.sleep_ms(500))
    await clock.settle()
    before = clock.next_wake_ms()
    task.cancel()
    await clock.settle()
    after = clock.next_wake_ms()
    try:
        await clock.advance(-1)
        back = "moved"
    except ValueError as e:
        back = str(e)
    return [before, after, back]
print(json.dumps(asyncio.run(main())))
"""
    )
    assert got == [500, None, "cannot move the clock back"]


def test_real_clock_runs_at_speed_and_wraps_in_30_bits() -> None:
    got = _run(
        """
fast = SimClock("real", 60, PERIOD - 100)
t0 = fast.ticks_ms()
time.sleep_ms(50)        # at least 50 real ms: at least 3 virtual s
passed = fast.ticks_diff(fast.ticks_ms(), t0)
errors = []
for bad in (("slow", 1, 0), ("real", 0, 0), ("real", 1.5, 0)):
    try:
        SimClock(*bad)
    except ValueError as e:
        errors.append(str(e)[:20])
print(json.dumps([passed, fast.ticks_ms() < PERIOD, fast.ticks_add(PERIOD - 1, 2),
                  fast.ticks_diff(1, PERIOD - 1), fast.ticks_diff(PERIOD - 1, 1), errors]))
"""
    )
    passed, in_range, added, diff_fwd, diff_back, errors = got
    assert passed >= 50 * 60 - 60
    assert in_range is True
    assert added == 1 and diff_fwd == 2 and diff_back == -2
    assert len(errors) == 3
