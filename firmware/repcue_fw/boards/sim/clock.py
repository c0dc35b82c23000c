# The sim board's clock: a 30-bit millisecond tick counter (period 2**30, exactly what
# ticks_ms is on a 32-bit board) that can start anywhere, e.g. just below the wrap.
#
# Modes:
#   real      ticks follow the host's monotonic clock, multiplied by `speed` (1 = real time,
#             60 = a minute per second); sleeps are divided by `speed`
#   stepped   time stands still until the harness calls advance(ms): the clock then jumps
#             from one sleeper's deadline to the next, waking each at exactly its tick,
#             and lets the woken tasks run before moving on
# `elapsed_ms()` is the unwrapped virtual time since boot: what the cue log reports beside
# the wrapped ticks, so a harness never has to unwrap.
import asyncio
import time

PERIOD = 1 << 30  # the sim only runs on the 64-bit unix port: a small int there
_MASK = PERIOD - 1
_HALF = PERIOD >> 1
_SETTLE = 8  # scheduler turns given to woken tasks before the stepped clock moves on

REAL = "real"
STEPPED = "stepped"


class SimClock:
    def __init__(self, mode=REAL, speed=1, start=0):
        if mode != REAL and mode != STEPPED:
            raise ValueError("clock mode must be 'real' or 'stepped', got " + repr(mode))
        if not isinstance(speed, int) or speed < 1:
            raise ValueError("speed must be an int >= 1, got " + repr(speed))
        self.mode = mode
        self.speed = speed
        self.start = start & _MASK
        self._t0_us = time.ticks_us()
        self._vms = 0  # stepped mode: virtual ms since boot
        self._sleepers = []  # stepped mode: [deadline_vms, Event], sorted by deadline

    # -- reading ----------------------------------------------------------------------------
    def elapsed_ms(self):
        """Virtual ms since boot, never wrapping."""
        if self.mode == STEPPED:
            return self._vms
        return time.ticks_diff(time.ticks_us(), self._t0_us) * self.speed // 1000

    def ticks_ms(self):
        return (self.start + self.elapsed_ms()) & _MASK

    def ticks_at(self, vms):
        """The tick value at virtual time `vms`."""
        return (self.start + vms) & _MASK

    def ticks_add(self, ticks, delta):
        return (ticks + delta) & _MASK

    def ticks_diff(self, a, b):
        return ((a - b + _HALF) & _MASK) - _HALF

    # -- sleeping ---------------------------------------------------------------------------
    def sleep_ms(self, ms):
        """An awaitable that returns after `ms` virtual ms (callers re-check their deadline)."""
        if ms <= 0:
            return asyncio.sleep_ms(0)
        if self.mode == STEPPED:
            return self._stepped_sleep(ms)
        return asyncio.sleep_ms(ms // self.speed if self.speed > 1 else ms)

    async def _stepped_sleep(self, ms):
        ev = asyncio.Event()
        entry = [self._vms + ms, ev]
        sleepers = self._sleepers
        i = len(sleepers)
        while i > 0 and sleepers[i - 1][0] > entry[0]:
            i -= 1
        sleepers.insert(i, entry)
        try:
            await ev.wait()
        finally:
            if not ev.is_set() and entry in sleepers:
                sleepers.remove(entry)  # cancelled: forget the deadline

    def next_wake_ms(self):
        """Stepped mode: the virtual ms of the earliest sleeper, or None."""
        return self._sleepers[0][0] if self._sleepers else None

    async def advance(self, ms):
        """Stepped mode: move virtual time forward by `ms`, waking every sleeper on its exact
        tick along the way. Returns the new elapsed_ms()."""
        if self.mode != STEPPED:
            raise ValueError("advance() needs the stepped clock")
        if ms < 0:
            raise ValueError("cannot move the clock back")
        target = self._vms + ms
        sleepers = self._sleepers
        await self.settle()
        while sleepers and sleepers[0][0] <= target:
            if sleepers[0][0] > self._vms:
                self._vms = sleepers[0][0]
            while sleepers and sleepers[0][0] <= self._vms:
                sleepers.pop(0)[1].set()
            await self.settle()
        self._vms = target
        await self.settle()
        return self._vms

    async def settle(self):
        for _ in range(_SETTLE):
            await asyncio.sleep_ms(0)
