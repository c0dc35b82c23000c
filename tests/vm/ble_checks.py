"""Checks of the firmware's BLE security that run inside the MicroPython VM.

tests/ble/test_ble_firmware_security.py imports this module in the real `micropython`
binary (tests/vm is on its MICROPYPATH) and reads what each check prints: one JSON line.
Written for MicroPython: no typing, dataclasses or f-string tricks.
"""

import asyncio
import json

from feed import feed

from repcue_fw.link.ble import keys, secure, server
from repcue_fw.link.dispatch import Dispatcher
from repcue_fw.wire import air
from repcue_fw.wire.host import frame
from repcue_fw.wire.host import opcodes as op


class Services:
    """Every service the app offers, each noting that it ran."""

    def __init__(self):
        self.ran = []

    def _ran(self, name, value=None):
        self.ran.append(name)
        return value

    def info(self):
        return {
            "device_id": b"\x01\x02",
            "name": "watch",
            "board": "sim",
            "firmware": "9.9",
            "clock_s": 1234,
            "program_id": 77,
            "free_heap": 1000,
            "free_flash": 2000,
            "running": True,
        }

    def set_time(self, epoch_s, ms):
        return self._ran("set_time", 0)

    def program_begin(self, total_len, crc):
        return self._ran("program_begin", 0)

    def program_chunk(self, offset, data):
        return self._ran("program_chunk", len(data))

    def program_commit(self, crc):
        return self._ran("program_commit", 1)

    def start(self):
        return self._ran("start", 1)

    def stop(self):
        return self._ran("stop")

    def press(self, button):
        return self._ran("press", True)

    def list_sessions(self, after_id, max_n):
        return self._ran("list_sessions", [])

    def read_session(self, session_id, offset, n):
        return self._ran("read_session", b"")

    def read_session_into(self, session_id, offset, buf):
        return self._ran("read_session_into", 0)

    def ack_sessions(self, ids):
        return self._ran("ack_sessions")

    def config_get(self):
        return self._ran("config_get", {"cue_strength": 1, "countdown_s": 3, "buttons": b""})

    def config_set(self, changes):
        self._ran("config_set")
        return {"cue_strength": 1, "countdown_s": 3, "buttons": b""}

    def repl(self):
        return self._ran("repl")

    def pair(self, key):
        return self._ran("pair", True)

    def unpair(self):
        return self._ran("unpair", True)


def _answers(d, frames_hex):
    out = []
    for h in frames_hex:
        for raw in feed(d, bytes.fromhex(h)):
            f = frame.Decoder().feed(raw)[0]
            out.append([f.type, f.payload[0]])
    return out


def unauthenticated(frames_hex):
    """Every request on a dispatcher whose central has not authenticated, then the same
    after new_peer(True): what was answered, and what ran."""
    services = Services()
    d = Dispatcher(services)
    d.new_peer(False)
    before = _answers(d, frames_hex)
    ran_before = list(services.ran)
    hello = feed(d, frame.encode(op.OP_HELLO, 0, 1, op.hello_req(512)))[0]
    f = frame.Decoder().feed(hello)[0]
    info = op.get_info(f.payload, 1, len(f.payload))
    d.new_peer(True)
    after = _answers(d, frames_hex)
    print(
        json.dumps(
            {
                "before": before,
                "ran_before": ran_before,
                "refused": d.refused,
                "hello": [
                    info[5],
                    info[6],
                    info[7],
                    info[8],
                    str(info[9], "utf-8"),
                    str(info[10], "utf-8"),
                    str(info[11], "utf-8"),
                    str(info[12], "utf-8"),
                    info[3],
                ],
                "after": after,
                "ran_after": services.ran,
            }
        )
    )


def replay_cache():
    """A retransmitted request gets the cached answer, but never a new central."""
    services = Services()
    d = Dispatcher(services)
    req = frame.encode(op.OP_SET_TIME, 0, 5, op.u32(99))
    feed(d, req)
    feed(d, req)  # a retry: answered from the cache
    once = len(services.ran)
    d.new_peer(False)
    status = frame.Decoder().feed(feed(d, req)[0])[0].payload[0]
    d.new_peer(True)
    feed(d, req)  # the new central's own request with the same bytes: it runs
    print(json.dumps([once, status, len(services.ran)]))


def air_services():
    """The allow-list: what a central can reach, and REPL refused over the air."""
    air = server.AirServices(Services())
    hidden = []
    for name in ("pair", "unpair", "repl", "factory_reset", "key_store", "anything"):
        if getattr(air, name, None) is None:
            hidden.append(name)
    offered = [name for name in server.AIR_SERVICES if getattr(air, name, None) is not None]
    d = Dispatcher(air)
    f = frame.Decoder().feed(feed(d, frame.encode(op.OP_REPL, 0, 3, b""))[0])[0]
    print(json.dumps([hidden, len(offered), f.payload[0], d.leave]))


def counters():
    """A link's record counters end it before they could wrap."""
    s = secure.Session()
    s.mac = secure.Hmac(bytes(32))
    buf = bytearray(64)
    s.tx_ctr = air.CTR_LIMIT - 1
    last = s.seal(buf, b"x", 1, air.DIR_DEVICE)
    refused = s.seal(buf, b"x", 1, air.DIR_DEVICE)
    s.rx_ctr = air.CTR_LIMIT
    print(json.dumps([last > 0, refused, s.tx_ctr, s.open(buf, 2, last, air.DIR_HOST)[1]]))


def nonces():
    """With a random source that only gives zeros, nonces still never repeat."""
    seen = set()
    for boot in range(1, 4):
        for conn in range(1, 51):
            seen.add(secure.nonce(bytes(16), boot, conn))
    print(json.dumps([len(seen), len(secure.nonce(bytes(16), 1, 1))]))


def scrub(image):
    """Re-pairing and unpairing leave no old key on any block of the flash (a new image)."""
    from flash_image import mount_image

    flash = mount_image(image, "/flash", 4096, 64)
    store = keys.KeyStore("/flash", flash)
    first = bytes(range(0xA0, 0xC0))
    second = bytes(range(0x40, 0x60))
    store.save(first)
    out = [keys.on_flash(flash, first)]
    store.save(second)
    out += [keys.on_flash(flash, first), keys.on_flash(flash, second), store.scrub_writes]
    store.clear()
    out += [keys.on_flash(flash, second), store.load() is None, store.scrub_writes]
    out += [store.next_boot(), store.next_boot()]
    print(json.dumps(out))


class FlakyRadio:
    """A stack whose first RX read fails: the link must survive it."""

    def __init__(self):
        self.rx = b""
        self.fail_reads = 1
        self.sent = {}
        self.disconnected = []
        self.adverts = 0

    def gatts_read(self, handle):
        if self.fail_reads:
            self.fail_reads -= 1
            raise MemoryError("read failed")
        data, self.rx = self.rx, b""
        return data

    def gatts_notify(self, conn, handle, data):
        self.sent[conn] = self.sent.get(conn, b"") + bytes(data)

    def gap_disconnect(self, conn):
        self.disconnected.append(conn)
        return True

    def gap_advertise(self, interval_us, adv=None, resp_data=None):
        if interval_us is not None:
            self.adverts += 1


async def _contained():
    radio = FlakyRadio()
    logs = []
    link = server.BleLink(
        Dispatcher(server.AirServices(Services())), "x", ble=radio, log=logs.append
    )
    link._adv = air.adv_payloads("x")
    link._rx_handle, link._tx_handle = 1, 2
    task = asyncio.create_task(link.run())
    hello = frame.encode(op.OP_HELLO, 0, 1, op.hello_req(512))
    record = bytes([len(hello), air.REC_PLAIN << 5]) + hello
    for conn in (5, 6):
        link._irq(1, (conn, 0, b""))  # a central connects
        await asyncio.sleep_ms(5)
        radio.rx = record
        link._irq(3, (conn, 1))  # and writes a HELLO
        await asyncio.sleep_ms(20)
        if conn == 5:
            link._irq(2, (conn, 0, b""))  # the one that met the crash is gone
            await asyncio.sleep_ms(5)
    task.cancel()
    answered = radio.sent.get(6, b"")[2:]
    served = frame.Decoder().feed(answered)[0].type if answered else 0
    print(json.dumps([link.crashes, len(logs), radio.disconnected, served, 5 in radio.sent]))


def contained():
    """One failing pass drops its central and is logged; BLE goes on serving."""
    asyncio.run(_contained())
