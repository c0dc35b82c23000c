"""repcue.live without a device: DeviceEvents -> schema objects (validated), seq gaps made
explicit, the state a view needs, and the view rendered to a string."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from repcue.errors import ProtocolError
from repcue.link.messages import DeviceEvent, DeviceInfo
from repcue.live import EventMapper, LiveState, validate
from repcue.live.events import FIELDS
from repcue.live.view import render, summary
from repcue.store.analysis import planned_steps
from repcue_fw.wire.host import events as ev
from repcue_fw.wire.host import program as wp

# 3 x (400 m at 3:30/km, 60 s recovery), then 300 s cooldown
PROGRAM = wp.encode(
    wp.Program(
        [
            wp.Repeat(
                3,
                [
                    wp.Step(wp.KIND_WORK, wp.END_DISTANCE, 400, wp.TARGET_PACE, 0, 2100),
                    wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 60),
                ],
            ),
            wp.Step(wp.KIND_COOLDOWN, wp.END_TIME, 300),
        ],
        countdown_s=0,
    )
)


class Clock:
    def __init__(self) -> None:
        self.s = 1_700_000_000.0

    def __call__(self) -> float:
        return self.s


def _feed(mapper: EventMapper, *events: tuple[int, int, int, int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for seq, code, a, b in events:
        out += mapper.map(DeviceEvent(code, a, b, seq))
    return out


def test_every_event_code_maps_to_a_valid_object() -> None:
    mapper = EventMapper()
    codes = [*sorted(ev.EVENT_NAMES), 99]
    objs = _feed(mapper, *((i + 1, code, 0, 1) for i, code in enumerate(codes)))
    assert [o["seq"] for o in objs] == list(range(1, len(codes) + 1))
    for obj in objs:
        validate(obj)
    assert objs[-1] | {"wall": ""} == {
        "v": 1,
        "event": "unknown",
        "seq": len(codes),
        "wall": "",
        "device_ms": None,
        "code": 99,
        "a": 0,
        "b": 1,
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"event": "lap"},  # fields missing
        {"event": "nope"},
        {"event": "lap", "index": "3"},  # wrong type
        {"event": "lap", "extra": 1},
        {"event": "lap", "wall": "yesterday"},
        {"event": "session_start", "session_id": True, "steps": 3},  # bool is not int
    ],
)
def test_validate_rejects_what_the_schema_does_not_say(bad: dict[str, Any]) -> None:
    good = EventMapper().map(DeviceEvent(ev.EV_LAP, 2, 61_000, 5))[0]
    obj = {**good, **bad}
    if bad == {"event": "lap"}:
        del obj["split_ms"]
    with pytest.raises((ProtocolError, ValueError)):
        validate(obj)


def test_a_seq_jump_is_an_explicit_gap_also_across_the_wrap() -> None:
    mapper = EventMapper()
    objs = _feed(mapper, (65534, ev.EV_LAP, 0, 1), (65535, ev.EV_LAP, 0, 1), (3, ev.EV_LAP, 0, 1))
    assert [o["event"] for o in objs] == ["lap", "lap", "gap", "lap"]
    assert objs[2]["missed"] == 3 and objs[2]["why"] == "seq"  # 0, 1, 2 lost
    validate(objs[2])
    assert mapper.link_gap()["missed"] is None


def test_times_come_from_the_device_clock_offset_and_steps_measure_their_active_time() -> None:
    clock = Clock()
    mapper = EventMapper(now_s=clock)
    info = DeviceInfo(
        device_id="id",
        name="n",
        board="sim",
        firmware_version="1",
        protocol_version=1,
        capabilities=0,
        max_frame=512,
        free_heap=0,
        free_flash=0,
        clock_s=int(clock.s) + 5,
        device_max_frame=512,
        program_id=0,
        running=False,
    )
    validate(mapper.attached(info))
    assert mapper.clock_offset_ms == 5000
    start = _feed(mapper, (1, ev.EV_STEP_START, 0, wp.KIND_WORK))[0]
    assert start["device_ms"] == int(clock.s * 1000) + 5000
    assert start["wall"] == "2023-11-14T22:13:20.000+00:00"
    clock.s += 50
    _feed(mapper, (2, ev.EV_PAUSE, 0, 50_000))
    clock.s += 20
    _feed(mapper, (3, ev.EV_RESUME, 0, 20_000))
    clock.s += 10
    end = _feed(mapper, (4, ev.EV_STEP_END, 0, 1))[0]
    assert (end["kind"], end["reason"], end["actual_ms"]) == ("work", "lap", 60_000)


def _session(state: LiveState, mapper: EventMapper, clock: Clock) -> None:
    events = [
        (1, ev.EV_SESSION_START, 7, 7),
        (2, ev.EV_STEP_START, 0, wp.KIND_WORK),
        (3, ev.EV_STEP_END, 0, 1),
        (4, ev.EV_STEP_START, 1, wp.KIND_RECOVERY),
        (5, ev.EV_STEP_END, 1, 0),
        (6, ev.EV_STEP_START, 2, wp.KIND_WORK),
    ]
    for seq, code, a, b in events:
        for obj in mapper.map(DeviceEvent(code, a, b, seq)):
            state.apply(obj, clock.s)
        clock.s += 85 if code == ev.EV_STEP_START and a == 0 else 30


def test_the_state_and_view_show_rep_target_last_rep_and_next_step() -> None:
    clock = Clock()
    mapper = EventMapper(now_s=clock)
    state = LiveState(plan=planned_steps(PROGRAM, 100), device="watch")
    _session(state, mapper, clock)
    assert state.reps == (2, 3)
    assert state.last_rep is not None and state.last_rep.delta_ms == 85_000 - 84_000
    console = Console(record=True, width=80)
    console.print(render(state, clock.s))
    text = console.export_text()
    for words in ("running", "work (3/7)", "2/3", "400 m", "3:30/km", "1:25 vs 1:24 (+1.0 s)"):
        assert words in text, text
    assert "recovery 1:00" in text  # next step


def test_pause_freezes_the_clocks_and_the_end_gives_a_summary() -> None:
    clock = Clock()
    mapper = EventMapper(now_s=clock)
    state = LiveState(plan=planned_steps(PROGRAM, 100))
    _session(state, mapper, clock)
    state.index, state.kind = 1, "recovery"  # as if in the 60 s recovery
    state.apply(mapper.map(DeviceEvent(ev.EV_PAUSE, 1, 0, 7))[0], clock.s)
    frozen = state.elapsed_ms(clock.s)
    assert state.elapsed_ms(clock.s + 100) == frozen
    console = Console(record=True, width=80)
    console.print(render(state, clock.s + 100))
    assert "paused" in console.export_text()
    for seq, code, a, b in ((9, ev.EV_FINISH, 1, 400_000),):
        for obj in mapper.map(DeviceEvent(code, a, b, seq)):
            state.apply(obj, clock.s)
    assert state.finished
    assert summary(state) == ("session 7 stopped: 1/3 work reps in 6:40, 1 gaps (1 events missed)")


def test_the_documented_example_follows_the_schema() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "live.md").read_text()
    block = re.search(r"```json\n(.*?)```", text, flags=re.DOTALL)
    assert block is not None
    lines = block.group(1).splitlines()
    assert len(lines) >= 5
    for line in lines:
        validate(json.loads(line))
    documented = set(re.findall(r"^\| `(\w+)` +\|", text, flags=re.MULTILINE))
    assert documented - {"v", "event", "seq", "wall", "device_ms"} == set(FIELDS)
