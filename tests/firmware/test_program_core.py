"""The device side of the program format: ProgramBytes checks an encoded program and the
engine's Cursor walks it in place. The walk must visit exactly the steps the object model
unrolls to (hypothesis, under CPython), and under MicroPython a 100-step program must cost
its bytes, not an object per step."""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import given, settings

from repcue_fw.engine import Engine
from repcue_fw.wire import WireError
from repcue_fw.wire import program as core
from repcue_fw.wire.host import program as wp
from repcue_fw.wire.steps import Cursor, EngineError, planned_steps
from tests.firmware.golden import program_objects
from tests.firmware.test_program_codec import programs
from tests.mpy import run_mpy


def unrolled(nodes: list[object], last_round: bool = False, drop: bool = False) -> list[wp.Step]:
    """The steps a program runs, from the object model: the reference for the cursor."""
    out: list[wp.Step] = []
    for i, node in enumerate(nodes):
        if isinstance(node, wp.Repeat):
            for r in range(node.count):
                final = r == node.count - 1
                out += unrolled(node.body, final, node.drop_last_recovery)
            continue
        assert isinstance(node, wp.Step)
        dropped = drop and last_round and i == len(nodes) - 1
        if dropped and node.kind in (wp.KIND_RECOVERY, wp.KIND_REST):
            continue
        out.append(node)
    return out


def fields(step: object) -> tuple[object, ...]:
    names = ("kind", "end", "value", "target_type", "target_name", "target_value")
    names += ("countdown_s", "halfway")
    return tuple(getattr(step, n) for n in names)


@settings(max_examples=200, deadline=None)
@given(programs)
def test_the_cursor_walks_the_bytes_exactly_as_the_model_unrolls(program: wp.Program) -> None:
    data = wp.encode(program)
    try:
        program_objects.check(program.nodes)
    except EngineError:  # a step over 24 h: the byte check refuses it the same way
        with pytest.raises(EngineError):
            planned_steps(core.ProgramBytes(data))
        return
    assert planned_steps(core.ProgramBytes(data)) == wp.expanded_count(program.nodes)
    if wp.expanded_count(program.nodes) > 5000:
        return  # 999 x 999 rounds: the count above still checks it
    expected = [fields(s) for s in unrolled(program.nodes)]
    cursor = Cursor(data)
    walked = []
    while (step := cursor.next()) is not None:
        walked.append(fields(step))
    assert walked == expected


def test_program_bytes_reads_the_header_and_rejects_what_decode_rejects() -> None:
    data = wp.encode(wp.Program([wp.Step(1, 0, 60)], countdown_s=5, halfway=True))
    prog = core.ProgramBytes(data)
    assert (prog.countdown_s, prog.halfway, prog.last_rep, prog.count) == (5, True, True, 1)
    assert prog.id == wp.program_id(data)
    assert (prog.name_end, prog.first, prog.end) == (3, 4, len(data) - core.CRC_LEN)
    named = wp.encode(wp.Program([wp.Step(1, 0, 60)], name="Hill repeats"))
    assert core.ProgramBytes(named).name_end == 3 + len("Hill repeats")
    assert wp.decode(named).name == "Hill repeats"

    def sealed(body: bytes) -> bytes:
        return body + (zlib.crc32(body) & 0xFFFFFFFF).to_bytes(4, "little")

    # version 1 (no name) still runs: a device keeps a program uploaded before version 2
    v1 = core.ProgramBytes(sealed(b"\x01\x32\x01\x01\x3c"))
    assert (v1.name_end, v1.first, v1.count) == (2, 3, 1)
    for body, field, offset in [
        (b"\x01\x32\x00", "nodes", 2),  # no nodes at all
        (b"\x02\x32\x21" + bytes(33) + b"\x01\x01\x3c", "name", 2),  # name over 32 bytes
        (b"\x02\x32\x05ab", "name", 2),  # name running into the CRC
    ]:
        with pytest.raises(WireError) as info:
            core.ProgramBytes(sealed(body))
        assert (info.value.field, info.value.offset) == (field, offset)


def test_program_objects_are_packed_with_engine_errors_naming_the_node() -> None:
    class Clock:
        def ticks_ms(self) -> int:
            return 0

    with pytest.raises(EngineError) as info:
        program_objects.pack(wp.Program([wp.Step(1, 0, 1), wp.Repeat(0, [wp.Step(1, 0, 1)])]))
    assert (info.value.field, info.value.step) == ("repeat.count", 1)
    # bytes too: a step over 24 h is refused by the engine, not by the codec
    data = wp.encode(wp.Program([wp.Step(1, 0, 1), wp.Step(1, 0, 90_000)]))
    with pytest.raises(EngineError) as info:
        Engine(data, 1, Clock())
    assert (info.value.field, info.value.step) == ("step.value", 1)


def test_a_hundred_step_program_costs_its_bytes_in_micropython() -> None:
    # 50 x (200 m at a pace, 30 s jog) written out: the program bench/heap.py records.
    nodes: list[wp.Step | wp.Repeat] = []
    for i in range(50):
        nodes.append(wp.Step(wp.KIND_WORK, wp.END_DISTANCE, 200, wp.TARGET_PACE, 0, 1800 + i))
        nodes.append(wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 30))
    data = wp.encode(wp.Program(nodes, countdown_s=3))
    out = run_mpy(f"""
import gc, json
from repcue_fw.engine import Engine
from repcue_fw.boards.sim.clock import SimClock
data = bytes.fromhex({data.hex()!r})
clock = SimClock("stepped")
gc.collect()
before = gc.mem_alloc()
engine = Engine(data, 1, clock)
gc.collect()
used = gc.mem_alloc() - before
engine.start(0)
n = 0
while engine.step is not None and n < 200:
    n += 1
    engine.press(3, 0)  # lap: ends a distance step (time steps record a lap)
    engine.press(4, 0)  # skip
print(json.dumps([used, engine.planned_steps, engine.finished]))
""")
    used, planned, finished = json.loads(out.strip().splitlines()[-1])
    assert planned == 100 and finished
    # the decoded objects of the old engine took ~17 KB; now the bytes (~400) and the cursor
    assert used < 4096, used
