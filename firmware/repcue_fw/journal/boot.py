# The journal's session-id counter, and the record scan and truncation that closing a
# session cut short needs: the recorder uses them when it reopens a session after a failed
# write, and journal/recover.py (boot's recovery, loaded only at boot) when it closes what a
# power cut left open.
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import os

from repcue_fw.journal.files import (
    S_OPEN,
    S_TEMP,
    path,
)
from repcue_fw.wire import WireError, records

SEQ_LEN = const(6)  # u32 next id + CRC-16
_COPY_CHUNK = const(64)


def write_seq(j, value):
    """Store the next session id (u32 + CRC-16)."""
    b = j.seqbuf
    for i in range(4):
        b[i] = (value >> (8 * i)) & 0xFF
    crc = records.crc16(b, 0, 4)
    b[4] = crc & 0xFF
    b[5] = crc >> 8
    with open(j.root + "/seq", "wb") as f:
        f.write(b)


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
