# The device's side of BLE authentication (the record format is wire/air.py, the spec
# docs/security.md): HMAC-SHA256 (MicroPython has hashlib.sha256 but no hmac module: built
# here, RFC 2104), one connection's handshake and record counters, and device nonces that
# never repeat. Runs in MicroPython and CPython (tests check it against CPython's hmac).
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import hashlib
import struct

from repcue_fw.wire import air
from repcue_fw.wire.air import put_header

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
        return key_hmac.digest(air.LABEL_DEVICE, self.nonce_host, self.nonce_dev)

    def prove(self, key_hmac, proof):
        """Device side: check the host's proof; on success derive the session key."""
        if self.nonce_dev is None:
            return False
        want = key_hmac.digest(air.LABEL_HOST, self.nonce_host, self.nonce_dev)
        if not equal(want, proof, air.TAG_LEN) or len(proof) != air.TAG_LEN:
            self.nonce_dev = None  # one proof per challenge
            return False
        self.mac = Hmac(key_hmac.digest(air.LABEL_SESSION, self.nonce_host, self.nonce_dev))
        self.nonce_dev = None
        self.tx_ctr = 0
        self.rx_ctr = 0
        return True

    def open(self, buf, start, end, direction):
        """Check a SECURE body in buf[start:end]; return (ok, error code). The frames are
        buf[start + air.CTR_LEN:end - air.MAC_LEN] when ok."""
        if end - start < air.CTR_LEN + air.MAC_LEN:
            return False, air.ERR_MALFORMED
        if self.rx_ctr >= air.CTR_LIMIT:
            return False, air.ERR_LIMIT
        want = self.rx_ctr + 1
        if buf[start] | (buf[start + 1] << 8) != want & 0xFFFF:
            return False, air.ERR_REPLAY
        mv = memoryview(buf)
        tag = self.mac.digest(
            direction, _counter(self._ctr, want), mv[start + air.CTR_LEN : end - air.MAC_LEN]
        )
        if not equal(tag, mv[end - air.MAC_LEN : end], air.MAC_LEN):
            return False, air.ERR_BAD_MAC
        self.rx_ctr = want
        return True, 0

    def seal(self, buf, data, n, direction):
        """Write a SECURE record around data[:n] into buf; return its length, or 0 when
        the counter is used up (the link must end)."""
        if self.tx_ctr >= air.CTR_LIMIT:
            return 0
        self.tx_ctr += 1
        ctr = self.tx_ctr
        put_header(buf, 0, air.REC_SECURE, air.CTR_LEN + n + air.MAC_LEN)
        buf[air.REC_HEADER] = ctr & 0xFF
        buf[air.REC_HEADER + 1] = (ctr >> 8) & 0xFF
        start = air.REC_HEADER + air.CTR_LEN
        mv = memoryview(buf)
        mv[start : start + n] = memoryview(data)[:n]
        tag = self.mac.digest(direction, _counter(self._ctr, ctr), mv[start : start + n])
        mv[start + n : start + n + air.MAC_LEN] = memoryview(tag)[: air.MAC_LEN]
        return start + n + air.MAC_LEN


def _counter(out, value):
    struct.pack_into("<I", out, 0, value)
    return out


def nonce(random16, boot, conn):
    """A device nonce that never repeats even if the random source is weak (rp2's urandom is
    one ring-oscillator bit through a mixer): SHA-256 of the random bytes, the boot counter
    kept on flash and this boot's connection counter, cut to air.NONCE_LEN."""
    h = hashlib.sha256(random16)
    h.update(struct.pack("<II", boot & 0xFFFFFFFF, conn & 0xFFFFFFFF))
    return h.digest()[: air.NONCE_LEN]
