# The BLE record layer and its authentication: what keeps strangers off the device.
#
# docs/security.md is the spec. Over BLE the link's frames travel inside records:
#   u16 LE header (type in bits 13-15, body length 0-8191 in bits 0-12) | body
#   PLAIN      frames, before authentication; the device serves HELLO only
#   CHALLENGE  host -> device: host nonce Nh (16)
#   CHALLENGE_RSP  device -> host: device nonce Nd (16) | HMAC(K, "repcue-dev" Nh Nd) (32)
#   PROOF      host -> device: HMAC(K, "repcue-host" Nh Nd) (32)
#   AUTH_OK    device -> host: empty; both sides now use Ks = HMAC(K, "repcue-sess" Nh Nd)
#   ERROR      device -> host: u8 code | u32 detail (LE) | message
#   SECURE     u16 counter (LE, low bits) | frames | MAC8, where
#              MAC8 = HMAC(Ks, dir | u32 counter | frames)[:8], dir "H" host->device,
#              "D" device->host; counters start at 1 and go up by exactly one per record,
#              so a replayed or dropped record fails
# K is the 256-bit pairing key written over USB serial (physical access is the trust
# anchor). MicroPython has hashlib.sha256 but no hmac module: HMAC is built here (RFC 2104).
# Runs in MicroPython and CPython (the host imports the constants and tests the HMAC).
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import hashlib
import struct

REC_PLAIN = const(1)
REC_CHALLENGE = const(2)
REC_CHALLENGE_RSP = const(3)
REC_PROOF = const(4)
REC_AUTH_OK = const(5)
REC_ERROR = const(6)
REC_SECURE = const(7)
REC_LAST = const(7)

ERR_NOT_PAIRED = const(1)  # the device holds no key: pair over USB first
ERR_BAD_PROOF = const(2)  # the host's proof is wrong (wrong key)
ERR_LOCKED = const(3)  # retired: no lock-out since every guess costs a connection
ERR_BAD_MAC = const(4)  # a SECURE record whose MAC is wrong (or a PLAIN one after auth)
ERR_REPLAY = const(5)  # a SECURE record out of counter order
ERR_MALFORMED = const(6)  # a record that does not parse
ERR_AUTH_REQUIRED = const(7)  # a SECURE record before authentication
ERR_STATE = const(8)  # a handshake record out of order
ERR_TIMEOUT = const(9)  # no authentication in time
ERR_REPLACED = const(10)  # another central took the slot this one held unauthenticated
ERR_LIMIT = const(11)  # the record counter is used up: reconnect

ERROR_NAMES = (
    "",
    "device is not paired",
    "wrong key",
    "locked after too many failures",
    "bad MAC",
    "replayed or out-of-order record",
    "malformed record",
    "authenticate first",
    "handshake out of order",
    "authentication timed out",
    "another central took the connection slot",
    "record counter used up",
)

REC_HEADER = const(2)
MAX_BODY = const(0x1FFF)  # 13 bits of length beside the 3-bit type
NONCE_LEN = const(16)
KEY_LEN = const(32)
TAG_LEN = const(32)
MAC_LEN = const(8)
CTR_LEN = const(2)  # on the wire: the low 16 bits; the MAC covers all 32
# Records per direction and connection. A link ends before its counter passes this: the
# counter stays a small int on a 32-bit port (no allocation per record), and it can never
# wrap (struct.pack_into would wrap a u32 silently on MicroPython).
CTR_LIMIT = const(0x3FFFFFFF)
SEAL_OVERHEAD = const(12)  # header + counter + MAC around a SECURE record's frames

LABEL_DEVICE = b"repcue-dev"
LABEL_HOST = b"repcue-host"
LABEL_SESSION = b"repcue-sess"
DIR_HOST = b"H"
DIR_DEVICE = b"D"

KEY_DIR = "ble"  # under the journal's root: the key and the boot counter
KEY_FILE = "key"
BOOTS_FILE = "boots"

_BLOCK = const(64)


class Hmac:
    """HMAC-SHA256 with one key, its pads computed once (RFC 2104)."""

    def __init__(self, key):
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        ipad = bytearray(_BLOCK)
        opad = bytearray(_BLOCK)
        for i in range(_BLOCK):
            b = key[i] if i < len(key) else 0
            ipad[i] = b ^ 0x36
            opad[i] = b ^ 0x5C
        self._ipad = bytes(ipad)
        self._opad = bytes(opad)

    def digest(self, a, b=None, c=None, d=None):
        """HMAC over the concatenation of up to four buffers (no joining copy)."""
        h = hashlib.sha256(self._ipad)
        h.update(a)
        if b is not None:
            h.update(b)
        if c is not None:
            h.update(c)
        if d is not None:
            h.update(d)
        inner = h.digest()
        h = hashlib.sha256(self._opad)
        h.update(inner)
        return h.digest()


def equal(a, b, n):
    """Compare n bytes in time independent of where they differ."""
    if len(a) < n or len(b) < n:
        return False
    diff = 0
    for i in range(n):
        diff |= a[i] ^ b[i]
    return diff == 0


def put_header(buf, pos, rtype, body_len):
    """u16 LE: type in bits 13-15, body length in bits 0-12."""
    word = (rtype << 13) | body_len
    buf[pos] = word & 0xFF
    buf[pos + 1] = (word >> 8) & 0xFF
    return pos + REC_HEADER


def error_body(code, detail, message):
    return struct.pack("<BI", code, detail) + message


class RecordReader:
    """Reassembles records from a byte stream into one preallocated buffer.

    push(data, pos, end) -> new pos; afterwards `ready` says a whole record is in: type,
    and the body at buf[BODY:BODY + length]. A header announcing more than the buffer
    holds or an unknown type sets `bad` (the link drops the connection).
    """

    BODY = REC_HEADER

    def __init__(self, capacity):
        self.buf = bytearray(REC_HEADER + capacity)
        self.capacity = capacity
        self.reset()

    def reset(self):
        self.have = 0
        self.need = REC_HEADER
        self.type = 0
        self.length = 0
        self.ready = False
        self.bad = False

    def push(self, data, pos, end):
        if self.ready:
            self.ready = False
            self.have = 0
            self.need = REC_HEADER
        buf = self.buf
        while pos < end and not self.ready:
            k = self.need - self.have
            if k > end - pos:
                k = end - pos
            buf[self.have : self.have + k] = data[pos : pos + k]
            self.have += k
            pos += k
            if self.have < self.need:
                break
            if self.need == REC_HEADER:
                word = buf[0] | (buf[1] << 8)
                self.type = word >> 13
                self.length = word & MAX_BODY
                if self.type < REC_PLAIN or self.type > REC_LAST or self.length > self.capacity:
                    self.bad = True
                    return end
                self.need = REC_HEADER + self.length
                if self.length == 0:
                    self.ready = True
            else:
                self.ready = True
        return pos


class Session:
    """One connection's handshake and counters."""

    def __init__(self):
        self.nonce_host = None
        self.nonce_dev = None
        self.mac = None  # Hmac(Ks) once authenticated
        self.tx_ctr = 0
        self.rx_ctr = 0
        self.failures = 0
        self.challenged = False  # one CHALLENGE per connection: no free HMAC oracle
        self._ctr = bytearray(4)

    @property
    def authenticated(self):
        return self.mac is not None

    def challenge(self, key_hmac, nonce_host, nonce_dev):
        """Device side: remember both nonces, return the device's tag."""
        self.nonce_host = bytes(nonce_host)
        self.nonce_dev = bytes(nonce_dev)
        return key_hmac.digest(LABEL_DEVICE, self.nonce_host, self.nonce_dev)

    def prove(self, key_hmac, proof):
        """Device side: check the host's proof; on success derive the session key."""
        if self.nonce_dev is None:
            return False
        want = key_hmac.digest(LABEL_HOST, self.nonce_host, self.nonce_dev)
        if not equal(want, proof, TAG_LEN) or len(proof) != TAG_LEN:
            self.nonce_dev = None  # one proof per challenge
            return False
        self.mac = Hmac(key_hmac.digest(LABEL_SESSION, self.nonce_host, self.nonce_dev))
        self.nonce_dev = None
        self.tx_ctr = 0
        self.rx_ctr = 0
        return True

    def open(self, buf, start, end, direction):
        """Check a SECURE body in buf[start:end]; return (ok, error code). The frames are
        buf[start + CTR_LEN:end - MAC_LEN] when ok."""
        if end - start < CTR_LEN + MAC_LEN:
            return False, ERR_MALFORMED
        if self.rx_ctr >= CTR_LIMIT:
            return False, ERR_LIMIT
        want = self.rx_ctr + 1
        if buf[start] | (buf[start + 1] << 8) != want & 0xFFFF:
            return False, ERR_REPLAY
        mv = memoryview(buf)
        tag = self.mac.digest(
            direction, _counter(self._ctr, want), mv[start + CTR_LEN : end - MAC_LEN]
        )
        if not equal(tag, mv[end - MAC_LEN : end], MAC_LEN):
            return False, ERR_BAD_MAC
        self.rx_ctr = want
        return True, 0

    def seal(self, buf, data, n, direction):
        """Write a SECURE record around data[:n] into buf; return its length, or 0 when
        the counter is used up (the link must end)."""
        if self.tx_ctr >= CTR_LIMIT:
            return 0
        self.tx_ctr += 1
        ctr = self.tx_ctr
        put_header(buf, 0, REC_SECURE, CTR_LEN + n + MAC_LEN)
        buf[REC_HEADER] = ctr & 0xFF
        buf[REC_HEADER + 1] = (ctr >> 8) & 0xFF
        start = REC_HEADER + CTR_LEN
        mv = memoryview(buf)
        mv[start : start + n] = memoryview(data)[:n]
        tag = self.mac.digest(direction, _counter(self._ctr, ctr), mv[start : start + n])
        mv[start + n : start + n + MAC_LEN] = memoryview(tag)[:MAC_LEN]
        return start + n + MAC_LEN


def _counter(out, value):
    struct.pack_into("<I", out, 0, value)
    return out


def nonce(random16, boot, conn):
    """A device nonce that never repeats even if the random source is weak (rp2's urandom is
    one ring-oscillator bit through a mixer): SHA-256 of the random bytes, the boot counter
    kept on flash and this boot's connection counter, cut to NONCE_LEN."""
    h = hashlib.sha256(random16)
    h.update(struct.pack("<II", boot & 0xFFFFFFFF, conn & 0xFFFFFFFF))
    return h.digest()[:NONCE_LEN]


class KeyStore:
    """The pairing key on the device's flash, and the boot counter the nonces use: small
    files in a directory of their own beside the journal.

    littlefs keeps a file this small inside its directory's metadata log, and a rewrite or a
    delete only appends a commit: the old key stays readable on the raw flash until that log
    is compacted, twice (it has two blocks). So forgetting a key (unpair, re-pair) rewrites
    the file until the old key is on no block any more; the key's own directory keeps that
    log short. `blocks` is the raw block device under the filesystem when the board offers
    it (the scrub then checks, else it rewrites as often as two compactions of a 4 KB
    block need at most).
    """

    SCRUB_MAX = 512  # rewrites: a 4 KB metadata block compacts after ~60-100 commits

    def __init__(self, root, blocks=None):
        self.dir = root + "/" + KEY_DIR
        self.path = self.dir + "/" + KEY_FILE
        self.blocks = blocks
        self.scrub_writes = 0  # rewrites the last scrub took (tests, logs)

    def _mkdir(self):
        import os

        try:
            os.mkdir(self.dir)
        except OSError:
            pass  # already there

    def load(self):
        try:
            with open(self.path, "rb") as f:
                key = f.read()
        except OSError:
            return None
        return key if len(key) == KEY_LEN else None

    def _write(self, data):
        # littlefs commits a file at close: old bytes or new bytes, never half of them
        with open(self.path, "wb") as f:
            f.write(data)

    def save(self, key):
        if len(key) != KEY_LEN:
            raise ValueError("pairing key must be 32 bytes")
        self._mkdir()
        old = self.load()
        self._write(key)
        if old is not None and old != key:
            self._scrub(old, key)

    def clear(self):
        """Forget the key: overwrite it until no block holds it, then delete the file."""
        import os

        old = self.load()
        if old is not None:
            self._write(bytes(KEY_LEN))
            self._scrub(old, bytes(KEY_LEN))
        try:
            os.remove(self.path)
        except OSError:
            pass

    def _scrub(self, old, filler):
        n = 0
        while n < self.SCRUB_MAX:
            if self.blocks is not None and n % 8 == 0 and not on_flash(self.blocks, old):
                break
            self._write(filler)
            n += 1
        self.scrub_writes = n

    def next_boot(self):
        """Count this boot on flash and return the count (written before it is used, so a
        power cut can never hand out one count twice)."""
        self._mkdir()
        path = self.dir + "/" + BOOTS_FILE
        count = 0
        try:
            with open(path, "rb") as f:
                raw = f.read()
            if len(raw) == 4:
                count = struct.unpack("<I", raw)[0]
        except OSError:
            pass  # the first boot
        count = (count + 1) & 0xFFFFFFFF
        with open(path, "wb") as f:
            f.write(struct.pack("<I", count))
        return count


def on_flash(blocks, needle):
    """True when some block of the raw device holds `needle` (read in small chunks, each
    overlapping the last by len(needle) - 1 so that nothing is missed at a seam)."""
    count = blocks.ioctl(4, 0)
    size = blocks.ioctl(5, 0)
    k = len(needle)
    step = 512 if size >= 512 else size
    buf = bytearray(step + k - 1)
    mv = memoryview(buf)
    for blk in range(count):
        off = 0
        while off < size:
            n = step + k - 1 if off + step + k - 1 <= size else size - off
            blocks.readblocks(blk, mv[:n], off)
            if buf.find(needle, 0, n) >= 0:
                return True
            off += step
    return False
