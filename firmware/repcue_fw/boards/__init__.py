# Board HAL. One module per board (sim, esp32c3, picow, m5stickc_plus2, twatch_s3); each
# defines `Board` with:
#
#   name                          short board name, e.g. "sim", "esp32c3"
#   unique_id() -> bytes          stable id (machine.unique_id() on boards)
#   ticks_ms() / ticks_add(t, d) / ticks_diff(a, b)
#                                 the board's millisecond clock. Engine and runner never
#                                 subtract ticks themselves. The sim board can run a
#                                 30-bit clock (period 2**30, like a 32-bit board) that
#                                 starts just below the wrap.
#   sleep_ms(ms) -> awaitable     sleep on the board's clock (the sim board scales it for
#                                 --speed and steps it for tests); callers re-check deadlines.
#                                 A plain function returning asyncio.sleep_ms(...) on boards
#                                 (an `async def` would allocate a generator per sleep)
#   cue(cue_id, pattern)          start playing an on/off ms pattern on motor and/or buzzer
#                                 without blocking; a new cue replaces the one playing
#   buttons                       a ButtonQueue (base.py) of logical presses (BTN_* in
#                                 repcue_fw.engine): `await buttons.get()` -> BTN_*, the tick
#                                 of that press then in buttons.last_ticks; get_nowait() ->
#                                 (BTN_*, ticks) or None. The board maps 1-3 physical buttons
#                                 (short/double/long press, boards/buttons.py) onto them
#   mount_storage() -> str        mount littlefs and return the directory the journal uses
#   battery_pct() -> int or None  0-100 from the board's own source (ADC divider, PMU gauge)
#   display                       None, or a display driver (drivers/st7789.py, ssd1306.py):
#                                 width, height, fmt, band_rows, rgb(r, g, b),
#                                 blit(buf, x, y, w, h), on(flag); the UI is repcue_fw/screen
#   on_event(code, a, b)          engine listener (the sim board logs events)
#   attach(runner)                the app hands over the runner (for boards that report)
#   start() / stop()              background tasks (inside the loop) / outputs off
#   safe_mode() -> bool           a button held at power-up: skip the app, keep the REPL
#   enter_protocol_mode()         Ctrl-C off (kbd_intr(-1)); nothing may print
#   reset_to_repl()               leave protocol mode: restore Ctrl-C, stop the app so the
#                                 REPL gets the port; `await wait_repl()` returns after it,
#                                 `await release_port()` runs just before the app returns
#   power_off()                   the app has ended for good (the sim exits its process)
#   sleep_after_ms / deep_after_ms   quiet time before idle_sleep / deep_sleep (0: never;
#                                 config keys of the same names; repcue_fw/idle.py decides)
#   idle_sleep(ms) -> awaitable   sleep between sessions up to ms, -> WAKE_* (base.py): why
#                                 it ended; wake(why) ends it early (a press, link bytes, a
#                                 BLE connection). hw.py: light sleep where a button wakes it
#   deep_sleep(wall_ms) -> False  power down until a button (returns only where impossible);
#                                 resume_wall_ms() after the boot: the wall clock, else 0
#   glance_ms                     in a session the screen is lit this long after each event
#                                 (0: always; config "glance_ms", default GLANCE_MS)
#   lighter                       set by repcue_fw/idle.py while glances run: call it to
#                                 light the screen for a glance (hw.py: the glance button)
#
# Boards import machine-specific modules lazily so the unix port can import this package.


def load(name):
    """Import repcue_fw.boards.<name> and return its Board class."""
    module = __import__("repcue_fw.boards." + name, None, None, ["Board"])
    return module.Board
