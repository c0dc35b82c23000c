# The journal's stored sessions as the link serves them: list, read (one reader kept open
# between reads of the same session), and acknowledge (rename s/N to s/N.a: the host has
# them, so they may be reclaimed).
import os

from repcue_fw.journal_files import (
    ENOENT,
    ERR_IO,
    ERR_NOT_FOUND,
    S_ACKED,
    S_DONE,
    S_OPEN,
    S_TEMP,
    JournalError,
    close_quietly,
    errno,
    ids,
    parse_name,
    path,
)


def list_sessions(j, after_id=0, max_n=32):
    """[(session_id, size_bytes, complete)] with id > after_id, oldest first, <= max_n."""
    found = []
    for entry in os.ilistdir(j._dir):
        sid, state = parse_name(entry[0])
        if sid <= after_id or state < 0 or state == S_TEMP:
            continue
        if len(entry) > 3:
            size = entry[3]
        else:
            size = os.stat(path(j, sid, state))[6]
        found.append((sid, size, state != S_OPEN))
    found.sort()
    return found[:max_n]


def acked(j, session_id):
    """True if the host acknowledged this session (it may be reclaimed)."""
    return session_id in ids(j, S_ACKED)


def forget_reader(j):
    if j._reader is not None:
        close_quietly(j._reader)
    j._reader = None
    j._reader_id = 0


def _open_reader(j, session_id):
    if j._reader_id == session_id and j._reader is not None:
        return j._reader
    forget_reader(j)
    for state in (S_DONE, S_ACKED, S_OPEN):
        try:
            f = open(path(j, session_id, state), "rb")
        except OSError:
            continue
        j._reader = f
        j._reader_id = session_id
        return f
    raise JournalError("no session " + str(session_id), ERR_NOT_FOUND)


def read_session_into(j, session_id, offset, buf):
    """Read stored bytes of a session into buf from offset; return the count (0: end)."""
    f = _open_reader(j, session_id)
    f.seek(offset)
    return f.readinto(buf) or 0


def read_session(j, session_id, offset=0, n=256):
    """Up to n stored bytes of a session from offset (b'' past its end)."""
    f = _open_reader(j, session_id)
    f.seek(offset)
    return f.read(n)


def ack(j, session_ids):
    """Mark sessions as synced by the host; unknown or open ones are skipped.
    Returns how many were newly acknowledged."""
    count = 0
    for sid in session_ids:
        if sid == j._id:
            continue
        if j._reader_id == sid:
            forget_reader(j)
        try:
            os.rename(path(j, sid, S_DONE), path(j, sid, S_ACKED))
            count += 1
        except OSError as e:
            if errno(e) != ENOENT:
                raise JournalError("flash error " + str(errno(e)) + " in ack", ERR_IO)
    return count
