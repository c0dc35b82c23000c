# The journal's recovery: the session-id counter, and closing what a power cut left open.
#
# At boot (recover): an install cut short is dropped (the old program stays), temp copies of
# a cut-short repair are removed, the ack log is read (acks), the next id is the
# larger of the seq file's and the highest id on flash or in the ack log plus one (ids are
# never reused), and every session still open (s/N.o) is closed: its valid prefix of
# records is kept (a torn tail is cut off by copying the prefix aside and renaming it back),
# a power_lost end record is appended if it has none, and it is renamed complete. scan()
# and truncate() also serve the recorder when it reopens a session after a failed write.
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
    errno,
    ids,
    parse_name,
    path,
    read_seq,
    remove,
)
from repcue_fw.wire import WireError, records
from repcue_fw.wire.varint import MAX_VARINT

_COPY_CHUNK = const(64)


def recover(j):
    """Boot: set the next id and close every session a power loss left open; return the
    ids of those closed with something in them."""
    remove(j.root + "/prog.new")  # an install cut short: the old program stays
    top = 0
    present = set()  # complete sessions: the ack log counts only these
    for entry in os.ilistdir(j.dir):
        sid, state = parse_name(entry[0])
        if sid > top:
            top = sid
        if state == S_DONE:
            present.add(sid)
    for sid in ids(j, S_TEMP):  # a repair cut short: the open file is still whole
        remove(path(j, sid, S_TEMP))
    from repcue_fw.journal import acks  # the link's part (the facade drops it again)

    logged = acks.load(j, present)
    if top < logged:
        top = logged  # ids are never reused: a stale id in the log never acks a new session
    j.next_id = read_seq(j)
    if j.next_id <= top:
        j.next_id = top + 1
    done = []
    for sid in ids(j, S_OPEN):
        if _close_out(j, sid):
            done.append(sid)
    return done


def scan(j, f):
    """Walk the records of an open session file.

    Returns (good_bytes, steps, elapsed_ms, has_end): the length of the valid prefix
    (0 if not even a header), how many steps it holds, their total time, and whether
    it ends with an end record.
    """
    buf = j.buf
    mv = j.mv
    out = j.out
    cap = len(buf)
    size = f.seek(0, 2)
    f.seek(0)
    n = f.readinto(buf)
    eof = n < cap
    base = 0  # file offset of buf[0]
    pos = 0
    good = 0
    steps = 0
    elapsed = 0
    seen_header = False
    while True:
        if pos > n:  # past a PROGRAM record longer than the buffer: read on from its end
            base += pos
            pos = 0
            f.seek(base)
            n = f.readinto(buf)
            eof = n < cap
        if not eof and n - pos < records.MAX_RECORD:
            keep = n - pos
            for i in range(keep):
                buf[i] = buf[pos + i]
            base += pos
            pos = 0
            got = f.readinto(mv[keep:])
            n = keep + (got or 0)
            eof = n < cap
        if pos >= n:
            break
        try:
            nxt = records.parse(buf, pos, n, out)
        except WireError:
            break
        rtype = out[0]
        if not seen_header:
            if rtype != records.REC_HEADER:
                break
            seen_header = True
        elif rtype == records.REC_STEP or rtype == records.REC_STEP_LAPS:
            steps += 1
            elapsed += out[5]
        elif rtype == records.REC_END:
            if out[7] != steps:
                break
            return base + nxt, steps, elapsed, True
        elif rtype == records.REC_PROGRAM:
            if steps or base + nxt > size:  # only before the steps; cut short by a power cut
                break
        elif rtype != records.REC_LAPS:
            break
        pos = nxt
        good = base + pos
    return good, steps, elapsed, False


def _close_out(j, sid):
    # Finish an interrupted session as power_lost (steps kept); True if one is left.
    file_path = path(j, sid, S_OPEN)
    try:
        with open(file_path, "rb") as f:
            good, steps, elapsed, has_end = scan(j, f)
            size = f.seek(0, 2)
        if good == 0:
            # begin_session never returned for it: there is nothing to keep
            os.remove(file_path)
            return False
        if good < size:
            truncate(j, sid, good)
        if not has_end:
            n = records.encode_end(
                j.buf, records.END_POWER_LOST, min(elapsed, MAX_VARINT), 0, 0, 0, 0, steps
            )
            with open(file_path, "ab") as f:
                f.write(j.buf, n)
        os.rename(file_path, path(j, sid, S_DONE))
        return True
    except OSError as e:
        j.errors += 1
        j.last_errno = errno(e)
        return False


def truncate(j, sid, length):
    """Keep only the first `length` bytes of an open session file (copy, then rename)."""
    src = path(j, sid, S_OPEN)
    tmp = path(j, sid, S_TEMP)
    view = j.mv[:_COPY_CHUNK]
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        left = length
        while left > 0:
            k = fin.readinto(view)
            if not k:
                break
            k = k if k < left else left
            fout.write(j.buf, k)
            left -= k
    os.rename(tmp, src)
