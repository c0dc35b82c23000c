# What every board shares: the button event queue, protocol-mode / REPL hand-over, the
# engine-event hook and the error log. Board modules subclass BoardBase.
#
# Wake-ups here are asyncio.Event, not ThreadSafeFlag: everything that sets them runs in a
# task (a board's IRQ only wakes its own scanner task through a ThreadSafeFlag, see hw.py).
# On the unix port a task waiting on a ThreadSafeFlag puts a non-fd object in the poll set,
# and every scheduler pass then polls in 1 ms steps (~1.1 ms a pass instead of ~2 us).
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import asyncio
import time

from repcue_fw.ring import Ring

try:
    import micropython
except ImportError:  # CPython: nothing to switch
    micropython = None

_KBD_CTRL_C = const(3)
_QUEUE_SIZE = const(8)
# why idle_sleep() ended (BoardBase.wake(why)); the sim board names them on its channel
WAKE_TIMER = const(0)  # the time asked for ran out
WAKE_BUTTON = const(1)
WAKE_SERIAL = const(2)  # bytes on the USB serial port
WAKE_BLE = const(3)  # a BLE connection or bytes from one


class ButtonQueue:
    """Bounded queue of logical button events (button, press_ticks).

    push() never allocates; call it from a task (the gesture decoder's), not from an IRQ or
    a micropython.schedule() callback: it wakes get() through an asyncio.Event. When the
    queue is full the newest event is dropped and counted (a runner that stalls must not
    grow the heap).
    """

    def __init__(self, size=_QUEUE_SIZE):
        self._ring = Ring(size, 2)  # button, press ticks
        self.last_ticks = 0
        self._flag = asyncio.Event()  # set by push(), from tasks only

    @property
    def dropped(self):
        return self._ring.dropped

    def push(self, button, ticks):
        if not self._ring.push(button, ticks):
            return False
        self._flag.set()
        return True

    def __len__(self):
        return self._ring.count

    def _take(self):
        i = self._ring.pop()
        button, ticks = self._ring.cols
        self.last_ticks = ticks[i]
        return button[i]

    def get_nowait(self):
        """The oldest event as (button, press_ticks), or None when empty."""
        if not self._ring.count:
            return None
        button = self._take()
        return (button, self.last_ticks)

    async def get(self):
        """Wait for the next event and return its logical button (BTN_*); the tick it was
        pressed at is then in `last_ticks`."""
        while not self._ring.count:
            self._flag.clear()
            await self._flag.wait()
        return self._take()

    def clear(self):
        self._ring.clear()


class BoardBase:
    """Defaults for the HAL described in boards/__init__.py."""

    name = "base"
    ble_connections = 1  # connections the port's BLE stack takes at once (btstack: 1)
    SLEEP_AFTER_MS = 0  # quiet time before idle_sleep (config "sleep_after_ms"); 0: never
    DEEP_AFTER_MS = 0  # quiet time before deep_sleep (config "deep_after_ms"); 0: never
    GLANCE_MS = 0  # in a session the screen is lit this long after each event; 0: always

    def __init__(self, config=None):
        self.config = config or {}
        self.buttons = ButtonQueue()
        self.display = None
        self.protocol_mode = False
        self.repl_requested = False
        self._repl_flag = asyncio.Event()  # reset_to_repl() runs in link/control tasks
        self.last_error = None
        self.runner = None
        self.sleep_after_ms = int(self.config.get("sleep_after_ms", self.SLEEP_AFTER_MS))
        self.deep_after_ms = int(self.config.get("deep_after_ms", self.DEEP_AFTER_MS))
        self.glance_ms = int(self.config.get("glance_ms", self.GLANCE_MS))  # repcue_fw/idle.py
        self.lighter = None  # idle.py's Idle.light while glances run: a glance on demand
        self.woke_ticks = 0  # the tick of the last wake(): repcue_fw.idle counts quiet from it
        self.touched_ticks = 0  # the same, but moved by wake() alone (hw.py: naps)
        self.woke_why = WAKE_TIMER
        self._sleeper = None  # the task in idle_sleep, cancelled by wake()

    # -- clock: the port's own ticks (boards override nothing; the sim board does) --
    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_add(self, ticks, delta):
        return time.ticks_add(ticks, delta)

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def sleep_ms(self, ms):
        # a plain function returning asyncio's reusable sleep object: an `async def` here
        # would allocate a generator on every sleep of the runner's hot loop
        return asyncio.sleep_ms(ms if ms > 0 else 0)

    async def sleep_until(self, deadline):
        """Sleep until the board clock reaches `deadline` (re-checked after each wake-up)."""
        while True:
            left = self.ticks_diff(deadline, self.ticks_ms())
            if left <= 0:
                return
            await self.sleep_ms(left)

    # -- sleep between sessions (repcue_fw/idle.py decides when) --
    async def idle_sleep(self, ms):
        """Sleep up to `ms` with nothing to do; return WAKE_TIMER when the time ran out,
        else the wake source (wake(why) ends it early). Here a plain sleep on the board's
        clock: every task still runs, so a wake source is never missed; boards with a low
        power mode override it (hw.py: light sleep)."""
        self._sleeper = asyncio.current_task()
        self.woke_why = WAKE_TIMER
        try:
            await self.sleep_ms(ms)
        except asyncio.CancelledError:
            if self.woke_why == WAKE_TIMER:
                raise  # cancelled from outside, not woken
        finally:
            self._sleeper = None
        return self.woke_why

    def wake(self, why):
        """A wake source fired (a press, link bytes, a connection): note it and end
        idle_sleep. Call from tasks, never from an IRQ."""
        self.woke_ticks = self.touched_ticks = self.ticks_ms()
        sleeper = self._sleeper
        if sleeper is not None:
            self.woke_why = why
            self._sleeper = None
            sleeper.cancel()

    def deep_sleep(self, wall_ms):
        """Power down until a button (the board boots again; resume_wall_ms() then gives
        the wall clock back). Returns False where the board cannot; never returns where it
        can."""
        return False

    def resume_wall_ms(self):
        """After a wake-up from deep_sleep: the wall clock now in epoch ms, else 0."""
        return 0

    # -- outputs --
    def cue(self, cue_id, pattern):
        pass

    def on_event(self, code, a, b):
        """Engine-event listener(code, a, b); boards that show or log events override it."""
        pass

    def log(self, text):
        """Record an error without touching stdout (stdout is the protocol stream)."""
        self.last_error = text

    # -- lifecycle --
    def start(self):
        """Start the board's background tasks; call from inside the running event loop."""
        pass

    def stop(self):
        """Stop outputs (motor and buzzer off) before the app exits."""
        pass

    def power_off(self):
        """Called when the app ends for good (not for the REPL); boards may sleep here."""
        pass

    def safe_mode(self):
        """True when the user asks at boot to skip the app (button held): REPL only."""
        return False

    # -- identity, storage, power --
    def urandom(self, n):
        import os

        return os.urandom(n)

    def storage_blocks(self):
        """The raw block device under the journal's filesystem, or None when the board
        cannot reach it (the pairing key store then scrubs without checking)."""
        return None

    def unique_id(self):
        return b"\x00\x00\x00\x00\x00\x00"

    def mount_storage(self):
        raise OSError(19)  # ENODEV: this board has no storage

    def battery_pct(self):
        return None

    # -- serial coexistence --
    def enter_protocol_mode(self):
        """Ctrl-C (0x03) becomes an ordinary byte on the serial port."""
        if micropython is not None:
            micropython.kbd_intr(-1)
        self.protocol_mode = True

    def reset_to_repl(self):
        """Leave protocol mode: Ctrl-C works again and the app stops, so the REPL gets the
        port back (mpremote can then reach the board)."""
        if micropython is not None:
            micropython.kbd_intr(_KBD_CTRL_C)
        self.protocol_mode = False
        self.repl_requested = True
        self._repl_flag.set()

    async def release_port(self):
        """Called by the app after reset_to_repl(), just before it returns to the REPL."""
        pass

    def attach(self, runner):
        """The app hands over the runner, for boards that report what the engine is doing."""
        self.runner = runner

    async def wait_repl(self):
        """Return once reset_to_repl() has been called."""
        while not self.repl_requested:
            self._repl_flag.clear()
            await self._repl_flag.wait()
