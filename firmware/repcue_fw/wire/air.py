# The BLE air format, which board and host both run: the GATT UUIDs and advertising
# payloads, and the records the link's frames travel in. docs/security.md is the spec:
#   u16 LE header (type in bits 13-15, body length 0-8191 in bits 0-12) | body
#   PLAIN      frames, before authentication; the device serves HELLO only
#   CHALLENGE  host -> device: host nonce Nh (16)
#   CHALLENGE_RSP  device -> host: device nonce Nd (16) | HMAC(K, "repcue-dev" Nh Nd) (32)
#   PROOF      host -> device: HMAC(K, "repcue-host" Nh Nd) (32)
#   AUTH_OK    device -> host: empty; both sides now use Ks = HMAC(K, "repcue-sess" Nh Nd)
#   ERROR      device -> host: u8 code | u32 detail (LE) | message
#   SECURE     u16 counter (LE, low bits) | frames | MAC8, where
#              MAC8 = HMAC(Ks, dir | u32 counter | frames)[:8], dir "H" host->device,
#              "D" device->host; counters start at 1 and go up by exactly one per record
# The device's side of the handshake is link/ble/secure.py; the host's, wire/host/air.py.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import struct

SERVICE_UUID = "7a1c0001-2f6d-4b8e-a3c5-726570637565"
RX_UUID = "7a1c0002-2f6d-4b8e-a3c5-726570637565"
TX_UUID = "7a1c0003-2f6d-4b8e-a3c5-726570637565"
DIS_UUID = const(0x180A)
BATTERY_UUID = const(0x180F)
BATTERY_LEVEL_UUID = const(0x2A19)
MANUFACTURER = "repcue"

REC_PLAIN = const(1)
REC_CHALLENGE = const(2)
REC_CHALLENGE_RSP = const(3)
REC_PROOF = const(4)
REC_AUTH_OK = const(5)
REC_ERROR = const(6)
REC_SECURE = const(7)
_REC_LAST = const(7)

ERR_NOT_PAIRED = const(1)  # the device holds no key: pair over USB first
ERR_BAD_PROOF = const(2)  # the host's proof is wrong (wrong key)
# 3 was ERR_LOCKED, retired (no lock-out: every guess costs a connection); never reused
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


def uuid_le(text):
    """A 128-bit UUID string as the little-endian bytes advertising data carries."""
    raw = bytes.fromhex(text.replace("-", ""))
    return bytes(reversed(raw))


def adv_payloads(name, service_uuid=SERVICE_UUID):
    """(advertising data, scan response): flags + our service UUID + the name, <= 31 bytes
    each. A name too long for the first goes whole into the second (and shortened into
    the first)."""
    adv = bytearray(b"\x02\x01\x06")  # LE general discoverable, no BR/EDR
    adv += bytes((17, 0x07)) + uuid_le(service_uuid)
    nb = name.encode()
    room = 31 - len(adv) - 2
    if len(nb) <= room:
        adv += bytes((len(nb) + 1, 0x09)) + nb
        return bytes(adv), b""
    adv += bytes((room + 1, 0x08)) + nb[:room]
    nb = nb[:29]
    return bytes(adv), bytes((len(nb) + 1, 0x09)) + nb


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
                if self.type < REC_PLAIN or self.type > _REC_LAST or self.length > self.capacity:
                    self.bad = True
                    return end
                self.need = REC_HEADER + self.length
                if self.length == 0:
                    self.ready = True
            else:
                self.ready = True
        return pos
