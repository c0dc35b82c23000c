"""The stored-session record codec: under CPython (hypothesis) and under real MicroPython."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repcue_fw.wire import WireError
from repcue_fw.wire.host import records as wr
from repcue_fw.wire.varint import MAX_VARINT
from tests.mpy import run_mpy

# docs/protocol.md, "Stored sessions", Example: the program is the "Program format" vector.
PROGRAM = bytes.fromhex(
    "02320a36783830306d2040356b0300d80407060229a00619ca11225a020604d804888a0d0e"
)
EXAMPLE = bytes.fromhex(
    "2207888a0d0e00f1536540e201004749"
    "c025" + PROGRAM.hex() + "4000d804cccf2406e2"
    "4901a006f2870be5f1"
    "7a025ad0860301b0ea0168a7"
    "a1deed32d00f010e03035c45"
)


def example_session() -> wr.StoredSession:
    return wr.StoredSession(
        7,
        0x0E0D8A88,
        1_700_000_000,
        123_456,
        [
            wr.StoredStep(0, 0, wr.END_TIME, 600, 600_012),
            wr.StoredStep(1, 1, wr.END_LAP, 800, 181_234),  # a lap ends a distance step
            wr.StoredStep(2, 2, wr.END_STOP, 90, 50_000, [30_000]),  # laps: time steps only
        ],
        wr.END_STOPPED,
        833_246,
        2000,
        1,
        14,
        3,
        PROGRAM,
    )


varints = st.integers(0, MAX_VARINT)
steps = st.builds(
    wr.StoredStep,
    st.integers(0, 20_000),
    st.integers(0, 4),
    st.integers(wr.END_TIME, wr.END_STOP),
    varints,
    varints,
    st.lists(varints, max_size=40),
)


@st.composite
def sessions(draw: st.DrawFn) -> wr.StoredSession:
    session = wr.StoredSession(
        draw(st.integers(1, MAX_VARINT)),
        draw(st.integers(0, 0xFFFFFFFF)),
        draw(st.integers(0, 0xFFFFFFFF)),
        draw(st.integers(0, 0xFFFFFFFF)),
        draw(st.lists(steps, max_size=12)),
    )
    # an unfinished session has no end record, so no totals either
    end_reason = draw(st.none() | st.integers(wr.END_FINISHED, wr.END_POWER_LOST))
    if end_reason is not None:
        session.end_reason = end_reason
        session.total_ms, session.paused_ms, session.pauses = draw(
            st.tuples(varints, varints, varints)
        )
        session.late_max_ms, session.late_mean_ms = draw(st.tuples(varints, varints))
    return session


def test_crc16_is_ccitt_false() -> None:
    assert wr.crc16(b"123456789", 0, 9) == 0x29B1


def test_documented_example_bytes() -> None:
    assert wr.encode_session(example_session()) == EXAMPLE
    session = wr.decode_session(EXAMPLE)
    assert session == example_session()
    assert session.complete
    assert session.end_reason_name == "stopped"
    assert session.program == PROGRAM
    assert [s.kind_name for s in session.steps] == ["warmup", "work", "recovery"]
    assert [s.end_reason_name for s in session.steps] == ["time", "lap", "stop"]
    # docs/protocol.md shows these bytes, record by record
    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
    block = doc.split("### Example", 1)[1].split("```", 2)[1]
    shown = "".join(line.split("  ")[0] for line in block.strip().splitlines())
    assert bytes.fromhex(shown) == EXAMPLE


@settings(max_examples=300)
@given(sessions())
def test_decode_inverts_encode(session: wr.StoredSession) -> None:
    data = wr.encode_session(session)
    back = wr.decode_session(data)
    assert back == session
    assert back.complete == (session.end_reason is not None)
    assert back.step_count == len(session.steps)


@settings(max_examples=300)
@given(sessions(), st.data())
def test_any_single_corruption_is_rejected_with_an_offset(
    session: wr.StoredSession, data: st.DataObject
) -> None:
    encoded = bytearray(wr.encode_session(session))
    i = data.draw(st.integers(0, len(encoded) - 1))
    encoded[i] ^= data.draw(st.integers(1, 255))
    with pytest.raises(WireError) as info:
        wr.decode_session(bytes(encoded))
    assert 0 <= info.value.offset <= len(encoded)
    assert info.value.field


@settings(max_examples=200)
@given(sessions(), st.data())
def test_a_cut_at_a_record_boundary_is_an_incomplete_prefix_else_an_error(
    session: wr.StoredSession, data: st.DataObject
) -> None:
    encoded = wr.encode_session(session)
    cut = data.draw(st.integers(1, len(encoded) - 1))
    try:
        back = wr.decode_session(encoded[:cut])
    except WireError as err:
        assert 0 <= err.offset <= cut
        return
    # the cut fell between records: what is left is the session so far, not finished
    assert not back.complete
    n = len(back.steps)
    assert back.steps[: max(n - 1, 0)] == session.steps[: max(n - 1, 0)]
    if n:  # the last step may have lost LAPS records that came after it
        last, orig = back.steps[-1], session.steps[n - 1]
        assert (last.index, last.planned, last.elapsed_ms) == (
            orig.index,
            orig.planned,
            orig.elapsed_ms,
        )
        assert last.laps_ms == orig.laps_ms[: len(last.laps_ms)]


@settings(max_examples=300)
@given(
    st.integers(0, (1 << 14) - 1),
    st.integers(0, 4),
    st.integers(0, 3),
    st.integers(0, (1 << 21) - 1),
    varints,
)
def test_a_step_without_laps_fits_the_12_byte_budget(
    index: int, kind: int, reason: int, planned: int, elapsed_ms: int
) -> None:
    buf = bytearray(wr.MAX_RECORD)
    assert wr.encode_step(buf, index, kind, reason, planned, elapsed_ms) <= 12


def test_a_typical_step_takes_nine_bytes() -> None:
    buf = bytearray(wr.MAX_RECORD)
    assert wr.encode_step(buf, 12, 1, wr.END_TIME, 800, 185_000) == 9


@settings(max_examples=100)
@given(st.lists(varints, min_size=1, max_size=wr.LAPS_PER_RECORD), varints, varints)
def test_records_never_exceed_max_record(laps: list[int], planned: int, elapsed: int) -> None:
    buf = bytearray(wr.MAX_RECORD)
    assert wr.encode_step(buf, MAX_VARINT, 4, 3, planned, elapsed, laps) <= wr.MAX_RECORD


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda b: wr.encode_step(b, 0, 5, 0, 1, 1), "kind"),
        (lambda b: wr.encode_step(b, 0, 1, 4, 1, 1), "end_reason"),
        (lambda b: wr.encode_step(b, -1, 1, 0, 1, 1), "index"),
        (lambda b: wr.encode_step(b, 0, 1, 0, 1 << 28, 1), "planned"),
        (lambda b: wr.encode_step(b, 0, 1, 0, 1, 1.5), "elapsed_ms"),
        (lambda b: wr.encode_step(b, 0, 1, 0, 1, 1, [5, -2]), "lap_ms"),
        (lambda b: wr.encode_header(b, 1, 1 << 32, 0, 0), "program_id"),
        (lambda b: wr.encode_header(b, 0, 1, -5, 0), "start_wall_s"),
        (lambda b: wr.encode_end(b, 3, 0, 0, 0, 0, 0, 0), "end_reason"),
        (lambda b: wr.encode_end(b, 0, 0, 0, 0, 0, -1, 0), "late_mean_ms"),
    ],
)
def test_encoders_name_the_bad_field(call: object, field: str) -> None:
    with pytest.raises(WireError) as info:
        call(bytearray(wr.MAX_RECORD))  # type: ignore[operator]
    assert info.value.field == field
    assert info.value.offset == -1


def _with_crc(body: bytes) -> bytes:
    crc = wr.crc16(body, 0, len(body))
    return body + bytes([crc & 0xFF, crc >> 8])


def _header() -> bytes:
    buf = bytearray(wr.MAX_RECORD)
    return bytes(buf[: wr.encode_header(buf, 1, 2, 0, 0)])


def _step(laps: list[int] | None = None) -> bytes:
    buf = bytearray(wr.MAX_RECORD)
    return bytes(buf[: wr.encode_step(buf, 0, 1, 0, 60, 60_000, laps)])


@pytest.mark.parametrize(
    ("data", "offset", "field"),
    [
        (b"", 0, "header"),
        (_step(), 0, "header"),
        (_header() + _header(), len(_header()), "header"),
        (_with_crc(b"\x23\x01"), 0, "version"),
        (_header() + b"\xc1\x01", len(_header()), "record"),
        (_header() + b"\xc0\x02\x02\x32", len(_header()), "program"),
        (_header() + b"\xc0\x25" + bytes(36), len(_header()), "program"),
        (_header() + _step() + b"\xc0\x06" + bytes(6), len(_header() + _step()), "program"),
        (_header() + b"\xff\xff\xff", len(_header()), "record"),
        (_header() + b"\x00", len(_header()), "record"),
        (_header() + _with_crc(b"\x47\x00\x01\x01"), len(_header()), "kind"),
        (_header() + _with_crc(b"\x81\x01\x05"), len(_header()), "record"),
        (_header() + _with_crc(b"\x80\x01\x05"), len(_header()), "laps"),
        (_header() + _step()[:-1], len(_header()), "crc"),
        (_header() + _step()[:3], len(_header()) + 3, "elapsed_ms"),
    ],
)
def test_bad_sessions_say_where_and_what(data: bytes, offset: int, field: str) -> None:
    with pytest.raises(WireError) as info:
        wr.decode_session(data)
    assert (info.value.offset, info.value.field) == (offset, field)


def test_step_count_mismatch_and_records_after_end_are_rejected() -> None:
    buf = bytearray(wr.MAX_RECORD)
    end_wrong = bytes(buf[: wr.encode_end(buf, 0, 1, 0, 0, 0, 0, 2)])
    data = _header() + _step() + end_wrong
    with pytest.raises(WireError) as info:
        wr.decode_session(data)
    assert (info.value.field, info.value.offset) == ("step_count", len(_header() + _step()))
    end_ok = bytes(buf[: wr.encode_end(buf, 0, 1, 0, 0, 0, 0, 1)])
    with pytest.raises(WireError) as info:
        wr.decode_session(_header() + _step() + end_ok + _step())
    assert info.value.field == "end"


def test_laps_beyond_sixteen_go_in_laps_records() -> None:
    laps = list(range(1000, 41_000, 1000))  # 40 laps: 16 + 16 + 8
    session = wr.StoredSession(3, 9, 0, 0, [wr.StoredStep(0, 1, 1, 400, 41_000, laps)], 1)
    data = wr.encode_session(session)
    types = []
    pos = 0
    out = [0] * wr.OUT_LEN
    while pos < len(data):
        pos = wr.parse(data, pos, len(data), out)
        types.append(out[0])
    assert types == [wr.REC_HEADER, wr.REC_STEP_LAPS, wr.REC_LAPS, wr.REC_LAPS, wr.REC_END]
    assert wr.decode_session(data).steps[0].laps_ms == laps


def _as_json(session: wr.StoredSession) -> list[object]:
    return [
        session.session_id,
        session.program_id,
        session.start_wall_s,
        session.start_uptime_ms,
        session.end_reason,
        session.total_ms,
        session.paused_ms,
        session.pauses,
        session.late_max_ms,
        session.late_mean_ms,
        [
            [s.index, s.kind, s.end_reason, s.planned, s.elapsed_ms, s.laps_ms]
            for s in session.steps
        ],
    ]


MPY_ROUND_TRIP = """
import json, binascii
from repcue_fw.wire.host import records as wr
for line in BLOBS:
    raw = binascii.unhexlify(line)
    s = wr.decode_session(raw)
    again = wr.encode_session(s)
    steps = [[t.index, t.kind, t.end_reason, t.planned, t.elapsed_ms, t.laps_ms] for t in s.steps]
    print(json.dumps([binascii.hexlify(again).decode(), [s.session_id, s.program_id,
        s.start_wall_s, s.start_uptime_ms, s.end_reason, s.total_ms, s.paused_ms, s.pauses,
        s.late_max_ms, s.late_mean_ms, steps]]))
"""


@settings(max_examples=15, deadline=None)
@given(st.lists(sessions(), min_size=10, max_size=10))
def test_micropython_decodes_and_reencodes_identically(batch: list[wr.StoredSession]) -> None:
    blobs = [wr.encode_session(s).hex() for s in batch]
    out = run_mpy(f"BLOBS = {json.dumps(blobs)}\n" + MPY_ROUND_TRIP)
    results = [json.loads(line) for line in out.splitlines()]
    assert [r[0] for r in results] == blobs
    assert [r[1] for r in results] == [_as_json(s) for s in batch]


def test_micropython_encoders_write_the_documented_bytes_and_errors() -> None:
    out = run_mpy(
        "from repcue_fw.wire import WireError\nfrom repcue_fw.wire.host import records as wr\n"
        "import binascii\n"
        "buf = bytearray(wr.MAX_RECORD)\n"
        "parts = []\n"
        "n = wr.encode_header(buf, 7, 0x0E0D8A88, 1700000000, 123456); parts.append(buf[:n])\n"
        "n = wr.encode_program_head(buf, 37); parts.append(buf[:n])\n"
        "parts.append(binascii.unhexlify('" + PROGRAM.hex() + "'))\n"
        "n = wr.encode_step(buf, 0, 0, wr.END_TIME, 600, 600012); parts.append(buf[:n])\n"
        "n = wr.encode_step(buf, 1, 1, wr.END_LAP, 800, 181234); parts.append(buf[:n])\n"
        "n = wr.encode_step(buf, 2, 2, wr.END_STOP, 90, 50000, [30000]); parts.append(buf[:n])\n"
        "n = wr.encode_end(buf, wr.END_STOPPED, 833246, 2000, 1, 14, 3, 3)\n"
        "parts.append(buf[:n])\n"
        "print(binascii.hexlify(b''.join(bytes(p) for p in parts)).decode())\n"
        "try:\n    wr.decode_session(binascii.unhexlify('" + EXAMPLE[:-1].hex() + "'))\n"
        "except WireError as e:\n    print(e.field, e.offset)\n"
    )
    lines = out.split("\n")
    assert lines[0] == EXAMPLE.hex()
    assert lines[1] == f"crc {len(EXAMPLE) - 12}"
