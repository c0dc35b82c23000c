# Varints, the host's side: put() appends one. The format and the readers are
# wire/varint.py.
from repcue_fw.wire import WireError
from repcue_fw.wire.varint import *  # noqa: F403  (the board's side, and the host's add-on below)
from repcue_fw.wire.varint import MAX_VARINT


def put(out, value, field):
    """Append `value` to bytearray `out`."""
    if value < 0 or value > MAX_VARINT:
        raise WireError("value out of range 0.." + str(MAX_VARINT) + ": " + str(value), -1, field)
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
