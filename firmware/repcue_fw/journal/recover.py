# The journal's recovery at boot, loaded by Journal() for that one call and dropped
# after it (bench/heap.py: its code need not stay in the heap). An install cut short is
# dropped (the old program stays), temp copies of a cut-short repair are removed, the ack
# log is read into j.acked_ids (rewritten if it has a bad tail or ids whose session is
# gone), the next id is the larger of the seq file's and the highest id on flash or in the
# ack log plus one (ids are never reused), and every session still open (s/N.o) is closed:
# its valid prefix of records is kept (a torn tail is cut off by copying the prefix aside
# and renaming it back), a power_lost end record is appended if it has none, and it is
# renamed complete. The formats: journal/boot.py (seq), journal/acks.py (the ack log).
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import os

from repcue_fw.journal import acks, boot
from repcue_fw.journal.files import (
    S_DONE,
    S_OPEN,
    S_TEMP,
    close_quietly,
    errno,
    ids,
    parse_name,
    path,
    remove,
)
from repcue_fw.wire import records
from repcue_fw.wire.varint import MAX_VARINT

_ACK_REC = const(6)  # an ack log record: u32 id + CRC-16 (journal/acks.py)


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
    logged = _load_acks(j, present)
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


def read_seq(j):
    """The next session id from the seq file, or 1 if it is missing or torn."""
    b = j.seqbuf
    try:
        with open(j.root + "/seq", "rb") as f:
            n = f.readinto(b)
    except OSError:
        return 1
    if n != boot.SEQ_LEN or records.crc16(b, 0, 4) != b[4] | (b[5] << 8):
        return 1
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)


def _close_out(j, sid):
    # Finish an interrupted session as power_lost (steps kept); True if one is left.
    file_path = path(j, sid, S_OPEN)
    try:
        with open(file_path, "rb") as f:
            good, steps, elapsed, has_end = boot.scan(j, f)
            size = f.seek(0, 2)
        if good == 0:
            # begin_session never returned for it: there is nothing to keep
            os.remove(file_path)
            return False
        if good < size:
            boot.truncate(j, sid, good)
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


def _load_acks(j, present):
    """Boot: read the ack log into j.acked_ids (ids in `present`, the complete sessions on
    flash); rewrite it if it has a bad tail or ids whose session is gone. Returns the highest
    id in the log (0 if none), so that no id in it is ever given to a new session."""
    remove(acks.log_path(j) + ".new")  # a compaction cut short: acks is still whole
    acked = j.acked_ids
    buf = j.buf
    mv = j.mv
    chunk = (len(buf) // _ACK_REC) * _ACK_REC
    top = 0
    dirty = False
    try:
        f = open(acks.log_path(j), "rb")
    except OSError:
        return 0
    try:
        while True:
            n = f.readinto(mv[:chunk])
            if not n:
                break
            pos = 0
            while pos + _ACK_REC <= n:
                if records.crc16(buf, pos, pos + 4) != buf[pos + 4] | (buf[pos + 5] << 8):
                    break
                sid = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)
                if sid > top:
                    top = sid
                if sid in present:
                    acked.add(sid)
                else:
                    dirty = True
                pos += _ACK_REC
            if pos < n:
                dirty = True  # a torn or bad record: nothing after it is trusted
                break
    finally:
        close_quietly(f)
    if dirty:
        acks.compact(j)
    return top
