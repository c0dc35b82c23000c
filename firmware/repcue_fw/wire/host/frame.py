# Frames, the host's side: encode() a whole frame, the Frame a decoder yields, and a Decoder
# with feed() (all of a byte string in, the good frames out). The frame format, the COBS
# codec and the allocation-free Decoder are wire/frame.py (what the firmware runs,
# re-exported here). docs/protocol.md ("Frames") is the spec.
import binascii
import struct

from repcue_fw.wire import WireError, frame
from repcue_fw.wire.frame import *  # noqa: F403  (the board's side, and the host's add-ons below)
from repcue_fw.wire.frame import (
    CRC_LEN,
    FRAME,
    HEADER_LEN,
    PROTOCOL_VERSION,
    encoded_size,
    put_header,
    seal_into,
)


def encode(ftype, flags, seq, payload, version=PROTOCOL_VERSION):
    """One whole frame as wire bytes (COBS + delimiter). Allocates; for the host and tests."""
    if ftype < 0 or ftype > 0xFF or flags < 0 or flags > 0xFF:
        raise WireError("frame type and flags are bytes", -1, "header")
    if seq < 0 or seq > 0xFFFF:
        raise WireError("seq must be 0..65535, got " + str(seq), -1, "seq")
    n = HEADER_LEN + len(payload)
    raw = bytearray(n + CRC_LEN)
    put_header(raw, ftype, flags, seq, version)
    raw[HEADER_LEN:n] = payload
    out = bytearray(encoded_size(n + CRC_LEN))
    end = seal_into(raw, n, out)
    return bytes(out[:end])


def raw_frame(ftype, flags, seq, payload, version=PROTOCOL_VERSION):
    """The frame before COBS (header + payload + CRC): what the test vectors call `raw`."""
    n = HEADER_LEN + len(payload)
    raw = bytearray(n + CRC_LEN)
    put_header(raw, ftype, flags, seq, version)
    raw[HEADER_LEN:n] = payload
    crc = binascii.crc32(memoryview(raw)[:n]) & 0xFFFFFFFF
    struct.pack_into("<I", raw, n, crc)
    return bytes(raw)


class Frame:
    """A decoded frame (host side and tests; the firmware reads the Decoder's buffer)."""

    def __init__(self, ftype, flags, seq, payload, version=PROTOCOL_VERSION):
        self.version = version
        self.type = ftype
        self.flags = flags
        self.seq = seq
        self.payload = payload

    def _key(self):
        return (self.version, self.type, self.flags, self.seq, bytes(self.payload))

    def __eq__(self, other):
        return isinstance(other, Frame) and self._key() == other._key()

    def __repr__(self):
        return "Frame" + repr(self._key())


class Decoder(frame.Decoder):
    """frame.Decoder plus the host's conveniences: frame(), feed() and in_frame()."""

    def in_frame(self):
        """True when part of a frame has arrived."""
        return self._seen > 0

    def frame(self):
        """The current FRAME as a Frame object (copies the payload)."""
        return Frame(
            self.type,
            self.flags,
            self.seq,
            bytes(self.mv[HEADER_LEN : self.length - CRC_LEN]),
            self.version,
        )

    def feed(self, data):
        """Consume all of data; return the list of good frames in it (host convenience)."""
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)
        frames = []
        pos = 0
        end = len(data)
        while pos < end:
            pos, result = self.push(data, pos, end)
            if result == FRAME:
                frames.append(self.frame())
        return frames
