# The journal: recorded sessions and the installed program on the board's littlefs.
#
# Layout under root_dir:
#   prog        the installed program (written to prog.new, then renamed over prog)
#   seq         the next session id (u32 + CRC-16), so ids are never reused after a reclaim
#   s/N.o       session N being recorded (or cut off by a power loss: closed at boot)
#   s/N         session N complete, not yet acknowledged by the host
#   s/N.a       session N complete and acknowledged: the only kind ever reclaimed
# A session's state is its name, changed by littlefs's atomic rename: the acked set costs
# no bytes of its own and cannot be torn. Each record group (a step with its laps, or the
# end record) is written and then synced, so after a power cut it is whole or absent.
# Record bytes: wire/records.py.
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import binascii
import os

from repcue_fw.wire import WireError, records
from repcue_fw.wire.program import MAX_PROGRAM_BYTES
from repcue_fw.wire.records import (  # noqa: F401  (re-exported for the engine)
    END_FINISHED,
    END_LAP,
    END_POWER_LOST,
    END_SKIP,
    END_STOP,
    END_STOPPED,
    END_TIME,
)
from repcue_fw.wire.varint import MAX_VARINT

# JournalError.code values: the same numbers as the link's status codes (wire/opcodes.py
# ST_*), so the link can send err.code as it is.
ERR_NO_SESSION = const(6)  # ST_BAD_STATE: append/end without begin_session
ERR_NOT_FOUND = const(9)  # ST_NOT_FOUND: no such session
ERR_FULL = const(10)  # ST_STORAGE_FULL: only unsynced sessions fill the flash: sync first
ERR_BAD_PROGRAM = const(11)  # ST_BAD_PROGRAM: program bytes with a bad size or CRC
ERR_IO = const(12)  # ST_STORAGE: the flash failed

_ENOENT = const(2)
_EEXIST = const(17)
_ENOSPC = const(28)

_S_OPEN = const(0)
_S_DONE = const(1)
_S_ACKED = const(2)
_S_TEMP = const(3)
_SUFFIX = ("/", ".o", "", ".a", ".r")  # indexed by state + 1 (slot 0 unused)

_SEQ_LEN = const(6)
_COPY_CHUNK = const(64)


class JournalError(Exception):
    """A journal operation that failed; `code` is one of the ERR_* values."""

    def __init__(self, message, code):
        super().__init__(message)
        self.message = message
        self.code = code


class JournalFull(JournalError):
    """No room for a new session or program, and nothing acknowledged left to reclaim."""

    def __init__(self, message):
        super().__init__(message, ERR_FULL)


def _parse_name(name):
    """'12' / '12.o' / '12.a' / '12.r' -> (12, state); anything else -> (0, -1)."""
    state = _S_DONE
    stem = name
    if len(name) > 2 and name[-2] == ".":
        tail = name[-1]
        stem = name[:-2]
        if tail == "o":
            state = _S_OPEN
        elif tail == "a":
            state = _S_ACKED
        elif tail == "r":
            state = _S_TEMP
        else:
            return 0, -1
    if not stem or not stem.isdigit():
        return 0, -1
    return int(stem), state


def _makedirs(path):
    here = ""
    for part in path.split("/"):
        if not part:
            continue
        here = here + "/" + part
        try:
            os.mkdir(here)
        except OSError as e:
            if e.args[0] != _EEXIST:
                raise


def _errno(e):
    return e.args[0] if e.args else 0


class Journal:
    """Sessions and the program on flash. Mount the filesystem first; root_dir is made."""

    def __init__(self, root_dir, reserve_bytes=0):
        root = root_dir
        while len(root) > 1 and root[-1] == "/":
            root = root[:-1]
        self.root = root
        self._dir = root + "/s"
        _makedirs(self._dir)
        self._buf = bytearray(2 * records.MAX_RECORD)  # record encoding and boot scans
        self._mv = memoryview(self._buf)
        self._seqbuf = bytearray(_SEQ_LEN)
        self._out = [0] * records.OUT_LEN
        self._file = None  # the session being recorded, open for append
        self._id = 0  # its id, 0 when none
        self._ended = False  # its end record is on flash (known after a rescan)
        self._steps = 0
        self._elapsed_ms = 0
        self._reader = None  # the last session read by read_session, kept open
        self._reader_id = 0
        self.errors = 0  # flash writes that failed while recording
        self.last_errno = 0
        self.block_size = os.statvfs(root)[0]
        self.reserve_bytes = reserve_bytes or 4 * self.block_size
        self._remove(root + "/prog.new")  # an install cut short: the old program stays
        self._next = self._read_seq()
        top = self._scan_ids()
        if self._next <= top:
            self._next = top + 1
        self.recovered = self._recover()

    # -- paths and small files ---------------------------------------------------------

    def _path(self, sid, state):
        return self._dir + "/" + str(sid) + _SUFFIX[state + 1]

    def _remove(self, path):
        try:
            os.remove(path)
        except OSError as e:
            if _errno(e) != _ENOENT:
                raise

    def _read_seq(self):
        try:
            with open(self.root + "/seq", "rb") as f:
                n = f.readinto(self._seqbuf)
        except OSError:
            return 1
        b = self._seqbuf
        if n != _SEQ_LEN or records.crc16(b, 0, 4) != b[4] | (b[5] << 8):
            return 1
        return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)

    def _write_seq(self, value):
        b = self._seqbuf
        for i in range(4):
            b[i] = (value >> (8 * i)) & 0xFF
        crc = records.crc16(b, 0, 4)
        b[4] = crc & 0xFF
        b[5] = crc >> 8
        with open(self.root + "/seq", "wb") as f:
            f.write(b)

    def _scan_ids(self):
        """Highest session id on flash; removes temp files left by a cut-short repair."""
        top = 0
        temps = []
        for entry in os.ilistdir(self._dir):
            sid, state = _parse_name(entry[0])
            if state == _S_TEMP:
                temps.append(sid)
            if sid > top:
                top = sid
        for sid in temps:
            self._remove(self._path(sid, _S_TEMP))
        return top

    # -- boot recovery -------------------------------------------------------------------

    def _recover(self):
        """Close every session left open by a power loss; return their ids."""
        open_ids = []
        for entry in os.ilistdir(self._dir):
            sid, state = _parse_name(entry[0])
            if state == _S_OPEN:
                open_ids.append(sid)
        done = []
        for sid in open_ids:
            if self._close_out(sid):
                done.append(sid)
        return done

    def _scan(self, f):
        """Walk the records of an open session file.

        Returns (good_bytes, steps, elapsed_ms, has_end): the length of the valid prefix
        (0 if not even a header), how many steps it holds, their total time, and whether
        it ends with an end record.
        """
        buf = self._buf
        mv = self._mv
        out = self._out
        cap = len(buf)
        n = f.readinto(buf)
        eof = n < cap
        base = 0  # file offset of buf[0]
        pos = 0
        good = 0
        steps = 0
        elapsed = 0
        seen_header = False
        while True:
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
            elif rtype != records.REC_LAPS:
                break
            pos = nxt
            good = base + pos
        return good, steps, elapsed, False

    def _close_out(self, sid):
        """Finish an interrupted session as power_lost (steps kept); True if one is left."""
        path = self._path(sid, _S_OPEN)
        try:
            with open(path, "rb") as f:
                good, steps, elapsed, has_end = self._scan(f)
                size = f.seek(0, 2)
            if good == 0:
                # begin_session never returned for it: there is nothing to keep
                os.remove(path)
                return False
            if good < size:
                self._truncate(sid, good)
            if not has_end:
                n = records.encode_end(
                    self._buf, END_POWER_LOST, min(elapsed, MAX_VARINT), 0, 0, 0, 0, steps
                )
                with open(path, "ab") as f:
                    f.write(self._buf, n)
            os.rename(path, self._path(sid, _S_DONE))
            return True
        except OSError as e:
            self.errors += 1
            self.last_errno = _errno(e)
            return False

    def _truncate(self, sid, length):
        """Keep only the first `length` bytes of an open session file (copy, then rename)."""
        src = self._path(sid, _S_OPEN)
        tmp = self._path(sid, _S_TEMP)
        view = self._mv[:_COPY_CHUNK]
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            left = length
            while left > 0:
                k = fin.readinto(view)
                if not k:
                    break
                k = k if k < left else left
                fout.write(self._buf, k)
                left -= k
        os.rename(tmp, src)

    # -- recording (the engine's recorder interface) -----------------------------------

    def begin_session(self, program_id, start_wall_s, start_uptime_ms):
        """Start recording a session; return its id. Raises JournalFull or JournalError."""
        if self._id:
            # the previous session was never ended: keep it, as if the power had gone
            self._finish(END_POWER_LOST, min(self._elapsed_ms, MAX_VARINT), 0, 0, 0, 0)
        try:
            self._make_room(self.reserve_bytes)
        except OSError as e:
            raise JournalError("flash error " + str(_errno(e)) + " making room", ERR_IO)
        sid = self._next
        n = records.encode_header(
            self._buf, sid, program_id, start_wall_s, start_uptime_ms & 0xFFFFFFFF
        )
        path = self._path(sid, _S_OPEN)
        f = None
        try:
            self._write_seq(sid + 1)
            self._next = sid + 1
            f = open(path, "wb")
            f.write(self._buf, n)
            f.flush()
        except OSError as e:
            if f is not None:
                self._close_quietly(f)
            try:
                self._remove(path)
            except OSError:
                pass  # recovery at the next boot removes a headerless file
            if _errno(e) == _ENOSPC:
                raise JournalFull("flash full while starting a session")
            raise JournalError("flash error " + str(_errno(e)) + " starting a session", ERR_IO)
        self._file = f
        self._id = sid
        self._ended = False
        self._steps = 0
        self._elapsed_ms = 0
        return sid

    def append_step(self, index, kind, end_reason, planned, elapsed_ms, laps_ms=None):
        """Record one finished step (laps_ms: any number of ints).

        Values out of range raise WireError before anything is written. A flash failure
        (after one retry, having reclaimed acked sessions if the flash was full) raises
        JournalError (ERR_IO, or JournalFull if the flash is full of unsynced sessions); the
        session stays open and later steps may still be stored.
        """
        if not self._id:
            raise JournalError("no session is being recorded", ERR_NO_SESSION)
        if laps_ms:
            for lap in laps_ms:
                if not isinstance(lap, int) or lap < 0 or lap > MAX_VARINT:
                    raise WireError("lap_ms out of range: " + repr(lap), -1, "lap_ms")
        # validate the step fields (encode_step raises); the write below encodes again
        records.encode_step(self._buf, index, kind, end_reason, planned, elapsed_ms, laps_ms)
        self._p_index = index
        self._p_kind = kind
        self._p_reason = end_reason
        self._p_planned = planned
        self._p_elapsed = elapsed_ms
        self._p_laps = laps_ms
        if self._reader_id == self._id:
            self._forget_reader()
        ok = self._durable(False)
        self._p_laps = None
        if not ok:
            if self.last_errno == _ENOSPC:
                raise JournalFull("flash full: a step could not be stored")
            raise JournalError("flash error " + str(self.last_errno) + " storing a step", ERR_IO)

    def end_session(self, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, end_reason):
        """Close the session being recorded. On a flash failure it raises JournalError
        (ERR_IO) and the session is closed as power_lost at the next boot."""
        if not self._id:
            raise JournalError("no session is being recorded", ERR_NO_SESSION)
        if not self._finish(
            end_reason,
            int(total_ms),
            int(paused_ms),
            int(pauses),
            int(late_max_ms),
            int(late_mean_ms),
        ):
            raise JournalError("flash error " + str(self.last_errno) + " ending a session", ERR_IO)

    def _finish(self, end_reason, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms):
        records.encode_end(
            self._buf, end_reason, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, 0
        )
        self._p_end = (end_reason, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms)
        sid = self._id
        if self._reader_id == sid:
            self._forget_reader()
        ok = self._durable(True)
        if self._file is not None:
            self._close_quietly(self._file)
        self._file = None
        self._id = 0
        if ok:
            try:
                os.rename(self._path(sid, _S_OPEN), self._path(sid, _S_DONE))
            except OSError as e:
                # the end record is on flash: the next boot finishes the rename
                self.errors += 1
                self.last_errno = _errno(e)
        return ok

    def _write_group(self, end_group):
        """Write the pending step (with its laps) or end record and sync it."""
        f = self._file
        buf = self._buf
        if end_group:
            e = self._p_end
            n = records.encode_end(buf, e[0], e[1], e[2], e[3], e[4], e[5], self._steps)
            f.write(buf, n)
            f.flush()
            self._ended = True
            return
        laps = self._p_laps
        n = records.encode_step(
            buf,
            self._p_index,
            self._p_kind,
            self._p_reason,
            self._p_planned,
            self._p_elapsed,
            laps,
        )
        f.write(buf, n)
        if laps:
            first = records.LAPS_PER_RECORD
            while first < len(laps):
                n = records.encode_laps(buf, laps, first)
                f.write(buf, n)
                first += records.LAPS_PER_RECORD
        f.flush()
        self._steps += 1
        self._elapsed_ms += self._p_elapsed

    def _durable(self, end_group):
        """Write the pending group durably. On failure, reopen (making room first if the
        flash is full) and try once more. After a failure the file is the truth: reopening
        rescans it for the step count, so a sync that failed after its commit landed is
        recognised and a group is never stored twice."""
        for attempt in range(2):
            if self._file is None:
                before = self._steps
                if not self._reopen():
                    return False
                if attempt and (self._ended if end_group else self._steps > before):
                    return True
            try:
                self._write_group(end_group)
                return True
            except OSError as e:
                self.errors += 1
                self.last_errno = _errno(e)
                self._close_quietly(self._file)
                self._file = None
                if self.last_errno == _ENOSPC:
                    try:
                        self._make_room(self.block_size)
                    except (JournalError, OSError):
                        pass
        return False

    def _reopen(self):
        """Reopen the session being recorded for append; recount its steps from flash."""
        path = self._path(self._id, _S_OPEN)
        try:
            with open(path, "rb") as f:
                good, steps, elapsed, has_end = self._scan(f)
                size = f.seek(0, 2)
            if good < size:
                self._truncate(self._id, good)
            self._file = open(path, "ab")
        except OSError as e:
            self.errors += 1
            self.last_errno = _errno(e)
            return False
        self._steps = steps
        self._elapsed_ms = elapsed
        self._ended = has_end
        return True

    def _close_quietly(self, f):
        try:
            f.close()
        except OSError:
            pass

    @property
    def session_open(self):
        """The id of the session being recorded, or 0."""
        return self._id

    # -- space ----------------------------------------------------------------------------

    def free_bytes(self):
        st = os.statvfs(self.root)
        return st[0] * st[3]

    def _acked_ids(self):
        ids = []
        for entry in os.ilistdir(self._dir):
            sid, state = _parse_name(entry[0])
            if state == _S_ACKED:
                ids.append(sid)
        ids.sort()
        return ids

    def _make_room(self, need_bytes):
        """Reclaim acknowledged sessions, oldest first, until need_bytes are free."""
        if self.free_bytes() >= need_bytes:
            return
        for sid in self._acked_ids():
            if self._reader_id == sid:
                self._forget_reader()
            os.remove(self._path(sid, _S_ACKED))
            if self.free_bytes() >= need_bytes:
                return
        unsynced = 0
        for entry in os.ilistdir(self._dir):
            if _parse_name(entry[0])[1] == _S_DONE:
                unsynced += 1
        raise JournalFull(
            "flash full: " + str(unsynced) + " sessions are not synced yet; sync to free space"
        )

    # -- sessions for the link ------------------------------------------------------------

    def list_sessions(self, after_id=0, max_n=32):
        """[(session_id, size_bytes, complete)] with id > after_id, oldest first, <= max_n."""
        found = []
        for entry in os.ilistdir(self._dir):
            sid, state = _parse_name(entry[0])
            if sid <= after_id or state < 0 or state == _S_TEMP:
                continue
            if len(entry) > 3:
                size = entry[3]
            else:
                size = os.stat(self._path(sid, state))[6]
            found.append((sid, size, state != _S_OPEN))
        found.sort()
        return found[:max_n]

    def acked(self, session_id):
        """True if the host acknowledged this session (it may be reclaimed)."""
        return session_id in self._acked_ids()

    def _forget_reader(self):
        if self._reader is not None:
            self._close_quietly(self._reader)
        self._reader = None
        self._reader_id = 0

    def _open_reader(self, session_id):
        if self._reader_id == session_id and self._reader is not None:
            return self._reader
        self._forget_reader()
        for state in (_S_DONE, _S_ACKED, _S_OPEN):
            try:
                f = open(self._path(session_id, state), "rb")
            except OSError:
                continue
            self._reader = f
            self._reader_id = session_id
            return f
        raise JournalError("no session " + str(session_id), ERR_NOT_FOUND)

    def read_session_into(self, session_id, offset, buf):
        """Read stored bytes of a session into buf from offset; return the count (0: end)."""
        f = self._open_reader(session_id)
        f.seek(offset)
        return f.readinto(buf) or 0

    def read_session(self, session_id, offset=0, n=256):
        """Up to n stored bytes of a session from offset (b'' past its end)."""
        f = self._open_reader(session_id)
        f.seek(offset)
        return f.read(n)

    def ack(self, session_ids):
        """Mark sessions as synced by the host; unknown or open ones are skipped.
        Returns how many were newly acknowledged."""
        count = 0
        for sid in session_ids:
            if sid == self._id:
                continue
            if self._reader_id == sid:
                self._forget_reader()
            try:
                os.rename(self._path(sid, _S_DONE), self._path(sid, _S_ACKED))
                count += 1
            except OSError as e:
                if _errno(e) != _ENOENT:
                    raise JournalError("flash error " + str(_errno(e)) + " in ack", ERR_IO)
        return count

    # -- the installed program ------------------------------------------------------------

    def install_program(self, data):
        """Install program bytes (checked: size and CRC). Written aside, then renamed in,
        so a power cut leaves the old program or the new one. Returns the program id."""
        n = len(data)
        if n < 7 or n > MAX_PROGRAM_BYTES:
            raise JournalError("program size " + str(n) + " out of range", ERR_BAD_PROGRAM)
        pid = int.from_bytes(data[n - 4 :], "little")
        if binascii.crc32(memoryview(data)[: n - 4]) & 0xFFFFFFFF != pid:
            raise JournalError("program CRC mismatch", ERR_BAD_PROGRAM)
        new = self.root + "/prog.new"
        for attempt in range(2):
            try:
                with open(new, "wb") as f:
                    f.write(data)
                os.rename(new, self.root + "/prog")
                return pid
            except OSError as e:
                errno = _errno(e)
                try:
                    self._remove(new)
                except OSError:
                    pass
                if errno != _ENOSPC:
                    raise JournalError("flash error " + str(errno) + " installing", ERR_IO)
                if attempt:
                    raise JournalFull("flash full while installing a program")
                self._make_room(n + 2 * self.block_size)
        return pid

    def program_bytes(self):
        """The installed program's bytes, or None (none installed, or unreadable)."""
        try:
            with open(self.root + "/prog", "rb") as f:
                data = f.read()
        except OSError:
            return None
        n = len(data)
        if n < 7 or binascii.crc32(memoryview(data)[: n - 4]) & 0xFFFFFFFF != int.from_bytes(
            data[n - 4 :], "little"
        ):
            return None
        return data

    def close(self):
        """Close open files (a session being recorded stays open: closed at next boot)."""
        self._forget_reader()
        if self._file is not None:
            self._close_quietly(self._file)
            self._file = None
