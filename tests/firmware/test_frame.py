"""Frame codec: round trips, resynchronisation after garbage, bad CRC and oversize, the
break-in bytes; under CPython (hypothesis) and in the real MicroPython binary."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repcue_fw.wire import WireError
from repcue_fw.wire.host import frame as wf
from tests.mpy import run_mpy

frames = st.builds(
    wf.Frame,
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 0xFFFF),
    st.binary(max_size=600),
)


def wire(fr: wf.Frame) -> bytes:
    return wf.encode(fr.type, fr.flags, fr.seq, fr.payload)


def feed_in_pieces(dec: wf.Decoder, data: bytes, cuts: list[int]) -> list[wf.Frame]:
    out: list[wf.Frame] = []
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    for a, b in itertools.pairwise(points):
        out += dec.feed(data[a:b])
    return out


@given(st.lists(frames, max_size=6), st.lists(st.integers(0, 10_000), max_size=20))
@settings(max_examples=200, deadline=None)
def test_frames_survive_any_split(batch: list[wf.Frame], cuts: list[int]) -> None:
    data = b"".join(wire(f) for f in batch)
    assert feed_in_pieces(wf.Decoder(1024), data, cuts) == batch


@given(st.binary(max_size=300), frames)
@settings(max_examples=200, deadline=None)
def test_resync_after_garbage(garbage: bytes, fr: wf.Frame) -> None:
    dec = wf.Decoder(1024, detect_break=False)
    # whatever the garbage was, the next delimiter ends it
    got = dec.feed(garbage + b"\x00" + wire(fr))
    assert got[-1:] == [fr]


@given(st.lists(frames, min_size=3, max_size=5), st.data())
@settings(max_examples=200, deadline=None)
def test_a_corrupted_frame_is_dropped_alone(batch: list[wf.Frame], data: st.DataObject) -> None:
    victim = data.draw(st.integers(0, len(batch) - 1))
    parts = [bytearray(wire(f)) for f in batch]
    pos = data.draw(st.integers(0, len(parts[victim]) - 2))  # not its delimiter
    parts[victim][pos] ^= data.draw(st.integers(1, 255))
    dec = wf.Decoder(1024, detect_break=False)
    got = dec.feed(b"".join(bytes(p) for p in parts))
    assert got == batch[:victim] + batch[victim + 1 :]
    assert dec.dropped >= 1


def test_oversize_reports_its_header_then_resyncs() -> None:
    dec = wf.Decoder(wf.MIN_FRAME)
    big = wf.encode(0x04, 0, 77, bytes(range(256)) * 2)
    small = wf.encode(0x02, 0, 78, b"")
    data = big + small
    pos, result = dec.push(data, 0, len(data))
    assert result == wf.OVERSIZE
    assert (dec.type, dec.seq) == (0x04, 77)
    assert pos == len(big)
    pos, result = dec.push(data, pos, len(data))
    assert result == wf.FRAME and dec.frame() == wf.Frame(0x02, 0, 78, b"")
    assert dec.oversize == 1


def test_break_in_only_where_a_frame_starts() -> None:
    dec = wf.Decoder(1024)
    assert dec.push(b"\r\x03", 0, 2) == (2, wf.BREAK)
    assert dec.push(b"\x03\x03", 0, 2) == (2, wf.BREAK)
    # inside a frame the same bytes are data
    fr = wf.Frame(0x04, 0, 3, b"\r\x03\x03\r\x03")
    assert dec.feed(wire(fr)) == [fr]
    partial = b"\x05\x01\x02\r\x03"  # a frame in progress
    assert dec.push(partial, 0, len(partial)) == (len(partial), wf.NONE)
    # the host side never looks for it
    assert wf.Decoder(1024, detect_break=False).push(b"\r\x03", 0, 2)[1] == wf.NONE


def test_short_and_empty_frames() -> None:
    dec = wf.Decoder(1024)
    assert dec.feed(b"\x00\x00\x00") == []
    assert dec.dropped == 0  # bare delimiters are flushes, not errors
    assert dec.feed(b"\x05\x01\x02\x03\x04\x00") == []
    assert dec.dropped == 1


def test_encode_and_limits_reject_nonsense() -> None:
    with pytest.raises(WireError) as info:
        wf.encode(1, 0, 70000, b"")
    assert info.value.field == "seq"
    with pytest.raises(WireError):
        wf.Decoder(100)  # below MIN_FRAME
    with pytest.raises(WireError):
        wf.check_max_frame(wf.MAX_FRAME_LIMIT + 1)


def test_codec_in_micropython_matches_cpython() -> None:
    # A deterministic stream: frames, garbage, a corrupted frame, an oversize one, fed in
    # odd-sized pieces. MicroPython must decode exactly what CPython decodes.
    code = r"""
import json
from repcue_fw.wire.host import frame as wf
seed = [12345]
def rnd(n):
    seed[0] = (seed[0] * 1103515245 + 12345) & 0x7FFFFFFF
    return seed[0] % n
stream = bytearray()
for i in range(60):
    kind = rnd(5)
    payload = bytes(rnd(256) for _ in range(rnd(300)))
    w = bytearray(wf.encode(rnd(256), rnd(4), rnd(65536), payload))
    if kind == 0:
        w[rnd(len(w) - 1)] ^= 1 + rnd(255)
    elif kind == 1:
        w = bytearray(rnd(255) + 1 for _ in range(rnd(40))) + b"\x00" + w
    elif kind == 2:
        w = bytearray(wf.encode(1, 0, i, bytes(1500)))
    stream += w
dec = wf.Decoder(1024, detect_break=False)
out = []
pos = 0
while pos < len(stream):
    step = 1 + rnd(97)
    chunk = bytes(stream[pos:pos + step])
    pos += step
    p = 0
    while p < len(chunk):
        p, r = dec.push(chunk, p, len(chunk))
        if r == wf.FRAME:
            f = dec.frame()
            out.append([f.type, f.flags, f.seq, f.payload.hex()])
        elif r == wf.OVERSIZE:
            out.append(["oversize", dec.seq])
print(json.dumps({"stream": stream.hex(), "out": out, "dropped": dec.dropped}))
"""
    got = json.loads(run_mpy(code))
    stream = bytes.fromhex(got["stream"])
    dec = wf.Decoder(1024, detect_break=False)
    expected: list[list[object]] = []
    pos = 0
    while pos < len(stream):
        pos, result = dec.push(stream, pos, len(stream))
        if result == wf.FRAME:
            f = dec.frame()
            expected.append([f.type, f.flags, f.seq, f.payload.hex()])
        elif result == wf.OVERSIZE:
            expected.append(["oversize", dec.seq])
    assert got["out"] == expected
    assert got["dropped"] == dec.dropped
    assert sum(e[0] != "oversize" for e in expected) > 20
    assert any(e[0] == "oversize" for e in expected)
