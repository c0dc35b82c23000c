"""repcue.live.refill without a device: a gap filled in from a recorded session record (the
bytes the journal writes, through a client that serves them), the objects in order and
valid, the state as if nothing was missed, and the gaps that the record cannot fill."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

from repcue.link.client import DeviceClient
from repcue.link.messages import DeviceEvent, DeviceInfo, SessionEntry
from repcue.live import EventMapper, LiveState, validate
from repcue.live.refill import Refill, read_record
from repcue.store.analysis import planned_steps
from repcue_fw.wire.host import events as ev
from repcue_fw.wire.host import program as wp
from repcue_fw.wire.host import records as rec
from tests.host.test_live import PROGRAM, Clock

START_S = 1_700_000_000
# what the device recorded: work 0 (ended by a lap press), recovery 1 with two laps, work 2,
# recovery 3; work 4 is running (session 7 of 3 x (400 m, 60 s) + cooldown)
STEPS = [
    rec.StoredStep(0, wp.KIND_WORK, rec.END_LAP, 400, 85_000),
    rec.StoredStep(1, wp.KIND_RECOVERY, rec.END_TIME, 60, 60_000, [20_000, 15_000]),
    rec.StoredStep(2, wp.KIND_WORK, rec.END_LAP, 400, 84_000),
    rec.StoredStep(3, wp.KIND_RECOVERY, rec.END_TIME, 60, 60_000),
]
STEP_4_AT_MS = 85_000 + 60_000 + 84_000 + 60_000


def _record(complete: bool = False) -> bytes:
    session = rec.StoredSession(7, 0x1234, START_S, 0, list(STEPS), program=PROGRAM)
    if complete:
        session.steps.append(rec.StoredStep(4, wp.KIND_WORK, rec.END_STOP, 400, 30_000))
        session.end_reason, session.total_ms = rec.END_STOPPED, STEP_4_AT_MS + 30_000
    return rec.encode_session(session)


class Device:
    """The two requests the refill makes, over the journal's bytes of session 7 (None:
    reclaimed) and of any others (id: (bytes, complete))."""

    def __init__(
        self, data: bytes | None, complete: bool = False, others: dict[int, bytes] | None = None
    ) -> None:
        self.sessions = {} if data is None else {7: (data, complete)}
        self.sessions |= {i: (raw, False) for i, raw in (others or {}).items()}

    async def list_sessions(self) -> list[SessionEntry]:
        return [SessionEntry(i, len(raw), done) for i, (raw, done) in self.sessions.items()]

    async def read_session(self, session_id: int, *, size_bytes: int) -> AsyncIterator[bytes]:
        data = self.sessions[session_id][0]
        for i in range(0, size_bytes, 40):  # in chunks, as READ_SESSION answers
            yield data[i : i + 40]


def _info(clock_s: int, running: bool) -> DeviceInfo:
    return DeviceInfo(
        "51fd58aca55e", "watch", "sim", "1", 1, 0, 512, 0, 0, clock_s, 512, 1, running
    )


def _live(mapper: EventMapper, state: LiveState, refill: Refill, clock: Clock) -> None:
    """What the stream told before the link dropped: up to recovery 1's first lap."""
    state.apply(mapper.attached(_info(START_S, False)), clock.s)
    for seq, code, a, b, then_s in (
        (1, ev.EV_SESSION_START, 7, 7, 0),
        (2, ev.EV_STEP_START, 0, wp.KIND_WORK, 85),
        (3, ev.EV_STEP_END, 0, rec.END_LAP, 0),
        (4, ev.EV_STEP_START, 1, wp.KIND_RECOVERY, 20),
        (5, ev.EV_LAP, 1, 20_000, 0),
    ):
        for obj in mapper.map(DeviceEvent(code, a, b, seq)):
            assert refill.observe(obj)
            state.apply(obj, clock.s)
        clock.s += then_s


Reconnected = tuple[list[dict[str, Any]], LiveState, EventMapper, Refill]


def _after_drop(device: Device, clock: Clock, running: bool) -> Reconnected:
    mapper = EventMapper(now_s=clock)
    state = LiveState(plan=planned_steps(PROGRAM, 100), wall_now_s=clock)
    refill = Refill()
    _live(mapper, state, refill, clock)
    clock.s = START_S + STEP_4_AT_MS / 1000 + 10  # back 10 s into work 4
    client = cast(DeviceClient, device)

    async def reconnect() -> list[dict[str, Any]]:
        open_record = await read_record(client, None) if running else None
        gap = mapper.link_gap()
        attached = mapper.attached(_info(int(clock.s), running), None)
        filled = await refill.after_link(client, mapper, gap, open_record)
        return [gap, attached, *filled]

    objs = asyncio.run(reconnect())
    for obj in objs:
        validate(obj)
        state.apply(obj, clock.s)
    return objs, state, mapper, refill


def test_a_link_gap_is_filled_from_the_open_record_in_order() -> None:
    clock = Clock()
    objs, state, mapper, refill = _after_drop(Device(_record()), clock, running=True)
    gap, attached, *filled = objs
    assert (gap["why"], gap["record"], gap["refilled"]) == ("link", "read", len(filled))
    assert gap["lost"] == ["cue", "pause", "resume", "record_error", "lap"]
    assert (gap["from_index"], gap["to_index"]) == (1, 4)
    assert attached["event"] == "attached"
    told = [(o["event"], o["index"]) for o in filled]
    assert told == [
        ("lap", 1),  # the second lap: the first was seen live
        ("step_end", 1),
        ("step_start", 2),
        ("step_end", 2),
        ("step_start", 3),
        ("step_end", 3),
        ("step_start", 4),  # the step running now: its kind from the session's program
    ]
    assert all(o["filled"] is True and o["seq"] is None for o in filled)
    ends = [o for o in filled if o["event"] == "step_end"]
    assert [(o["kind"], o["reason"], o["actual_ms"]) for o in ends] == [
        ("recovery", "time", 60_000),
        ("work", "lap", 84_000),
        ("recovery", "time", 60_000),
    ]
    assert filled[0]["split_ms"] == 15_000
    base_ms = START_S * 1000
    assert filled[0]["device_ms"] == base_ms + 85_000 + 35_000  # the lap's own time
    assert filled[-1]["device_ms"] == base_ms + STEP_4_AT_MS
    assert filled[-1]["wall"] == "2023-11-14T22:18:09.000+00:00"  # device time, offset 0
    assert filled[-1]["kind"] == "work"
    # the state as if nothing was missed: in work 4 (rep 3/3), 2 reps done, the last 84 s
    assert (state.index, state.kind, state.reps, state.reps_done) == (4, "work", (3, 3), 2)
    assert state.last_rep is not None and state.last_rep.actual_ms == 84_000
    assert state.step_elapsed_ms(clock.s) == 10_000  # from the step's start, not now
    # a live copy of what was filled (the subscription came before the read) is dropped
    again = mapper.map(DeviceEvent(ev.EV_STEP_START, 4, wp.KIND_WORK, 1))[-1]
    assert not refill.observe(again)
    clock.s += 50
    end = mapper.map(DeviceEvent(ev.EV_STEP_END, 4, rec.END_LAP, 2))[-1]
    assert refill.observe(end) and end["actual_ms"] == 60_000  # measured from the record's start


def test_a_session_that_ended_while_the_link_was_down_is_filled_to_its_end() -> None:
    clock = Clock()
    device = Device(_record(complete=True), complete=True)
    objs, state, _, _ = _after_drop(device, clock, running=False)
    assert [o["event"] for o in objs[-3:]] == ["step_start", "step_end", "session_end"]
    assert objs[-1]["reason"] == "stopped" and objs[-1]["total_ms"] == STEP_4_AT_MS + 30_000
    assert objs[0]["lost"] == ["cue", "pause", "resume", "record_error"]  # every lap is in
    assert state.status == "stopped" and state.reps_done == 3


def test_a_reclaimed_session_leaves_a_gap_that_says_so() -> None:
    clock = Clock()
    objs, state, _, _ = _after_drop(Device(None), clock, running=False)
    assert [o["event"] for o in objs] == ["gap", "attached"]
    gap = objs[0]
    assert (gap["record"], gap["refilled"], gap["lost"]) == ("gone", 0, None)
    assert state.gaps == 1 and state.reps_done == 1  # rep 0, seen live; nothing more known


def test_a_seq_jump_is_filled_up_to_the_event_after_it() -> None:
    clock = Clock()
    mapper = EventMapper(now_s=clock)
    refill = Refill()
    _live(mapper, LiveState(), refill, clock)
    # the ring dropped everything up to work 3's start (a step_start: not filled itself)
    gap, event = mapper.map(DeviceEvent(ev.EV_STEP_START, 3, wp.KIND_RECOVERY, 30))
    assert gap["event"] == "gap" and gap["missed"] == 24
    client = cast(DeviceClient, Device(_record()))
    filled = asyncio.run(refill.after_seq(client, mapper, gap, event))
    for obj in (gap, *filled):
        validate(obj)
    told = [(o["event"], o["index"]) for o in filled]
    assert told == [("lap", 1), ("step_end", 1), ("step_start", 2), ("step_end", 2)]
    assert (gap["record"], gap["refilled"], gap["from_index"], gap["to_index"]) == ("read", 4, 1, 2)
    assert refill.observe(event)  # the live step_start 3 goes out after them


def test_a_session_begun_while_the_link_was_down_follows_the_end_of_the_last() -> None:
    clock = Clock()
    second = rec.StoredSession(8, 0x1234, START_S + 400, 0, STEPS[:1], program=PROGRAM)
    device = Device(_record(complete=True), True, {8: rec.encode_session(second)})
    objs, state, _, _ = _after_drop(device, clock, running=True)
    told = [(o["event"], o.get("index")) for o in objs[2:]]
    assert told[-6:] == [
        ("step_end", 4),
        ("session_end", None),
        ("session_start", None),
        ("step_start", 0),
        ("step_end", 0),
        ("step_start", 1),  # the new session's running step
    ]
    assert objs[-4]["session_id"] == 8 and objs[-4]["steps"] == 7
    assert objs[0]["lost"] == ["cue", "pause", "resume", "record_error", "lap"]
    assert (state.session_id, state.status, state.reps_done, state.index) == (8, "running", 1, 1)


def test_the_documented_gap_and_filled_objects_follow_the_schema() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "live.md").read_text()
    block = re.search(r"```jsonl\n(.*?)```", text, flags=re.DOTALL)
    assert block is not None
    objs = [json.loads(line) for line in block.group(1).splitlines()]
    for obj in objs:
        validate(obj)
    assert [o["event"] for o in objs] == ["gap", "step_end", "step_start"]
    assert objs[0]["refilled"] > 0 and all(o["filled"] is True for o in objs[1:])
