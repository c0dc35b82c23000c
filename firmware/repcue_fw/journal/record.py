# The journal's recorder: the engine's recorder interface (begin_session, append_step,
# end_session), bound as Journal methods by the facade (journal.py).
#
# Each record group (a step with its laps, or the end record) is written and then synced,
# so after a power cut it is whole or absent. After a failed write the file is the truth:
# the session is reopened and rescanned for its step count, so a sync that failed after its
# commit landed is recognised and a group is never stored twice.
import os

from repcue_fw import unload
from repcue_fw.journal import space
from repcue_fw.journal.files import (
    ENOSPC,
    S_DONE,
    S_OPEN,
    JournalError,
    JournalFull,
    close_quietly,
    errno,
    forget_reader,
    path,
    remove,
    write_seq,
)
from repcue_fw.wire import WireError, records
from repcue_fw.wire.opcodes import ST_BAD_STATE, ST_STORAGE
from repcue_fw.wire.varint import MAX_VARINT


def begin_session(j, program_id, start_wall_s, start_uptime_ms):
    """Start recording a session; return its id. Raises JournalFull or JournalError."""
    if j.recording_id:
        # the previous session was never ended: keep it, as if the power had gone
        _finish(j, records.END_POWER_LOST, min(j.elapsed_ms, MAX_VARINT), 0, 0, 0, 0)
    try:
        space.make_room(j, j.reserve_bytes)
    except OSError as e:
        raise JournalError("flash error " + str(errno(e)) + " making room", ST_STORAGE)
    sid = j.next_id
    n = records.encode_header(j.buf, sid, program_id, start_wall_s, start_uptime_ms & 0xFFFFFFFF)
    file_path = path(j, sid, S_OPEN)
    f = None
    try:
        write_seq(j, sid + 1)
        j.next_id = sid + 1
        f = open(file_path, "wb")
        f.write(j.buf, n)
        _write_program(j, f)
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
        raise JournalError("flash error " + str(errno(e)) + " starting a session", ST_STORAGE)
    j.file = f
    j.recording_id = sid
    j.ended = False
    j.steps = 0
    j.elapsed_ms = 0
    return sid


def _write_program(j, f):
    # The installed program (the one the engine runs: no upload while a session runs) goes
    # into the session as its PROGRAM record, so the session names its plan on any host
    # and outlives a new upload. Copied through the journal's buffer: nothing allocated.
    try:
        src = open(j.root + "/prog", "rb")
    except OSError:
        return  # nothing installed (a test's journal): a session without its program
    with src:
        f.write(j.buf, records.encode_program_head(j.buf, src.seek(0, 2)))
        src.seek(0)
        view = j.mv[: len(j.buf)]
        while True:
            got = src.readinto(view)
            if not got:
                break
            f.write(j.buf, got)


def append_step(j, index, kind, end_reason, planned, elapsed_ms, laps_ms=None):
    """Record one finished step (laps_ms: any number of ints).

    Values out of range raise WireError before anything is written. A flash failure
    (after one retry, having reclaimed acked sessions if the flash was full) raises
    JournalError (ST_STORAGE, or JournalFull if the flash is full of unsynced sessions); the
    session stays open and later steps may still be stored.
    """
    if not j.recording_id:
        raise JournalError("no session is being recorded", ST_BAD_STATE)
    if laps_ms:
        for lap in laps_ms:
            if not isinstance(lap, int) or lap < 0 or lap > MAX_VARINT:
                raise WireError("lap_ms out of range: " + repr(lap), -1, "lap_ms")
    # validate the step fields (encode_step raises); the write encodes again
    records.encode_step(j.buf, index, kind, end_reason, planned, elapsed_ms, laps_ms)
    j.pending = (index, kind, end_reason, planned, elapsed_ms, laps_ms)
    if j.reader_id == j.recording_id:
        forget_reader(j)
    ok = _durable(j, False)
    j.pending = None
    if not ok:
        if j.last_errno == ENOSPC:
            raise JournalFull("flash full: a step could not be stored")
        raise JournalError("flash error " + str(j.last_errno) + " storing a step", ST_STORAGE)


def end_session(j, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, end_reason):
    """Close the session being recorded. On a flash failure it raises JournalError
    (ST_STORAGE) and the session is closed as power_lost at the next boot."""
    if not j.recording_id:
        raise JournalError("no session is being recorded", ST_BAD_STATE)
    if not _finish(
        j,
        end_reason,
        int(total_ms),
        int(paused_ms),
        int(pauses),
        int(late_max_ms),
        int(late_mean_ms),
    ):
        raise JournalError("flash error " + str(j.last_errno) + " ending a session", ST_STORAGE)


def _finish(j, end_reason, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms):
    records.encode_end(j.buf, end_reason, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, 0)
    j.pending = (end_reason, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms)
    sid = j.recording_id
    if j.reader_id == sid:
        forget_reader(j)
    ok = _durable(j, True)
    j.pending = None
    if j.file is not None:
        close_quietly(j.file)
    j.file = None
    j.recording_id = 0
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
    f = j.file
    buf = j.buf
    p = j.pending
    if end_group:
        n = records.encode_end(buf, p[0], p[1], p[2], p[3], p[4], p[5], j.steps)
        f.write(buf, n)
        f.flush()
        j.ended = True
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
    j.steps += 1
    j.elapsed_ms += p[4]


def _durable(j, end_group):
    # Write the pending group durably. On failure, reopen (making room first if the flash
    # is full) and try once more.
    for attempt in range(2):
        if j.file is None:
            before = j.steps
            if not _reopen(j):
                return False
            if attempt and (j.ended if end_group else j.steps > before):
                return True
        try:
            _write_group(j, end_group)
            return True
        except OSError as e:
            j.errors += 1
            j.last_errno = errno(e)
            close_quietly(j.file)
            j.file = None
            if j.last_errno == ENOSPC:
                try:
                    space.make_room(j, j.block_size)
                except (JournalError, OSError):
                    pass
    return False


def _reopen(j):
    # Reopen the session being recorded for append; recount its steps from flash.
    try:
        from repcue_fw.journal import boot  # its scan and repair: a rare path
    except MemoryError:
        j.errors += 1  # no room for the repair's code now: the next write tries again
        return False
    file_path = path(j, j.recording_id, S_OPEN)
    try:
        with open(file_path, "rb") as f:
            good, steps, elapsed, has_end = boot.scan(j, f)
            size = f.seek(0, 2)
        if good < size:
            boot.truncate(j, j.recording_id, good)
        j.file = open(file_path, "ab")
    except OSError as e:
        j.errors += 1
        j.last_errno = errno(e)
        return False
    finally:
        unload("repcue_fw.journal", "boot")
    j.steps = steps
    j.elapsed_ms = elapsed
    j.ended = has_end
    return True
