# The journal's files and errors, shared by its parts (journal/__init__.py is the facade).
#
# Layout under root_dir:
#   prog        the installed program (written to prog.new, then renamed over prog)
#   seq         the next session id (u32 + CRC-16), so ids are never reused after a reclaim
#   s/N.o       session N being recorded (or cut off by a power loss: closed at boot)
#   acks        the ack log: ids of complete sessions the host acknowledged (acks);
#               only those are ever reclaimed
#   s/N         session N complete (acknowledged if its id is in acks)
#   s/N.r       a copy being made while repairing session N (removed at boot)
# Recording and repair change a session's state by littlefs's atomic rename; acknowledging
# is one append to acks per request, not a rename per session.
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import os

from repcue_fw.wire import records
from repcue_fw.wire.opcodes import ST_STORAGE_FULL

SEQ_LEN = const(6)  # the seq file: u32 next id + CRC-16
ENOENT = const(2)
_EEXIST = const(17)
ENOSPC = const(28)

# Session states, by file name.
S_OPEN = const(0)
S_DONE = const(1)
S_TEMP = const(2)
_SUFFIX = ("/", ".o", "", ".r")  # indexed by state + 1 (slot 0 unused)


class JournalError(Exception):
    """A journal operation that failed; `code` (also `status`) is the link's status code
    (wire/opcodes.py ST_*), so the error reaches the host as it is."""

    def __init__(self, message, code, detail=0):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = code
        self.detail = detail  # the status's detail (docs/protocol.md), e.g. the session id


class JournalFull(JournalError):
    """No room for a new session or program, and nothing acknowledged left to reclaim."""

    def __init__(self, message):
        super().__init__(message, ST_STORAGE_FULL)


def parse_name(name):
    """'12' / '12.o' / '12.r' -> (12, state); anything else -> (0, -1)."""
    state = S_DONE
    stem = name
    if len(name) > 2 and name[-2] == ".":
        tail = name[-1]
        stem = name[:-2]
        if tail == "o":
            state = S_OPEN
        elif tail == "r":
            state = S_TEMP
        else:
            return 0, -1
    if not stem or not stem.isdigit():
        return 0, -1
    return int(stem), state


def path(j, sid, state):
    """The file of session `sid` in `state` in journal j."""
    return j.dir + "/" + str(sid) + _SUFFIX[state + 1]


def ids(j, state):
    """Ids of the sessions in `state`, in no particular order."""
    found = []
    for entry in os.ilistdir(j.dir):
        sid, st = parse_name(entry[0])
        if st == state:
            found.append(sid)
    return found


def errno(e):
    return e.args[0] if e.args else 0


def remove(file_path):
    """Remove a file; one that is not there is no error."""
    try:
        os.remove(file_path)
    except OSError as e:
        if errno(e) != ENOENT:
            raise


def makedirs(dir_path):
    here = ""
    for part in dir_path.split("/"):
        if not part:
            continue
        here = here + "/" + part
        try:
            os.mkdir(here)
        except OSError as e:
            if e.args[0] != _EEXIST:
                raise


def close_quietly(f):
    try:
        f.close()
    except OSError:
        pass


def read_seq(j):
    """The next session id from the seq file, or 1 if it is missing or torn."""
    b = j.seqbuf
    try:
        with open(j.root + "/seq", "rb") as f:
            n = f.readinto(b)
    except OSError:
        return 1
    if n != SEQ_LEN or records.crc16(b, 0, 4) != b[4] | (b[5] << 8):
        return 1
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)


def write_seq(j, value):
    """Store the next session id (u32 + CRC-16)."""
    b = j.seqbuf
    for i in range(4):
        b[i] = (value >> (8 * i)) & 0xFF
    crc = records.crc16(b, 0, 4)
    b[4] = crc & 0xFF
    b[5] = crc >> 8
    with open(j.root + "/seq", "wb") as f:
        f.write(b)


def forget_reader(j):
    """Close the session file the link last read from (sessions keeps it open)."""
    if j.reader is not None:
        close_quietly(j.reader)
    j.reader = None
    j.reader_id = 0
