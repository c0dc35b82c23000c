# The sim board: the firmware in MicroPython's unix port, as the virtual device runs it.
#
# Config (a dict, from the JSON file the launcher writes; every key optional):
#   clock "real" | "stepped", speed (int, real mode), ticks_start (the 30-bit clock's first
#   tick, e.g. 2**30 - 5000 to cross the wrap early), ctl (control socket path), flash
#   (image file), flash_blocks, flash_block_size, cut_at / torn (power loss, see flash.py),
#   id (hex device id), mapping (physical buttons -> logical), battery (percent),
#   held_at_boot (every physical button held at power-up: the factory-reset combination),
#   screen ({"w", "h", "mono"?, "file"}: a panel whose frame is that file, see display.py),
#   sleep_after_ms (sleep between sessions after this long with nothing to do; 0/absent: never),
#   deep_after_ms (where a board would deep-sleep: reported as {"k": "deep", "wall_ms"}).
# Cues and engine events go to the control channel with their ticks (a cue also carries the
# tick it was due at and its lateness: "late" in ms and, on the real clock, "lus" in us of
# virtual time); button presses come from it (logical presses, or physical holds that go
# through the same gesture decoder as a real board). No control socket: the board still
# runs, silently.
# Control requests (handle()): press {b, at?}, hold {i, ms, at?}, advance {ms} (stepped
# clock), settle, now, ping, autopilot {on, noise, seed, pace_s_per_km, open_s}, repl,
# cut {after} (power fails at the Nth next flash program/erase), mem, modules. Replies
# carry t (ticks), ms (virtual ms since boot) and wake (the stepped clock's next deadline);
# mem replies with alloc and free (heap bytes, after a collection), modules with files
# (each loaded repcue_fw module's __file__: where its code came from, e.g. /rom); screen
# with the panel (w, h, mono, file, on, frames: redraws done) once no redraw is half done.
# (each loaded repcue_fw module's __file__: where its code came from, e.g. /rom).
# Sleep between sessions (repcue_fw/idle.py) is reported as {"k": "sleep", "for": ms} and
# {"k": "wake", "why": "timer" | "button" | "serial" | "ble", "slept": ms}, with ticks. While
# asleep the process waits in poll() like any idle asyncio loop (no CPU), and every wake
# source still reaches it: a press or hold, bytes on the pty, a BLE connection.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import asyncio
import binascii
import time

from repcue_fw.boards import buttons as _buttons
from repcue_fw.boards.base import WAKE_BUTTON, BoardBase
from repcue_fw.boards.sim.clock import SimClock
from repcue_fw.wire.events import EV_STEP_START

MOUNT_POINT = "/flash"
_WHY = ("timer", "button", "serial", "ble")  # base.WAKE_* as the control channel names them


def _preload(cfg):
    # The modules this board will use, loaded before its objects are made and collecting
    # after each (as app._preload does): imported later, mid-run, their code would be
    # scattered between the session's objects and leave a fragmented heap.
    import gc

    for name, wanted in (
        ("control", cfg.get("ctl")),
        ("flash", cfg.get("flash")),
        ("autopilot", cfg.get("autopilot")),
        ("display", cfg.get("screen")),
    ):
        if wanted:
            __import__("repcue_fw.boards.sim." + name)
            gc.collect()


class Board(BoardBase):
    name = "sim"
    ble_connections = 4  # as NimBLE on an ESP32; "ble": {"connections": 1} models btstack

    def __init__(self, config=None):
        BoardBase.__init__(self, config)
        cfg = self.config
        _preload(cfg)
        self.clock = SimClock(
            cfg.get("clock", "real"), int(cfg.get("speed", 1)), int(cfg.get("ticks_start", 0))
        )
        # the HAL clock is the sim clock's (bound once: the runner calls these constantly)
        self.ticks_ms = self.clock.ticks_ms
        self.ticks_add = self.clock.ticks_add
        self.ticks_diff = self.clock.ticks_diff
        self.sleep_ms = self.clock.sleep_ms
        mapping = cfg.get("mapping") or _buttons.TWO_BUTTONS
        self.decoder = _buttons.ButtonDecoder(mapping, self.clock, self.buttons.push)
        self.flash = None
        self.cues = 0
        self._released = asyncio.Event()
        self.host_gone = False  # the launcher's control socket closed: it died or quit
        self.autopilot = None
        if cfg.get("autopilot"):
            self.set_autopilot(cfg["autopilot"])
        self._tasks = []
        self.screen = None  # the UI (repcue_fw.screen.Screen) sets itself here
        if cfg.get("screen"):
            from repcue_fw.boards.sim.display import SimDisplay

            self.display = SimDisplay(cfg["screen"])
        self.ctl = None
        path = cfg.get("ctl")
        if path:
            from repcue_fw.boards.sim.control import ControlChannel

            self.ctl = ControlChannel(path)
        self._send(
            {
                "k": "boot",
                "board": self.name,
                "id": binascii.hexlify(self.unique_id()).decode(),
                "clock": self.clock.mode,
                "speed": self.clock.speed,
                "ticks_start": self.clock.start,
                # real clock: virtual ms = (time.ticks_us() - t0_us) * speed // 1000, and the
                # unix port's ticks_us is CLOCK_MONOTONIC in us: the host's time base
                "t0_us": self.clock._t0_us,
            }
        )

    # -- control channel --------------------------------------------------------------------
    def _send(self, record):
        if self.ctl is not None:
            record["t"] = self.clock.ticks_ms()
            record["ms"] = self.clock.elapsed_ms()
            self.ctl.send(record)

    def start(self):
        if self.ctl is not None:
            self._tasks.append(asyncio.create_task(self._control_task()))
            self._tasks.append(asyncio.create_task(self.ctl.flush_task()))

    def stop(self):
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    async def _control_task(self):
        try:
            await self.ctl.requests(self.handle)
        except Exception as exc:  # e.g. MemoryError replying: the channel is as good as gone
            import sys

            sys.print_exception(exc, sys.stderr)  # the launcher shows stderr's tail
        # EOF (the launcher quit or was killed) or a broken channel: a virtual device nobody
        # can control must not linger. End the app; app.main() then powers off.
        self.host_gone = True
        self.reset_to_repl()

    def set_autopilot(self, options):
        """Start (options: dict, see sim_autopilot) or stop (None) the virtual runner."""
        if options is None:
            self.autopilot = None
            return
        from repcue_fw.boards.sim.autopilot import Autopilot

        self.autopilot = Autopilot(self, options)

    async def handle(self, req):
        """One control request; returns the reply fields (None: nothing to add)."""
        op = req.get("op")
        clock = self.clock
        if op == "press":
            self.at(req.get("at"), self._press, req["b"])
        elif op == "hold":
            i = req["i"]
            if i < 0 or i >= len(self.decoder.mapping):
                raise ValueError("no physical button " + str(i))
            at = req.get("at")
            if at is None:
                at = clock.elapsed_ms()
            self.at(at, self._edge, i, 1)
            self.at(at + req.get("ms", 100), self._edge, i, 0)
        elif op == "advance":
            await clock.advance(req["ms"])
        elif op == "settle":
            await clock.settle()
        elif op == "autopilot":
            self.set_autopilot(req if req.get("on", True) else None)
        elif op == "repl":
            self.reset_to_repl()
        elif op == "released":
            self._released.set()
        elif op == "cut":
            if getattr(self.flash, "cut_at", None) is None:
                raise ValueError("no flash image to cut")
            self.flash.cut_at = self.flash.ops + int(req.get("after", 1))
        elif op == "mem":
            import gc

            gc.collect()
            return {"alloc": gc.mem_alloc(), "free": gc.mem_free()}
        elif op == "screen":
            return await self._screen_reply()
        elif op == "modules":
            import sys

            files = {}
            for name in sys.modules:
                if name.startswith("repcue_fw"):
                    files[name] = getattr(sys.modules[name], "__file__", None)
            return {"files": files}
        elif op != "now" and op != "ping":
            raise ValueError("unknown op " + repr(op))
        return {"t": clock.ticks_ms(), "ms": clock.elapsed_ms(), "wake": clock.next_wake_ms()}

    async def _screen_reply(self):
        display = self.display
        if display is None:
            raise ValueError("this virtual device has no screen")
        scr = self.screen
        while scr is not None and scr.drawing:  # a whole frame, not half of one
            await asyncio.sleep_ms(1)
        return {
            "w": display.width,
            "h": display.height,
            "mono": display.mono,
            "file": self.config["screen"]["file"],
            "on": display.lit,
            "frames": scr.frames if scr is not None else 0,
            "t": self.clock.ticks_ms(),
            "ms": self.clock.elapsed_ms(),
        }

    def at(self, at_ms, fn, a, b=None):
        """Call fn(a, b, ticks) at virtual ms `at_ms` (now if None or past), with the tick
        of that exact moment."""
        if at_ms is None or at_ms <= self.clock.elapsed_ms():
            fn(a, b, self.clock.ticks_ms())
            return
        self._tasks.append(asyncio.create_task(self._later(at_ms, fn, a, b)))

    async def _later(self, at_ms, fn, a, b):
        clock = self.clock
        while clock.elapsed_ms() < at_ms:
            await clock.sleep_ms(at_ms - clock.elapsed_ms())
        # the press happened at its tick even if this task woke a little late
        fn(a, b, clock.ticks_at(at_ms))
        task = asyncio.current_task()
        if task in self._tasks:
            self._tasks.remove(task)

    def _press(self, button, _unused, ticks):
        self.wake(WAKE_BUTTON)
        self.buttons.push(button, ticks)

    def _edge(self, i, pressed, ticks):
        self.wake(WAKE_BUTTON)
        self.decoder.edge(i, pressed, ticks)
        self._schedule_poll()

    def _schedule_poll(self):
        # the decoder's next timeout (long hold, double window) as a timed call: an edge
        # may bring it forward, and a stale call is harmless (poll() only acts when due)
        clock = self.clock
        deadline = self.decoder.next_deadline()
        if deadline is not None:
            at_ms = clock.elapsed_ms() + clock.ticks_diff(deadline, clock.ticks_ms())
            self.at(at_ms, self._poll, 0)

    def _poll(self, _a, _b, ticks):
        self.decoder.poll(ticks)
        self._schedule_poll()

    # -- sleep between sessions --------------------------------------------------------------
    async def idle_sleep(self, ms):
        self._send({"k": "sleep", "for": ms})
        start_ms = self.clock.elapsed_ms()
        why = await BoardBase.idle_sleep(self, ms)
        self._send({"k": "wake", "why": _WHY[why], "slept": self.clock.elapsed_ms() - start_ms})
        return why

    def deep_sleep(self, wall_ms):
        # Not modelled (a board boots again on its button): reported with the wall clock
        # it would keep, then the board sleeps on as in light sleep.
        self._send({"k": "deep", "wall_ms": wall_ms})
        return False

    # -- outputs ----------------------------------------------------------------------------
    def cue(self, cue_id, pattern):
        self.cues += 1
        record = {"k": "cue", "c": cue_id, "p": list(pattern)}
        engine = self.runner.engine if self.runner is not None else None
        if engine is not None:
            clock = self.clock
            due = engine.due
            if clock.mode == "real":
                # lateness to the microsecond: the due tick is the start of its virtual ms
                vus = time.ticks_diff(time.ticks_us(), clock._t0_us) * clock.speed
                late = clock.ticks_diff(clock.ticks_at(vus // 1000), due)
                record["lus"] = late * 1000 + vus % 1000
            else:
                late = clock.ticks_diff(clock.ticks_ms(), due)
            record["due"] = due
            record["late"] = late
        self._send(record)

    def on_event(self, code, a, b):
        record = {"k": "ev", "c": code, "a": a, "b": b}
        engine = self.runner.engine if self.runner is not None else None
        if code == EV_STEP_START and engine is not None and engine.step is not None:
            step = engine.step
            record["end"] = step.end
            record["value"] = step.value
            record["tt"] = step.target_type
            record["tv"] = step.target_value
            record["exp"] = engine.step_expected_ms
            if self.autopilot is not None:
                self.autopilot.step_started(engine)
        self._send(record)

    def log(self, text):
        BoardBase.log(self, text)
        self._send({"k": "log", "msg": text})

    # -- power-up ---------------------------------------------------------------------------
    def factory_reset_requested(self):
        # As hw.py: every button held at power-up (here the config says so), and only on a
        # layout with two or more buttons (one button held is safe mode on a board).
        return bool(self.config.get("held_at_boot")) and len(self.decoder.mapping) > 1

    # -- identity, storage, power ------------------------------------------------------------
    def unique_id(self):
        hexid = self.config.get("id")
        if hexid:
            return binascii.unhexlify(hexid)
        return b"sim\x00\x00\x01"

    def mount_storage(self):
        cfg = self.config
        path = cfg.get("flash")
        if path:
            from repcue_fw.boards.sim import flash as sim_flash

            self.flash = sim_flash.SimFlash(
                path,
                block_size=int(cfg.get("flash_block_size", 4096)),
                block_count=int(cfg.get("flash_blocks", 256)),
                cut_at=int(cfg.get("cut_at", 0)),
                torn=bool(cfg.get("torn", True)),
            )
            self.flash.on_cut = self._power_lost
            sim_flash.mount(self.flash, MOUNT_POINT)
        else:
            self.flash = _mount_ram(int(cfg.get("flash_blocks", 64)))
        return MOUNT_POINT

    def storage_blocks(self):
        return self.flash

    def urandom(self, n):
        # "weak_random": a random source that returns zeros, to show that nonces still
        # never repeat (boot counter and connection counter)
        if self.config.get("weak_random"):
            return bytes(n)
        return BoardBase.urandom(self, n)

    def _power_lost(self):
        # called inside a flash write: only note it; the harness decides what happens next
        self._send({"k": "cut", "ops": self.flash.ops})

    def battery_pct(self):
        return self.config.get("battery")

    def power_off(self):
        """The virtual device's power switch: end this micropython process now (the
        launcher started it with -i, so merely leaving main.py would open a REPL)."""
        import os

        os.system("kill $PPID")  # $PPID of the shell is this micropython process

    # -- serial coexistence ------------------------------------------------------------------
    async def release_port(self):
        # The launcher must make the pty blocking again before the REPL reads it (the REPL
        # treats EAGAIN as an error); wait for it to say so, but not forever.
        if self.ctl is None or self.ctl.closed:
            return
        self._released.clear()
        self._send({"k": "release"})
        try:
            await asyncio.wait_for_ms(self._released.wait(), 2000)
        except asyncio.TimeoutError:
            pass
        if not self.host_gone:
            # At the REPL nothing reads the control socket any more, yet a virtual device
            # whose launcher died must still go away: a thread waits for the socket's EOF.
            import _thread

            _thread.start_new_thread(self._watch_host, ())

    def _watch_host(self):
        import errno
        import select

        sock = self.ctl._sock
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLHUP)
        while True:
            poller.poll(1000)
            try:
                data = sock.recv(256)
            except OSError as e:
                if e.args and e.args[0] == errno.EAGAIN:  # nothing there yet
                    continue
                break
            if not data:
                break
        self.power_off()


class _RamFlash:
    """Block device in RAM, for a sim run without a flash image."""

    def __init__(self, blocks, block_size=4096):
        self.block_size = block_size
        self.blocks = blocks
        self.data = bytearray(b"\xff" * (blocks * block_size))

    def readblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        buf[:] = self.data[start : start + len(buf)]

    def writeblocks(self, block, buf, offset=None):
        start = block * self.block_size + (offset or 0)
        self.data[start : start + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return self.block_size
        if op == 6:
            start = arg * self.block_size
            self.data[start : start + self.block_size] = b"\xff" * self.block_size
        return 0


def _mount_ram(blocks):
    import vfs

    dev = _RamFlash(blocks)
    vfs.VfsLfs2.mkfs(dev)
    vfs.mount(vfs.VfsLfs2(dev), MOUNT_POINT)
    return dev
