# Protocol mode over Bluetooth LE: the same frames as serial, in records (wire/air.py), on
# a GATT service of our own (gatt.py), fed into a Dispatcher of its own (link/dispatch.py).
#
# The record stream is cut into ATT_MTU-3 byte notifications (20 before an MTU exchange).
# Flow control: gatts_notify raises OSError(ENOMEM) while the stack's buffers are full;
# we back off and retry, so a notification is never lost to an overrun. The host writes
# one request record at a time (the protocol has one request in flight); the RX value is
# an append buffer of two records.
#
# IRQ handlers only note what happened (ints in a fixed ring) and wake the link's task;
# everything else runs in that task. One central is served at a time (central.py). Where
# the stack takes more than one connection (`slots`), advertising goes on until that
# central has authenticated, and a newcomer takes the slot from one that dawdles
# (docs/security.md, "Guessing and the connection slot"); otherwise advertising stops
# while it is connected.
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

from repcue_fw.link.ble import secure
from repcue_fw.link.ble.central import Central
from repcue_fw.link.ble.gatt import register_services
from repcue_fw.ring import Ring
from repcue_fw.wire import air, frame

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)

_ENOMEM = const(12)
_ATT_HEADER = const(3)
_PREFERRED_MTU = const(247)
_ADV_INTERVAL_US = const(100000)
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
    "press",
    "list_sessions",
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


class BleLink:
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
        mtu=_PREFERRED_MTU,
        adv_interval_us=_ADV_INTERVAL_US,
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
        self.clock = clock if clock is not None else time
        self.mtu_pref = mtu
        self.adv_interval_us = adv_interval_us
        self.challenge_deadline_ms = challenge_deadline_ms
        self.proof_deadline_ms = proof_deadline_ms
        self.grace_ms = grace_ms
        self.slots = slots  # connections the stack takes at once (NimBLE 4, btstack 1)
        self.urandom = urandom
        self.log = log
        self.key = None  # Hmac(K) of the pairing key, None while unpaired
        self.boot = 0  # this boot's number, from the key store's counter on flash
        self._nonces = 0  # device nonces drawn this boot
        cap = air.SEAL_OVERHEAD + 1 + frame.encoded_size(dispatcher.max_frame)
        if cap > air.MAX_BODY:
            raise ValueError("BLE records hold frames up to about 8 KB")
        self.reader = air.RecordReader(cap)  # records in, one at a time, for the central
        self._tx = bytearray(air.REC_HEADER + cap)
        self._rx_size = 2 * (air.REC_HEADER + cap)
        self._flag = asyncio.ThreadSafeFlag()
        self._watch = asyncio.Event()  # a central connected: the watchdog has work
        self._notes = Ring(8, 3)  # IRQ notes: event, conn, value
        self._rx_pending = False
        self._rx_conn = -1  # who wrote what RX holds (_MIXED: more than one central)
        self._advertising = False
        self.central = None  # the Central served now
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

    @property
    def conn(self):
        """The served central's connection handle, -1 when none."""
        return self.central.conn if self.central is not None else -1

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
                self._log("ble: boot counter: " + repr(exc))
        self.reload_key()
        self._adv = air.adv_payloads(self.name)
        self.update_advertising()

    def reload_key(self):
        """Read the pairing key again (after pairing or unpairing over USB). A central
        that authenticated with the old key is disconnected: it holds the key no more."""
        key = self.keys.load() if self.keys is not None else None
        self.key = secure.Hmac(key) if key is not None else None
        central = self.central
        if central is not None and central.session.authenticated:
            central.drop()

    @property
    def paired(self):
        return self.key is not None

    def set_battery(self, pct):
        if self._battery_handle >= 0:
            pct = 0 if pct < 0 else 100 if pct > 100 else pct
            self.ble.gatts_write(self._battery_handle, bytes((pct,)), True)

    def _log(self, text):
        if self.log is not None:
            self.log(text)

    def nonce(self):
        self._nonces += 1
        return secure.nonce(self.urandom(air.NONCE_LEN), self.boot, self._nonces)

    # -- advertising -------------------------------------------------------------------------
    def update_advertising(self):
        # while nobody holds the slot, and where the stack takes a second connection, while
        # its holder has not authenticated: a stranger cannot keep the owner out
        central = self.central
        want = central is None or (
            self.slots > 1 and not central.closing and not central.session.authenticated
        )
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
            self._log("ble: advertise: " + repr(exc))

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
            self._notes.push(event, data[0])
        elif event == _IRQ_MTU_EXCHANGED:
            self._notes.push(event, data[0], data[1])
        else:
            return
        self._flag.set()

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
                    self._log("ble: " + repr(exc))
                    self._recover()
        finally:
            watchdog.cancel()
            self.dispatcher.event_waker = None

    def _recover(self):
        try:
            if self.central is not None:
                self.central.drop()
            self.update_advertising()
        except Exception as exc:  # the next IRQ tries again
            self._log("ble: recover: " + repr(exc))

    async def _watchdog(self):
        # an unauthenticated central may not sit on the slot: wake the task to check. With
        # none, wait untimed (_on_connect sets _watch): a board between sessions must not
        # wake four times a second for nobody
        while True:
            central = self.central
            if central is None or central.session.authenticated:
                self._watch.clear()
                await self._watch.wait()
                continue
            await asyncio.sleep_ms(250)
            central = self.central
            if central is not None and not central.session.authenticated:
                self._flag.set()

    async def _service(self):
        notes = self._notes
        event, conn, value = notes.cols
        while True:
            i = notes.pop()
            if i < 0:
                break
            if event[i] == _IRQ_CENTRAL_CONNECT:
                await self._on_connect(conn[i])
            elif event[i] == _IRQ_CENTRAL_DISCONNECT:
                self._on_disconnect(conn[i])
            elif self.central is not None and conn[i] == self.central.conn:
                self.central.mtu = value[i]  # _IRQ_MTU_EXCHANGED
        central = self.central
        if central is not None and central.overdue(self.clock.ticks_ms()):
            await central.refuse(air.ERR_TIMEOUT)
        if self._rx_pending:
            self._rx_pending = False
            writer = self._rx_conn
            data = self.ble.gatts_read(self._rx_handle)
            if central is not None and not central.closing and data:
                if writer == central.conn:
                    await central.on_bytes(data)
                elif writer == _MIXED:
                    central.drop()  # its bytes mixed with another's: the stream has a hole
                # else: only a displaced or refused central's bytes, dropped with it
        central = self.central
        if central is not None and central.session.authenticated and self.dispatcher.subscribed:
            while not central.closing:
                out = self.dispatcher.next_event()
                if out is None:
                    break
                await self.send_secure(central, out)
        self.update_advertising()

    async def _on_connect(self, conn):
        self._advertising = False  # a connection ends connectable advertising
        now = self.clock.ticks_ms()
        holder = self.central
        if holder is not None:
            if not holder.replaceable(now):
                self.turned_away += 1
                self.disconnect(conn)
                return
            # the holder never began to authenticate in its grace time: the newcomer wins
            self.replaced += 1
            await holder.refuse(air.ERR_REPLACED)
        self.central = Central(self, conn, now)
        self.connections += 1
        self._watch.set()
        self.reader.reset()
        self.dispatcher.new_peer(False)

    def _on_disconnect(self, conn):
        if self.central is None or conn != self.central.conn:
            return  # a displaced or turned-away central
        self.central = None
        self.dispatcher.new_peer(False)

    def disconnect(self, conn):
        try:
            self.ble.gap_disconnect(conn)
        except OSError:
            pass  # gone already

    # -- records out -----------------------------------------------------------------------
    async def send_record(self, central, rtype, body):
        n = len(body)
        tx = self._tx
        air.put_header(tx, 0, rtype, n)
        tx[air.REC_HEADER : air.REC_HEADER + n] = body
        return await self._send(central, tx, air.REC_HEADER + n)

    async def send_secure(self, central, data):
        n = central.session.seal(self._tx, data, len(data), air.DIR_DEVICE)
        if not n:
            await central.refuse(air.ERR_LIMIT)
            return False
        return await self._send(central, self._tx, n)

    async def _send(self, central, buf, n):
        """Notify buf[:n] in ATT_MTU-3 pieces; back off while the stack is full. False if
        the central went away meanwhile."""
        conn = central.conn
        mv = memoryview(buf)
        pos = 0
        while pos < n:
            if self.central is not central:
                return False  # gone, or replaced by a newcomer
            k = central.mtu - _ATT_HEADER
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
