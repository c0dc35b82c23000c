"""docs/protocol.md's test vectors, byte for byte, against the codec in CPython and in
MicroPython, and against an independent reference (zlib CRC-32, textbook COBS)."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path
from typing import Any

import pytest

from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op
from tests.mpy import run_mpy

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _hex(text: str) -> bytes:
    """Hex bytes with `a..b` runs; `(none)` is empty."""
    out = bytearray()
    for token in text.split():
        if token == "(none)":
            continue
        if ".." in token:
            lo, hi = (int(t, 16) for t in token.split(".."))
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(token, 16))
    return bytes(out)


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), re.S)


def frame_vectors() -> list[dict[str, Any]]:
    vectors = []
    for block in _blocks("vector"):
        fields = dict(line.split(": ", 1) for line in block.strip().splitlines())
        header = dict(re.findall(r"(\w+): (\S+)", "type: " + fields["type"]))
        vectors.append(
            {
                "name": fields["name"],
                "type": int(header["type"], 16),
                "flags": int(header["flags"], 16),
                "seq": int(header["seq"]),
                "payload": _hex(fields["payload"]),
                "raw": _hex(fields["raw"]),
                "wire": _hex(fields["wire"]),
            }
        )
    return vectors


def cobs_vectors() -> list[tuple[bytes, bytes]]:
    lines = [ln for ln in _blocks("cobs")[0].strip().splitlines() if ln]
    pairs = zip(lines[0::2], lines[1::2], strict=True)
    return [(_hex(a.removeprefix("in: ")), _hex(b.removeprefix("out: "))) for a, b in pairs]


def _buf(size: int = 200) -> bytearray:
    return bytearray(size)


def _info_payload() -> bytes:
    buf = _buf()
    info = {
        "caps": 0x3F,
        "free_heap": 150000,
        "free_flash": 900000,
        "clock_s": 1700000000,
        "program_id": 0x1234ABCD,
        "running": False,
        "device_id": bytes.fromhex("a1b2c3d4e5f6"),
        "name": "repcue-e5f6",
        "board": "esp32c3",
        "firmware": "0.1.0",
    }
    end = op.put_info(buf, 1, 1, 1024, 1024, info)
    return bytes(buf[:end])


def _ok_u32(value: int) -> bytes:
    buf = _buf(5)
    op.put_u32(buf, 1, value)
    return bytes(buf)


def _error() -> bytes:
    buf = _buf()
    end = op.put_error(buf, 0, op.ST_BAD_OFFSET, 256, "chunk at 512, expected 256")
    return bytes(buf[:end])


def _sessions() -> bytes:
    buf = _buf()
    end = op.put_sessions(buf, 1, [(7, 412, True), (8, 96, False)], 2, False)
    return bytes(buf[:end])


def _segments() -> bytes:
    buf = _buf()
    buf[1] = 1  # more
    pos = op.put_segment_header(buf, 2, 7, 12, True, 4, 8)
    buf[pos : pos + 8] = b"\x11" * 8
    pos = op.put_segment_header(buf, pos + 8, 8, 96, False, 0, 3)
    buf[pos : pos + 3] = b"\x22" * 3
    return bytes(buf[: pos + 3])


def _event() -> bytes:
    buf = _buf()
    end = op.put_event(buf, 0, 3, 2, -1)
    return bytes(buf[:end])


# The values docs/protocol.md lists for each vector, through the shared codecs.
PAYLOADS = {
    "hello-request": lambda: op.hello_req(4096),
    "hello-response": _info_payload,
    "set-time-request": lambda: op.u32(1700000000),
    "set-time-response": lambda: _ok_u32(0),
    "program-begin-request": lambda: op.program_begin_req(300, 0xDEADBEEF),
    "program-chunk-request": lambda: op.program_chunk_req(256, bytes([1, 0, 2, 0, 3])),
    "bad-offset-response": _error,
    "list-sessions-request": lambda: op.list_sessions_req(0, 255),
    "list-sessions-response": _sessions,
    "read-session-request": lambda: op.read_session_req(7, 0, 1014),
    "ack-sessions-request": lambda: op.ack_sessions_req([7, 8]),
    "event": _event,
    "config-set-request": lambda: op.config_set_req(
        op.CFG_COUNTDOWN | op.CFG_BUTTONS, 0, 5, [1, 2, 5]
    ),
    "start-request": lambda: b"",
    "read-sessions-request": lambda: op.read_sessions_req(7, 4, 0xFFFF),
    "read-sessions-response": _segments,
    "set-time-ms-request": lambda: op.instant_req(1_700_000_000_250),
    "start-at-request": lambda: op.instant_req(1_700_000_003_100),
    "press-request": lambda: op.press_req(3),
}


def reference_cobs(data: bytes) -> bytes:
    """Textbook COBS (Cheshire & Baker), written apart from the codec under test."""
    out = bytearray([0])
    code_at, code = 0, 1
    for i, byte in enumerate(data):
        if byte:
            out.append(byte)
            code += 1
        if not byte or code == 0xFF:
            out[code_at] = code
            code = 1
            if not byte or i + 1 < len(data):
                code_at = len(out)
                out.append(0)
            else:
                code_at = -1
    if code_at >= 0:
        out[code_at] = code
    return bytes(out) + b"\x00"


def test_the_doc_has_every_vector() -> None:
    assert [v["name"] for v in frame_vectors()] == list(PAYLOADS)
    assert len(cobs_vectors()) >= 8


@pytest.mark.parametrize("vector", frame_vectors(), ids=lambda v: v["name"])
def test_frame_vector(vector: dict[str, Any]) -> None:
    payload = PAYLOADS[vector["name"]]()
    assert payload.hex(" ") == vector["payload"].hex(" ")
    t, flags, seq = vector["type"], vector["flags"], vector["seq"]
    raw = wf.raw_frame(t, flags, seq, payload)
    assert raw.hex(" ") == vector["raw"].hex(" ")
    # independent checks: the CRC is zlib's, the wire form is textbook COBS
    body = bytes([1, t, flags, seq & 0xFF, seq >> 8]) + payload
    assert raw == body + (zlib.crc32(body) & 0xFFFFFFFF).to_bytes(4, "little")
    assert reference_cobs(raw) == vector["wire"]
    assert wf.encode(t, flags, seq, payload).hex(" ") == vector["wire"].hex(" ")
    assert wf.Decoder(1024).feed(vector["wire"]) == [wf.Frame(t, flags, seq, payload)]


@pytest.mark.parametrize(("data", "wire"), cobs_vectors(), ids=lambda x: x.hex()[:12])
def test_cobs_vector(data: bytes, wire: bytes) -> None:
    assert reference_cobs(data) == wire
    out = bytearray(wf.encoded_size(len(data)))
    end = wf.cobs_encode_into(data, len(data), out, 0)
    assert bytes(out[:end]) == wire


def test_vectors_under_micropython() -> None:
    cases = [(v["type"], v["flags"], v["seq"], v["payload"].hex()) for v in frame_vectors()]
    cobs = [d.hex() for d, _ in cobs_vectors()]
    code = (
        "import binascii, json\n"
        "from repcue_fw.wire.host import frame as wf\n"
        f"cases = json.loads({json.dumps(json.dumps(cases))})\n"
        f"cobs = json.loads({json.dumps(json.dumps(cobs))})\n"
        "out = []\n"
        "for t, f, s, p in cases:\n"
        "    w = wf.encode(t, f, s, binascii.unhexlify(p))\n"
        "    fr = wf.Decoder(1024).feed(w)[0]\n"
        "    out.append([binascii.hexlify(w).decode(), binascii.hexlify(fr.payload).decode()])\n"
        "for d in cobs:\n"
        "    raw = binascii.unhexlify(d)\n"
        "    buf = bytearray(wf.encoded_size(len(raw)))\n"
        "    n = wf.cobs_encode_into(raw, len(raw), buf, 0)\n"
        "    out.append(binascii.hexlify(buf[:n]).decode())\n"
        "print(json.dumps(out))\n"
    )
    result = json.loads(run_mpy(code))
    for vector, (wire, payload) in zip(frame_vectors(), result, strict=False):
        assert wire == vector["wire"].hex(), vector["name"]
        assert payload == vector["payload"].hex(), vector["name"]
    for (_, wire), got in zip(cobs_vectors(), result[len(cases) :], strict=True):
        assert got == wire.hex()
