# The screen: the session (step kind in its colour, rep i/n, the countdown in large digits,
# the target pace, the ghost on distance steps), paused and finished, and an idle screen
# (the program's name, sessions not yet synced, battery), on board.display (see
# boards/__init__.py and docs/hardware.md, "The screen").
#
#   scr = Screen(board, runner, app)     # app.run() does this when board.display is set
#   asyncio.create_task(scr.run())
#   scr.sleep() / scr.wake()             # panel off / on; no redraws while off
#
# Its own task, never the cue path: an engine event only sets a flag (and wakes the task);
# the task works out what the screen should show (state.refresh: small ints), compares it
# with what it shows, and redraws only the regions that changed (layout.py), band by band
# into ONE preallocated band buffer (paint.py), yielding to the scheduler every 16 rows so a
# cue that falls due waits for at most that much drawing. The countdown wakes it at the next
# second boundary of the remaining time: at most one redraw a second, no busy loop. A frame
# allocates nothing (tests/firmware/test_screen.py locks the heap around one).
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import asyncio

import framebuf

from repcue_fw.screen import draw, fields
from repcue_fw.screen import layout as L
from repcue_fw.screen import state as S
from repcue_fw.screen.paint import Painter
from repcue_fw.wire import events as ev

_NAME_MAX = const(32)
# A redraw yields to the scheduler after this many rows, however small the board's bands
# (bands save RAM, yields bound how long a due cue waits: one 240x16 strip, < 1 ms here)
_YIELD_ROWS = const(16)
_TXT_MAX = const(40)
# the values each region shows (bits of S.V_*)
_DEPS = (
    (1 << S.V_ST) | (1 << S.V_KIND),
    (1 << S.V_ST) | (1 << S.V_REPK) | (1 << S.V_REPI) | (1 << S.V_REPN) | (1 << S.V_NAME),
    (1 << S.V_ST) | (1 << S.V_SECS) | (1 << S.V_BAT),
    (1 << S.V_ST) | (1 << S.V_TT) | (1 << S.V_TV) | (1 << S.V_UNSYNC),
    (1 << S.V_ST) | (1 << S.V_GHOST) | (1 << S.V_BAT),
)


class Screen:
    def __init__(self, board, runner, app=None):
        d = board.display
        self.board = board
        self.runner = runner
        self.app = app
        self.display = d
        self.lay = L.Layout(d.width, d.height)
        self.p = Painter(d)
        self.col = [d.rgb(c[0], c[1], c[2]) for c in L.RGB]
        if d.fmt == framebuf.MONO_VLSB:  # 1 bit: every colour but the background is lit
            for i in range(1, len(self.col)):
                self.col[i] = d.rgb(255, 255, 255)
        self.cur = [0] * S.N_VALUES  # what the screen should show
        self.shown = [-1] * S.N_VALUES  # what it shows
        self.deps = list(_DEPS)
        if self.lay.ghost_region == L.R_PACE:
            self.deps[L.R_PACE] |= 1 << S.V_GHOST
        self.txt = bytearray(_TXT_MAX)
        self.dg = bytearray(6)
        self.name = bytearray(_NAME_MAX)
        self.new_name = bytearray(_NAME_MAX)
        self.name_n = -1
        self.paused_ms = 0  # active ms into the step when it was paused (EV_PAUSE's b)
        self.done = False  # a session finished and its screen still shows
        self.done_at = 0
        self.done_ms = 0
        self.done_reason = 0
        self.idle_at = 0
        self.idle_stale = True
        self.idle_mark = [0, 0, 0]  # program id, next session id, sessions acknowledged
        self.frames = 0  # redraws done (the sim's "screen" op reports it)
        self.drawing = False  # between the first and the last band of a redraw
        self.asleep = False
        self._cleared = False
        self._changed = True
        self._event = asyncio.Event()
        self._task = None
        self._sleeping = False
        self._poked = False
        fields.intern()
        runner.add_listener(self._on_event)
        board.screen = self

    # -- from the engine (the cue path) and the power helper --------------------------------
    def _on_event(self, code, a, b):
        if code == ev.EV_CUE:
            return  # a cue changes nothing shown; its step's events do
        if code == ev.EV_PAUSE:
            self.paused_ms = b
        elif code == ev.EV_FINISH:
            self.done = True
            self.done_at = self.board.ticks_ms()
            self.done_ms = b
            self.done_reason = a
        elif code == ev.EV_SESSION_START:
            self.done = False
        self.poke()

    def poke(self):
        """Something changed: redraw soon (from the screen's task)."""
        self._changed = True
        if self._sleeping and self._task is not None:
            self._poked = True
            self._task.cancel()
        else:
            self._event.set()

    def sleep(self):
        """Panel off; no redraws until wake()."""
        self.asleep = True
        self.display.on(False)
        self.poke()

    def wake(self):
        """Panel on, everything redrawn, the idle facts looked at again."""
        self.asleep = False
        self._cleared = False
        self.idle_stale = True
        shown = self.shown
        for i in range(len(shown)):
            shown[i] = -1
        self.display.on(True)
        self.poke()

    # -- the task ---------------------------------------------------------------------------
    async def run(self):
        self._task = asyncio.current_task()
        board = self.board
        now = 0
        try:
            while True:
                wait = -1
                self._changed = False
                if not self.asleep:
                    now = board.ticks_ms()
                    wait = S.refresh(self, now)
                    dirty = self.dirty()
                    if dirty:
                        self.drawing = True
                        rows = 0  # drawn since the last yield
                        r = 0
                        while r < L.N_REGIONS:
                            if dirty & (1 << r):
                                y = self.lay.ys[r]
                                end = y + self.lay.hs[r]
                                while y < end and not self.asleep:
                                    top = y
                                    y = self.band(r, y, end)
                                    rows += y - top
                                    if rows >= _YIELD_ROWS:
                                        rows = 0
                                        await board.sleep_ms(0)  # a due cue runs here
                            r += 1
                        self.drawing = False
                        self.frames += 1
                if self._changed:
                    continue
                # until poke(), or `wait` ms on the board's clock (inline: an awaited
                # helper would allocate a coroutine per wait)
                if wait < 0:
                    self._event.clear()
                    await self._event.wait()
                    continue
                # the wait counts from the refresh, not from the end of the redraw
                wait -= board.ticks_diff(board.ticks_ms(), now)
                self._sleeping = True
                try:
                    await board.sleep_ms(wait if wait > 0 else 0)
                except asyncio.CancelledError:
                    if not self._poked:
                        raise
                finally:
                    self._sleeping = False
                    self._poked = False
        finally:
            self._task = None
            self.drawing = False

    def dirty(self):
        """The regions whose values changed (bits of R_*); what they show becomes shown.
        The first time, the whole panel is cleared and every region is dirty."""
        cur = self.cur
        shown = self.shown
        changed = 0
        for i in range(S.N_VALUES):
            if cur[i] != shown[i]:
                changed |= 1 << i
                shown[i] = cur[i]
        dirty = 0
        deps = self.deps
        for r in range(L.N_REGIONS):
            if changed & deps[r] and self.lay.hs[r]:
                dirty |= 1 << r
        if not self._cleared:
            self._cleared = True
            self._clear()
            dirty = (1 << L.N_REGIONS) - 1
        return dirty

    def band(self, r, y, end):
        """Draw the band of region r from row y (not past row `end`), send it; return the
        row after it."""
        p = self.p
        n = end - y
        if n > p.rows:
            n = p.rows
        p.begin(y, self.col[L.C_BG])
        draw.region(self, r, self.lay.ys[r])
        p.send(n)
        return y + n

    def _clear(self):
        # the gaps between regions, once (synchronous: only at the first frame and on wake)
        p = self.p
        h = self.lay.h
        y = 0
        while y < h:
            p.begin(y, self.col[L.C_BG])
            n = h - y if h - y < p.rows else p.rows
            p.send(n)
            y += n
