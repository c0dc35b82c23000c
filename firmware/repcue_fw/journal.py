# The journal: recorded sessions and the installed program on the board's littlefs.
#
# This module is the facade: Journal holds the state and the installed program; its parts,
# one job each, are bound in as methods:
#   journal_files     the files on flash (the layout is described there) and the errors
#   journal_boot      recovery at boot (closing what a power cut left open), the id counter
#   journal_record    recording: begin_session / append_step / end_session
#   journal_space     free space, reclaiming acknowledged sessions
#   journal_sessions  the link's view: list and read sessions
#   journal_acks      the ack log: which sessions the host has acknowledged
# Record bytes: wire/records.py.
import binascii
import os

from repcue_fw import (
    journal_acks,
    journal_boot,
    journal_record,
    journal_sessions,
    journal_space,
)
from repcue_fw.journal_files import (  # noqa: F401  (re-exported: the journal's one import)
    ENOSPC,
    ERR_BAD_PROGRAM,
    ERR_FULL,
    ERR_IO,
    ERR_NO_SESSION,
    ERR_NOT_FOUND,
    JournalError,
    JournalFull,
    close_quietly,
    errno,
    makedirs,
    remove,
)
from repcue_fw.wire import records
from repcue_fw.wire.program import CRC_LEN, MAX_PROGRAM_BYTES, MIN_PROGRAM_BYTES


class Journal:
    """Sessions and the program on flash. Mount the filesystem first; root_dir is made."""

    def __init__(self, root_dir, reserve_bytes=0):
        root = root_dir
        while len(root) > 1 and root[-1] == "/":
            root = root[:-1]
        self.root = root
        self._dir = root + "/s"
        makedirs(self._dir)
        self._buf = bytearray(2 * records.MAX_RECORD)  # record encoding and boot scans
        self._mv = memoryview(self._buf)
        self._out = [0] * records.OUT_LEN
        self._file = None  # the session being recorded, open for append
        self._id = 0  # its id, 0 when none
        self._ended = False  # its end record is on flash (known after a rescan)
        self._steps = 0
        self._elapsed_ms = 0
        self._pending = None  # the record group being written (journal_record)
        self._reader = None  # the last session read by read_session, kept open
        self._reader_id = 0
        self.errors = 0  # flash writes that failed while recording
        self.last_errno = 0
        self.block_size = os.statvfs(root)[0]
        self.reserve_bytes = reserve_bytes or 4 * self.block_size
        self._next = 1  # the next session id (journal_boot sets it)
        self._acked = set()  # ids of complete sessions the host acknowledged (journal_acks)
        self.recovered = journal_boot.recover(self)

    # recording: the engine's recorder interface
    begin_session = journal_record.begin_session
    append_step = journal_record.append_step
    end_session = journal_record.end_session

    # space
    free_bytes = journal_space.free_bytes

    # sessions for the link
    list_sessions = journal_sessions.list_sessions
    acked = journal_acks.acked
    read_session_into = journal_sessions.read_session_into
    read_session = journal_sessions.read_session
    ack = journal_acks.ack

    @property
    def session_open(self):
        """The id of the session being recorded, or 0."""
        return self._id

    # -- the installed program ------------------------------------------------------------

    def install_program(self, data):
        """Install program bytes (checked: size and CRC). Written aside, then renamed in,
        so a power cut leaves the old program or the new one. Returns the program id."""
        n = len(data)
        if n < MIN_PROGRAM_BYTES or n > MAX_PROGRAM_BYTES:
            raise JournalError("program size " + str(n) + " out of range", ERR_BAD_PROGRAM)
        pid = _crc_id(data)
        if pid < 0:
            raise JournalError("program CRC mismatch", ERR_BAD_PROGRAM)
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
                    raise JournalError("flash error " + str(code) + " installing", ERR_IO)
                if attempt:
                    raise JournalFull("flash full while installing a program")
                journal_space.make_room(self, n + 2 * self.block_size)
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
        journal_sessions.forget_reader(self)
        if self._file is not None:
            close_quietly(self._file)
            self._file = None


def _crc_id(data):
    # The program id (its CRC-32 trailer) if the trailer matches the bytes, else -1.
    end = len(data) - CRC_LEN
    pid = int.from_bytes(data[end:], "little")
    return pid if binascii.crc32(memoryview(data)[:end]) & 0xFFFFFFFF == pid else -1
