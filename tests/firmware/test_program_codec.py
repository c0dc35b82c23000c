"""The program codec: round trips under CPython (hypothesis) and under real MicroPython."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repcue_fw.wire import WireError
from repcue_fw.wire.host import program as wp
from tests.mpy import run_mpy

targets = st.one_of(
    st.just((wp.TARGET_NONE, 0, 0)),
    st.tuples(
        st.just(wp.TARGET_PACE), st.integers(0, len(wp.PACE_NAMES) - 1), st.integers(0, 18000)
    ),
    st.tuples(st.just(wp.TARGET_EFFORT), st.just(0), st.integers(1, len(wp.EFFORT_NAMES) - 1)),
    st.tuples(st.just(wp.TARGET_RPE), st.just(0), st.integers(1, 10)),
    st.tuples(st.just(wp.TARGET_HR_ZONE), st.just(0), st.integers(1, 5)),
)


@st.composite
def steps(draw: st.DrawFn) -> wp.Step:
    t_type, t_name, t_value = draw(targets)
    return wp.Step(
        draw(st.integers(wp.KIND_WARMUP, wp.KIND_COOLDOWN)),
        draw(st.integers(wp.END_TIME, wp.END_OPEN)),
        draw(st.integers(0, 100_000)),
        t_type,
        t_name,
        t_value,
        draw(st.none() | st.integers(0, wp.MAX_COUNTDOWN_S)),
        draw(st.none() | st.booleans()),
    )


def nodes(depth: int) -> st.SearchStrategy[list[object]]:
    leaf = steps()
    if depth >= 3:
        return st.lists(leaf, min_size=1, max_size=4)
    block = st.builds(
        wp.Repeat,
        st.integers(1, wp.MAX_REPEAT),
        st.deferred(lambda: nodes(depth + 1)),
        st.booleans(),
    )
    return st.lists(st.one_of(leaf, leaf, block), min_size=1, max_size=4)


programs = st.builds(
    wp.Program, nodes(0), st.integers(0, wp.MAX_COUNTDOWN_S), st.booleans(), st.booleans()
)


@settings(max_examples=300)
@given(programs)
def test_decode_inverts_encode(program: wp.Program) -> None:
    data = wp.encode(program)
    assert wp.decode(data) == program
    assert wp.program_id(data) == int.from_bytes(data[-4:], "little")


@settings(max_examples=300)
@given(programs, st.data())
def test_any_single_corruption_is_rejected_with_an_offset(
    program: wp.Program, data: st.DataObject
) -> None:
    encoded = bytearray(wp.encode(program))
    i = data.draw(st.integers(0, len(encoded) - 1))
    encoded[i] ^= data.draw(st.integers(1, 255))
    with pytest.raises(WireError) as info:
        wp.decode(bytes(encoded))
    assert 0 <= info.value.offset <= len(encoded)


def test_six_by_800_is_small() -> None:
    program = wp.Program(
        [
            wp.Step(wp.KIND_WARMUP, wp.END_TIME, 600),
            wp.Repeat(
                6,
                [
                    wp.Step(wp.KIND_WORK, wp.END_DISTANCE, 800, wp.TARGET_PACE, 3, 2250),
                    wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 90, wp.TARGET_EFFORT, 0, 6),
                ],
            ),
            wp.Step(wp.KIND_COOLDOWN, wp.END_TIME, 600),
        ],
        name="6x800m @5k",
    )
    data = wp.encode(program)
    # The test vector in docs/protocol.md, "Program format".
    assert data.hex(" ") == (
        "02 32 0a 36 78 38 30 30 6d 20 40 35 6b 03 00 d8 04 07 06 02 29 a0 06 19 ca 11 22 5a"
        " 02 06 04 d8 04 88 8a 0d 0e"
    )
    assert wp.decode(data) == program
    assert len(data) <= 64
    assert wp.expanded_count(program.nodes) == 14


@pytest.mark.parametrize(
    ("program", "field"),
    [
        (wp.Program([]), "nodes"),
        (wp.Program([wp.Repeat(1000, [wp.Step(1, 0, 1)])]), "repeat.count"),
        (wp.Program([wp.Step(1, 0, 1 << 28)]), "step.value"),
        (wp.Program([wp.Step(1, 0, 60)] * 129), "nodes"),
        (wp.Program([wp.Step(9, 0, 60)]), "step.kind"),
        (wp.Program([wp.Step(1, 0, 60, countdown_s=16)]), "step.countdown_s"),
        (
            wp.Program(
                [
                    wp.Repeat(
                        2,
                        [
                            wp.Repeat(
                                2,
                                [wp.Repeat(2, [wp.Repeat(2, [wp.Repeat(2, [wp.Step(1, 0, 1)])])])],
                            )
                        ],
                    )
                ]
            ),
            "depth",
        ),
    ],
)
def test_limits_name_the_field(program: wp.Program, field: str) -> None:
    with pytest.raises(WireError) as info:
        wp.encode(program)
    assert info.value.field == field


@settings(max_examples=40, deadline=None)
@given(st.lists(programs, min_size=20, max_size=20))
def test_micropython_decodes_and_reencodes_identically(batch: list[wp.Program]) -> None:
    blobs = [wp.encode(p).hex() for p in batch]
    out = run_mpy(
        "import json, binascii\n"
        "from repcue_fw.wire.host import program as wp\n"
        f"blobs = {json.dumps(blobs)}\n"
        "for b in blobs:\n"
        "    raw = binascii.unhexlify(b)\n"
        "    p = wp.decode(raw)\n"
        "    print(binascii.hexlify(wp.encode(p)).decode(), wp.expanded_count(p.nodes))\n"
    )
    lines = out.split()
    assert lines[0::2] == blobs
    assert [int(n) for n in lines[1::2]] == [wp.expanded_count(p.nodes) for p in batch]


def test_micropython_rejects_a_bad_crc_with_offset() -> None:
    data = bytearray(wp.encode(wp.Program([wp.Step(1, 0, 60)])))
    data[-1] ^= 1
    out = run_mpy(
        "import binascii\n"
        "from repcue_fw.wire import WireError\nfrom repcue_fw.wire.host import program as wp\n"
        f"raw = binascii.unhexlify('{data.hex()}')\n"
        "try:\n    wp.decode(raw)\nexcept WireError as e:\n    print(e.field, e.offset)\n"
    )
    assert out.split() == ["crc", str(len(data) - 4)]
