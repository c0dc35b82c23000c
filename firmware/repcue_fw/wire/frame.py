# Frame codec: COBS framing with a 0x00 delimiter around a small header and a CRC-32.
#
# docs/protocol.md ("Frames") is the spec; in short, a frame before COBS is
#   u8  version (PROTOCOL_VERSION)
#   u8  type    (an OP_* opcode from wire/host/opcodes.py)
#   u8  flags   (FLAG_RESPONSE, FLAG_EVENT; other bits reserved, 0)
#   u16 seq     little-endian: a request's number, echoed by its response
#   ... payload
#   u32 CRC-32 (zlib polynomial) of everything before it, little-endian
# and on the wire it is COBS-encoded and followed by one 0x00.
#
# Sans-I/O and allocation-free on the hot path: a Decoder owns one preallocated buffer,
# push() walks a byte range and stops at each complete frame. This is the part the device
# runs; the host's conveniences (encode(), Frame, Decoder.feed()) are wire/host/frame.py, which
# builds on this module. The same file runs in MicroPython and CPython.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import binascii
import struct

from repcue_fw.wire import WireError

PROTOCOL_VERSION = const(1)

FLAG_RESPONSE = const(0x01)
FLAG_EVENT = const(0x02)
_FLAGS_KNOWN = const(0x03)

HEADER_LEN = const(5)
CRC_LEN = const(4)
OVERHEAD = const(9)  # header + CRC: a frame's bytes beyond its payload (before COBS)

MIN_FRAME = const(160)  # every side must accept frames this big (HELLO always fits)
DEFAULT_MAX_FRAME = const(1024)  # firmware default; HELLO negotiates the smaller of two
MAX_FRAME_LIMIT = const(16384)

# What push() reports.
NONE = const(0)  # input used up, no complete frame yet (bad frames are dropped silently)
FRAME = const(1)  # a frame with a good CRC is in buf[:length]
OVERSIZE = const(2)  # a frame longer than max_frame ended; only its header bytes were kept
BREAK = const(3)  # the REPL break-in (CR, Ctrl-C) arrived where a frame starts

_CR = const(0x0D)
_CTRL_C = const(0x03)
_ZERO = b"\x00"


def encoded_size(raw_len):
    """Upper bound of the wire size of a raw frame: COBS overhead plus the delimiter."""
    return raw_len + raw_len // 254 + 2


def check_max_frame(max_frame):
    if not isinstance(max_frame, int) or max_frame < MIN_FRAME or max_frame > MAX_FRAME_LIMIT:
        raise WireError(
            "max_frame must be "
            + str(MIN_FRAME)
            + ".."
            + str(MAX_FRAME_LIMIT)
            + ", got "
            + repr(max_frame),
            -1,
            "max_frame",
        )


def cobs_encode_into(src, n, out, pos):
    """COBS-encode src[:n] into out at pos, add the 0x00 delimiter; return the end position.

    Canonical form: a block that ends exactly with the input after 254 data bytes gets no
    extra 0x01 code (as in Cheshire & Baker's reference encoder).
    """
    mv_src = memoryview(src)
    code_pos = pos
    pos += 1
    code = 1
    i = 0
    while i < n:
        j = src.find(_ZERO, i, n)
        if j < 0:
            j = n
        while i < j:
            k = j - i
            room = 0xFF - code
            if k > room:
                k = room
            out[pos : pos + k] = mv_src[i : i + k]
            pos += k
            i += k
            code += k
            if code == 0xFF:
                out[code_pos] = 0xFF
                if i == n:
                    # the input ended with a full block: no trailing code byte
                    out[pos] = 0
                    return pos + 1
                code_pos = pos
                pos += 1
                code = 1
        if j < n:
            out[code_pos] = code
            code_pos = pos
            pos += 1
            code = 1
            i = j + 1
    out[code_pos] = code
    out[pos] = 0
    return pos + 1


def put_header(raw, ftype, flags, seq, version=PROTOCOL_VERSION):
    """Write the 5-byte header at raw[0:5]."""
    raw[0] = version
    raw[1] = ftype
    raw[2] = flags
    raw[3] = seq & 0xFF
    raw[4] = (seq >> 8) & 0xFF


def seal_into(raw, n, out, pos=0):
    """raw[:n] holds header + payload: append the CRC at raw[n:n+4] and COBS it into out.

    Returns the end position in out. raw must have room for 4 more bytes and out for
    encoded_size(n + 4) bytes from pos.
    """
    crc = binascii.crc32(memoryview(raw)[:n]) & 0xFFFFFFFF
    struct.pack_into("<I", raw, n, crc)
    return cobs_encode_into(raw, n + CRC_LEN, out, pos)


class Decoder:
    """Incremental COBS decoder and frame checker with one preallocated buffer.

    After push() returns FRAME: buf[:length] is the frame; version, type, flags, seq and
    crc are parsed; the payload is buf[HEADER_LEN:length - CRC_LEN]. After OVERSIZE the
    header fields hold what the first 5 bytes said (unverified; seq is -1 if fewer came).
    Frames with a bad CRC, bad COBS or fewer than 9 bytes are dropped and counted.
    """

    def __init__(self, max_frame=DEFAULT_MAX_FRAME, detect_break=True, room=0):
        # room: a bigger buffer than max_frame, for an owner that also encodes into it
        check_max_frame(max_frame)
        self.max_frame = max_frame
        self.buf = bytearray(room if room > max_frame else max_frame)
        self.mv = memoryview(self.buf)
        self.detect_break = detect_break
        self.length = 0
        self.version = 0
        self.type = 0
        self.flags = 0
        self.seq = -1
        self.crc = 0
        # statistics: frames dropped for bad CRC/COBS/shortness, oversize frames, bytes seen
        self.dropped = 0
        self.oversize = 0
        self.bytes_in = 0
        self.reset()

    def reset(self):
        """Forget any partial frame (e.g. after an idle gap on the line)."""
        self._n = 0  # decoded bytes so far (counts past max_frame when oversize)
        self._left = 0  # data bytes left in the current COBS block; 0: next byte is a code
        self._zero = False  # a 0x00 goes before the next block (previous code < 0xFF)
        self._seen = 0  # raw bytes of this frame so far
        self._first = 0  # the frame's first raw byte (break-in detection)

    def at_break(self):
        """True while the next raw byte may end a REPL break-in: the link then reads one
        byte at a time, so what the host sends right after the break-in stays for the REPL."""
        s = self._seen
        f = self._first
        return self.detect_break and (s == 0 or (s == 1 and (f == _CR or f == _CTRL_C)))

    def push(self, data, pos, end):
        """Consume data[pos:end] until a frame completes; return (new_pos, NONE|FRAME|...).

        data must support find() (bytes or bytearray). The caller handles a FRAME,
        OVERSIZE or BREAK before calling push() again with the returned position.
        """
        mv = memoryview(data)
        buf = self.buf
        cap = self.max_frame
        start = pos
        while pos < end:
            left = self._left
            if left and self._seen >= 2:
                # fast path: copy a run of data bytes up to the block end or a 0x00
                k = end - pos
                if k > left:
                    k = left
                z = data.find(_ZERO, pos, pos + k)
                if z >= 0:
                    k = z - pos
                if k:
                    n = self._n
                    m = cap - n
                    if m > k:
                        m = k
                    if m > 0:  # past max_frame only the count goes on (oversize)
                        self.mv[n : n + m] = mv[pos : pos + m]
                    self._n = n + k
                    self._left = left - k
                    self._seen += k
                    pos += k
                    continue
            b = data[pos]
            pos += 1
            if b == 0:
                result = self._finish()
                if result != NONE:
                    self.bytes_in += pos - start
                    return pos, result
                continue
            seen = self._seen
            self._seen = seen + 1
            if seen < 2 and self.detect_break:
                if seen == 0:
                    self._first = b
                elif b == _CTRL_C and (self._first == _CR or self._first == _CTRL_C):
                    # never a frame: a frame's second raw byte is its version (1)
                    self.reset()
                    self.bytes_in += pos - start
                    return pos, BREAK
            if left:
                n = self._n
                if n < cap:
                    buf[n] = b
                self._n = n + 1
                self._left = left - 1
            else:
                if self._zero:
                    n = self._n
                    if n < cap:
                        buf[n] = 0
                    self._n = n + 1
                self._left = b - 1
                self._zero = b != 0xFF
        self.bytes_in += pos - start
        return pos, NONE

    def _finish(self):
        n = self._n
        seen = self._seen
        left = self._left
        self.reset()
        if seen == 0:
            return NONE  # an empty frame: a bare delimiter flushes the line
        if n > self.max_frame:
            self.oversize += 1
            self.length = 0
            self.crc = 0
            self.flags = 0
            if n >= HEADER_LEN:
                buf = self.buf
                self.version = buf[0]
                self.type = buf[1]
                self.flags = buf[2]
                self.seq = buf[3] | (buf[4] << 8)
            else:
                self.seq = -1
            return OVERSIZE
        if left or n < OVERHEAD:
            self.dropped += 1
            return NONE
        body = n - CRC_LEN
        buf = self.buf
        crc = binascii.crc32(self.mv[:body]) & 0xFFFFFFFF
        if crc != struct.unpack_from("<I", buf, body)[0]:
            self.dropped += 1
            return NONE
        self.length = n
        self.crc = crc
        self.version = buf[0]
        self.type = buf[1]
        self.flags = buf[2]
        self.seq = buf[3] | (buf[4] << 8)
        return FRAME

    def payload_end(self):
        return self.length - CRC_LEN
