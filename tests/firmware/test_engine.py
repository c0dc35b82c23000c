"""The engine in the real micropython binary: timing on a virtual 30-bit clock, buttons,
records, refusals, limits, and no allocation on the hot path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.mpy import run_mpy

GOLDEN = Path(__file__).parent / "golden"

_PRELUDE = """
import json
import harness as h
from harness import work_t, work_d, rec_t, rec_d
from repcue_fw.wire.host.events import cue_name
from repcue_fw.engine import *
from repcue_fw.wire.events import *
from repcue_fw.engine import EngineError
from harness import Engine
from repcue_fw.wire.host.program import *
def cue_log(log):
    return [[ms, cue_name(a), b] for ms, code, a, b, due in log.events if code == EV_CUE]
"""


def mpy(code: str, heap_kb: int | None = None) -> Any:
    """Run `code` after the prelude under micropython; return its last printed line as JSON."""
    out = run_mpy(_PRELUDE + code, extra_path=[GOLDEN], heap_kb=heap_kb)
    return json.loads(out.strip().splitlines()[-1])


def test_two_hour_program_changes_land_exactly_on_schedule_across_the_wrap() -> None:
    r = mpy("""
p = h.two_hour_program()
e, c, rec, log = h.session(p, start=h.NEAR_WRAP)
steps = rec.steps()
sched = []
t = 0
for s in steps:
    sched.append(t)
    t += s[4] * 1000
starts = log.step_starts()
print(json.dumps({
    "starts": [ms for ms, i in starts], "sched": sched, "n": len(steps),
    "planned": e.planned_steps, "elapsed_ok": all(s[5] == s[4] * 1000 for s in steps),
    "end": list(rec.end()), "now": c.now, "start": e.start_ticks,
    "total": c.ticks_diff(c.now, e.start_ticks),
}))
""")
    assert r["n"] == r["planned"] == 1 + 3 * 50 + 2 + 1
    assert r["starts"] == r["sched"]  # every change at exactly its scheduled ms: zero drift
    assert r["elapsed_ok"]
    assert r["total"] == 7_200_000
    assert r["now"] < r["start"]  # the clock wrapped past 2**30 during the session
    assert r["end"] == ["end", 7_200_000, 0, 0, 0, 0, 0]  # finished, cue lateness 0


def test_late_polls_never_move_later_deadlines() -> None:
    # Every poll lands 0-17 ms late; deadlines stay on the exact schedule (no accumulation).
    r = mpy("""
seed = [12345]
def jitter(k):
    seed[0] = (seed[0] * 1103515245 + 12345) & 0x7FFFFFFF
    return seed[0] % 18
p = h.two_hour_program()
e, c, rec, log = h.session(p, start=h.NEAR_WRAP, jitter=jitter)
starts = [(ms, due) for ms, code, a, b, due in log.events if code == EV_STEP_START]
sched = []
t = 0
for s in rec.steps():
    sched.append(t)
    t += s[4] * 1000
print(json.dumps({"due": [d for ms, d in starts], "sched": sched,
    "late": [ms - d for ms, d in starts], "end": list(rec.end()),
    "elapsed": [s[5] for s in rec.steps()], "planned": [s[4] * 1000 for s in rec.steps()]}))
""")
    assert r["due"] == r["sched"]
    assert r["elapsed"] == r["planned"]
    assert max(r["late"]) <= 17 and max(r["late"]) > 0
    end = r["end"]
    assert end[1] == 7_200_000
    assert 0 < end[4] <= 17  # late_max_ms
    assert 0 < end[5] <= 17  # late_mean_ms


def test_pause_is_silent_and_shifts_every_later_deadline() -> None:
    r = mpy("""
p = Program([work_t(60), rec_t(30)])
e, c, rec, log = h.session(p, presses=[(58500, BTN_PAUSE), (70500, BTN_START)])
print(json.dumps({"cues": cue_log(log), "steps": rec.steps(), "end": list(rec.end())}))
""")
    assert [c[:2] for c in r["cues"]] == [
        [0, "work"],
        [57000, "countdown"],
        [58000, "countdown"],
        [58500, "pause"],  # the 59 s tick is held while paused...
        [70500, "resume"],
        [71000, "countdown"],  # ...and comes 12 s later, like the change
        [72000, "recovery"],
        [99000, "countdown"],
        [100000, "countdown"],
        [101000, "countdown"],
        [102000, "finish"],
    ]
    # step records: index, kind, reason (0 time), planned, active elapsed, laps
    assert r["steps"] == [
        ["step", 0, 1, 0, 60, 60000, []],
        ["step", 1, 2, 0, 30, 30000, []],
    ]
    assert r["end"] == ["end", 102000, 12000, 1, 0, 0, 0]


def test_laps_inside_a_time_step_are_recorded_and_cued() -> None:
    r = mpy("""
p = Program([work_t(60), rec_t(10)], countdown_s=0)
e, c, rec, log = h.session(p, presses=[(20000, BTN_LAP), (45500, BTN_LAP)])
laps = [[a, b] for ms, code, a, b, d in log.events if code == EV_LAP]
print(json.dumps({"cues": cue_log(log), "steps": rec.steps(), "laps": laps}))
""")
    assert r["cues"] == [
        [0, "work", 0],
        [20000, "lap", 0],
        [45500, "lap", 0],
        [60000, "recovery", 1],
        [70000, "finish", 1],
    ]
    assert r["laps"] == [[0, 20000], [0, 25500]]  # each lap's own split
    assert r["steps"][0] == ["step", 0, 1, 0, 60, 60000, [20000, 25500]]
    assert r["steps"][1][6] == []


def test_lap_ends_distance_and_open_steps() -> None:
    r = mpy("""
p = Program([work_d(800), Step(KIND_RECOVERY, END_OPEN, 90), work_t(5)], countdown_s=0)
e, c, rec, log = h.session(p, pilot=False, presses=[(150000, BTN_LAP), (200000, BTN_LAP)])
print(json.dumps({"cues": cue_log(log), "steps": rec.steps()}))
""")
    assert r["cues"] == [
        [0, "work", 0],  # no pace: no ghost; no deadline at all until the lap
        [150000, "recovery", 1],
        [200000, "work", 2],
        [205000, "finish", 2],
    ]
    assert r["steps"] == [
        ["step", 0, 1, 1, 800, 150000, []],  # reason 1: lap
        ["step", 1, 2, 1, 90, 50000, []],
        ["step", 2, 1, 0, 5, 5000, []],
    ]


def test_skip_ends_the_step_and_the_next_gets_its_full_time() -> None:
    r = mpy("""
p = Program([work_t(60), rec_t(30), work_t(10)], countdown_s=0)
e, c, rec, log = h.session(p, presses=[(10000, BTN_SKIP), (25000, BTN_SKIP)])
print(json.dumps({"cues": cue_log(log), "steps": rec.steps(), "end": list(rec.end())}))
""")
    assert r["cues"] == [
        [0, "work", 0],
        [10000, "recovery", 1],
        [25000, "work", 2],  # the last work step of a flat list is not a "last rep"
        [35000, "finish", 2],
    ]
    assert [s[3] for s in r["steps"]] == [2, 2, 0]  # skip, skip, time
    assert [s[5] for s in r["steps"]] == [10000, 15000, 10000]
    assert r["end"][1] == 35000 and r["end"][6] == 0  # finished (skips are not a stop)


def test_long_press_stop_saves_the_step_and_the_session() -> None:
    r = mpy("""
p = Program([h.Repeat(5, [work_t(60), rec_t(60)])])
e, c, rec, log = h.session(p, presses=[(30000, BTN_LAP), (70000, BTN_PAUSE),
                                       (75000, BTN_STOP), (80000, BTN_START)])
after = [e.press(b, c.now) for b in (BTN_START, BTN_LAP, BTN_STOP, BTN_PAUSE)]
print(json.dumps({"cues": cue_log(log), "steps": rec.steps(), "end": list(rec.end()),
    "finished": e.finished, "running": e.running, "after": after,
    "deadline": e.next_deadline(), "reason": e.end_reason}))
""")
    assert r["cues"][-1] == [75000, "finish", 1]
    assert r["steps"] == [
        ["step", 0, 1, 0, 60, 60000, [30000]],
        ["step", 1, 2, 3, 60, 10000, []],  # stopped 10 s into the jog (paused 5 s not counted)
    ]
    assert r["end"] == ["end", 75000, 5000, 1, 0, 0, 1]  # stopped
    assert r["finished"] and not r["running"] and r["reason"] == 1
    assert r["after"] == [False, False, False, False]
    assert r["deadline"] is None


def test_lap_and_skip_do_nothing_while_paused() -> None:
    r = mpy("""
p = Program([work_t(20)], countdown_s=0)
c = h.VClock(100)
e = Engine(p, 1, c, h.ListRecorder())
log = h.Log(e, c)
e.start(c.now)
c.advance(5000)
got = [e.press(BTN_PAUSE, c.now)]
c.advance(1000)
got += [e.press(BTN_LAP, c.now), e.press(BTN_SKIP, c.now), e.next_deadline()]
c.advance(60000)
got += [e.poll(c.now), e.press(BTN_PAUSE, c.now), c.ticks_diff(e.next_deadline(), c.now)]
print(json.dumps({"got": got, "paused": e.paused, "cues": cue_log(log)}))
""")
    assert r["got"] == [True, False, False, None, 0, True, 15000]
    assert [c[1] for c in r["cues"]] == ["work", "pause", "resume"]


def test_refused_start_when_the_journal_is_full() -> None:
    r = mpy("""
p = Program([work_t(20)])
c = h.VClock(0)
rec = h.ListRecorder(full=True)
e = Engine(p, 1, c, rec)
events = []
e.add_listener(lambda code, a, b: events.append([code, a, b]))
try:
    e.start(c.now)
    err = None
except h.JournalFull as x:
    err = str(x)
got = [e.running, e.finished, e.next_deadline(), e.press(BTN_LAP, c.now)]
print(json.dumps({"err": err, "events": events, "got": got, "calls": rec.calls}))
""")
    assert r["err"] == "only unsynced sessions left"
    assert r["events"] == [[3, 10, -1], [9, 0, 0]]  # EV_CUE refused, EV_REFUSED
    assert r["got"] == [False, False, None, False]
    assert r["calls"] == []


def test_a_failing_recorder_does_not_stop_the_cues() -> None:
    r = mpy("""
p = Program([work_t(10), rec_t(10)], countdown_s=0)
rec = h.ListRecorder(fail_steps=True)
e, c, rec, log = h.session(p, recorder=rec)
errs = [[a, b] for ms, code, a, b, d in log.events if code == EV_RECORD_ERROR]
print(json.dumps({"cues": cue_log(log), "errors": e.record_errors, "errs": errs,
    "end": list(rec.end()), "err": repr(e.record_error)}))
""")
    assert [c[1] for c in r["cues"]] == ["work", "recovery", "finish"]
    assert r["errors"] == 2 and r["errs"] == [[0, 0], [1, 0]]
    assert r["end"][1] == 20000  # the session footer still went in
    assert "28" in r["err"]


def test_begin_session_gets_program_id_wall_time_and_uptime() -> None:
    r = mpy("""
p = Program([work_t(1)])
c = h.VClock(h.NEAR_WRAP)
rec = h.ListRecorder()
e = Engine(p, 0xBEEF, c, rec)
events = []
e.add_listener(lambda code, a, b: events.append([code, a, b]))
sid = e.start(c.now, 1700000000, 123456)
print(json.dumps({"sid": sid, "calls": rec.calls, "first": events[:3]}))
""")
    assert r["sid"] == 7
    assert r["calls"] == [["begin", 0xBEEF, 1700000000, 123456]]
    assert r["first"] == [[1, 7, 1], [3, 2, 0], [2, 0, 1]]  # session start, work cue, step start


def test_drop_last_recovery_and_nesting_follow_the_codec_count() -> None:
    r = mpy("""
p = Program([
    Step(KIND_WARMUP, END_TIME, 5),
    h.Repeat(3, [h.Repeat(2, [work_t(2), rec_t(1)], True), rec_t(4, 0, KIND_REST)], True),
    h.Repeat(2, [work_t(1), h.Repeat(2, [rec_t(1)])], True),
], countdown_s=0)
e, c, rec, log = h.session(p)
print(json.dumps({"kinds": [s[2] for s in rec.steps()], "n": len(rec.steps()),
    "count": expanded_count(p.nodes), "cues": [x[1] for x in cue_log(log)]}))
""")
    w, r_, rest, wu = 1, 2, 3, 0
    one_set = [w, r_, w]
    assert r["kinds"] == [wu, *one_set, rest, *one_set, rest, *one_set, w, r_, r_, w, r_, r_]
    assert r["n"] == r["count"]  # the nested recovery block is not a trailing Step: kept
    assert r["cues"].count("last_rep") == 2  # 6th rep of the 3x2 block, 2nd of the 2x block


def test_last_rep_rules() -> None:
    r = mpy("""
def starts(p):
    e, c, rec, log = h.session(p)
    return [x[1] for x in cue_log(log) if x[1] in ("work", "last_rep")]
print(json.dumps([
    starts(Program([h.Repeat(3, [work_t(2), rec_t(1)])])),
    starts(Program([h.Repeat(3, [work_t(2), rec_t(1)])], last_rep=False)),
    starts(Program([h.Repeat(1, [work_t(2), work_t(2)])])),
    starts(Program([h.Repeat(2, [work_t(2), work_t(3), rec_t(1)])])),
    starts(Program([h.Repeat(2, [rec_t(2)]), work_t(2)])),
    starts(Program([h.Repeat(1, [h.Repeat(2, [work_t(2)])]), work_t(1)])),
]))
""")
    assert r == [
        ["work", "work", "last_rep"],
        ["work", "work", "work"],
        ["work", "work"],  # one round: nothing to count down
        ["work", "work", "work", "last_rep"],  # the last WORK step, not the round's first
        ["work"],  # a block without work has no last rep; a step outside blocks neither
        ["work", "last_rep", "work"],
    ]


def test_countdown_and_halfway_options_per_step_and_program() -> None:
    r = mpy("""
def log_of(p):
    e, c, rec, log = h.session(p)
    return [[x[0], x[1]] for x in cue_log(log)]
print(json.dumps([
    log_of(Program([Step(KIND_WORK, END_TIME, 10, countdown_s=5, halfway=False)], halfway=True)),
    log_of(Program([Step(KIND_WORK, END_TIME, 2)], countdown_s=3)),
    log_of(Program([Step(KIND_WORK, END_TIME, 10, halfway=True)], countdown_s=0)),
    log_of(Program([Step(KIND_WORK, END_TIME, 8, halfway=True)], countdown_s=4)),
    log_of(Program([Step(KIND_WORK, END_TIME, 0), rec_t(1)], countdown_s=3)),
]))
""")
    assert r[0] == [
        [0, "work"],
        *[[t, "countdown"] for t in range(5000, 10000, 1000)],
        [10000, "finish"],
    ]
    assert r[1] == [[0, "work"], [1000, "countdown"], [2000, "finish"]]  # no tick at the start
    assert r[2] == [[0, "work"], [5000, "halfway"], [10000, "finish"]]
    # halfway at 4 s would fall inside the 4 s countdown: the countdown wins
    assert r[3] == [
        [0, "work"],
        *[[t, "countdown"] for t in range(4000, 8000, 1000)],
        [8000, "finish"],
    ]
    assert r[4] == [[0, "work"], [0, "recovery"], [1000, "finish"]]  # a 0 s step passes at once


def test_ghost_cues_follow_the_target_pace_and_can_be_off() -> None:
    r = mpy("""
def log_of(p, ghost=True):
    e, c, rec, log = h.session(p, pilot=False, presses=[(200000, BTN_LAP)], ghost=ghost)
    return [[x[0], x[1]] for x in cue_log(log)]
p = Program([Step(KIND_WORK, END_DISTANCE, 250, TARGET_PACE, 0, 3000)])  # 5:00/km
print(json.dumps([log_of(p), log_of(p, False),
    log_of(Program([Step(KIND_WORK, END_DISTANCE, 250, TARGET_PACE, 3, 0)]))]))
""")
    # 5:00/km: 30 s per 100 m; marks at 100 m, 200 m and the full 250 m (75 s, expected time)
    assert r[0] == [
        [0, "work"],
        [30000, "ghost"],
        [60000, "ghost"],
        [75000, "ghost"],
        [200000, "finish"],
    ]
    assert r[1] == [[0, "work"], [200000, "finish"]]
    assert r[2] == [[0, "work"], [200000, "finish"]]  # pace not known (0): no ghost


def test_expected_time_of_a_paced_distance_step() -> None:
    r = mpy("""
from repcue_fw.wire.steps import expected_ms
print(json.dumps([expected_ms(work_d(800, 3, 2250)), expected_ms(work_d(800)),
    expected_ms(Step(KIND_RECOVERY, END_OPEN, 90)), expected_ms(work_t(45))]))
""")
    assert r == [180000, 0, 90000, 45000]


@pytest.mark.parametrize(
    ("program", "field", "step"),
    [
        (
            "Program([h.Repeat(2, [h.Repeat(2, [h.Repeat(2, [h.Repeat(2, [h.Repeat(2, "
            "[work_t(1)])])])])])])",
            "depth",
            4,
        ),
        ("Program([work_t(1), h.Repeat(0, [work_t(1)])])", "repeat.count", 1),
        ("Program([work_t(1), work_t(90000)])", "step.value", 1),
        (
            "Program([work_t(1), Step(KIND_WORK, END_DISTANCE, 50000, TARGET_PACE, 0, 18000)])",
            "step.value",
            1,
        ),
        ("Program([h.Repeat(2, [])])", "nodes", 0),
        ("Program([])", "nodes", -1),
        ("Program([work_t(-1)])", "step.value", 0),
    ],
)
def test_programs_the_engine_cannot_run_raise_engine_error(
    program: str, field: str, step: int
) -> None:
    r = mpy(f"""
try:
    Engine({program}, 1, h.VClock())
    print(json.dumps(None))
except EngineError as err:
    print(json.dumps([err.field, err.step, str(err)]))
""")
    assert r is not None
    assert r[:2] == [field, step]
    assert r[2]


def test_starting_twice_is_an_error_and_a_decoded_program_runs() -> None:
    r = mpy("""
from repcue_fw.wire.host import program as wp
p = h.examples()[1][2]
data = wp.encode(p)
e, c, rec, log = h.session(wp.decode(data), program_id=wp.program_id(data))
try:
    e.start(c.now)
    err = None
except EngineError as x:
    err = x.field
print(json.dumps({"err": err, "id": rec.calls[0][1], "crc": wp.program_id(data),
    "n": len(rec.steps())}))
""")
    assert r["err"] == "state"
    assert r["id"] == r["crc"]
    assert r["n"] == 12


def test_the_hot_path_allocates_nothing() -> None:
    # A whole 999-round session polled with the heap locked: the cursor walks the repeat
    # without unrolling it and no poll, cue, change or record call allocates.
    r = mpy(
        """
import gc, micropython
class Quiet:
    def __init__(self):
        self.n = [0, 0, 0]
    def begin_session(self, pid, wall_s, up):
        return 1
    def append_step(self, index, kind, reason, planned, elapsed, laps):
        self.n[0] += 1
    def end_session(self, total, paused, pauses, late_max, late_mean, reason):
        self.n[1] = total
counts = [0] * 16
def listener(code, a, b):
    counts[code] += 1
p = Program([
    h.Repeat(999, [work_t(1), rec_t(2)], True),
    Step(KIND_WORK, END_DISTANCE, 300, TARGET_PACE, 0, 2400),
], countdown_s=1, halfway=True)
c = h.VClock(h.NEAR_WRAP)
q = Quiet()
e = Engine(p, 1, c, q)
e.add_listener(listener)
d = None  # this script's own global, made before the lock (a new one may grow the dict)
gc.collect()
before = gc.mem_free()
e.start(c.now)
micropython.heap_lock()
try:
    while True:
        d = e.next_deadline()
        if d is None:
            break
        c.to(d)
        e.poll(c.now)
    c.advance(1000)
    e.press(BTN_LAP, c.now)
finally:
    micropython.heap_unlock()
print(json.dumps({"steps": q.n[0], "total": q.n[1], "cues": counts[EV_CUE],
    "finished": e.finished, "used": before - gc.mem_free()}))
"""
    )
    assert r["finished"]
    assert r["steps"] == 999 * 2 - 1 + 1
    assert r["total"] == 999 * 1000 + 998 * 2000 + 73000
    # per round: work (1 s: no room for a tick), recovery, its countdown tick; the last round
    # drops its recovery; then the paced 300 m (start, 3 ghost marks) and the finish
    assert r["cues"] == 998 * 3 + 1 + 1 + 3 + 1
    assert r["used"] < 2048


def test_event_order_the_cue_first_then_step_end_then_step_start() -> None:
    r = mpy("""
p = Program([work_d(400), rec_t(2)], countdown_s=0)
e, c, rec, log = h.session(p, pilot=False, presses=[(90000, BTN_LAP)])
print(json.dumps([[ms, code, a, b] for ms, code, a, b, due in log.events]))
""")
    assert r == [
        [0, 1, 7, 2],  # EV_SESSION_START: session 7, 2 planned steps
        [0, 3, 2, 0],  # EV_CUE work, step 0
        [0, 2, 0, 1],  # EV_STEP_START: step 0, kind work
        [90000, 3, 3, 1],  # the change cue (recovery) before anything else
        [90000, 8, 0, 1],  # EV_STEP_END: step 0 ended by a lap
        [90000, 2, 1, 2],  # EV_STEP_START: step 1, kind recovery
        [92000, 3, 9, 1],  # EV_CUE finish
        [92000, 8, 1, 0],  # EV_STEP_END: step 1 ended on time
        [92000, 7, 0, 92000],  # EV_FINISH: finished, total 92 s
    ]
