# The journal's ack log: which complete sessions the host has acknowledged (and so may be
# reclaimed): functions over the journal's state (journal/__init__.py is the facade).
#
# `acks` under the root is an append-only log of 6-byte records: a u32 session id (little
# endian) + CRC-16 of those 4 bytes. One ACK request of N ids is one append and one sync (a
# single littlefs commit), where renaming each session file cost a commit per session. A
# synced append is whole or absent after a power cut (littlefs commits the new size with the
# data); the CRC also rejects a torn record, and boot rewrites a log with a bad tail or with
# ids whose session is gone. Boot reads the log into j.acked_ids. When acked sessions are
# reclaimed the log is compacted: written to acks.new and renamed over acks, so a cut leaves
# the old log or the new one. An id in the log whose session file is gone is harmless: ids
# are never reused (boot puts the next id above every id in the log too).
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import os

from repcue_fw.journal.files import (
    ENOSPC,
    S_DONE,
    JournalError,
    JournalFull,
    close_quietly,
    errno,
    path,
    remove,
)
from repcue_fw.wire import records
from repcue_fw.wire.opcodes import ST_STORAGE

_REC = const(6)  # u32 id + CRC-16


def _log(j):
    return j.root + "/acks"


def load(j, present):
    """Boot: read the ack log into j.acked_ids (ids in `present`, the complete sessions on
    flash); rewrite it if it has a bad tail or ids whose session is gone. Returns the highest
    id in the log (0 if none), so that no id in it is ever given to a new session."""
    remove(_log(j) + ".new")  # a compaction cut short: acks is still whole
    acked = j.acked_ids
    buf = j.buf
    mv = j.mv
    chunk = (len(buf) // _REC) * _REC
    top = 0
    dirty = False
    try:
        f = open(_log(j), "rb")
    except OSError:
        return 0
    try:
        while True:
            n = f.readinto(mv[:chunk])
            if not n:
                break
            pos = 0
            while pos + _REC <= n:
                if records.crc16(buf, pos, pos + 4) != buf[pos + 4] | (buf[pos + 5] << 8):
                    break
                sid = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)
                if sid > top:
                    top = sid
                if sid in present:
                    acked.add(sid)
                else:
                    dirty = True
                pos += _REC
            if pos < n:
                dirty = True  # a torn or bad record: nothing after it is trusted
                break
    finally:
        close_quietly(f)
    if dirty:
        compact(j)
    return top


def _put(buf, pos, sid):
    buf[pos] = sid & 0xFF
    buf[pos + 1] = (sid >> 8) & 0xFF
    buf[pos + 2] = (sid >> 16) & 0xFF
    buf[pos + 3] = (sid >> 24) & 0xFF
    crc = records.crc16(buf, pos, pos + 4)
    buf[pos + 4] = crc & 0xFF
    buf[pos + 5] = crc >> 8


def _write(f, j, sids):
    # Write records for sids through j.buf, a bufferful at a time.
    buf = j.buf
    mv = j.mv
    chunk = (len(buf) // _REC) * _REC
    pos = 0
    for sid in sids:
        _put(buf, pos, sid)
        pos += _REC
        if pos == chunk:
            f.write(mv[:pos])
            pos = 0
    if pos:
        f.write(mv[:pos])


def compact(j):
    """Rewrite the log with only the ids in j.acked_ids (aside, then renamed over it). A
    failure leaves the old log, which is still right: its extra ids are of sessions gone."""
    log = _log(j)
    try:
        if not j.acked_ids:
            remove(log)
            return
        new = log + ".new"
        with open(new, "wb") as f:
            _write(f, j, sorted(j.acked_ids))
        os.rename(new, log)
    except OSError as e:
        j.errors += 1
        j.last_errno = errno(e)


def ack(j, session_ids):
    """Mark sessions as synced by the host; unknown, open and already acked ones are
    skipped. One append + sync for the lot. Returns how many were newly acknowledged."""
    acked = j.acked_ids
    new = []
    for sid in session_ids:
        if sid == j.recording_id or sid in acked or sid in new:
            continue
        try:
            os.stat(path(j, sid, S_DONE))
        except OSError:
            continue  # unknown, or still open
        new.append(sid)
    if not new:
        return 0
    for attempt in range(2):
        f = None
        try:
            f = open(_log(j), "ab")
            _write(f, j, new)
            f.close()  # the sync: every record of the request lands, or none
            break
        except OSError as e:
            if f is not None:
                close_quietly(f)
            code = errno(e)
            if code != ENOSPC or attempt:
                if code == ENOSPC:
                    raise JournalFull("flash full while storing an ack")
                raise JournalError("flash error " + str(code) + " in ack", ST_STORAGE, code)
            from repcue_fw.journal import space  # a cycle at import

            space.make_room(j, j.block_size)
    for sid in new:
        acked.add(sid)
    return len(new)
