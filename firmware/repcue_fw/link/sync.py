# The session-sync requests, for the Dispatcher (link/dispatch.py): LIST_SESSIONS,
# READ_SESSION, READ_SESSIONS (the rest of a session, then the ones after it, one frame at a
# time) and ACK_SESSIONS. The dispatcher loads this module with the first of them and drops
# it when a session begins: a board does not hold the sync code while it records.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw.link.dispatch import BODY
from repcue_fw.wire import opcodes as op

_AT_MAX_ENTRIES = const(4)  # payload offsets of fields (ST_BAD_REQUEST details)
_AT_MAX_BYTES = const(8)


def handle(d, t, buf, pos, end):
    """Request t of Dispatcher d, its payload buf[pos:end]; where the response ends in d.raw."""
    if t == op.OP_READ_SESSIONS:
        return _read_sessions(d, buf, pos, end)
    if t == op.OP_READ_SESSION:
        session_id, offset, max_n = op.get_fixed(buf, pos, end, op.FMT_READ_SESSION, "read")
        if not max_n:
            raise op.StatusError(op.ST_BAD_REQUEST, "max bytes 0", _AT_MAX_BYTES)
        room = d.limit() - BODY
        n = max_n if max_n < room else room
        return BODY + _read_into(d, session_id, offset, BODY, n)
    if t == op.OP_LIST_SESSIONS:
        after_id, max_n = op.get_fixed(buf, pos, end, op.FMT_LIST_SESSIONS, "list")
        if not max_n:
            raise op.StatusError(op.ST_BAD_REQUEST, "max entries 0", _AT_MAX_ENTRIES)
        room = (d.limit() - BODY - 2) // op.SESSION_ENTRY_LEN
        n = max_n if max_n < room else room
        # one entry more than fits tells whether the host must ask again
        entries = d.service("list_sessions")(after_id, n + 1)
        count = len(entries)
        return op.put_sessions(d.raw, BODY, entries, n if count > n else count, count > n)
    d.service("ack_sessions")(op.get_ack_sessions_req(buf, pos, end))  # OP_ACK_SESSIONS
    return BODY


def _next_entry(listing, after_id):
    found = listing(after_id, 1)
    return found[0] if found else None


def _read_sessions(d, buf, pos, end):
    # Fill one frame with segments: the rest of session `session_id` from `offset`, then
    # the sessions after it, so a sync pays one round trip per frame, not per session.
    session_id, offset, max_n = op.get_fixed(buf, pos, end, op.FMT_READ_SESSION, "read")
    if max_n <= op.SEGMENT_HEADER_LEN:  # no room for a byte: "more" would never end
        raise op.StatusError(op.ST_BAD_REQUEST, "max bytes below 16", _AT_MAX_BYTES)
    room = d.limit() - BODY - 1
    if max_n < room:
        room = max_n
    d.service("read_session_into")  # none: unsupported before anything is listed
    listing = d.service("list_sessions")
    raw = d.raw
    p = BODY + 1
    stop = BODY + 1 + room
    # One session at a time, each listed as it is reached: the journal probes the next
    # id (an open it keeps for the read that follows), so a frame costs what it carries,
    # not a scan of every session on flash. Entries are (id, size, complete).
    entry = _next_entry(listing, session_id - 1 if session_id else 0)
    if entry is not None and entry[0] != session_id:
        offset = 0  # that one is gone (acknowledged): start the next from its beginning
    while entry is not None and stop - p > op.SEGMENT_HEADER_LEN:
        sid = entry[0]
        size = entry[1]
        want = size - offset
        if want > stop - p - op.SEGMENT_HEADER_LEN:
            want = stop - p - op.SEGMENT_HEADER_LEN
        q = p + op.SEGMENT_HEADER_LEN
        n = _read_into(d, sid, offset, q, want) if want > 0 else 0
        op.put_segment_header(raw, p, sid, size, entry[2], offset, n)
        p = q + n
        offset += n
        if offset < size and n == want:
            break  # the frame is full mid-session
        entry = _next_entry(listing, sid)  # also tells whether there is more
        offset = 0
    raw[BODY] = 1 if entry is not None else 0
    return p


def _read_into(d, session_id, offset, at, n):
    # up to n bytes of a session into d.raw[at:], in place; returns the count
    into = d.service("read_session_into")
    return into(session_id, offset, d.raw_mv[at : at + n])
