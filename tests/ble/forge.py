"""Forged request frames for the attack tests: every request the protocol has, and the
split HELLO that once let a central without a key run any of them.

The split HELLO: a PLAIN record A, then a PLAIN record B that is on its own a complete,
CRC-valid frame X of any type. A + B decodes as one HELLO frame, because A ends on a COBS
block boundary (the decoder puts a 0x00 between A's data and B's) and four chosen bytes
in A make the CRC-32 of A's data plus that 0x00 zero, so that the CRC at the end of X
closes both frames. A filter that checks the HELLO made of A + B but hands the dispatcher
only B runs X.
"""

from __future__ import annotations

import zlib

from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op
from repcue_fw.wire.host import program as wp

PROGRAM = bytes.fromhex("0100")  # any bytes: a forged upload is refused before it is parsed

# One well-formed payload per request opcode (HELLO aside).
REQUESTS: dict[int, bytes] = {
    op.OP_INFO: b"",
    op.OP_SET_TIME: op.u32(1_900_000_000),
    op.OP_ECHO: b"ping",
    op.OP_PROGRAM_BEGIN: op.program_begin_req(len(PROGRAM), wp.program_id(PROGRAM)),
    op.OP_PROGRAM_CHUNK: op.program_chunk_req(0, PROGRAM),
    op.OP_PROGRAM_COMMIT: op.u32(wp.program_id(PROGRAM)),
    op.OP_START: b"",
    op.OP_STOP: b"",
    op.OP_PRESS: op.press_req(3),
    op.OP_LIST_SESSIONS: op.list_sessions_req(0, 8),
    op.OP_READ_SESSION: op.read_session_req(1, 0, 64),
    op.OP_ACK_SESSIONS: op.ack_sessions_req([1]),
    op.OP_READ_SESSIONS: op.read_sessions_req(1, 0, 128),
    op.OP_SUBSCRIBE: op.subscribe_req(True),
    op.OP_CONFIG_GET: b"",
    op.OP_CONFIG_SET: op.config_set_req(op.CFG_CUE_STRENGTH, 7, 0, []),
    op.OP_REPL: b"",
    op.OP_PAIR: op.pair_req(bytes(range(32))),
    op.OP_UNPAIR: b"",
}


def zero_crc_patch(head: bytes, tail: bytes) -> bytes:
    """Four bytes c with crc32(head + c + tail) == 0 (CRC-32 is affine in c over GF(2))."""
    base = zlib.crc32(head + bytes(4) + tail)
    columns = []
    for bit in range(32):
        c = (1 << bit).to_bytes(4, "little")
        columns.append(zlib.crc32(head + c + tail) ^ base)
    # solve sum(x_i * columns[i]) == base by elimination over GF(2)
    rows = [(col, 1 << i) for i, col in enumerate(columns)]
    pivots: list[tuple[int, int]] = []
    for col, mask in rows:
        for pcol, pmask in pivots:
            if col ^ pcol < col:
                col, mask = col ^ pcol, mask ^ pmask
        if col:
            pivots.append((col, mask))
    pivots.sort(reverse=True)
    want, choice = base, 0
    for pcol, pmask in pivots:
        if want ^ pcol < want:
            want, choice = want ^ pcol, choice ^ pmask
    if want:
        raise ValueError("no 4-byte patch zeroes this CRC")
    patch = choice.to_bytes(4, "little")
    assert zlib.crc32(head + patch + tail) == 0
    return patch


def cobs_blocks(raw: bytes) -> bytes:
    """COBS of raw without the 0x00 delimiter: what a record ends with mid-frame."""
    out = bytearray(wf.encoded_size(len(raw)))
    end = wf.cobs_encode_into(raw, len(raw), out, 0)
    return bytes(out[: end - 1])


def split_hello(opcode: int, payload: bytes, *, seq: int = 7) -> tuple[bytes, bytes]:
    """(A, B): A + B is one HELLO frame on the wire; B alone is the request `opcode`."""
    header = bytes([wf.PROTOCOL_VERSION, op.OP_HELLO, 0, seq & 0xFF, seq >> 8])
    patch = zero_crc_patch(header, b"\x00")
    first = cobs_blocks(header + patch)
    second = wf.encode(opcode, 0, seq, payload)
    # what a decoder makes of A + B: one HELLO frame; of B alone: the request
    whole = wf.Decoder(wf.MAX_FRAME_LIMIT).feed(first + second)
    assert [f.type for f in whole] == [op.OP_HELLO], whole
    alone = wf.Decoder(wf.MAX_FRAME_LIMIT).feed(second)
    assert [f.type for f in alone] == [opcode], alone
    return first, second
