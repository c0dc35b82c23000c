# The journal: recorded sessions and the installed program on the board's littlefs.
#
# This module is the facade: Journal holds the state (every field is declared here) and the
# installed program; its parts, one job each, are functions over that state, which the
# methods below call:
#   files     the files on flash (the layout is described there), the id counter, the errors
#   boot      recovery at boot (closing what a power cut left open)
#   record    recording: begin_session / append_step / end_session
#   space     free space, reclaiming acknowledged sessions
#   sessions  the link's view: list and read sessions
#   acks      the ack log: which sessions the host has acknowledged
# boot, sessions and acks are loaded when needed and dropped after: boot once it has run,
# the link's two when a session begins, so a board does not hold their code while it
# records (docs/hardware.md, "Memory"). Record bytes: wire/records.py.
import binascii
import os

from repcue_fw import unload
from repcue_fw.journal import record, space
from repcue_fw.journal.files import (  # noqa: F401  (JournalError: for the journal's users)
    ENOSPC,
    SEQ_LEN,
    JournalError,
    JournalFull,
    close_quietly,
    errno,
    forget_reader,
    makedirs,
    remove,
)
from repcue_fw.wire import records
from repcue_fw.wire.opcodes import ST_BAD_PROGRAM, ST_STORAGE
from repcue_fw.wire.program import CRC_LEN, MAX_PROGRAM_BYTES, MIN_PROGRAM_BYTES


class Journal:
    """Sessions and the program on flash. Mount the filesystem first; root_dir is made."""

    def __init__(self, root_dir, reserve_bytes=0):
        root = root_dir
        while len(root) > 1 and root[-1] == "/":
            root = root[:-1]
        self.root = root
        self.dir = root + "/s"
        makedirs(self.dir)
        self.buf = bytearray(2 * records.MAX_RECORD)  # record encoding and boot scans
        self.mv = memoryview(self.buf)
        self.out = [0] * records.OUT_LEN
        self.file = None  # the session being recorded, open for append
        self.recording_id = 0  # its id, 0 when none
        self.ended = False  # its end record is on flash (known after a rescan)
        self.steps = 0
        self.elapsed_ms = 0
        self.pending = None  # the record group being written (record)
        self.reader = None  # the last session read, kept open (sessions)
        self.reader_id = 0
        self.seqbuf = bytearray(SEQ_LEN)  # the id counter's record (files)
        self.errors = 0  # flash writes that failed while recording
        self.last_errno = 0
        self.block_size = os.statvfs(root)[0]
        self.reserve_bytes = reserve_bytes or 4 * self.block_size
        self.next_id = 1  # the next session id (boot sets it)
        self.acked_ids = set()  # ids of complete sessions the host acknowledged (acks)
        from repcue_fw.journal import boot

        try:
            self.recovered = boot.recover(self)
        finally:
            _drop("boot", "acks")

    # -- recording: the engine's recorder interface (record) --------------------------------
    def begin_session(self, program_id, start_wall_s, start_uptime_ms):
        _drop("sessions", "acks")  # the link's parts: not needed while recording
        return record.begin_session(self, program_id, start_wall_s, start_uptime_ms)

    def append_step(self, index, kind, end_reason, planned, elapsed_ms, laps_ms=None):
        return record.append_step(self, index, kind, end_reason, planned, elapsed_ms, laps_ms)

    def end_session(self, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, end_reason):
        return record.end_session(
            self, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, end_reason
        )

    # -- the link's view (sessions, acks, space) ---------------------------------------------
    def list_sessions(self, after_id=0, max_n=32):
        from repcue_fw.journal import sessions

        return sessions.list_sessions(self, after_id, max_n)

    def read_session_into(self, session_id, offset, buf):
        from repcue_fw.journal import sessions

        return sessions.read_session_into(self, session_id, offset, buf)

    def acked(self, session_id):
        return session_id in self.acked_ids

    def ack(self, session_ids):
        from repcue_fw.journal import acks

        return acks.ack(self, session_ids)

    def free_bytes(self):
        return space.free_bytes(self)

    # -- the installed program ------------------------------------------------------------

    def install_program(self, data):
        """Install program bytes (checked: size and CRC). Written aside, then renamed in,
        so a power cut leaves the old program or the new one. Returns the program id."""
        n = len(data)
        if n < MIN_PROGRAM_BYTES or n > MAX_PROGRAM_BYTES:
            raise JournalError("program size " + str(n) + " out of range", ST_BAD_PROGRAM)
        pid = _crc_id(data)
        if pid < 0:
            raise JournalError("program CRC mismatch", ST_BAD_PROGRAM)
        new = self.root + "/prog.new"
        for attempt in range(2):
            try:
                with open(new, "wb") as f:
                    f.write(data)
                os.rename(new, self.root + "/prog")
                return pid
            except OSError as e:
                code = errno(e)
                try:
                    remove(new)
                except OSError:
                    pass
                if code != ENOSPC:
                    raise JournalError("flash error " + str(code) + " installing", ST_STORAGE)
                if attempt:
                    raise JournalFull("flash full while installing a program")
                space.make_room(self, n + 2 * self.block_size)
        return pid

    def program_bytes(self):
        """The installed program's bytes, or None (none installed, or unreadable)."""
        try:
            with open(self.root + "/prog", "rb") as f:
                data = f.read()
        except OSError:
            return None
        if len(data) < MIN_PROGRAM_BYTES or _crc_id(data) < 0:
            return None
        return data

    def close(self):
        """Close open files (a session being recorded stays open: closed at next boot)."""
        forget_reader(self)
        if self.file is not None:
            close_quietly(self.file)
            self.file = None


def _drop(*parts):
    for name in parts:
        unload("repcue_fw.journal", name)


def _crc_id(data):
    # The program id (its CRC-32 trailer) if the trailer matches the bytes, else -1.
    end = len(data) - CRC_LEN
    pid = int.from_bytes(data[end:], "little")
    return pid if binascii.crc32(memoryview(data)[:end]) & 0xFFFFFFFF == pid else -1
