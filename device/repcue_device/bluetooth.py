# Stand-in for MicroPython's `bluetooth` module on the unix port: the subset of BLE() the
# firmware uses, driving a Bumble peripheral in a CPython bridge process
# (repcue.sim.ble.bridge) over a unix socket ($REPCUE_BLE_SOCKET). Put device/repcue_device on
# MICROPYPATH before the firmware's imports.
#
# It behaves like the NimBLE port where it matters to firmware:
#   - IRQs arrive through micropython.schedule (never inside an API call), with addresses
#     as memoryviews valid only during the handler
#   - a characteristic value buffer holds 20 bytes until gatts_set_buffer() grows it;
#     central writes are truncated to the buffer; in append mode writes accumulate and
#     gatts_read() consumes them
#   - gatts_notify() raises OSError(ENOMEM) when the stack's transmit buffers are full
#     (TX_BUFFERS per connection, returned as the bridge hands packets to the radio), and
#     OSError(ENOTCONN) for a connection that is gone; notifications longer than MTU-3 are
#     truncated by the stack (the bridge counts them)
#   - advertising and scan-response payloads over 31 bytes raise OSError(EINVAL)
#
# The bridge socket itself (framing, calls, the pump) is _bluetooth_bridge.py.
#
# MicroPython: no contextlib, f-strings or typing here.
# ruff: noqa: SIM105, B904
import json
import struct

import micropython
from _bluetooth_bridge import BridgeSocket, _err
from micropython import const

FLAG_BROADCAST = const(0x0001)
FLAG_READ = const(0x0002)
FLAG_WRITE_NO_RESPONSE = const(0x0004)
FLAG_WRITE = const(0x0008)
FLAG_NOTIFY = const(0x0010)
FLAG_INDICATE = const(0x0020)

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_GATTS_INDICATE_DONE = const(20)
_IRQ_MTU_EXCHANGED = const(21)

_ENOENT = const(2)
_ENOMEM = const(12)
_EINVAL = const(22)
_ENOTCONN = const(107)

TX_BUFFERS = const(8)  # notifications the stack holds per connection before ENOMEM
DEFAULT_ATTR_LEN = const(20)  # MP_BLUETOOTH_DEFAULT_ATTR_LEN
MAX_ADV = const(31)

# message types
M_CALL = const(0x01)
M_NOTIFY = const(0x02)
M_WRITE_LOCAL = const(0x03)
M_REPLY = const(0x81)
E_CONNECT = const(0x10)
E_DISCONNECT = const(0x11)
E_WRITE = const(0x12)
E_MTU = const(0x13)
E_CREDIT = const(0x14)
E_INDICATE_DONE = const(0x15)


def _uuid_bytes(value):
    if isinstance(value, int):
        if value < 0 or value > 0xFFFFFFFF:
            raise ValueError("invalid UUID")
        return struct.pack("<H", value) if value <= 0xFFFF else struct.pack("<I", value)
    if isinstance(value, str):
        hexs = value.replace("-", "")
        if len(hexs) not in (4, 8, 32):
            raise ValueError("invalid UUID string")
        raw = bytes.fromhex(hexs)
        return bytes(reversed(raw))
    if isinstance(value, (bytes, bytearray)) and len(value) in (2, 4, 16):
        return bytes(value)
    if isinstance(value, UUID):
        return value._le
    raise ValueError("invalid UUID")


class UUID:
    """bluetooth.UUID(0x180F) or UUID("6e400001-b5a3-f393-e0a9-e50e24dcca9e")."""

    def __init__(self, value):
        self._le = _uuid_bytes(value)

    def __eq__(self, other):
        return isinstance(other, UUID) and other._le == self._le

    def __hash__(self):
        return hash(self._le)

    def __str__(self):
        h = "".join(f"{b:02x}" for b in reversed(self._le))
        if len(h) == 32:
            return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
        return "0x" + h

    def __repr__(self):
        return "UUID(" + str(self) + ")"


class _Value:
    # one characteristic value's buffer, as the port's GATT database keeps it
    def __init__(self, flags):
        self.flags = flags
        self.data = bytearray(DEFAULT_ATTR_LEN)
        self.length = 0
        self.append = False
        self.dropped = 0  # bytes of central writes that did not fit


class BLE(BridgeSocket):
    _instance = None
    _CALL_TYPE = M_CALL

    def __new__(cls):
        # BLE() is a singleton on every port
        if BLE._instance is None:
            BLE._instance = object.__new__(cls)
            BLE._instance._init()
        return BLE._instance

    def __init__(self):
        pass

    def _init(self):
        self._sock = None
        self._poll = None
        self._rx = bytearray()
        self._replies = {}
        self._call_id = 0
        self._handler = None
        self._active = False
        self._values = {}
        self._credits = {}
        self._mtu = {}
        self._events = []
        self._scheduled = False
        self._pump_task = None
        self._mac = (0, bytes(6))
        self._config = {"mtu": 23, "gap_name": "MPY BTSTACK", "rxbuf": 1024}
        self.stats = {"notify_enomem": 0, "write_dropped": 0}

    def _lost(self):
        # the bridge went away: like a controller that died, every link is gone
        s = self._sock
        self._sock = None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass
        for conn in list(self._credits):
            self._queue(_IRQ_CENTRAL_DISCONNECT, (conn, 0, bytes(6)))
        self._credits = {}
        self._mtu = {}
        self._active = False

    def _on_message(self, mtype, body):
        if mtype == M_REPLY:
            reply = json.loads(body)
            self._replies[reply["id"]] = reply
        elif mtype == E_CONNECT:
            conn, addr_type = struct.unpack_from("<HB", body, 0)
            self._credits[conn] = TX_BUFFERS
            self._mtu[conn] = 23
            self._queue(_IRQ_CENTRAL_CONNECT, (conn, addr_type, body[3:9]))
        elif mtype == E_DISCONNECT:
            conn, addr_type = struct.unpack_from("<HB", body, 0)
            self._credits.pop(conn, None)
            self._mtu.pop(conn, None)
            self._queue(_IRQ_CENTRAL_DISCONNECT, (conn, addr_type, body[3:9]))
        elif mtype == E_WRITE:
            conn, handle = struct.unpack_from("<HH", body, 0)
            value = self._values.get(handle)
            if value is None:
                return
            self._store_write(value, memoryview(body)[4:])
            self._queue(_IRQ_GATTS_WRITE, (conn, handle))
        elif mtype == E_MTU:
            conn, mtu = struct.unpack_from("<HH", body, 0)
            if conn in self._mtu:
                self._mtu[conn] = mtu
                self._queue(_IRQ_MTU_EXCHANGED, (conn, mtu))
        elif mtype == E_CREDIT:
            conn, n = struct.unpack_from("<HH", body, 0)
            if conn in self._credits:
                c = self._credits[conn] + n
                self._credits[conn] = c if c < TX_BUFFERS else TX_BUFFERS
        elif mtype == E_INDICATE_DONE:
            conn, handle, status = struct.unpack_from("<HHB", body, 0)
            self._queue(_IRQ_GATTS_INDICATE_DONE, (conn, handle, status))

    def _store_write(self, value, data):
        # the port's write callback: truncate to the buffer; append mode accumulates
        cap = len(value.data)
        start = value.length if value.append else 0
        n = len(data)
        room = cap - start
        if n > room:
            value.dropped += n - room
            self.stats["write_dropped"] += n - room
            n = room
        value.data[start : start + n] = data[:n]
        value.length = start + n

    # -- IRQ delivery: through the scheduler, as the ports do ---------------------------------
    def _queue(self, event, data):
        self._events.append((event, data))
        if not self._scheduled:
            self._scheduled = True
            micropython.schedule(self._deliver, None)

    def _deliver(self, _arg):
        self._scheduled = False
        events = self._events
        self._events = []
        handler = self._handler
        for event, data in events:
            if handler is None:
                continue
            if event in (_IRQ_CENTRAL_CONNECT, _IRQ_CENTRAL_DISCONNECT):
                data = (data[0], data[1], memoryview(data[2]))
            handler(event, data)

    # -- the API ------------------------------------------------------------------------------
    def active(self, *args):
        if not args:
            return self._active
        on = bool(args[0])
        if on and not self._active:
            if self._sock is None:
                self._connect()
            r = self._call("active", {"on": True, "config": self._config})
            self._mac = (r["addr_type"], bytes.fromhex(r["mac"]))
            self._active = True
            self._start_pump()
        elif not on and self._active:
            self._call("active", {"on": False})
            self._active = False
            self._values = {}
            self._credits = {}
            self._mtu = {}
        return self._active

    def config(self, *args, **kwargs):
        if args:
            if len(args) != 1 or kwargs:
                raise TypeError("config takes one name or keywords")
            name = args[0]
            if name == "mac":
                return self._mac
            if name in self._config:
                return self._config[name]
            raise ValueError("unknown config param")
        for key, value in kwargs.items():
            if key == "mtu":
                if value < 23 or value > 517:
                    raise ValueError("mtu must be 23..517")
            elif key == "gap_name":
                if isinstance(value, (bytes, bytearray)):
                    value = bytes(value).decode()
                if len(value.encode()) > 31:  # BLE_SVC_GAP_DEVICE_NAME_MAX_LENGTH
                    raise _err(_EINVAL)
            elif key not in ("rxbuf", "addr_mode", "bond", "mitm", "io", "le_secure"):
                raise ValueError("unknown config param")
            self._config[key] = value
        if self._active and kwargs:
            self._call("config", {"config": self._config})

    def irq(self, handler):
        self._handler = handler
        self._start_pump()

    def gap_advertise(self, interval_us, adv_data=None, *, resp_data=None, connectable=True):
        self._need_active()
        if interval_us is None:
            self._call("advertise", {"interval_us": None})
            return
        adv = bytes(adv_data) if adv_data is not None else b""
        resp = bytes(resp_data) if resp_data is not None else b""
        if len(adv) > MAX_ADV or len(resp) > MAX_ADV:
            raise _err(_EINVAL)
        if interval_us < 20000 or interval_us > 10240000:
            raise _err(_EINVAL)
        self._call(
            "advertise",
            {
                "interval_us": interval_us,
                "adv": adv.hex(),
                "resp": resp.hex(),
                "connectable": bool(connectable),
            },
        )

    def gap_disconnect(self, conn_handle):
        self._need_active()
        if conn_handle not in self._credits:
            return False
        return bool(self._call("disconnect", {"conn": conn_handle}))

    def gatts_register_services(self, services):
        self._need_active()
        spec = []
        for service in services:
            suuid, chars = service[0], service[1]
            cspec = []
            for char in chars:
                descs = []
                if len(char) > 2:
                    for d in char[2]:
                        descs.append([str(_as_uuid(d[0])), d[1]])
                cspec.append([str(_as_uuid(char[0])), char[1], descs])
            spec.append([str(_as_uuid(suuid)), cspec])
        handles = self._call("register", {"services": spec})
        self._values = {}
        result = []
        for si, service in enumerate(services):
            row = []
            for ci, char in enumerate(service[1]):
                h = handles[si][ci]
                row.append(h[0])
                self._values[h[0]] = _Value(char[1])
                descs = char[2] if len(char) > 2 else ()
                for di, d in enumerate(descs):
                    row.append(h[1 + di])
                    self._values[h[1 + di]] = _Value(d[1])
            result.append(tuple(row))
        return tuple(result)

    def gatts_read(self, value_handle):
        value = self._value(value_handle)
        data = bytes(value.data[: value.length])
        if value.append:
            value.length = 0  # append mode: reading consumes
        return data

    def gatts_write(self, value_handle, data, send_update=False):
        value = self._value(value_handle)
        data = data.encode() if isinstance(data, str) else bytes(data)  # str is a buffer too
        if len(data) > len(value.data):
            value.data = bytearray(len(data))  # the port grows the buffer to fit
        value.data[: len(data)] = data
        value.length = len(data)
        self._send(M_WRITE_LOCAL, struct.pack("<HB", value_handle, 1 if send_update else 0) + data)

    def gatts_set_buffer(self, value_handle, length, append=False):
        value = self._value(value_handle)
        value.data = bytearray(length)
        value.length = 0
        value.append = bool(append)

    def gatts_notify(self, conn_handle, value_handle, data=None):
        self._notify(conn_handle, value_handle, data, 0)

    def gatts_indicate(self, conn_handle, value_handle, data=None):
        self._notify(conn_handle, value_handle, data, 1)

    def _notify(self, conn_handle, value_handle, data, kind):
        self._need_active()
        value = self._value(value_handle)
        credits = self._credits.get(conn_handle)
        if credits is None:
            raise _err(_ENOTCONN)
        if credits <= 0:
            self.stats["notify_enomem"] += 1
            raise _err(_ENOMEM)
        if data is None:
            data = value.data[: value.length]
        self._credits[conn_handle] = credits - 1
        self._send(M_NOTIFY, struct.pack("<HHB", conn_handle, value_handle, kind) + bytes(data))

    # -- helpers ------------------------------------------------------------------------------
    def _need_active(self):
        if not self._active:
            raise _err(_EINVAL)

    def _value(self, handle):
        value = self._values.get(handle)
        if value is None:
            raise _err(_ENOENT)
        return value


def _as_uuid(u):
    return u if isinstance(u, UUID) else UUID(u)
