# Protocol mode over Bluetooth LE: the same frames as serial, in records (ble_secure.py),
# on a GATT service of our own, fed into a Dispatcher of the link (link.py).
#
#   service  7a1c0001-2f6d-4b8e-a3c5-726570637565
#     RX     7a1c0002-...  write without response: host -> device record bytes
#     TX     7a1c0003-...  notify: device -> host record bytes
#   plus Device Information (0x180A: manufacturer, model = board, serial = device id,
#   firmware revision) and Battery (0x180F, level: read + notify).
#
# The record stream is cut into ATT_MTU-3 byte notifications (20 before an MTU exchange).
# Flow control: gatts_notify raises OSError(ENOMEM) while the stack's buffers are full;
# we back off and retry, so a notification is never lost to an overrun. The host writes
# one request record at a time (the protocol has one request in flight); the RX value is
# an append buffer of two records.
#
# IRQ handlers only note what happened (ints in a fixed ring) and wake the link's task;
# everything else runs in that task. One central is served at a time. Where the stack takes
# more than one connection (`slots`), advertising goes on until that central has
# authenticated, and a newcomer takes the slot from one that dawdles (docs/security.md:
# "Guessing and the connection slot"); otherwise advertising stops while it is connected.
#
#   dispatcher = Dispatcher(AirServices(app))        # its own instance, not serial's
#   runner.add_listener(dispatcher.post_event)
#   link = BleLink(dispatcher, name, keys=pairing.key_store(app), device_id=uid, slots=4)
#   link.start(); asyncio.create_task(link.run())
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import asyncio
import time

from repcue_fw import ble_secure as sec
from repcue_fw.ble_gatt import (  # noqa: F401  (re-exported: the service and advertising)
    BATTERY_LEVEL_UUID,
    BATTERY_UUID,
    DIS_UUID,
    MANUFACTURER,
    RX_UUID,
    SERVICE_UUID,
    TX_UUID,
    adv_payloads,
    available,
    register_services,
    uuid_le,
)
from repcue_fw.ble_records import RecordsIn
from repcue_fw.wire import frame  # not the host's frame.py: less RAM

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)

_ENOMEM = const(12)
_ATT_HEADER = const(3)
DEFAULT_MTU = const(23)
PREFERRED_MTU = const(247)
ADV_INTERVAL_US = const(100000)
# An unauthenticated central must send its CHALLENGE within CHALLENGE_DEADLINE_MS of
# connecting, and its PROOF within PROOF_DEADLINE_MS of the challenge (one round trip for
# an honest host), or it is dropped. Where the stack has more than one connection slot, a
# newcomer takes the slot from a central that has held it GRACE_MS without a challenge:
# nobody can sit on the slot, and a stranger who reconnects at once after each drop still
# leaves the owner a window of CHALLENGE_DEADLINE_MS - GRACE_MS in every cycle.
CHALLENGE_DEADLINE_MS = const(3000)
PROOF_DEADLINE_MS = const(1000)
GRACE_MS = const(1500)
_RETRY_MS = const(2)  # back-off while the stack's transmit buffers are full
_RING = const(8)
_MIXED = const(-2)  # RX holds bytes of more than one central


# What a central may use once authenticated: an allow-list, so that a service added for
# the USB cable (pairing, factory reset, the REPL) is never reachable over the air by
# default. Physical possession of the cable is the trust anchor for those.
AIR_SERVICES = (
    "info",
    "set_time",
    "program_begin",
    "program_chunk",
    "program_commit",
    "start",
    "stop",
    "list_sessions",
    "read_session",
    "read_session_into",
    "ack_sessions",
    "config_get",
    "config_set",
)


class AirServices:
    """The app's services as a BLE central may use them (AIR_SERVICES; the dispatcher
    answers the rest ST_UNSUPPORTED). Give the BLE link's Dispatcher this, not the app."""

    def __init__(self, services):
        self._services = services

    def __getattr__(self, name):
        if name not in AIR_SERVICES:
            raise AttributeError(name)
        return getattr(self._services, name)


class BleLink(RecordsIn):
    """Serves the protocol to one authenticated BLE central at a time."""

    def __init__(
        self,
        dispatcher,
        name,
        keys=None,
        device_id=b"",
        board="",
        firmware="",
        ble=None,
        clock=None,
        mtu=PREFERRED_MTU,
        adv_interval_us=ADV_INTERVAL_US,
        challenge_deadline_ms=CHALLENGE_DEADLINE_MS,
        proof_deadline_ms=PROOF_DEADLINE_MS,
        grace_ms=GRACE_MS,
        slots=1,
        urandom=None,
        log=None,
    ):
        if ble is None:
            import bluetooth

            ble = bluetooth.BLE()
        if clock is None:
            clock = time
        if urandom is None:
            import os

            urandom = os.urandom
        self.ble = ble
        self.dispatcher = dispatcher
        self.name = name
        self.keys = keys
        self.device_id = device_id
        self.board = board
        self.firmware = firmware
        self.clock = clock
        self.mtu_pref = mtu
        self.adv_interval_us = adv_interval_us
        self.challenge_deadline_ms = challenge_deadline_ms
        self.proof_deadline_ms = proof_deadline_ms
        self.grace_ms = grace_ms
        self.slots = slots  # connections the stack takes at once (NimBLE 4, btstack 1)
        self.urandom = urandom
        self.log = log
        self._key = None  # Hmac(K) of the pairing key, None while unpaired
        self.boot = 0  # this boot's number, from the key store's counter on flash
        self._nonces = 0  # device nonces drawn this boot
        cap = sec.SEAL_OVERHEAD + 1 + frame.encoded_size(dispatcher.max_frame)
        if cap > sec.MAX_BODY:
            raise ValueError("BLE records hold frames up to about 8 KB")
        self._reader = sec.RecordReader(cap)
        self._tx = bytearray(sec.REC_HEADER + cap)
        self._rx_size = 2 * (sec.REC_HEADER + cap)
        self._flag = asyncio.ThreadSafeFlag()
        self._ring_ev = [0] * _RING
        self._ring_a = [0] * _RING
        self._ring_b = [0] * _RING
        self._ring_head = 0
        self._ring_count = 0
        self._rx_pending = False
        self._rx_conn = -1  # who wrote what RX holds (_MIXED: more than one central)
        self._closing = False
        self._advertising = False
        self.conn = -1
        self.mtu = DEFAULT_MTU
        self.session = None
        self._since_ms = 0  # when the current central connected
        self._challenge_ms = 0  # when it sent its CHALLENGE
        self._adv = None
        self._rx_handle = -1
        self._tx_handle = -1
        self._battery_handle = -1
        # statistics
        self.connections = 0
        self.packets_out = 0
        self.stalls = 0
        self.refused = 0
        self.auth_failures = 0
        self.replaced = 0  # unauthenticated centrals that lost the slot to a newcomer
        self.turned_away = 0  # newcomers refused while the slot was held
        self.crashes = 0  # service passes that failed and were contained
        self.ring_overflows = 0

    # -- set-up ---------------------------------------------------------------------------
    def start(self):
        """Power the radio, register the services, start advertising (synchronous)."""
        ble = self.ble
        ble.active(True)
        ble.config(gap_name=self.name, mtu=self.mtu_pref)
        ble.irq(self._irq)
        rx, tx, battery = register_services(
            ble, self._rx_size, self.board, self.device_id, self.firmware
        )
        self._rx_handle, self._tx_handle, self._battery_handle = rx, tx, battery
        if self.keys is not None:
            try:
                self.boot = self.keys.next_boot()
            except OSError as exc:  # no flash to count on: the random part must do
                self._note_log("ble: boot counter: " + repr(exc))
        self.reload_key()
        self._adv = adv_payloads(self.name)
        self._update_advertising()

    def reload_key(self):
        """Read the pairing key again (after pairing or unpairing over USB). A central
        that authenticated with the old key is disconnected: it holds the key no more."""
        key = self.keys.load() if self.keys is not None else None
        self._key = sec.Hmac(key) if key is not None else None
        if self.session is not None and self.session.authenticated:
            self._drop()

    @property
    def paired(self):
        return self._key is not None

    def set_battery(self, pct):
        if self._battery_handle >= 0:
            pct = 0 if pct < 0 else 100 if pct > 100 else pct
            self.ble.gatts_write(self._battery_handle, bytes((pct,)), True)

    def _note_log(self, text):
        if self.log is not None:
            self.log(text)

    def _nonce(self):
        self._nonces += 1
        return sec.nonce(self.urandom(sec.NONCE_LEN), self.boot, self._nonces)

    # -- advertising -------------------------------------------------------------------------
    def _want_advertising(self):
        # while nobody holds the slot, and where the stack takes a second connection, while
        # its holder has not authenticated: a stranger cannot keep the owner out
        if self.conn < 0:
            return True
        return self.slots > 1 and not self._closing and not self.session.authenticated

    def _update_advertising(self):
        want = self._want_advertising()
        if want == self._advertising:
            return
        try:
            if want:
                adv, resp = self._adv
                self.ble.gap_advertise(self.adv_interval_us, adv, resp_data=resp)
            else:
                self.ble.gap_advertise(None)
            self._advertising = want
        except OSError as exc:  # e.g. every slot taken: the next disconnect tries again
            self._advertising = False
            self._note_log("ble: advertise: " + repr(exc))

    # -- IRQ: note it, wake the task --------------------------------------------------------
    def _irq(self, event, data):
        if event == _IRQ_GATTS_WRITE:
            if data[1] == self._rx_handle:
                # RX is one buffer for every connection: remember whose bytes it holds
                if not self._rx_pending:
                    self._rx_pending = True
                    self._rx_conn = data[0]
                elif self._rx_conn != data[0]:
                    self._rx_conn = _MIXED
        elif event == _IRQ_CENTRAL_CONNECT or event == _IRQ_CENTRAL_DISCONNECT:
            self._note(event, data[0], 0)
        elif event == _IRQ_MTU_EXCHANGED:
            self._note(event, data[0], data[1])
        else:
            return
        self._flag.set()

    def _note(self, event, a, b):
        if self._ring_count == _RING:
            self.ring_overflows += 1
            return
        i = (self._ring_head + self._ring_count) % _RING
        self._ring_ev[i] = event
        self._ring_a[i] = a
        self._ring_b[i] = b
        self._ring_count += 1

    # -- the task ------------------------------------------------------------------------------
    async def run(self):
        """Serve forever (start() first if not done). A pass that fails drops its central,
        is logged and counted, and the service goes on: one bad record never ends BLE."""
        if self._adv is None:
            self.start()
        self.dispatcher.event_waker = self._flag.set
        watchdog = asyncio.create_task(self._watchdog())
        try:
            while True:
                await self._flag.wait()
                try:
                    await self._service()
                except Exception as exc:  # contained: see the docstring
                    self.crashes += 1
                    self._note_log("ble: " + repr(exc))
                    self._recover()
        finally:
            watchdog.cancel()
            self.dispatcher.event_waker = None

    def _recover(self):
        try:
            self._drop()
            self._update_advertising()
        except Exception as exc:  # the next IRQ tries again
            self._note_log("ble: recover: " + repr(exc))

    async def _watchdog(self):
        # an unauthenticated central may not sit on the slot: wake the task to check
        while True:
            await asyncio.sleep_ms(250)
            if self.conn >= 0 and not self.session.authenticated:
                self._flag.set()

    def _since(self, ticks):
        return self.clock.ticks_diff(self.clock.ticks_ms(), ticks)

    def _overdue(self):
        if self.conn < 0 or self._closing or self.session.authenticated:
            return False
        if self.session.challenged:
            return self._since(self._challenge_ms) > self.proof_deadline_ms
        return self._since(self._since_ms) > self.challenge_deadline_ms

    def _replaceable(self):
        # a holder that has not even begun to authenticate in its grace time
        session = self.session
        if self._closing or session.authenticated or session.challenged:
            return False
        return self._since(self._since_ms) >= self.grace_ms

    async def _service(self):
        while self._ring_count:
            i = self._ring_head
            event, a, b = self._ring_ev[i], self._ring_a[i], self._ring_b[i]
            self._ring_head = (i + 1) % _RING
            self._ring_count -= 1
            if event == _IRQ_CENTRAL_CONNECT:
                await self._on_connect(a)
            elif event == _IRQ_CENTRAL_DISCONNECT:
                self._on_disconnect(a)
            elif event == _IRQ_MTU_EXCHANGED and a == self.conn:
                self.mtu = b
        if self._overdue():
            await self._refuse(sec.ERR_TIMEOUT, 0, True)
        if self._rx_pending:
            self._rx_pending = False
            writer = self._rx_conn
            data = self.ble.gatts_read(self._rx_handle)
            if self.conn >= 0 and not self._closing and data:
                if writer == self.conn:
                    await self._on_bytes(data)
                elif writer == _MIXED:
                    # our central's bytes mixed with another's: the stream has a hole
                    self._drop()
                # else: only a displaced or refused central's bytes, dropped with it
        if self.session is not None and self.session.authenticated and self.dispatcher.subscribed:
            while self.conn >= 0:
                out = self.dispatcher.next_event()
                if out is None:
                    break
                await self._send_secure(out)
        self._update_advertising()

    async def _on_connect(self, conn):
        self._advertising = False  # a connection ends connectable advertising
        if self.conn >= 0:
            if not self._replaceable():
                self.turned_away += 1
                self._disconnect(conn)
                return
            # the holder never authenticated in its grace time: the newcomer gets the slot
            self.replaced += 1
            await self._refuse(sec.ERR_REPLACED, 0, True)
        self.conn = conn
        self._closing = False
        self.mtu = DEFAULT_MTU
        self.session = sec.Session()
        self.connections += 1
        self._since_ms = self.clock.ticks_ms()
        self._reader.reset()
        self.dispatcher.new_peer(False)

    def _on_disconnect(self, conn):
        if conn != self.conn:
            return  # a displaced or turned-away central
        self.conn = -1
        self._closing = False
        self.session = None
        self.dispatcher.new_peer(False)

    def _disconnect(self, conn):
        try:
            self.ble.gap_disconnect(conn)
        except OSError:
            pass  # gone already

    # -- records out -----------------------------------------------------------------------
    async def _send_record(self, rtype, body):
        n = len(body)
        tx = self._tx
        sec.put_header(tx, 0, rtype, n)
        tx[sec.REC_HEADER : sec.REC_HEADER + n] = body
        return await self._send(tx, sec.REC_HEADER + n)

    async def _send_secure(self, data):
        n = self.session.seal(self._tx, data, len(data), sec.DIR_DEVICE)
        if not n:
            await self._refuse(sec.ERR_LIMIT, 0, True)
            return False
        return await self._send(self._tx, n)

    async def _send(self, buf, n):
        """Notify buf[:n] in ATT_MTU-3 pieces; back off while the stack is full. False if
        the central went away meanwhile."""
        conn = self.conn
        mv = memoryview(buf)
        pos = 0
        while pos < n:
            if self.conn != conn or conn < 0:
                return False
            k = self.mtu - _ATT_HEADER
            if k > n - pos:
                k = n - pos
            try:
                self.ble.gatts_notify(conn, self._tx_handle, mv[pos : pos + k])
            except OSError as exc:
                if exc.args and exc.args[0] == _ENOMEM:
                    self.stalls += 1
                    await asyncio.sleep_ms(_RETRY_MS)
                    continue
                return False  # ENOTCONN: the disconnect IRQ follows
            pos += k
            self.packets_out += 1
            await asyncio.sleep_ms(0)  # let cues, buttons and the stack's credits run
        return True
