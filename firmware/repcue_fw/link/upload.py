# Program upload for the app's services: chunked, CRC-checked, resumable, installed whole.
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import binascii

from repcue_fw.wire import WireError
from repcue_fw.wire import opcodes as op

_MIN_LEN = const(5)  # the 4-byte CRC trailer and at least one byte
_AT_DATA = const(4)  # PROGRAM_CHUNK's data: its payload offset (ST_BAD_REQUEST detail)
_RESIDUE = const(0x2144DF1C)  # CRC-32 of any bytes followed by their own CRC-32 (LE)


class ProgramUpload:
    """program_begin/chunk/commit for a services object: chunked, CRC-checked, resumable.

    Bytes collect in a buffer of the announced length, made at begin (a smaller upload
    needs a smaller free block than max_bytes in a fragmented heap); commit checks the
    upload against the announced program id and (with validate) checks it as a program
    before calling install(data), which must store it atomically (Journal.install_program)
    and may raise StatusError (e.g. ST_BUSY). The id is the program's CRC-32 trailer, the
    CRC of every byte before it: it tells two programs of one length apart (the CRC of
    the whole upload, trailer included, is the same residue for every program). A begin
    with the same length and id as an unfinished upload resumes it.
    """

    def __init__(self, install, max_bytes=1024, validate=True):
        self.install = install
        self.validate = validate
        self.max_bytes = max_bytes
        self.buf = None  # made by begin: most boots never upload
        self.total = 0
        self.crc = 0
        self.received = 0
        self.active = False
        self.installed_id = -1

    def begin(self, total_len, crc):
        if total_len < _MIN_LEN or total_len > self.max_bytes:
            raise op.StatusError(
                op.ST_BAD_REQUEST, "program must be 5.." + str(self.max_bytes) + " bytes", 0
            )
        if self.active and total_len == self.total and crc == self.crc:
            return self.received  # resume where the last link left off
        if self.buf is None or len(self.buf) != total_len:
            self.buf = None  # freed before the new one is made
            self.buf = bytearray(total_len)
        self.active = True
        self.total = total_len
        self.crc = crc
        self.received = 0
        return 0

    def chunk(self, offset, data):
        if not self.active:
            raise op.StatusError(op.ST_BAD_STATE, "no upload in progress", 0)
        if offset > self.received:
            raise op.StatusError(op.ST_BAD_OFFSET, "chunk after a gap", self.received)
        end = offset + len(data)
        if end > self.total:
            raise op.StatusError(op.ST_BAD_REQUEST, "chunk past the announced length", _AT_DATA)
        self.buf[offset:end] = data
        if end > self.received:
            self.received = end
        return self.received

    def commit(self, crc):
        if not self.active:
            if crc == self.installed_id:
                return crc  # a repeated commit after a lost response
            raise op.StatusError(op.ST_BAD_STATE, "no upload in progress", 0)
        if crc != self.crc:
            raise op.StatusError(op.ST_CRC, "commit id differs from begin", 0)
        if self.received != self.total:
            raise op.StatusError(op.ST_BAD_STATE, "upload incomplete", self.received)
        data = self.buf  # exactly the announced length: no copy
        # bytes consistent with their trailer, and the trailer the announced id
        if binascii.crc32(data) != _RESIDUE or int.from_bytes(data[-4:], "little") != crc:
            self.active = False
            raise op.StatusError(op.ST_CRC, "uploaded bytes fail the CRC", 0)
        if self.validate:
            from repcue_fw.wire.program import ProgramBytes

            try:
                ProgramBytes(data)  # checks the whole encoding, builds nothing
            except WireError as exc:
                self.active = False
                raise op.StatusError(op.ST_BAD_PROGRAM, exc.message, max(exc.offset, 0))
        self.install(data)
        self.active = False
        self.buf = None  # the journal holds it now
        self.installed_id = crc
        return crc
