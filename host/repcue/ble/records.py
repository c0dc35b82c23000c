"""The BLE record layer, host side (the device side is firmware/repcue_fw/ble_secure.py).

Records frame the protocol's bytes over the GATT byte stream; before authentication
frames travel in PLAIN records (the device serves HELLO only), afterwards in SECURE
records with a counter and a truncated HMAC. docs/security.md is the spec.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from repcue.errors import AuthError, ProtocolError
from repcue_fw import ble_secure as sec

__all__ = ["AuthError", "HostSession", "Record", "RecordParser", "auth_error", "encode"]


@dataclass(frozen=True)
class Record:
    type: int
    body: bytes


def encode(rtype: int, body: bytes) -> bytes:
    """A record: u16 LE header (type in bits 13-15, body length in bits 0-12), body."""
    if len(body) > sec.MAX_BODY:
        raise ValueError(f"record body of {len(body)} bytes exceeds {sec.MAX_BODY}")
    return struct.pack("<H", (rtype << 13) | len(body)) + body


class RecordParser:
    """Incremental parser: feed() the notification bytes, get whole records."""

    def __init__(self, max_body: int = sec.MAX_BODY) -> None:
        self._buf = bytearray()
        self._max_body = max_body

    def feed(self, data: bytes) -> list[Record]:
        self._buf += data
        out: list[Record] = []
        while len(self._buf) >= sec.REC_HEADER:
            (word,) = struct.unpack_from("<H", self._buf, 0)
            rtype, length = word >> 13, word & sec.MAX_BODY
            if not sec.REC_PLAIN <= rtype <= sec.REC_LAST or length > self._max_body:
                raise ProtocolError(f"the device sent a malformed BLE record (type {rtype})")
            end = sec.REC_HEADER + length
            if len(self._buf) < end:
                break
            out.append(Record(rtype, bytes(self._buf[sec.REC_HEADER : end])))
            del self._buf[:end]
        return out


def _hmac(key: bytes, *parts: bytes) -> bytes:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.digest()


def error_text(body: bytes) -> tuple[int, int, str]:
    """(code, detail, text) of an ERROR record's body."""
    if len(body) < 5:
        return sec.ERR_MALFORMED, 0, "malformed error record"
    code, detail = struct.unpack_from("<BI", body, 0)
    name = sec.ERROR_NAMES[code] if 0 < code < len(sec.ERROR_NAMES) else f"error {code}"
    extra = body[5:].decode("utf-8", errors="replace")
    return code, detail, f"{name}: {extra}" if extra else name


def auth_error(body: bytes, where: str) -> AuthError:
    code, _detail, text = error_text(body)
    hint = {
        sec.ERR_NOT_PAIRED: " (pair it over USB first: repcue pair)",
        sec.ERR_BAD_PROOF: " (the key here is not the device's: pair again over USB)",
        sec.ERR_REPLACED: " (someone else connected: try again)",
        sec.ERR_TIMEOUT: " (try again)",
    }.get(code, "")
    return AuthError(f"{where} refused the connection: {text}{hint}", code=code)


class HostSession:
    """The host's half of the handshake and of the sealed record stream."""

    def __init__(self, key: bytes) -> None:
        if len(key) != sec.KEY_LEN:
            raise ValueError(f"a pairing key is {sec.KEY_LEN} bytes, got {len(key)}")
        self._key = key
        self._nonce_host = b""
        self._nonce_dev = b""
        self._session_key = b""
        self.tx_ctr = 0
        self.rx_ctr = 0

    @property
    def authenticated(self) -> bool:
        return bool(self._session_key)

    def challenge(self) -> bytes:
        """The CHALLENGE record that opens the handshake."""
        self._nonce_host = os.urandom(sec.NONCE_LEN)
        return encode(sec.REC_CHALLENGE, self._nonce_host)

    def proof(self, body: bytes) -> bytes:
        """Check the device's CHALLENGE_RSP; return our PROOF record.

        Raises AuthError when the device does not hold our key (an impostor, or a device
        that was paired with another host since)."""
        if len(body) != sec.NONCE_LEN + sec.TAG_LEN or not self._nonce_host:
            raise AuthError("the device sent a malformed challenge answer", code=sec.ERR_STATE)
        nonce_dev, tag = body[: sec.NONCE_LEN], body[sec.NONCE_LEN :]
        want = _hmac(self._key, sec.LABEL_DEVICE, self._nonce_host, nonce_dev)
        if not hmac.compare_digest(want, tag):
            raise AuthError(
                "the device could not prove it holds our key: not the paired device "
                "(or it was paired again since)",
                code=sec.ERR_BAD_PROOF,
            )
        self._nonce_dev = nonce_dev
        return encode(sec.REC_PROOF, _hmac(self._key, sec.LABEL_HOST, self._nonce_host, nonce_dev))

    def accept(self) -> None:
        """AUTH_OK arrived: derive the session key; counters start over."""
        if not self._nonce_dev:
            raise AuthError("the device accepted a proof we never sent", code=sec.ERR_STATE)
        self._session_key = _hmac(self._key, sec.LABEL_SESSION, self._nonce_host, self._nonce_dev)
        self.tx_ctr = 0
        self.rx_ctr = 0

    def seal(self, data: bytes) -> bytes:
        """A SECURE record around data."""
        if self.tx_ctr >= sec.CTR_LIMIT:
            raise ProtocolError("the link's record counter is used up: reconnect")
        self.tx_ctr += 1
        mac = _hmac(self._session_key, sec.DIR_HOST, struct.pack("<I", self.tx_ctr), data)
        body = struct.pack("<H", self.tx_ctr & 0xFFFF) + data + mac[: sec.MAC_LEN]
        return encode(sec.REC_SECURE, body)

    def open(self, body: bytes) -> bytes:
        """The frames inside a SECURE record from the device; ProtocolError if forged,
        replayed or out of order."""
        if len(body) < sec.CTR_LEN + sec.MAC_LEN:
            raise ProtocolError("the device sent a truncated sealed record")
        if self.rx_ctr >= sec.CTR_LIMIT:
            raise ProtocolError("the link's record counter is used up: reconnect")
        want = self.rx_ctr + 1
        (ctr,) = struct.unpack_from("<H", body, 0)
        if ctr != want & 0xFFFF:
            raise ProtocolError(f"sealed record {ctr} out of order (expected {want & 0xFFFF})")
        data = body[sec.CTR_LEN : -sec.MAC_LEN]
        mac = _hmac(self._session_key, sec.DIR_DEVICE, struct.pack("<I", want), data)
        if not hmac.compare_digest(mac[: sec.MAC_LEN], body[-sec.MAC_LEN :]):
            raise ProtocolError("a sealed record from the device failed its MAC")
        self.rx_ctr = want
        return data
