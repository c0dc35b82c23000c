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
# everything else runs in that task. One central at a time: advertising stops while
# connected and starts again when it leaves.
#
#   dispatcher = Dispatcher(AirServices(app))        # its own instance, not serial's
#   runner.add_listener(dispatcher.post_event)
#   link = BleLink(dispatcher, name, keys=KeyStore(journal.root), device_id=uid, ...)
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
from repcue_fw.wire import frame_core as frame  # not the host's frame.py: less RAM

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)

_ENOMEM = const(12)
_ATT_HEADER = const(3)
DEFAULT_MTU = const(23)
PREFERRED_MTU = const(247)
ADV_INTERVAL_US = const(100000)
AUTH_DEADLINE_MS = const(10000)  # an unauthenticated central is dropped after this
_RETRY_MS = const(2)  # back-off while the stack's transmit buffers are full
_RING = const(8)
_ERR_RAW = const(79)


# Pairing, unpairing, factory reset and the REPL need the USB cable (physical possession
# is the trust anchor): a central never reaches them, authenticated or not.
USB_ONLY = ("pair", "unpair", "factory_reset", "repl")


class AirServices:
    """The app's services as a BLE central may use them: all but USB_ONLY (the dispatcher
    answers those ST_UNSUPPORTED). Give the BLE link's Dispatcher this, not the app."""

    def __init__(self, services):
        self._services = services

    def __getattr__(self, name):
        if name in USB_ONLY:
            raise AttributeError(name)
        return getattr(self._services, name)


class BleLink(RecordsIn):
    """Serves the protocol to one BLE central at a time."""

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
        auth_deadline_ms=AUTH_DEADLINE_MS,
        guard=None,
        urandom=None,
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
        self.auth_deadline_ms = auth_deadline_ms
        self.urandom = urandom
        self.guard = guard if guard is not None else sec.Guard(clock)
        self._key = None  # Hmac(K) of the pairing key, None while unpaired
        cap = sec.SEAL_OVERHEAD + 1 + frame.encoded_size(dispatcher.max_frame)
        if cap > sec.MAX_BODY:
            raise ValueError("BLE records hold frames up to about 8 KB")
        self._reader = sec.RecordReader(cap)
        self._tx = bytearray(sec.REC_HEADER + cap)
        self._rx_size = 2 * (sec.REC_HEADER + cap)
        # pre-auth requests are checked by a decoder of their own: HELLO always fits
        self._pre = frame.Decoder(frame.MIN_FRAME)
        self._err_raw = bytearray(_ERR_RAW)
        self._err_tx = bytearray(frame.encoded_size(_ERR_RAW))
        self._flag = asyncio.ThreadSafeFlag()
        self._ring_ev = [0] * _RING
        self._ring_a = [0] * _RING
        self._ring_b = [0] * _RING
        self._ring_head = 0
        self._ring_count = 0
        self._rx_pending = False
        self._closing = False
        self.conn = -1
        self.mtu = DEFAULT_MTU
        self.session = None
        self._since_ms = 0
        self._adv = None
        self._rx_handle = -1
        self._tx_handle = -1
        self._battery_handle = -1
        # statistics
        self.connections = 0
        self.packets_out = 0
        self.stalls = 0
        self.refused = 0
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
        self.reload_key()
        self._adv = adv_payloads(self.name)
        self._advertise()

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

    def _advertise(self):
        adv, resp = self._adv
        self.ble.gap_advertise(self.adv_interval_us, adv, resp_data=resp)

    # -- IRQ: note it, wake the task --------------------------------------------------------
    def _irq(self, event, data):
        if event == _IRQ_GATTS_WRITE:
            if data[1] == self._rx_handle:
                self._rx_pending = True
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
        """Serve forever (start() first if not done)."""
        if self._adv is None:
            self.start()
        self.dispatcher.event_waker = self._flag.set
        watchdog = asyncio.create_task(self._watchdog())
        try:
            while True:
                await self._flag.wait()
                await self._service()
        finally:
            watchdog.cancel()
            self.dispatcher.event_waker = None

    async def _watchdog(self):
        # an unauthenticated central may not sit on the one connection slot forever
        while True:
            await asyncio.sleep_ms(250)
            if self.conn >= 0 and not self.session.authenticated:
                self._flag.set()  # the task checks the deadline

    def _overdue(self):
        if self.conn < 0 or self._closing or self.session.authenticated:
            return False
        return self.clock.ticks_diff(self.clock.ticks_ms(), self._since_ms) > self.auth_deadline_ms

    async def _service(self):
        while self._ring_count:
            i = self._ring_head
            event, a, b = self._ring_ev[i], self._ring_a[i], self._ring_b[i]
            self._ring_head = (i + 1) % _RING
            self._ring_count -= 1
            if event == _IRQ_CENTRAL_CONNECT:
                self._on_connect(a)
            elif event == _IRQ_CENTRAL_DISCONNECT:
                self._on_disconnect(a)
            elif event == _IRQ_MTU_EXCHANGED and a == self.conn:
                self.mtu = b
        if self._overdue():
            await self._refuse(sec.ERR_TIMEOUT, 0, True)
        if self._rx_pending:
            self._rx_pending = False
            data = self.ble.gatts_read(self._rx_handle)
            if self.conn >= 0 and data and not self._closing:
                await self._on_bytes(data)
        if self.session is not None and self.session.authenticated and self.dispatcher.subscribed:
            while self.conn >= 0:
                out = self.dispatcher.next_event()
                if out is None:
                    break
                await self._send_secure(out)

    def _on_connect(self, conn):
        if self.conn >= 0:
            self.ble.gap_disconnect(conn)  # one central at a time
            return
        self.conn = conn
        self._closing = False
        self.mtu = DEFAULT_MTU
        self.session = sec.Session()
        self.connections += 1
        self._since_ms = self.clock.ticks_ms()
        self._reader.reset()
        self._pre.reset()
        d = self.dispatcher
        d.reset_input()
        d.subscribed = False
        d.peer_max = frame.MIN_FRAME

    def _on_disconnect(self, conn):
        if conn != self.conn:
            return
        self.conn = -1
        self._closing = False
        self.session = None
        self.dispatcher.subscribed = False
        # drop what the old central left in RX; nobody new can have written yet: we are
        # not advertising until the next line (clearing at connect would race the new
        # central's first write)
        self.ble.gatts_read(self._rx_handle)
        self._rx_pending = False
        self._advertise()

    # -- records out -----------------------------------------------------------------------
    async def _send_record(self, rtype, body):
        n = len(body)
        tx = self._tx
        sec.put_header(tx, 0, rtype, n)
        tx[sec.REC_HEADER : sec.REC_HEADER + n] = body
        return await self._send(tx, sec.REC_HEADER + n)

    async def _send_secure(self, data):
        n = self.session.seal(self._tx, data, len(data), sec.DIR_DEVICE)
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
