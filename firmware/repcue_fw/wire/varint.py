# Unsigned LEB128 varints: 7 bits a byte, low group first, high bit = more follows.
# A board only reads them (records.py writes its own into a preallocated buffer);
# wire/host/varint.py appends them.
from repcue_fw.wire import WireError

MAX_VARINT = 0x0FFFFFFF  # four bytes: 74 hours in ms; fits a small int on a 32-bit board


def read(buf, at, end, field):
    """Read the varint at buf[at[0]:end] and move at[0] past it. Allocates nothing (`at` is
    the caller's one-item list), so the engine can walk program bytes with the heap locked."""
    pos = at[0]
    start = pos
    value = 0
    shift = 0
    while True:
        if pos >= end:
            raise WireError("truncated varint", start, field)
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            at[0] = pos
            return value
        shift += 7
        if shift > 21:
            raise WireError("varint longer than 4 bytes", start, field)


def get(buf, pos, end, field):
    """Read a varint from buf[pos:end]; return (value, new_pos)."""
    at = [pos]
    value = read(buf, at, end, field)
    return value, at[0]
