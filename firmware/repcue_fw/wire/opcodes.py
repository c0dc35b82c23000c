# Messages, the part the device runs: opcodes, status codes, capability bits, the payload
# layouts, the request decoders and the response encoders the dispatcher (link/dispatch.py) calls.
# The host's request encoders, response decoders and names (wire/host/opcodes.py) build on this
# module, so each layout has one source: a fixed layout is one FMT_* struct format that both
# sides use.
#
# docs/protocol.md ("Messages") is the spec. Integers are little-endian and unsigned unless
# said otherwise; a string is u8 length + UTF-8 bytes. Every response payload starts with
# a u8 status: ST_OK then the fields below, or an error status then u32 detail and a
# string message (see put_error).
#
# Request decoders read buf[pos:end] and raise WireError naming the field; response encoders
# write into a preallocated buffer at pos and return the new position.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import struct

from repcue_fw.wire import WireError

# Requests (frame type byte). A response carries the request's type and FLAG_RESPONSE.
OP_HELLO = const(0x01)
OP_INFO = const(0x02)
OP_SET_TIME = const(0x03)
OP_ECHO = const(0x04)
OP_PROGRAM_BEGIN = const(0x10)
OP_PROGRAM_CHUNK = const(0x11)
OP_PROGRAM_COMMIT = const(0x12)
OP_START = const(0x20)
OP_STOP = const(0x21)
OP_PRESS = const(0x22)  # a logical button (pause, lap, skip) as the device's own
OP_LIST_SESSIONS = const(0x30)
OP_READ_SESSION = const(0x31)
OP_ACK_SESSIONS = const(0x32)
OP_READ_SESSIONS = const(0x33)  # batched: the rest of a session, then the ones after it
OP_SUBSCRIBE = const(0x40)
OP_EVENT = const(0x41)  # device -> host only, with FLAG_EVENT
OP_CONFIG_GET = const(0x50)
OP_CONFIG_SET = const(0x51)
OP_REPL = const(0x60)
OP_PAIR = const(0x70)  # USB serial only: store the BLE pairing key
OP_UNPAIR = const(0x71)  # USB serial only: delete it

# Status codes (first byte of every response payload).
ST_OK = const(0)
ST_UNKNOWN_OP = const(1)  # detail: the opcode
ST_BAD_REQUEST = const(2)  # payload malformed or a field out of range
ST_TOO_BIG = const(3)  # frame longer than the device accepts; detail: its max frame
ST_VERSION = const(4)  # unsupported protocol version; detail: the device's version
ST_BUSY = const(5)  # not while a session runs
ST_BAD_STATE = const(6)  # e.g. commit before every byte arrived, start with no program
ST_BAD_OFFSET = const(7)  # chunk not at the expected offset; detail: the expected offset
ST_CRC = const(8)  # uploaded bytes do not match the announced program id
ST_NOT_FOUND = const(9)  # no such session; detail: the id
ST_STORAGE_FULL = const(10)  # flash full of unsynced sessions
ST_BAD_PROGRAM = const(11)  # program bytes do not decode; detail: byte offset
ST_STORAGE = const(12)  # flash I/O error
ST_NO_MEMORY = const(13)
ST_AUTH = const(14)  # reserved for the BLE link: not authenticated
ST_UNSUPPORTED = const(15)  # a known request this device does not implement
ST_INTERNAL = const(16)  # an unexpected error inside the device
ST_NOT_RUNNING = const(17)  # STOP with no session running

# Capability bits (HELLO/INFO).
CAP_EVENTS = const(0x0001)
CAP_PROGRAM = const(0x0002)
CAP_SESSIONS = const(0x0004)
CAP_CONFIG = const(0x0008)
CAP_REPL = const(0x0010)
CAP_CLOCK = const(0x0020)  # keeps wall-clock time once set
_CAP_BLE = const(0x0040)
_CAP_AUTH = const(0x0080)  # reserved: BLE peers must authenticate

_STATE_IDLE = const(0)
STATE_RUNNING = const(1)

# Field limits.
_MAX_ID_BYTES = const(16)
_MAX_NAME_BYTES = const(32)
_MAX_BOARD_BYTES = const(16)
_MAX_FIRMWARE_BYTES = const(24)
_MAX_MESSAGE_BYTES = const(64)
MAX_BUTTON_MAP = const(12)
MAX_CUE_STRENGTH = const(100)
MAX_COUNTDOWN_S = const(15)
MAX_ACK_IDS = const(255)
PAIR_KEY_LEN = const(32)
SESSION_ENTRY_LEN = const(9)
SEGMENT_HEADER_LEN = const(15)
INFO_FIXED_LEN = const(26)
ERROR_FIXED_LEN = const(6)  # status, detail, message length
EVENT_LEN = const(9)
_CONFIG_FIXED_LEN = const(3)

CFG_CUE_STRENGTH = const(0x01)
CFG_COUNTDOWN = const(0x02)
CFG_BUTTONS = const(0x04)
CFG_ALL = const(0x07)

_U32 = const(0xFFFFFFFF)

# Fixed payload layouts (struct formats): the host packs with them, the device unpacks.
FMT_U32 = "<I"  # SET_TIME, PROGRAM_COMMIT, and u32 responses
FMT_INSTANT = "<IH"  # SET_TIME with ms, START at: Unix s, ms 0..999
FMT_HELLO = "<H"  # max_frame
FMT_INFO = "<BHHIIIIIB"  # version .. state (INFO_FIXED_LEN), then 4 strings
FMT_PROGRAM_BEGIN = "<II"  # total_len, crc
FMT_LIST_SESSIONS = "<IB"  # after_id, max_n
FMT_SESSION_ENTRY = "<IIB"  # id, size_bytes, flags (SESSION_ENTRY_LEN)
FMT_READ_SESSION = "<IIH"  # session_id, offset, max_n (READ_SESSION and READ_SESSIONS)
FMT_SEGMENT = "<IIBIH"  # id, size_bytes, flags, offset, n (SEGMENT_HEADER_LEN)
FMT_EVENT = "<Bii"  # code, a, b (EVENT_LEN)


class StatusError(Exception):
    """Raised by a service to answer a request with an error status.

    status: an ST_* code; detail: a number whose meaning depends on the status (an
    expected offset, a limit); message: short ASCII text saying what and where.
    """

    def __init__(self, status, message="", detail=0):
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


# ---- small helpers -------------------------------------------------------------------


def _need(end, pos, n, field):
    if end - pos < n:
        raise WireError(
            field + ": needs " + str(n) + " bytes, " + str(end - pos) + " left", pos, field
        )


def _exact(end, pos, field):
    if pos != end:
        raise WireError(field + ": " + str(end - pos) + " unexpected trailing bytes", pos, field)


def _clamp_u32(value):
    if value is None or value < 0:
        return 0
    if value > _U32:
        return _U32
    return value


def get_fixed(buf, pos, end, fmt, field):
    """Read exactly one fixed layout (an FMT_*) from buf[pos:end] -> the tuple of its fields."""
    n = struct.calcsize(fmt)
    _need(end, pos, n, field)
    _exact(end, pos + n, field)
    return struct.unpack_from(fmt, buf, pos)


def get_u32(buf, pos, end, field="value"):
    """Read exactly one u32 from buf[pos:end]."""
    return get_fixed(buf, pos, end, FMT_U32, field)[0]


def put_u32(buf, pos, value):
    struct.pack_into(FMT_U32, buf, pos, _clamp_u32(value))
    return pos + 4


def _utf8(value):
    if isinstance(value, str):
        return value.encode()
    if value is None:
        return b""
    return bytes(value)


def put_str(buf, pos, value, limit):
    """u8 length + at most `limit` bytes of value's UTF-8, cut on a character boundary."""
    data = _utf8(value)
    n = len(data)
    if n > limit:
        n = limit
        while n > 0 and (data[n] & 0xC0) == 0x80:
            n -= 1  # do not split a multi-byte character
    buf[pos] = n
    buf[pos + 1 : pos + 1 + n] = data[:n]
    return pos + 1 + n


# ---- responses -----------------------------------------------------------------------


def put_info(buf, pos, version, max_frame, device_max, info):
    """The HELLO/INFO response body. `info` is the services' dict (see link/dispatch.py)."""
    g = info.get
    struct.pack_into(
        FMT_INFO,
        buf,
        pos,
        version,
        max_frame,
        device_max,
        _clamp_u32(g("caps", 0)),
        _clamp_u32(g("free_heap", 0)),
        _clamp_u32(g("free_flash", 0)),
        _clamp_u32(g("clock_s", 0)),
        _clamp_u32(g("program_id", 0)),
        STATE_RUNNING if g("running", False) else _STATE_IDLE,
    )
    pos += INFO_FIXED_LEN
    pos = put_str(buf, pos, g("device_id", b""), _MAX_ID_BYTES)
    pos = put_str(buf, pos, g("name", ""), _MAX_NAME_BYTES)
    pos = put_str(buf, pos, g("board", ""), _MAX_BOARD_BYTES)
    return put_str(buf, pos, g("firmware", ""), _MAX_FIRMWARE_BYTES)


def put_sessions(buf, pos, entries, count, more):
    """u8 count, u8 more (1: entries after these exist), then per entry u32 id,
    u32 size_bytes, u8 flags (bit0 complete, bit1 acknowledged: an int, or a bool for
    complete alone)."""
    buf[pos] = count
    buf[pos + 1] = 1 if more else 0
    pos += 2
    for i in range(count):
        e = entries[i]
        struct.pack_into(FMT_SESSION_ENTRY, buf, pos, _clamp_u32(e[0]), _clamp_u32(e[1]), e[2] & 3)
        pos += SESSION_ENTRY_LEN
    return pos


def put_segment_header(buf, pos, session_id, size_bytes, flags, offset, n):
    """READ_SESSIONS segment: u32 id, u32 size_bytes, u8 flags (as put_sessions),
    u32 offset, u16 n; n data bytes follow."""
    struct.pack_into(
        FMT_SEGMENT,
        buf,
        pos,
        _clamp_u32(session_id),
        _clamp_u32(size_bytes),
        flags & 3,
        _clamp_u32(offset),
        n,
    )
    return pos + SEGMENT_HEADER_LEN


def put_event(buf, pos, code, a, b):
    """u8 code, i32 a, i32 b (the engine listener's arguments, wrapped into 32 bits)."""
    a &= _U32
    b &= _U32
    struct.pack_into(
        FMT_EVENT,
        buf,
        pos,
        code & 0xFF,
        a - 0x100000000 if a & 0x80000000 else a,
        b - 0x100000000 if b & 0x80000000 else b,
    )
    return pos + EVENT_LEN


def put_config(buf, pos, cfg):
    """u8 cue_strength (0-100 %), u8 countdown_s, u8 n, n bytes button map."""
    g = cfg.get
    buttons = g("buttons", b"") or b""
    n = len(buttons)
    if n > MAX_BUTTON_MAP:
        n = MAX_BUTTON_MAP
    buf[pos] = min(max(g("cue_strength", 0), 0), MAX_CUE_STRENGTH)
    buf[pos + 1] = min(max(g("countdown_s", 0), 0), MAX_COUNTDOWN_S)
    buf[pos + 2] = n
    for i in range(n):
        buf[pos + 3 + i] = buttons[i] & 0x0F
    return pos + _CONFIG_FIXED_LEN + n


def put_error(buf, pos, status, detail, message, limit=_MAX_MESSAGE_BYTES):
    """status, u32 detail, string message (ASCII; cut to `limit` bytes)."""
    buf[pos] = status
    struct.pack_into(FMT_U32, buf, pos + 1, _clamp_u32(detail))
    return put_str(buf, pos + 5, message, limit)


# ---- requests with a variable layout -------------------------------------------------


def get_program_chunk_req(buf, pos, end):
    """u32 offset, then the data to the end -> (offset, position of the data)."""
    _need(end, pos, 4, "offset")
    return struct.unpack_from(FMT_U32, buf, pos)[0], pos + 4


def get_instant(buf, pos, end, ms_optional):
    """u32 Unix s, u16 ms (0..999; absent: 0 when ms_optional) -> (s, ms)."""
    _need(end, pos, 4, "unix_s")
    s = struct.unpack_from(FMT_U32, buf, pos)[0]
    if ms_optional and end - pos == 4:
        return s, 0
    _need(end, pos + 4, 2, "ms")
    _exact(end, pos + 6, "instant")
    ms = struct.unpack_from(FMT_INSTANT, buf, pos)[1]
    if ms > 999:
        raise WireError("ms above 999", pos + 4, "ms")
    return s, ms


def get_pair_req(buf, pos, end):
    """PAIR: exactly PAIR_KEY_LEN bytes of key -> bytes."""
    _need(end, pos, PAIR_KEY_LEN, "key")
    _exact(end, pos + PAIR_KEY_LEN, "key")
    return bytes(buf[pos : pos + PAIR_KEY_LEN])


def get_ack_sessions_req(buf, pos, end):
    """u8 count (1..255), count x u32 session id -> list of ids."""
    _need(end, pos, 1, "count")
    count = buf[pos]
    if count == 0:
        raise WireError("ack of no sessions", pos, "count")
    _need(end, pos + 1, 4 * count, "ids")
    _exact(end, pos + 1 + 4 * count, "ack_sessions")
    return [struct.unpack_from(FMT_U32, buf, pos + 1 + 4 * i)[0] for i in range(count)]


def get_subscribe_req(buf, pos, end):
    """u8 on (0 or 1) -> bool."""
    _need(end, pos, 1, "on")
    _exact(end, pos + 1, "subscribe")
    if buf[pos] > 1:
        raise WireError("subscribe flag must be 0 or 1", pos, "on")
    return buf[pos] == 1


def get_config(buf, pos, end):
    """A config body (put_config's layout) -> {cue_strength, countdown_s, buttons}."""
    _need(end, pos, _CONFIG_FIXED_LEN, "config")
    strength = buf[pos]
    countdown = buf[pos + 1]
    n = buf[pos + 2]
    if strength > MAX_CUE_STRENGTH:
        raise WireError("cue_strength above 100", pos, "cue_strength")
    if countdown > MAX_COUNTDOWN_S:
        raise WireError("countdown_s above 15", pos + 1, "countdown_s")
    if n > MAX_BUTTON_MAP:
        raise WireError("button map longer than " + str(MAX_BUTTON_MAP), pos + 2, "buttons")
    _need(end, pos + 3, n, "buttons")
    _exact(end, pos + 3 + n, "config")
    buttons = bytes(buf[pos + 3 : pos + 3 + n])
    for i in range(n):
        if buttons[i] > 15:
            raise WireError("button code above 15", pos + 3 + i, "buttons")
    return {"cue_strength": strength, "countdown_s": countdown, "buttons": buttons}


def get_config_set_req(buf, pos, end):
    """u8 mask (CFG_* bits), then a config body -> dict of only the fields the mask selects."""
    _need(end, pos, 1, "mask")
    mask = buf[pos]
    if mask & ~CFG_ALL & 0xFF:
        raise WireError("unknown config mask bits", pos, "mask")
    cfg = get_config(buf, pos + 1, end)
    out = {}
    if mask & CFG_CUE_STRENGTH:
        out["cue_strength"] = cfg["cue_strength"]
    if mask & CFG_COUNTDOWN:
        out["countdown_s"] = cfg["countdown_s"]
    if mask & CFG_BUTTONS:
        out["buttons"] = cfg["buttons"]
    return out
