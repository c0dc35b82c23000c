# The journal's stored sessions as the link serves them: list and read (one reader kept open
# between reads of the same session). Acknowledging them is acks.
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import os

from repcue_fw.journal.files import (
    S_DONE,
    S_OPEN,
    S_TEMP,
    JournalError,
    forget_reader,
    parse_name,
    path,
)
from repcue_fw.wire.opcodes import ST_NOT_FOUND

_MAX_GAP = const(8)  # missing ids in a row before a directory scan is the cheaper way on


def list_sessions(j, after_id=0, max_n=32):
    """[(session_id, size_bytes, flags)] with id > after_id, oldest first, <= max_n;
    flags as on the wire: bit0 complete, bit1 acknowledged (the host stored it).

    Ids are handed out in order, so the sessions after a cursor are probed id by id: an
    open per session (kept as the reader, which is what READ_SESSIONS reads next). A
    directory scan costs every file in the directory on every call (~35 us each on
    littlefs in the unix port), so it is used only past a gap of reclaimed ids."""
    found = []
    sid = after_id + 1
    misses = 0
    while sid < j.next_id and len(found) < max_n:
        try:
            f = _open_reader(j, sid)
        except JournalError:
            misses += 1
            if misses > _MAX_GAP:
                return found + _scan(j, sid, max_n - len(found))
            sid += 1
            continue
        misses = 0
        found.append((sid, f.seek(0, 2), _flags(j, sid, sid != j.recording_id)))
        sid += 1
    return found


def _flags(j, sid, complete):
    return (2 if sid in j.acked_ids else 0) | (1 if complete else 0)


def _scan(j, after_id, max_n):
    found = []
    for entry in os.ilistdir(j.dir):
        sid, state = parse_name(entry[0])
        if sid <= after_id or state < 0 or state == S_TEMP:
            continue
        if len(entry) > 3:
            size = entry[3]
        else:
            size = os.stat(path(j, sid, state))[6]
        found.append((sid, size, _flags(j, sid, state != S_OPEN)))
    found.sort()
    return found[:max_n]


def _open_reader(j, session_id):
    if j.reader_id == session_id and j.reader is not None:
        return j.reader
    forget_reader(j)
    for state in (S_DONE, S_OPEN):
        try:
            f = open(path(j, session_id, state), "rb")
        except OSError:
            continue
        j.reader = f
        j.reader_id = session_id
        return f
    raise JournalError("no session " + str(session_id), ST_NOT_FOUND, session_id)


def read_session_into(j, session_id, offset, buf):
    """Read stored bytes of a session into buf from offset; return the count (0: end)."""
    f = _open_reader(j, session_id)
    f.seek(offset)
    return f.readinto(buf) or 0
