# The journal's space: free bytes, and reclaiming acknowledged sessions (oldest first) when
# a new session or program needs room. Unsynced sessions are never dropped: with nothing
# acknowledged left to reclaim, JournalFull says to sync first. The ack log is compacted
# after a reclaim (acks).
import os

from repcue_fw.journal.files import S_DONE, JournalFull, forget_reader, parse_name, path


def free_bytes(j):
    st = os.statvfs(j.root)
    return st[0] * st[3]


def make_room(j, need_bytes):
    """Reclaim acknowledged sessions, oldest first, until need_bytes are free."""
    if free_bytes(j) >= need_bytes:
        return
    acked = j.acked_ids
    found = []  # ids of the acked sessions on flash
    unsynced = 0
    for entry in os.ilistdir(j.dir):
        sid, state = parse_name(entry[0])
        if state == S_DONE:
            if sid in acked:
                found.append(sid)
            else:
                unsynced += 1
    found.sort()
    logged = False  # a session of the ack log was removed: compact it
    try:
        for sid in found:
            if j.reader_id == sid:
                forget_reader(j)
            os.remove(path(j, sid, S_DONE))
            acked.discard(sid)
            logged = True
            if free_bytes(j) >= need_bytes:
                return
    finally:
        if logged:
            from repcue_fw.journal import acks  # the link's part: loaded when needed

            acks.compact(j)
    raise JournalFull(
        "flash full: " + str(unsynced) + " sessions are not synced yet; sync to free space"
    )
