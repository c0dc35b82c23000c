# The bridge socket of the `bluetooth` stand-in (device/repcue_device/bluetooth.py): the unix socket
# to the CPython bridge (repcue.sim.ble.bridge) at $REPCUE_BLE_SOCKET, its message framing,
# blocking JSON calls and the asyncio pump that feeds incoming messages to the radio.
#
# Bridge messages: u16 length (LE, of type + body), u8 type, body. Calls carry JSON and get
# a JSON reply; the hot paths (notify, write, events) are binary.
#
# BLE (in bluetooth.py, which holds the message types) mixes this in and supplies
# _CALL_TYPE (M_CALL), _on_message(mtype, body) and _lost().
# MicroPython: no contextlib, f-strings or typing here.
# ruff: noqa: B904
import json
import os
import select
import socket
import struct

from micropython import const

_ENOENT = const(2)
_EIO = const(5)
_EAGAIN = const(11)
_ETIMEDOUT = const(110)
_CALL_TIMEOUT_MS = const(5000)


def _err(code):
    return OSError(code)


class BridgeSocket:
    # needs from the class it is mixed into: _sock, _poll, _rx, _replies, _call_id,
    # _pump_task (set up by BLE._init), _on_message() and _lost()

    def _connect(self):
        path = os.getenv("REPCUE_BLE_SOCKET")
        if not path:
            raise _err(_ENOENT)  # no radio: the port has no controller
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(struct.pack("<H", socket.AF_UNIX) + path.encode() + b"\x00")
        s.setblocking(False)
        self._sock = s
        self._poll = select.poll()
        self._poll.register(s, select.POLLIN)

    def _send(self, mtype, body):
        s = self._sock
        if s is None:
            raise _err(_EIO)
        msg = struct.pack("<HB", len(body) + 1, mtype) + body
        mv = memoryview(msg)
        off = 0
        out = None
        while off < len(msg):
            try:
                n = s.write(mv[off:])
            except OSError as exc:
                if exc.args[0] != _EAGAIN:
                    self._lost()
                    raise _err(_EIO)
                n = None
            if n is None:
                if out is None:
                    out = select.poll()
                    out.register(s, select.POLLOUT)
                out.poll(100)
                continue
            off += n

    def _call(self, op, args):
        self._call_id += 1
        cid = self._call_id
        args["op"] = op
        args["id"] = cid
        self._send(self._CALL_TYPE, json.dumps(args).encode())
        waited = 0
        while cid not in self._replies:
            if self._sock is None:
                raise _err(_EIO)
            if not self._poll.poll(50):
                waited += 50
                if waited >= _CALL_TIMEOUT_MS:
                    raise _err(_ETIMEDOUT)
                continue
            self._read_some()
        reply = self._replies.pop(cid)
        if "err" in reply:
            raise _err(reply["err"])
        return reply.get("r")

    def _read_some(self):
        try:
            data = self._sock.read(4096)
        except OSError:
            data = b""
        if data is None:
            return
        if not data:
            self._lost()
            return
        self._feed(data)

    async def _pump(self):
        import asyncio

        reader = asyncio.StreamReader(self._sock)
        while self._sock is not None:
            try:
                data = await reader.read(4096)
            except OSError:
                data = b""
            if self._sock is None:
                break
            if not data:
                self._lost()
                break
            self._feed(data)
        self._pump_task = None

    def _start_pump(self):
        if self._pump_task is None and self._sock is not None:
            import asyncio

            self._pump_task = asyncio.create_task(self._pump())

    def _feed(self, data):
        rx = self._rx
        rx.extend(data)
        pos = 0
        n = len(rx)
        while n - pos >= 3:
            size = rx[pos] | (rx[pos + 1] << 8)
            if n - pos - 2 < size:
                break
            mtype = rx[pos + 2]
            body = bytes(rx[pos + 3 : pos + 2 + size])
            pos += 2 + size
            self._on_message(mtype, body)
        if pos:
            self._rx = rx[pos:]
