"""The firmware's BLE pieces in the real micropython binary: HMAC and the record layer
(checked against CPython's hmac and the host's records), advertising payloads, and
the BLE link's chunking and flow control against a fake radio. The security checks are in
test_ble_firmware_security.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import struct
from pathlib import Path

import pytest

from repcue.link.ble import records as rec
from repcue.sim.ble import proto
from repcue_fw.wire import air
from tests.mpy import ROOT, run_mpy

MPY_STANDIN = ROOT / "device" / "repcue_device"


def test_hmac_matches_cpython() -> None:
    cases = [
        (b"k" * 32, b"hello"),
        (os.urandom(32), os.urandom(300)),
        (b"short", b""),
        (os.urandom(100), b"a key longer than a block is hashed first"),
    ]
    code = "from repcue_fw.link.ble import secure as s\n"
    for key, msg in cases:
        code += (
            f"print(s.Hmac(bytes.fromhex('{key.hex()}'))"
            f".digest(bytes.fromhex('{msg.hex()}')).hex())\n"
        )
    out = run_mpy(code).split()
    assert out == [hmac.new(k, m, hashlib.sha256).hexdigest() for k, m in cases]


def test_handshake_and_sealed_records_interoperate_with_the_host() -> None:
    key = os.urandom(32)
    nonce_host, nonce_dev = os.urandom(16), os.urandom(16)
    host = rec.HostSession(key)
    host._nonce_host = nonce_host  # what challenge() would have drawn
    proof_record = host.proof(
        nonce_dev + hmac.new(key, air.LABEL_DEVICE + nonce_host + nonce_dev, "sha256").digest()
    )
    proof = rec.RecordParser().feed(proof_record)[0].body
    host.accept()
    sealed = [host.seal(b"frame one"), host.seal(b"\x00frame two")]
    code = f"""
from repcue_fw.link.ble import secure as s
from repcue_fw.wire import air
key = s.Hmac(bytes.fromhex('{key.hex()}'))
sess = s.Session()
tag = sess.challenge(key, bytes.fromhex('{nonce_host.hex()}'), bytes.fromhex('{nonce_dev.hex()}'))
print(tag.hex())
print(sess.prove(key, bytes(32)))  # a wrong proof burns the challenge
sess.challenge(key, bytes.fromhex('{nonce_host.hex()}'), bytes.fromhex('{nonce_dev.hex()}'))
print(sess.prove(key, bytes.fromhex('{proof.hex()}')))
for hexrec in {[r.hex() for r in sealed]!r}:
    buf = bytearray(bytes.fromhex(hexrec))
    ok, code = sess.open(buf, air.REC_HEADER, len(buf), air.DIR_HOST)
    print(ok, code, bytes(buf[air.REC_HEADER + air.CTR_LEN:len(buf) - air.MAC_LEN]))
buf = bytearray(bytes.fromhex('{sealed[0].hex()}'))
print(sess.open(buf, air.REC_HEADER, len(buf), air.DIR_HOST))  # replayed
out = bytearray(100)
n = sess.seal(out, b'reply', 5, air.DIR_DEVICE)
print(bytes(out[:n]).hex())
"""
    lines = run_mpy(code).splitlines()
    assert (
        lines[0] == hmac.new(key, air.LABEL_DEVICE + nonce_host + nonce_dev, "sha256").hexdigest()
    )
    assert lines[1] == "False"
    assert lines[2] == "True"
    assert lines[3] == "True 0 b'frame one'"
    assert lines[4] == "True 0 b'\\x00frame two'"
    assert lines[5] == f"(False, {air.ERR_REPLAY})"
    reply = rec.RecordParser().feed(bytes.fromhex(lines[6]))[0]
    assert reply.type == air.REC_SECURE
    assert host.open(reply.body) == b"reply"
    with pytest.raises(Exception, match="out of order"):
        host.open(reply.body)


def test_record_reader_reassembles_any_split_and_rejects_nonsense() -> None:
    stream = rec.encode(air.REC_PLAIN, b"abc") + rec.encode(air.REC_SECURE, bytes(range(40)))
    stream += rec.encode(air.REC_AUTH_OK, b"")
    code = f"""
from repcue_fw.link.ble import secure as s
from repcue_fw.wire import air
data = bytes.fromhex('{stream.hex()}')
for step in (1, 2, 3, 7, 64):
    r = air.RecordReader(64)
    got = []
    for i in range(0, len(data), step):
        piece = data[i:i + step]
        pos = 0
        while pos < len(piece):
            pos = r.push(piece, pos, len(piece))
            if r.ready:
                got.append((r.type, bytes(r.buf[r.BODY:r.BODY + r.length])))
    print(got == [(1, b'abc'), (7, bytes(range(40))), (5, b'')])
r = air.RecordReader(16)
r.push(bytes.fromhex('{rec.encode(air.REC_PLAIN, bytes(17)).hex()}'), 0, 19)
print(r.bad)
r = air.RecordReader(16)
r.push(b'\\x00\\x00', 0, 2)  # type 0
print(r.bad)
"""
    assert run_mpy(code).split() == ["True"] * 5 + ["True", "True"]


@pytest.mark.parametrize("name", ["rc-1", "repcue-0001", "a-very-long-device-name-indeed-x"])
def test_advertising_fits_31_bytes_with_uuid_and_name(name: str) -> None:
    out = run_mpy(
        "from repcue_fw.wire import air\n"
        f"adv, resp = air.adv_payloads({name!r})\n"
        "print(adv.hex(), resp.hex())\n"
    ).split()
    adv = bytes.fromhex(out[0])
    resp = bytes.fromhex(out[1]) if len(out) > 1 else b""
    assert (adv, resp) == air.adv_payloads(name)  # CPython agrees
    assert len(adv) <= 31 and len(resp) <= 31

    def fields(data: bytes) -> dict[int, bytes]:
        found, i = {}, 0
        while i < len(data):
            n = data[i]
            found[data[i + 1]] = data[i + 2 : i + 1 + n]
            i += 1 + n
        assert i == len(data)
        return found

    a, r = fields(adv), fields(resp)
    assert a[0x07] == air.uuid_le(air.SERVICE_UUID)
    assert a[0x01] == b"\x06"
    full = a.get(0x09) or r.get(0x09)
    assert full == name.encode()[:29]
    if 0x09 not in a:
        assert name.encode().startswith(a[0x08])


FAKE_RADIO = """
import asyncio
from repcue_fw.link.ble import server
from repcue_fw.link.ble.central import Central
from repcue_fw.link.dispatch import Dispatcher

class Services:
    def info(self):
        return {'device_id': b'\\x01\\x02', 'name': 'x'}

class FakeBLE:
    # a radio whose stack is full every third notification
    def __init__(self):
        self.sent = []
        self.calls = 0
        self.enomem = 0
    def gatts_notify(self, conn, handle, data):
        self.calls += 1
        if self.calls % 3 == 0:
            self.enomem += 1
            raise OSError(12)
        self.sent.append(bytes(data))
    def gap_disconnect(self, conn):
        return True

async def main(mtu, n):
    ble = FakeBLE()
    link = server.BleLink(Dispatcher(Services()), 'x', ble=ble, urandom=lambda k: bytes(k))
    central = link.central = Central(link, 1, 0)
    central.mtu = mtu
    link._tx_handle = 9
    data = bytes(i & 0xFF for i in range(n))
    ok = await link._send(central, data, n)
    print(ok, b''.join(ble.sent) == data, max(len(p) for p in ble.sent), ble.enomem,
          link.stalls)

asyncio.run(main(MTU, N))
"""


@pytest.mark.parametrize(("mtu", "size"), [(23, 1000), (247, 1000), (185, 182)])
def test_notifications_are_chunked_to_mtu_and_survive_a_full_stack(mtu: int, size: int) -> None:
    out = run_mpy(FAKE_RADIO.replace("MTU, N", f"{mtu}, {size}")).split()
    ok, same, biggest, enomem, stalls = out
    assert ok == "True" and same == "True"
    assert int(biggest) == min(mtu - 3, size)
    assert int(enomem) == int(stalls) and (int(enomem) > 0 or size <= mtu - 3)


def test_stand_in_enforces_what_a_port_would() -> None:
    code = """
import bluetooth, micropython
b = bluetooth.BLE()
print(b is bluetooth.BLE())
u = bluetooth.UUID('7a1c0001-2f6d-4b8e-a3c5-726570637565')
print(u == bluetooth.UUID('7A1C0001-2F6D-4B8E-A3C5-726570637565'), str(bluetooth.UUID(0x180F)))
b._values[5] = bluetooth._Value(0)
b._store_write(b._values[5], b'x' * 30)          # default 20-byte buffer: truncated
print(b.gatts_read(5) == b'x' * 20, b.stats['write_dropped'])
b.gatts_set_buffer(5, 8, True)                   # append mode: writes accumulate
b._store_write(b._values[5], b'abc'); b._store_write(b._values[5], b'defghij')
print(b.gatts_read(5), b.gatts_read(5))          # reading consumes
b._active = True
b._credits[1] = 1
b._send = lambda t, body: None
b.gatts_notify(1, 5, b'one')
try:
    b.gatts_notify(1, 5, b'two')
except OSError as e:
    print('ENOMEM', e.args[0])
try:
    b.gatts_notify(7, 5, b'x')
except OSError as e:
    print('ENOTCONN', e.args[0])
try:
    b.gap_advertise(100000, b'x' * 32)
except OSError as e:
    print('EINVAL', e.args[0])
"""
    out = run_mpy(code, extra_path=[MPY_STANDIN]).splitlines()
    assert out == [
        "True",
        "True 0x180f",
        "True 10",
        "b'abcdefgh' b''",
        "ENOMEM 12",
        "ENOTCONN 107",
        "EINVAL 22",
    ]


def test_stand_in_and_bridge_agree_on_message_types() -> None:
    source = (MPY_STANDIN / "bluetooth.py").read_text()
    consts = dict(re.findall(r"^([ME]_[A-Z_]+) = const\((0x[0-9A-Fa-f]+)\)", source, re.M))
    assert consts, "no message constants found in the stand-in"
    for name, value in consts.items():
        assert getattr(proto, name) == int(value, 16), name
    assert struct.calcsize("<HB") == 3 and json.dumps({})  # framing: u16 length, u8 type


def test_the_host_reads_the_air_format_from_the_firmware_package() -> None:
    # the host takes the UUIDs from the file the board runs: one source of truth
    assert air.SERVICE_UUID.endswith("726570637565")
    assert Path(air.__file__).parts[-3:] == ("repcue_fw", "wire", "air.py")
