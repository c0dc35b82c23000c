# The journal's recorder: the engine's recorder interface (begin_session, append_step,
# end_session), bound as Journal methods by the facade (journal.py).
#
# Each record group (a step with its laps, or the end record) is written and then synced,
# so after a power cut it is whole or absent. After a failed write the file is the truth:
# the session is reopened and rescanned for its step count, so a sync that failed after its
# commit landed is recognised and a group is never stored twice.
import os

from repcue_fw import journal_boot, journal_sessions, journal_space
from repcue_fw.journal_files import (
    ENOSPC,
    ERR_IO,
    ERR_NO_SESSION,
    S_DONE,
    S_OPEN,
    JournalError,
    JournalFull,
    close_quietly,
    errno,
    path,
    remove,
)
from repcue_fw.wire import WireError, records
from repcue_fw.wire.varint import MAX_VARINT


def begin_session(j, program_id, start_wall_s, start_uptime_ms):
    """Start recording a session; return its id. Raises JournalFull or JournalError."""
    if j._id:
        # the previous session was never ended: keep it, as if the power had gone
        _finish(j, records.END_POWER_LOST, min(j._elapsed_ms, MAX_VARINT), 0, 0, 0, 0)
    try:
        journal_space.make_room(j, j.reserve_bytes)
    except OSError as e:
        raise JournalError("flash error " + str(errno(e)) + " making room", ERR_IO)
    sid = j._next
    n = records.encode_header(j._buf, sid, program_id, start_wall_s, start_uptime_ms & 0xFFFFFFFF)
    file_path = path(j, sid, S_OPEN)
    f = None
    try:
        journal_boot.write_seq(j, sid + 1)
        j._next = sid + 1
        f = open(file_path, "wb")
        f.write(j._buf, n)
        f.flush()
    except OSError as e:
        if f is not None:
            close_quietly(f)
        try:
            remove(file_path)
        except OSError:
            pass  # recovery at the next boot removes a headerless file
        if errno(e) == ENOSPC:
            raise JournalFull("flash full while starting a session")
        raise JournalError("flash error " + str(errno(e)) + " starting a session", ERR_IO)
    j._file = f
    j._id = sid
    j._ended = False
    j._steps = 0
    j._elapsed_ms = 0
    return sid


def append_step(j, index, kind, end_reason, planned, elapsed_ms, laps_ms=None):
    """Record one finished step (laps_ms: any number of ints).

    Values out of range raise WireError before anything is written. A flash failure
    (after one retry, having reclaimed acked sessions if the flash was full) raises
    JournalError (ERR_IO, or JournalFull if the flash is full of unsynced sessions); the
    session stays open and later steps may still be stored.
    """
    if not j._id:
        raise JournalError("no session is being recorded", ERR_NO_SESSION)
    if laps_ms:
        for lap in laps_ms:
            if not isinstance(lap, int) or lap < 0 or lap > MAX_VARINT:
                raise WireError("lap_ms out of range: " + repr(lap), -1, "lap_ms")
    # validate the step fields (encode_step raises); the write encodes again
    records.encode_step(j._buf, index, kind, end_reason, planned, elapsed_ms, laps_ms)
    j._pending = (index, kind, end_reason, planned, elapsed_ms, laps_ms)
    if j._reader_id == j._id:
        journal_sessions.forget_reader(j)
    ok = _durable(j, False)
    j._pending = None
    if not ok:
        if j.last_errno == ENOSPC:
            raise JournalFull("flash full: a step could not be stored")
        raise JournalError("flash error " + str(j.last_errno) + " storing a step", ERR_IO)


def end_session(j, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, end_reason):
    """Close the session being recorded. On a flash failure it raises JournalError
    (ERR_IO) and the session is closed as power_lost at the next boot."""
    if not j._id:
        raise JournalError("no session is being recorded", ERR_NO_SESSION)
    if not _finish(
        j,
        end_reason,
        int(total_ms),
        int(paused_ms),
        int(pauses),
        int(late_max_ms),
        int(late_mean_ms),
    ):
        raise JournalError("flash error " + str(j.last_errno) + " ending a session", ERR_IO)


def _finish(j, end_reason, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms):
    records.encode_end(
        j._buf, end_reason, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, 0
    )
    j._pending = (end_reason, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms)
    sid = j._id
    if j._reader_id == sid:
        journal_sessions.forget_reader(j)
    ok = _durable(j, True)
    j._pending = None
    if j._file is not None:
        close_quietly(j._file)
    j._file = None
    j._id = 0
    if ok:
        try:
            os.rename(path(j, sid, S_OPEN), path(j, sid, S_DONE))
        except OSError as e:
            # the end record is on flash: the next boot finishes the rename
            j.errors += 1
            j.last_errno = errno(e)
    return ok


def _write_group(j, end_group):
    # Write the pending step (with its laps) or end record and sync it.
    f = j._file
    buf = j._buf
    p = j._pending
    if end_group:
        n = records.encode_end(buf, p[0], p[1], p[2], p[3], p[4], p[5], j._steps)
        f.write(buf, n)
        f.flush()
        j._ended = True
        return
    laps = p[5]
    n = records.encode_step(buf, p[0], p[1], p[2], p[3], p[4], laps)
    f.write(buf, n)
    if laps:
        first = records.LAPS_PER_RECORD
        while first < len(laps):
            n = records.encode_laps(buf, laps, first)
            f.write(buf, n)
            first += records.LAPS_PER_RECORD
    f.flush()
    j._steps += 1
    j._elapsed_ms += p[4]


def _durable(j, end_group):
    # Write the pending group durably. On failure, reopen (making room first if the flash
    # is full) and try once more.
    for attempt in range(2):
        if j._file is None:
            before = j._steps
            if not _reopen(j):
                return False
            if attempt and (j._ended if end_group else j._steps > before):
                return True
        try:
            _write_group(j, end_group)
            return True
        except OSError as e:
            j.errors += 1
            j.last_errno = errno(e)
            close_quietly(j._file)
            j._file = None
            if j.last_errno == ENOSPC:
                try:
                    journal_space.make_room(j, j.block_size)
                except (JournalError, OSError):
                    pass
    return False


def _reopen(j):
    # Reopen the session being recorded for append; recount its steps from flash.
    file_path = path(j, j._id, S_OPEN)
    try:
        with open(file_path, "rb") as f:
            good, steps, elapsed, has_end = journal_boot.scan(j, f)
            size = f.seek(0, 2)
        if good < size:
            journal_boot.truncate(j, j._id, good)
        j._file = open(file_path, "ab")
    except OSError as e:
        j.errors += 1
        j.last_errno = errno(e)
        return False
    j._steps = steps
    j._elapsed_ms = elapsed
    j._ended = has_end
    return True
