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
# The clock: ticks run on through light sleep (ESP32: esp_timer is corrected from the RTC
# timer on wake-up; rp2: the timer that ends the sleep keeps counting), and the wall clock
# is a base plus ticks (App.wall_s), rebased after each sleep.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw.boards.base import WAKE_BLE, WAKE_SERIAL, WAKE_TIMER

_SLEEP_MAX_MS = const(600000)  # one sleep at most: the clock's rebase period (app.py)
_QUIET_CAP_MS = const(86400000)  # quiet counted up to a day: ticks_diff's range is ~6 days


class Idle:
    def __init__(self, app):
        self.app = app
        self.board = app.board
        self.sleeps = 0  # statistics: sleeps entered, and those a wake source ended
        self.wakes = 0
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

    async def run(self):
        board = self.board
        after_ms = board.sleep_after_ms
        deep_ms = board.deep_after_ms
        board.woke_ticks = board.ticks_ms()
        board.screen_lit = getattr(self.app, "screen", None) is not None
        while True:
            now = board.ticks_ms()
            if self.busy():
                board.woke_ticks = now
            quiet_ms = board.ticks_diff(now, board.woke_ticks)
            if quiet_ms > _QUIET_CAP_MS:
                quiet_ms = _QUIET_CAP_MS
                board.woke_ticks = board.ticks_add(now, -quiet_ms)
            if quiet_ms < after_ms:
                await board.sleep_ms(after_ms - quiet_ms)
                continue
            screen = getattr(self.app, "screen", None)
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
