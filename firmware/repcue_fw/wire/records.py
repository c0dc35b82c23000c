# Stored-session record codec, the part the device runs: how the journal writes a session on
# flash, byte for byte, and parse(), which checks one record (the journal's boot scan). The
# host's session decoder (wire/host/records.py) builds on this module, so the layout has one
# source. docs/protocol.md ("Stored sessions") is the spec.
#
# A session file is a sequence of records:
#   HEADER, PROGRAM (the program that ran, when the device had it), then one STEP or
#   STEP_LAPS per recorded step (each maybe followed by LAPS records carrying more laps),
#   then END (absent while the session is being recorded).
# Every record: u8 tag, fields, u16 CRC-16/CCITT-FALSE (little-endian) over tag + fields.
#   tag bits 5-7: record type; bits 0-4: per type (see below)
#   var = unsigned LEB128 varint (wire/varint.py, at most 4 bytes); u32 = little-endian
#   1 HEADER    bits0-4 format version (2; version 1 has no PROGRAM); var session_id,
#               u32 program_id, u32 start_wall_s (0 = the device did not know the time),
#               u32 start_uptime_ms
#   6 PROGRAM   bits0-4 zero; var n, then the n program bytes. No CRC-16: the program's own
#               CRC-32 trailer checks it (readers that decode it check that)
#   2 STEP      bits0-2 kind, bits3-4 end reason; var index, var planned, var elapsed_ms
#   3 STEP_LAPS as STEP, then var n (1-16) and n x var lap_ms
#   4 LAPS      bits0-4 zero; var n (1-16), n x var lap_ms: more laps of the step before it
#   5 END       bits0-4 session end reason; var total_ms, paused_ms, pauses, late_max_ms,
#               late_mean_ms, step_count
# Types 0 and 7 are invalid, so erased flash (0xff) and zeroed bytes never parse.
# A step without laps takes at most 12 bytes while index < 2**14 and planned < 2**21.
#
# Encoders write into a caller's preallocated buffer (the journal allocates one at boot)
# and never allocate; decoders raise WireError(message, offset, field).
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw.wire import WireError, varint
from repcue_fw.wire import program as wp

FORMAT_VERSION = const(2)

REC_HEADER = const(1)
REC_STEP = const(2)
REC_STEP_LAPS = const(3)
REC_LAPS = const(4)
REC_END = const(5)
REC_PROGRAM = const(6)

# Why a step ended.
END_TIME = const(0)
END_LAP = const(1)
END_SKIP = const(2)
END_STOP = const(3)

# Why a session ended.
END_FINISHED = const(0)
END_STOPPED = const(1)
END_POWER_LOST = const(2)

LAPS_PER_RECORD = const(16)
MAX_U32 = 0xFFFFFFFF
# Largest record: STEP_LAPS with every varint at 4 bytes and 16 laps.
MAX_RECORD = const(80)
_CRC_LEN = const(2)

# Field slots of the `out` list that parse() fills (a list of at least OUT_LEN ints).
OUT_LEN = const(8)
# HEADER: 1 version, 2 session_id, 3 program_id, 4 start_wall_s, 5 start_uptime_ms
# STEP, STEP_LAPS: 1 kind, 2 end reason, 3 index, 4 planned, 5 elapsed_ms
# STEP_LAPS, LAPS: 6 lap count, 7 offset of the first lap varint
# END: 1 end reason, 2 total_ms, 3 paused_ms, 4 pauses, 5 late_max_ms, 6 late_mean_ms,
#      7 step_count
# PROGRAM: 1 program length, 2 offset of the program bytes


def crc16(buf, start, end, crc=0xFFFF):
    """CRC-16/CCITT-FALSE of buf[start:end] (poly 0x1021, init 0xffff); no allocation."""
    for i in range(start, end):
        crc ^= buf[i] << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc


def _check(value, high, field):
    if not isinstance(value, int) or value < 0 or value > high:
        raise WireError(field + " must be 0.." + str(high) + ", got " + repr(value), -1, field)


def _var(buf, pos, value, field):
    if not isinstance(value, int) or value < 0 or value > varint.MAX_VARINT:
        raise WireError(
            field + " must be 0.." + str(varint.MAX_VARINT) + ", got " + repr(value), -1, field
        )
    while value >= 0x80:
        buf[pos] = (value & 0x7F) | 0x80
        value >>= 7
        pos += 1
    buf[pos] = value
    return pos + 1


def _u32(buf, pos, value, field):
    _check(value, MAX_U32, field)
    buf[pos] = value & 0xFF
    buf[pos + 1] = (value >> 8) & 0xFF
    buf[pos + 2] = (value >> 16) & 0xFF
    buf[pos + 3] = (value >> 24) & 0xFF
    return pos + 4


def _seal(buf, pos):
    crc = crc16(buf, 0, pos)
    buf[pos] = crc & 0xFF
    buf[pos + 1] = crc >> 8
    return pos + _CRC_LEN


def encode_header(buf, session_id, program_id, start_wall_s, start_uptime_ms):
    """Write a HEADER record at buf[0:]; return its length."""
    buf[0] = (REC_HEADER << 5) | FORMAT_VERSION
    pos = _var(buf, 1, session_id, "session_id")
    pos = _u32(buf, pos, program_id, "program_id")
    pos = _u32(buf, pos, start_wall_s, "start_wall_s")
    pos = _u32(buf, pos, start_uptime_ms, "start_uptime_ms")
    return _seal(buf, pos)


def encode_program_head(buf, n):
    """Write the head of a PROGRAM record (the n program bytes follow it); return its
    length."""
    _check(n, wp.MAX_PROGRAM_BYTES, "program")
    buf[0] = REC_PROGRAM << 5
    return _var(buf, 1, n, "program")


def _laps(buf, pos, laps_ms, first, count):
    pos = _var(buf, pos, count, "laps")
    for i in range(first, first + count):
        pos = _var(buf, pos, laps_ms[i], "lap_ms")
    return pos


def encode_step(buf, index, kind, end_reason, planned, elapsed_ms, laps_ms=None):
    """Write a STEP (or STEP_LAPS with the first 16 laps) record; return its length.

    Laps beyond the first LAPS_PER_RECORD go in LAPS records: see encode_laps.
    """
    _check(kind, wp.KIND_COOLDOWN, "kind")
    _check(end_reason, END_STOP, "end_reason")
    n = len(laps_ms) if laps_ms else 0
    rtype = REC_STEP_LAPS if n else REC_STEP
    buf[0] = (rtype << 5) | (end_reason << 3) | kind
    pos = _var(buf, 1, index, "index")
    pos = _var(buf, pos, planned, "planned")
    pos = _var(buf, pos, elapsed_ms, "elapsed_ms")
    if n:
        pos = _laps(buf, pos, laps_ms, 0, n if n < LAPS_PER_RECORD else LAPS_PER_RECORD)
    return _seal(buf, pos)


def encode_laps(buf, laps_ms, first):
    """Write a LAPS record with up to 16 laps from laps_ms[first:]; return its length."""
    n = len(laps_ms) - first
    if n <= 0:
        raise WireError("no laps left from " + str(first), -1, "laps")
    buf[0] = REC_LAPS << 5
    pos = _laps(buf, 1, laps_ms, first, n if n < LAPS_PER_RECORD else LAPS_PER_RECORD)
    return _seal(buf, pos)


def encode_end(buf, end_reason, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, steps):
    """Write an END record; `steps` is how many step records the session holds."""
    _check(end_reason, END_POWER_LOST, "end_reason")
    buf[0] = (REC_END << 5) | end_reason
    pos = _var(buf, 1, total_ms, "total_ms")
    pos = _var(buf, pos, paused_ms, "paused_ms")
    pos = _var(buf, pos, pauses, "pauses")
    pos = _var(buf, pos, late_max_ms, "late_max_ms")
    pos = _var(buf, pos, late_mean_ms, "late_mean_ms")
    pos = _var(buf, pos, steps, "step_count")
    return _seal(buf, pos)


def _get_u32(buf, pos, end, field):
    if pos + 4 > end:
        raise WireError("truncated " + field, pos, field)
    return buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24), pos + 4


def _skip_laps(buf, pos, end, out):
    n, pos = varint.get(buf, pos, end, "laps")
    if n < 1 or n > LAPS_PER_RECORD:
        raise WireError("lap count must be 1.." + str(LAPS_PER_RECORD), pos - 1, "laps")
    out[6] = n
    out[7] = pos
    for _ in range(n):
        _, pos = varint.get(buf, pos, end, "lap_ms")
    return pos


def parse(buf, pos, end, out):
    """Check and parse the record at buf[pos:end] into `out`; return the offset after it.
    A PROGRAM record's bytes are not read (it may end past `end`): see out[2]."""
    start = pos
    if pos >= end:
        raise WireError("no record at " + str(pos), pos, "record")
    tag = buf[pos]
    rtype = tag >> 5
    low = tag & 0x1F
    pos += 1
    out[0] = rtype
    out[6] = 0
    out[7] = 0
    if rtype == REC_STEP or rtype == REC_STEP_LAPS:
        out[1] = low & 0x07
        out[2] = low >> 3
        if out[1] > wp.KIND_COOLDOWN:
            raise WireError("bad step kind " + str(out[1]), start, "kind")
        out[3], pos = varint.get(buf, pos, end, "index")
        out[4], pos = varint.get(buf, pos, end, "planned")
        out[5], pos = varint.get(buf, pos, end, "elapsed_ms")
        if rtype == REC_STEP_LAPS:
            pos = _skip_laps(buf, pos, end, out)
    elif rtype == REC_LAPS:
        if low:
            raise WireError("reserved bits set in a laps record", start, "record")
        pos = _skip_laps(buf, pos, end, out)
    elif rtype == REC_PROGRAM:
        if low:
            raise WireError("reserved bits set in a program record", start, "record")
        n, pos = varint.get(buf, pos, end, "program")
        if n < wp.MIN_PROGRAM_BYTES or n > wp.MAX_PROGRAM_BYTES:
            raise WireError("bad program length " + str(n), start, "program")
        out[1] = n
        out[2] = pos
        return pos + n
    elif rtype == REC_HEADER:
        if low < 1 or low > FORMAT_VERSION:
            raise WireError("unsupported session format version " + str(low), start, "version")
        out[1] = low
        out[2], pos = varint.get(buf, pos, end, "session_id")
        out[3], pos = _get_u32(buf, pos, end, "program_id")
        out[4], pos = _get_u32(buf, pos, end, "start_wall_s")
        out[5], pos = _get_u32(buf, pos, end, "start_uptime_ms")
    elif rtype == REC_END:
        if low > END_POWER_LOST:
            raise WireError("bad session end reason " + str(low), start, "end_reason")
        out[1] = low
        out[2], pos = varint.get(buf, pos, end, "total_ms")
        out[3], pos = varint.get(buf, pos, end, "paused_ms")
        out[4], pos = varint.get(buf, pos, end, "pauses")
        out[5], pos = varint.get(buf, pos, end, "late_max_ms")
        out[6], pos = varint.get(buf, pos, end, "late_mean_ms")
        out[7], pos = varint.get(buf, pos, end, "step_count")
    else:
        raise WireError("bad record type " + str(rtype), start, "record")
    if pos + _CRC_LEN > end:
        raise WireError("truncated record (no CRC)", start, "crc")
    if crc16(buf, start, pos) != buf[pos] | (buf[pos + 1] << 8):
        raise WireError("record CRC mismatch", start, "crc")
    return pos + _CRC_LEN
