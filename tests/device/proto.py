"""A minimal protocol client over pyserial for the device tests: raw frames from the shared
wire codec, one request at a time. (The real client is repcue.link; these tests check the
virtual device itself, so they depend only on the wire format.)"""

from __future__ import annotations

import time

import serial

from repcue_fw.wire.host import frame
from repcue_fw.wire.host import opcodes as op
from repcue_fw.wire.host import program as wp


class RawClient:
    def __init__(self, port: str, timeout_s: float = 5.0) -> None:
        self.ser = serial.Serial(port, timeout=0.05)
        self.timeout_s = timeout_s
        self.decoder = frame.Decoder(4096)
        self.seq = 0
        self.events: list[frame.Frame] = []

    def close(self) -> None:
        self.ser.close()

    def request(self, opcode: int, payload: bytes = b"") -> bytes:
        """Send a request; return the response payload after its OK status byte."""
        self.seq = (self.seq + 1) & 0xFFFF
        self.ser.write(frame.encode(opcode, 0, self.seq, payload))
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            for got in self.decoder.feed(self.ser.read(self.ser.in_waiting or 1)):
                if got.flags & frame.FLAG_EVENT:
                    self.events.append(got)
                    continue
                if got.seq != self.seq:
                    continue
                body = got.payload
                if body[0] != op.ST_OK:
                    status, detail, message = op.get_error(body, 0, len(body))[:3]
                    raise RuntimeError(f"{op.status_name(status)} ({detail}): {message!r}")
                return bytes(body[1:])
        raise TimeoutError(f"no response to opcode {opcode:#x}")

    def hello(self) -> tuple[object, ...]:
        body = self.request(op.OP_HELLO, op.hello_req(1024))
        return tuple(op.get_info(body, 0, len(body)))

    def upload(self, program: bytes) -> int:
        crc = wp.program_id(program)  # the id names the upload
        self.request(op.OP_PROGRAM_BEGIN, op.program_begin_req(len(program), crc))
        for offset in range(0, len(program), 200):
            self.request(
                op.OP_PROGRAM_CHUNK, op.program_chunk_req(offset, program[offset : offset + 200])
            )
        body = self.request(op.OP_PROGRAM_COMMIT, op.u32(crc))
        return int.from_bytes(body[:4], "little")

    def sessions(self) -> list[tuple[int, int, bool]]:
        body = self.request(op.OP_LIST_SESSIONS, op.list_sessions_req(0, 20))
        return list(op.get_sessions(body, 0, len(body))[0])

    def read_session(self, session_id: int) -> bytes:
        out = b""
        while True:
            chunk = self.request(op.OP_READ_SESSION, op.read_session_req(session_id, len(out), 512))
            if not chunk:
                return out
            out += chunk
