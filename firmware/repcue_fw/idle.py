# Sleep between sessions: when nothing has happened for board.sleep_after_ms, the app's
# idle task puts the board in board.idle_sleep() (hw.py: light sleep; the sim board: a
# plain sleep it reports on its control channel) until a wake source fires.
#
#   idle = Idle(app); dispatcher.waker = idle.on_serial; asyncio.create_task(idle.run())
#
# Never while a session runs or a start is scheduled, a BLE central is connected, a PAIR
# awaits its press or a button gesture is under way. Link bytes and presses count as
# activity through board.wake() (the dispatchers' waker, the board's button path), so a
# host that talks keeps the board awake and a board that sleeps wakes on its first byte.
# An upload left unfinished by a host that went away does not keep the board awake: it
# resumes when the host comes back (link/upload.py), and the battery matters more.
#
# After deep_after_ms of quiet a board that can (hw.py: the ESP32 family, as for light sleep)
# goes into deep sleep: RAM is lost and a button press boots it again. The journal is on
# flash; the wall clock goes into the RTC's memory with the RTC's own time beside it, and
# Idle() puts it back at boot (board.resume_wall_ms()).
#
# Glances (board.glance_ms: config "glance_ms", the wearables' default 5000; a board with a
# screen): during a session the screen is lit for glance_ms after each engine event (a step
# change, each countdown cue before one, a press's effect) and dark in between, so a hardware
# board can nap (hw.py) between them. 0: always lit. board.lighter (light()) lights it for
# a glance on demand: a press that is no engine event (hw.py's glance button).
#
# The clock: ticks run on through light sleep (ESP32: esp_timer is corrected from the RTC
# timer on wake-up; rp2: the timer that ends the sleep keeps counting), and the wall clock
# is a base plus ticks (App.wall_s), rebased after each sleep.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import asyncio

from repcue_fw.boards.base import WAKE_BLE, WAKE_SERIAL, WAKE_TIMER

_SLEEP_MAX_MS = const(600000)  # one sleep at most: the clock's rebase period (app.py)
_QUIET_CAP_MS = const(86400000)  # quiet counted up to a day: ticks_diff's range is ~6 days


class Idle:
    def __init__(self, app):
        self.app = app
        self.board = app.board
        self.sleeps = 0  # statistics: sleeps entered, and those a wake source ended
        self.wakes = 0
        self._lit_ticks = 0  # the last engine event's tick (glances)
        self._glance_flag = None
        self._events = asyncio.Event()  # an engine event came (a session's end among them)
        resumed_ms = self.board.resume_wall_ms()  # booted out of deep sleep: the clock back
        if resumed_ms:
            app.set_time(resumed_ms // 1000, resumed_ms % 1000)

    def on_serial(self):
        self.board.wake(WAKE_SERIAL)

    def on_ble(self):
        self.board.wake(WAKE_BLE)

    def busy(self):
        """True while something must not be slept through."""
        app = self.app
        runner = app.runner
        if runner.active or runner.start_at is not None or app.pair_pending is not None:
            return True
        ble = app.ble
        if ble is not None and ble.central is not None:
            return True
        board = self.board
        decoder = getattr(board, "decoder", None)
        if decoder is not None and decoder.busy():
            return True
        return len(board.buttons) > 0

    def wall_ms(self):
        # App.wall_s() in ms (App keeps its base private; this is its one other reader)
        app = self.app
        if not app.wall_s():
            return 0
        board = self.board
        return app._epoch_s * 1000 + board.ticks_diff(board.ticks_ms(), app._epoch_ticks)

    def on_event(self, code, a, b):
        # engine listener: an event is activity (the quiet time counts from a session's
        # end); it also wakes the glance task (nothing is drawn from here)
        board = self.board
        self._lit_ticks = board.woke_ticks = board.ticks_ms()
        self._events.set()
        if self._glance_flag is not None:
            self._glance_flag.set()

    def light(self):
        self._lit_ticks = self.board.ticks_ms()
        self._glance_flag.set()

    async def glance(self, screen, glance_ms):
        board = self.board
        flag = self._glance_flag
        while True:
            flag.clear()
            await flag.wait()
            if not board.screen_lit:
                screen.wake()
                board.screen_lit = True
            while True:
                end = board.ticks_add(self._lit_ticks, glance_ms)
                left_ms = board.ticks_diff(end, board.ticks_ms())
                if left_ms <= 0:
                    break
                await board.sleep_ms(left_ms)
            if self.app.runner.active:  # between sessions run() decides
                screen.sleep()
                board.screen_lit = False

    async def run(self):
        board = self.board
        after_ms = board.sleep_after_ms
        deep_ms = board.deep_after_ms
        board.woke_ticks = board.ticks_ms()
        screen = getattr(self.app, "screen", None)
        board.screen_lit = screen is not None
        glance_ms = board.glance_ms
        self.app.runner.add_listener(self.on_event)
        glancer = None
        if screen is not None and glance_ms:
            self._glance_flag = asyncio.Event()
            board.lighter = self.light
            glancer = asyncio.create_task(self.glance(screen, glance_ms))
        try:
            await self._run(after_ms, deep_ms, screen)
        finally:
            if glancer is not None:
                board.lighter = None
                glancer.cancel()

    async def _run(self, after_ms, deep_ms, screen):
        board = self.board
        while True:
            now = board.ticks_ms()
            if self.busy():
                board.woke_ticks = now
                if self.app.runner.active:
                    # no timer during a session: its events wake this task in the runner's
                    # own turn (no wake-up of its own), the last of them its end
                    self._events.clear()
                    await self._events.wait()
                    continue
            quiet_ms = board.ticks_diff(now, board.woke_ticks)
            if quiet_ms > _QUIET_CAP_MS:
                quiet_ms = _QUIET_CAP_MS
                board.woke_ticks = board.ticks_add(now, -quiet_ms)
            if quiet_ms < after_ms:
                await board.sleep_ms(after_ms - quiet_ms)
                continue
            if screen is not None:
                screen.sleep()
                board.screen_lit = False
            nap_ms = _SLEEP_MAX_MS
            if deep_ms:
                if quiet_ms >= deep_ms and not board.deep_sleep(self.wall_ms()):
                    deep_ms = 0  # this board cannot: light sleep it is
                elif deep_ms - quiet_ms < nap_ms:
                    nap_ms = deep_ms - quiet_ms
            self.sleeps += 1
            why = await board.idle_sleep(nap_ms)
            self.app.rebase_clock()
            if why != WAKE_TIMER:
                self.wakes += 1
                if screen is not None:
                    screen.wake()
                    board.screen_lit = True
