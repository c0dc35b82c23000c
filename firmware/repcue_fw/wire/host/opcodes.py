# Messages, the host's side: request encoders, response decoders and the names of opcodes
# and statuses. The opcodes, status codes, layouts (FMT_*), request decoders and response
# encoders are wire/opcodes.py (what the firmware runs, re-exported here), so each
# layout has one source. docs/protocol.md ("Messages") is the spec.
#
# Request encoders return bytes; response decoders read buf[pos:end] and raise WireError
# naming the field.
import struct

from repcue_fw.wire import WireError
from repcue_fw.wire.events import BTN_LAP, BTN_PAUSE, BTN_SKIP
from repcue_fw.wire.host import check_range
from repcue_fw.wire.opcodes import *  # noqa: F403  (the board's side, and the host's add-ons below)
from repcue_fw.wire.opcodes import (
    CFG_ALL,
    ERROR_FIXED_LEN,
    EVENT_LEN,
    FMT_EVENT,
    FMT_HELLO,
    FMT_INFO,
    FMT_INSTANT,
    FMT_LIST_SESSIONS,
    FMT_PROGRAM_BEGIN,
    FMT_READ_SESSION,
    FMT_SEGMENT,
    FMT_SESSION_ENTRY,
    FMT_U32,
    INFO_FIXED_LEN,
    MAX_ACK_IDS,
    MAX_BUTTON_MAP,
    MAX_COUNTDOWN_S,
    MAX_CUE_STRENGTH,
    OP_ACK_SESSIONS,
    OP_CONFIG_GET,
    OP_CONFIG_SET,
    OP_ECHO,
    OP_EVENT,
    OP_HELLO,
    OP_INFO,
    OP_LIST_SESSIONS,
    OP_PAIR,
    OP_PRESS,
    OP_PROGRAM_BEGIN,
    OP_PROGRAM_CHUNK,
    OP_PROGRAM_COMMIT,
    OP_READ_SESSION,
    OP_READ_SESSIONS,
    OP_REPL,
    OP_SET_TIME,
    OP_START,
    OP_STOP,
    OP_SUBSCRIBE,
    OP_UNPAIR,
    PAIR_KEY_LEN,
    SEGMENT_HEADER_LEN,
    SESSION_ENTRY_LEN,
    _need,
    _utf8,
)

PRESS_BUTTONS = (BTN_PAUSE, BTN_LAP, BTN_SKIP)  # what PRESS takes; START, STOP have own ops

OP_NAMES = {
    OP_HELLO: "HELLO",
    OP_INFO: "INFO",
    OP_SET_TIME: "SET_TIME",
    OP_ECHO: "ECHO",
    OP_PROGRAM_BEGIN: "PROGRAM_BEGIN",
    OP_PROGRAM_CHUNK: "PROGRAM_CHUNK",
    OP_PROGRAM_COMMIT: "PROGRAM_COMMIT",
    OP_START: "START",
    OP_STOP: "STOP",
    OP_PRESS: "PRESS",
    OP_LIST_SESSIONS: "LIST_SESSIONS",
    OP_READ_SESSION: "READ_SESSION",
    OP_ACK_SESSIONS: "ACK_SESSIONS",
    OP_READ_SESSIONS: "READ_SESSIONS",
    OP_SUBSCRIBE: "SUBSCRIBE",
    OP_EVENT: "EVENT",
    OP_CONFIG_GET: "CONFIG_GET",
    OP_CONFIG_SET: "CONFIG_SET",
    OP_REPL: "REPL",
    OP_PAIR: "PAIR",
    OP_UNPAIR: "UNPAIR",
}

# Indexed by status code.
STATUS_NAMES = (
    "ok",
    "unknown request",
    "bad request",
    "frame too big",
    "protocol version mismatch",
    "busy",
    "bad state",
    "bad offset",
    "CRC mismatch",
    "not found",
    "storage full",
    "bad program",
    "storage error",
    "out of memory",
    "not authenticated",
    "unsupported",
    "internal error",
    "no session running",
)


def status_name(status):
    if 0 <= status < len(STATUS_NAMES):
        return STATUS_NAMES[status]
    return "status " + str(status)


def u32(value, field="value"):
    """A request holding one u32 (SET_TIME, PROGRAM_COMMIT)."""
    check_range(value, 0, 0xFFFFFFFF, field)
    return struct.pack(FMT_U32, value)


def instant_req(unix_ms):
    """SET_TIME (with ms) and START at: a wall-clock instant in Unix ms -> u32 s, u16 ms."""
    check_range(unix_ms, 0, 0xFFFFFFFF * 1000 + 999, "unix_ms")
    return struct.pack(FMT_INSTANT, unix_ms // 1000, unix_ms % 1000)


def press_req(button):
    """PRESS: one logical button, BTN_PAUSE, BTN_LAP or BTN_SKIP (wire/events.py)."""
    check_range(button, PRESS_BUTTONS[0], PRESS_BUTTONS[-1], "button")
    return struct.pack("<B", button)


def get_str(buf, pos, end, field):
    """Read a string field; returns (bytes, new_pos)."""
    _need(end, pos, 1, field)
    n = buf[pos]
    _need(end, pos + 1, n, field)
    return bytes(buf[pos + 1 : pos + 1 + n]), pos + 1 + n


def str_size(value, limit):
    n = len(_utf8(value))
    return 1 + (n if n < limit else limit)


# ---- HELLO / INFO --------------------------------------------------------------------


def hello_req(max_frame):
    check_range(max_frame, 0, 0xFFFF, "max_frame")
    return struct.pack(FMT_HELLO, max_frame)


def get_info(buf, pos, end):
    """-> (version, max_frame, device_max, caps, free_heap, free_flash, clock_s,
    program_id, state, device_id, name, board, firmware); strings as bytes."""
    _need(end, pos, INFO_FIXED_LEN, "info")
    fixed = struct.unpack_from(FMT_INFO, buf, pos)
    pos += INFO_FIXED_LEN
    device_id, pos = get_str(buf, pos, end, "device_id")
    name, pos = get_str(buf, pos, end, "name")
    board, pos = get_str(buf, pos, end, "board")
    firmware, pos = get_str(buf, pos, end, "firmware")
    # later protocol revisions may append fields: ignore what follows
    return fixed + (device_id, name, board, firmware)


# ---- program upload ------------------------------------------------------------------


def program_begin_req(total_len, crc):
    check_range(total_len, 1, 0xFFFFFFFF, "total_len")
    check_range(crc, 0, 0xFFFFFFFF, "crc")
    return struct.pack(FMT_PROGRAM_BEGIN, total_len, crc)


def program_chunk_req(offset, data):
    check_range(offset, 0, 0xFFFFFFFF, "offset")
    return struct.pack(FMT_U32, offset) + bytes(data)


# ---- sessions ------------------------------------------------------------------------


# A session's flags (LIST_SESSIONS entries, READ_SESSIONS segments).
FLAG_COMPLETE = 0x01  # its END is written: it will not grow
FLAG_ACKNOWLEDGED = 0x02  # a host acknowledged it: the device may reclaim its space


def list_sessions_req(after_id, max_n):
    check_range(after_id, 0, 0xFFFFFFFF, "after_id")
    check_range(max_n, 1, 255, "max_n")
    return struct.pack(FMT_LIST_SESSIONS, after_id, max_n)


def get_sessions(buf, pos, end):
    """-> (list of (session_id, size_bytes, flags), more); flags: FLAG_COMPLETE,
    FLAG_ACKNOWLEDGED."""
    _need(end, pos, 2, "count")
    count = buf[pos]
    more = buf[pos + 1] == 1
    pos += 2
    _need(end, pos, count * SESSION_ENTRY_LEN, "sessions")
    out = []
    for _ in range(count):
        sid, size, flags = struct.unpack_from(FMT_SESSION_ENTRY, buf, pos)
        out.append((sid, size, flags))
        pos += SESSION_ENTRY_LEN
    return out, more


def read_session_req(session_id, offset, max_n):
    check_range(session_id, 0, 0xFFFFFFFF, "session_id")
    check_range(offset, 0, 0xFFFFFFFF, "offset")
    check_range(max_n, 1, 0xFFFF, "max_n")
    return struct.pack(FMT_READ_SESSION, session_id, offset, max_n)


def read_sessions_req(session_id, offset, max_n):
    """Same fields as READ_SESSION: where to start, and how many bytes at most."""
    return read_session_req(session_id, offset, max_n)


def get_segments(buf, pos, end):
    """READ_SESSIONS body -> (more, list of (session_id, size_bytes, flags, offset,
    data bytes))."""
    _need(end, pos, 1, "more")
    more = buf[pos] == 1
    pos += 1
    out = []
    while pos < end:
        _need(end, pos, SEGMENT_HEADER_LEN, "segment")
        sid, size, flags, offset, n = struct.unpack_from(FMT_SEGMENT, buf, pos)
        pos += SEGMENT_HEADER_LEN
        _need(end, pos, n, "segment data")
        out.append((sid, size, flags, offset, bytes(buf[pos : pos + n])))
        pos += n
    return more, out


def ack_sessions_req(ids):
    check_range(len(ids), 1, MAX_ACK_IDS, "ids")
    out = bytearray(1 + 4 * len(ids))
    out[0] = len(ids)
    for i, sid in enumerate(ids):
        check_range(sid, 0, 0xFFFFFFFF, "session_id")
        struct.pack_into(FMT_U32, out, 1 + 4 * i, sid)
    return bytes(out)


# ---- events ----------------------------------------------------------------------------


def subscribe_req(on):
    return b"\x01" if on else b"\x00"


def get_event(buf, pos, end):
    _need(end, pos, EVENT_LEN, "event")
    return struct.unpack_from(FMT_EVENT, buf, pos)


# ---- config ----------------------------------------------------------------------------


def config_set_req(mask, cue_strength, countdown_s, buttons):
    check_range(mask, 0, CFG_ALL, "mask")
    check_range(cue_strength, 0, MAX_CUE_STRENGTH, "cue_strength")
    check_range(countdown_s, 0, MAX_COUNTDOWN_S, "countdown_s")
    check_range(len(buttons), 0, MAX_BUTTON_MAP, "buttons")
    for b in buttons:
        check_range(b, 0, 15, "button")
    return bytes((mask, cue_strength, countdown_s, len(buttons))) + bytes(buttons)


# ---- pairing (USB serial only) ---------------------------------------------------------


def pair_req(key):
    """PAIR: the 32-byte BLE pairing key."""
    if not isinstance(key, (bytes, bytearray)) or len(key) != PAIR_KEY_LEN:
        raise WireError("pairing key must be " + str(PAIR_KEY_LEN) + " bytes", -1, "key")
    return bytes(key)


def get_flag(buf, pos, end, field="flag"):
    """A response holding exactly one u8 0 or 1 (UNPAIR) -> 0 or 1."""
    _need(end, pos, 1, field)
    if end - pos != 1 or buf[pos] > 1:
        raise WireError(field + ": expected one byte 0 or 1", pos, field)
    return buf[pos]


# ---- errors ----------------------------------------------------------------------------


def get_error(buf, pos, end):
    """-> (status, detail, message bytes)."""
    _need(end, pos, ERROR_FIXED_LEN, "error")
    status = buf[pos]
    detail = struct.unpack_from(FMT_U32, buf, pos + 1)[0]
    message, _ = get_str(buf, pos + 5, end, "message")
    return status, detail, message
