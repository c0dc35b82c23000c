# The sim board's control channel: JSON lines over a unix socket that the host-side
# launcher (repcue.sim) listens on. The board connects at boot.
#
# board -> host, one object per line, "k" says what it is:
#   {"k": "boot", "t": ticks, "ms": elapsed, "board": "sim", "id": hex, "clock": mode,
#    "t0_us": the clock's origin on time.ticks_us() (CLOCK_MONOTONIC on the unix port), ...}
#   {"k": "cue", "t", "ms", "c": cue id, "p": [on, off, ...], "due": ticks, "late": ms}
#   {"k": "ev", "t", "ms", "c": EV_* code, "a", "b"}  (step starts add the step: "end",
#        "value", "tt" target type, "tv" target value, "exp" expected ms)
#   {"k": "ok" | "err", "id": request id, ...}     replies
#   {"k": "log", "msg": text}                      errors the firmware could not show
#   {"k": "release"}                               about to hand the port to the REPL
#   {"k": "sleep", "for": ms}                     asleep between sessions (idle.py)
#   {"k": "wake", "why": "timer" | "button" | "serial" | "ble", "slept": ms}
#   {"k": "deep", "wall_ms": epoch ms}             a board would deep-sleep here (not modelled)
# host -> board: {"op": name, "id": n, ...}, see Board.handle() in boards/sim/__init__.py
# (op "screen": the panel and its frame file, boards/sim/display.py).
#
# Sending never blocks: a record is written at once when the socket has room, else the
# flush task drains it. Records sent while a drain is under way wait in a backlog: MicroPython's
# StreamWriter.drain() ends with `out_buf = b""`, so anything written into it meanwhile would
# be lost. The flush task waits on an asyncio.Event (set by tasks): a ThreadSafeFlag would
# make every scheduler pass of the unix port poll in 1 ms steps.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import asyncio
import json
import socket
import struct
import sys

_BACKLOG_MAX = const(262144)  # bytes queued behind a drain; beyond it records are dropped


def _sockaddr_un(path):
    # MicroPython's unix port takes raw sockaddr bytes: family, then the NUL-ended path
    raw = path.encode()
    if sys.platform == "darwin":
        return struct.pack("BB", len(raw) + 3, socket.AF_UNIX) + raw + b"\x00"
    return struct.pack("H", socket.AF_UNIX) + raw + b"\x00"


class ControlChannel:
    def __init__(self, path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(_sockaddr_un(path))
        sock.setblocking(False)
        self._sock = sock
        self._reader = asyncio.StreamReader(sock)
        self._writer = asyncio.StreamWriter(sock, {})
        self._pending = asyncio.Event()  # something for flush_task to write
        self._draining = False
        self._backlog = []  # records sent during a drain, in order
        self._backlog_bytes = 0
        self.closed = False
        self.sent = 0
        self.dropped = 0  # records that did not fit in the backlog

    def send(self, obj):
        """Queue one record; written at once when the socket has room (never blocks)."""
        if self.closed:
            return
        data = json.dumps(obj).encode() + b"\n"
        if self._draining or self._backlog:
            if self._backlog_bytes + len(data) > _BACKLOG_MAX:
                self.dropped += 1
                return
            self._backlog.append(data)
            self._backlog_bytes += len(data)
            self.sent += 1
            self._pending.set()
            return
        try:
            self._writer.write(data)
        except OSError:
            self.closed = True
            return
        self.sent += 1
        if self._writer.out_buf:
            self._pending.set()

    async def flush_task(self):
        writer = self._writer
        while not self.closed:
            if self._backlog:
                data = b"".join(self._backlog)
                self._backlog = []
                self._backlog_bytes = 0
                try:
                    writer.write(data)  # no drain is under way: safe to append
                except OSError:
                    self.closed = True
                    return
            if not writer.out_buf:
                self._pending.clear()
                await self._pending.wait()
                continue
            self._draining = True
            try:
                await writer.drain()
            except OSError:
                self.closed = True
            finally:
                self._draining = False

    async def requests(self, handle):
        """Read requests and await handle(request) for each, in order, until EOF."""
        while not self.closed:
            try:
                line = await self._reader.readline()
            except OSError:
                line = b""
            if not line:
                self.closed = True
                return
            try:
                req = json.loads(line)
            except ValueError:
                self.send({"k": "err", "msg": "not JSON: " + repr(line[:60])})
                continue
            rid = req.get("id")
            try:
                reply = await handle(req)
            except Exception as e:  # a bad request must not end the channel
                self.send({"k": "err", "id": rid, "msg": repr(e)})
                continue
            if rid is not None:
                if reply is None:
                    reply = {}
                reply["k"] = "ok"
                reply["id"] = rid
                self.send(reply)

    def close(self):
        self.closed = True
        self._pending.set()  # let flush_task see it
        try:
            self._sock.close()
        except OSError:
            pass
