"""The BLE record layer, the host's half: its side of the handshake, sealing and opening
records, and the device's refusals as AuthError. The record format is repcue_fw.wire.air
(with wire.host.air's encode, Record and error_text), the device's half
firmware/repcue_fw/link/ble/secure.py; docs/security.md is the spec.

Records frame the protocol's bytes over the GATT byte stream; before authentication
frames travel in PLAIN records (the device serves HELLO only), afterwards in SECURE
records with a counter and a truncated HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

from repcue.errors import AuthError, ProtocolError
from repcue_fw.wire import WireError
from repcue_fw.wire.host import air
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op
from repcue_fw.wire.host.air import Record, error_text

__all__ = [
    "AuthError",
    "HostSession",
    "Record",
    "RecordParser",
    "auth_error",
    "check_plain",
    "encode",
    "error_text",
]


def encode(rtype: int, body: bytes) -> bytes:
    """A record: the u16 LE header (type in bits 13-15, body length in bits 0-12), body."""
    record: bytes = air.encode(rtype, body)
    return record


class RecordParser(air.RecordParser):  # type: ignore[misc]
    """The board's record reader over the notification bytes; a malformed record is a
    ProtocolError."""

    def feed(self, data: bytes) -> list[air.Record]:
        try:
            records: list[air.Record] = super().feed(data)
        except WireError as err:
            raise ProtocolError(f"the device sent a malformed BLE record: {err}") from err
        return records


def check_plain(data: bytes, where: str) -> None:
    """What may go out in PLAIN records, before authentication: whole HELLO requests only
    (a device paired with another host, or a fake one, learns nothing of ours)."""
    decoder = wf.Decoder(wf.MAX_FRAME_LIMIT)
    frames = decoder.feed(data)
    whole = not (decoder.in_frame() or decoder.dropped or decoder.oversize)
    if not frames or not whole or any(f.type != op.OP_HELLO or f.flags for f in frames):
        raise AuthError(
            f"{where} is not paired with this computer: over Bluetooth only HELLO goes to an "
            "unpaired device (pair it over USB first: repcue pair --device serial:PORT)",
            code=air.ERR_NOT_PAIRED,
        )


def _hmac(key: bytes, *parts: bytes) -> bytes:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.digest()


def auth_error(body: bytes, where: str) -> AuthError:
    code, _detail, text = error_text(body)
    hint = {
        air.ERR_NOT_PAIRED: " (pair it over USB first: repcue pair)",
        air.ERR_BAD_PROOF: " (the key here is not the device's: pair again over USB)",
        air.ERR_REPLACED: " (someone else connected: try again)",
        air.ERR_TIMEOUT: " (try again)",
    }.get(code, "")
    return AuthError(f"{where} refused the connection: {text}{hint}", code=code)


class HostSession:
    """The host's half of the handshake and of the sealed record stream."""

    def __init__(self, key: bytes) -> None:
        if len(key) != air.KEY_LEN:
            raise ValueError(f"a pairing key is {air.KEY_LEN} bytes, got {len(key)}")
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
        self._nonce_host = os.urandom(air.NONCE_LEN)
        return encode(air.REC_CHALLENGE, self._nonce_host)

    def proof(self, body: bytes) -> bytes:
        """Check the device's CHALLENGE_RSP; return our PROOF record.

        Raises AuthError when the device does not hold our key (an impostor, or a device
        that was paired with another host since)."""
        if len(body) != air.NONCE_LEN + air.TAG_LEN or not self._nonce_host:
            raise AuthError("the device sent a malformed challenge answer", code=air.ERR_STATE)
        nonce_dev, tag = body[: air.NONCE_LEN], body[air.NONCE_LEN :]
        want = _hmac(self._key, air.LABEL_DEVICE, self._nonce_host, nonce_dev)
        if not hmac.compare_digest(want, tag):
            raise AuthError(
                "the device could not prove it holds our key: not the paired device "
                "(or it was paired again since)",
                code=air.ERR_BAD_PROOF,
            )
        self._nonce_dev = nonce_dev
        return encode(air.REC_PROOF, _hmac(self._key, air.LABEL_HOST, self._nonce_host, nonce_dev))

    def accept(self) -> None:
        """AUTH_OK arrived: derive the session key; counters start over."""
        if not self._nonce_dev:
            raise AuthError("the device accepted a proof we never sent", code=air.ERR_STATE)
        self._session_key = _hmac(self._key, air.LABEL_SESSION, self._nonce_host, self._nonce_dev)
        self.tx_ctr = 0
        self.rx_ctr = 0

    def seal(self, data: bytes) -> bytes:
        """A SECURE record around data."""
        if self.tx_ctr >= air.CTR_LIMIT:
            raise ProtocolError("the link's record counter is used up: reconnect")
        self.tx_ctr += 1
        mac = _hmac(self._session_key, air.DIR_HOST, struct.pack("<I", self.tx_ctr), data)
        body = struct.pack("<H", self.tx_ctr & 0xFFFF) + data + mac[: air.MAC_LEN]
        return encode(air.REC_SECURE, body)

    def open(self, body: bytes) -> bytes:
        """The frames inside a SECURE record from the device; ProtocolError if forged,
        replayed or out of order."""
        if len(body) < air.CTR_LEN + air.MAC_LEN:
            raise ProtocolError("the device sent a truncated sealed record")
        if self.rx_ctr >= air.CTR_LIMIT:
            raise ProtocolError("the link's record counter is used up: reconnect")
        want = self.rx_ctr + 1
        (ctr,) = struct.unpack_from("<H", body, 0)
        if ctr != want & 0xFFFF:
            raise ProtocolError(f"sealed record {ctr} out of order (expected {want & 0xFFFF})")
        data = body[air.CTR_LEN : -air.MAC_LEN]
        mac = _hmac(self._session_key, air.DIR_DEVICE, struct.pack("<I", want), data)
        if not hmac.compare_digest(mac[: air.MAC_LEN], body[-air.MAC_LEN :]):
            raise ProtocolError("a sealed record from the device failed its MAC")
        self.rx_ctr = want
        return data
