"""A MicroPython device for link tests: the real Dispatcher and serial link served over a
real pty, with an in-memory services object standing in for the app.

MpyDevice starts `micropython` on a pty master (raw, O_NONBLOCK) and exposes the slave
path, which the host opens with pyserial exactly like /dev/ttyACM0. It keeps its own
handle on the slave so a host closing the port is not a hang-up for the device.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import tty
from pathlib import Path
from types import TracebackType

from tests.mpy import FIRMWARE, micropython_binary

# In-memory services for the Dispatcher. Session i holds session_bytes(i) (the same
# formula as below in Python). ARGS come from key=value arguments.
SERVICES_SCRIPT = r"""
import sys, gc
import asyncio
from repcue_fw.link.dispatch import Dispatcher
from repcue_fw.link.upload import ProgramUpload
from repcue_fw.wire.host import opcodes as op

ARGS = {"sessions": 12, "base": 120, "spread": 700, "max_frame": 1024, "events": 5}
for a in sys.argv[1:]:
    if "=" in a:
        k, _, v = a.partition("=")
        ARGS[k] = int(v)


def session_bytes(sid):
    n = ARGS["base"] + (sid * 397) % ARGS["spread"]
    b = bytearray(n)
    for i in range(n):
        b[i] = (sid * 31 + i * 7 + (i >> 8)) & 0xFF
    return bytes(b)


class Mem:
    def __init__(self, n):
        self.clock = 0
        self.sessions = {}
        for sid in range(1, n + 1):
            self.sessions[sid] = session_bytes(sid)
        self.upload = ProgramUpload(self._install)
        self.program = None
        self.program_id = 0
        self.running = False
        self.next_id = n + 1
        self.cfg = {"cue_strength": 80, "countdown_s": 3, "buttons": b"\x01\x02\x05"}
        self.disp = None
        self.repl_called = False
        self.clock_ms = 0
        self.scheduled = None
        self.pressed = []

    def info(self):
        gc.collect()
        return {
            "device_id": b"\xde\xad\xbe\xef\x00\x01",
            "name": "mem-device",
            "board": "unix",
            "firmware": "test-1",
            "caps": op.CAP_PROGRAM | op.CAP_SESSIONS | op.CAP_CONFIG | op.CAP_CLOCK,
            "free_heap": gc.mem_free(),
            "free_flash": 123456,
            "clock_s": self.clock,
            "program_id": self.program_id,
            "running": self.running,
        }

    def set_time(self, epoch_s, ms=0):
        before = self.clock
        self.clock = epoch_s
        self.clock_ms = ms
        return before

    def program_begin(self, total_len, crc):
        return self.upload.begin(total_len, crc)

    def program_chunk(self, offset, data):
        return self.upload.chunk(offset, data)

    def program_commit(self, crc):
        return self.upload.commit(crc)

    def _install(self, data):
        if self.running:
            raise op.StatusError(op.ST_BUSY, "a session is running")
        self.program = data
        self.program_id = int.from_bytes(data[len(data) - 4 :], "little")

    def press(self, button):
        self.pressed.append(button)
        return self.running

    def start(self, at_s=None, at_ms=0):
        if at_s is not None:
            self.scheduled = (at_s, at_ms)
            return 0
        if self.program is None:
            raise op.StatusError(op.ST_BAD_STATE, "no program installed")
        if self.running:
            raise op.StatusError(op.ST_BUSY, "already running")
        self.running = True
        sid = self.next_id
        asyncio.create_task(self._events(sid))
        return sid

    async def _events(self, sid):
        for i in range(ARGS["events"]):
            self.disp.post_event(10 + i, sid, -i)
            await asyncio.sleep_ms(2)

    def stop(self):
        self.running = False

    def list_sessions(self, after_id, max_n):
        out = []
        for sid in sorted(self.sessions):
            if sid > after_id and len(out) < max_n:
                out.append((sid, len(self.sessions[sid]), True))
        return out

    def read_session_into(self, session_id, offset, buf):
        data = self.sessions.get(session_id)
        if data is None:
            raise op.StatusError(op.ST_NOT_FOUND, "no such session", session_id)
        chunk = data[offset : offset + len(buf)]
        buf[: len(chunk)] = chunk
        return len(chunk)

    def ack_sessions(self, ids):
        for sid in ids:
            if sid in self.sessions:
                del self.sessions[sid]

    def config_get(self):
        return self.cfg

    def config_set(self, changes):
        for k in changes:
            self.cfg[k] = changes[k]
        return self.cfg

    def repl(self):
        self.repl_called = True
"""

# The device: the services served over the real serial link on stdin/stdout.
DEVICE_SCRIPT = (
    SERVICES_SCRIPT
    + r"""
from repcue_fw.link import serial as serial_link


async def main():
    svc = Mem(ARGS["sessions"])
    disp = Dispatcher(svc, ARGS["max_frame"])
    svc.disp = disp
    while True:
        reason = await serial_link.serve(disp)
        if reason != serial_link.HANGUP:
            break
        await asyncio.sleep_ms(20)
    # what a board's REPL would do with the port: print
    sys.stdout.write("\r\nLEFT PROTOCOL MODE " + str(reason) + "\r\n>>> ")


asyncio.run(main())
"""
)


def session_bytes(sid: int, base: int = 120, spread: int = 700) -> bytes:
    """The bytes the device script stores for session `sid`."""
    n = base + (sid * 397) % spread
    return bytes((sid * 31 + i * 7 + (i >> 8)) & 0xFF for i in range(n))


class MpyDevice:
    """`micropython` serving DEVICE_SCRIPT on a pty; `serial_path` is the host's port."""

    def __init__(self, *, heap_kb: int = 256, **args: int) -> None:
        self.heap_kb = heap_kb
        self.args = args
        self.serial_path = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._slave = -1
        self._dir = tempfile.TemporaryDirectory(prefix="repcue-link-")
        self._stderr = Path(self._dir.name) / "stderr.txt"

    def __enter__(self) -> MpyDevice:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        script = Path(self._dir.name) / "device.py"
        script.write_text(DEVICE_SCRIPT)
        master, slave = os.openpty()
        tty.setraw(slave)  # before the device starts: no echo, no CRLF, no signals
        os.set_blocking(master, False)  # MicroPython has no fcntl: the launcher does it
        argv = [micropython_binary(), "-X", f"heapsize={self.heap_kb}K", str(script)]
        argv += [f"{k}={v}" for k, v in self.args.items()]
        env = dict(os.environ, MICROPYPATH=f"{FIRMWARE}:.frozen")
        with open(self._stderr, "wb") as err:
            self.proc = subprocess.Popen(
                argv, stdin=master, stdout=master, stderr=err, env=env, close_fds=True
            )
        os.close(master)  # the device owns it: its death is a hang-up for the host
        self._slave = slave
        self.serial_path = os.ttyname(slave)

    def stderr(self) -> str:
        return self._stderr.read_text(errors="replace") if self._stderr.exists() else ""

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def wait_exit(self, timeout_s: float = 5.0) -> int | None:
        if self.proc is None:
            return None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                return code
            time.sleep(0.02)
        return None

    def stop(self) -> None:
        self.kill()
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1
        self._dir.cleanup()


def test_session_bytes_formula_matches_the_device() -> None:
    """The host-side formula must equal what the device serves (checked via MicroPython)."""
    from tests.mpy import run_mpy

    code = SERVICES_SCRIPT + "\nprint(session_bytes(5).hex())\nprint(session_bytes(11).hex())\n"
    out = run_mpy(code)
    lines = out.split()
    assert lines[0] == session_bytes(5).hex()
    assert lines[1] == session_bytes(11).hex()
