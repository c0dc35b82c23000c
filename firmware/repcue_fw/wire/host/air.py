# The BLE air format, the host's side: whole records out of a byte stream (the board's
# RecordReader underneath), records made from bytes, and what an ERROR record says. The
# record format itself is wire/air.py.
import struct

from repcue_fw.wire import WireError
from repcue_fw.wire.air import *  # noqa: F403  (the board's side, and the host's add-ons below)
from repcue_fw.wire.air import (
    ERR_MALFORMED,
    ERROR_NAMES,
    MAX_BODY,
    REC_HEADER,
    RecordReader,
)


class Record:
    """One record: its type (REC_*) and body bytes."""

    def __init__(self, rtype, body):
        self.type = rtype
        self.body = body

    def __eq__(self, other):
        return isinstance(other, Record) and (self.type, self.body) == (other.type, other.body)

    def __repr__(self):
        return "Record(" + str(self.type) + ", " + repr(self.body) + ")"


def encode(rtype, body):
    """A record: the u16 LE header (type in bits 13-15, body length in bits 0-12), body."""
    if len(body) > MAX_BODY:
        raise WireError("record body of " + str(len(body)) + " bytes", -1, "body")
    return struct.pack("<H", (rtype << 13) | len(body)) + bytes(body)


class RecordParser:
    """feed() the bytes as they come; get the records they complete."""

    def __init__(self, max_body=MAX_BODY):
        self._reader = RecordReader(max_body)
        self._offset = 0  # stream bytes consumed so far, for errors

    def feed(self, data):
        reader = self._reader
        out = []
        pos = 0
        end = len(data)
        while pos < end:
            start = pos
            pos = reader.push(data, pos, end)
            if reader.bad:
                raise WireError(
                    "malformed record (type " + str(reader.type) + ")",
                    self._offset + start,
                    "record",
                )
            self._offset += pos - start
            if reader.ready:
                body = bytes(reader.buf[REC_HEADER : REC_HEADER + reader.length])
                out.append(Record(reader.type, body))
        return out


def error_text(body):
    """(code, detail, text) of an ERROR record's body."""
    if len(body) < 5:
        return ERR_MALFORMED, 0, "malformed error record"
    code, detail = struct.unpack_from("<BI", body, 0)
    name = ERROR_NAMES[code] if 0 < code < len(ERROR_NAMES) else "error " + str(code)
    try:
        extra = bytes(body[5:]).decode("utf-8")
    except UnicodeError:
        extra = repr(bytes(body[5:]))
    return code, detail, name + ": " + extra if extra else name
