# The journal's space: free bytes, and reclaiming acknowledged sessions (oldest first) when
# a new session or program needs room. Unsynced sessions are never dropped: with nothing
# acknowledged left to reclaim, JournalFull says to sync first.
import os

from repcue_fw import journal_sessions
from repcue_fw.journal_files import S_ACKED, S_DONE, JournalFull, ids, path


def free_bytes(j):
    st = os.statvfs(j.root)
    return st[0] * st[3]


def make_room(j, need_bytes):
    """Reclaim acknowledged sessions, oldest first, until need_bytes are free."""
    if free_bytes(j) >= need_bytes:
        return
    acked = ids(j, S_ACKED)
    acked.sort()
    for sid in acked:
        if j._reader_id == sid:
            journal_sessions.forget_reader(j)
        os.remove(path(j, sid, S_ACKED))
        if free_bytes(j) >= need_bytes:
            return
    unsynced = len(ids(j, S_DONE))
    raise JournalFull(
        "flash full: " + str(unsynced) + " sessions are not synced yet; sync to free space"
    )
