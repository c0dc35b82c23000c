# Board HAL. One module per board (sim, esp32c3, picow); each defines `Board` with:
#
#   name                          short board name, e.g. "sim", "esp32c3"
#   unique_id() -> bytes          stable id (machine.unique_id() on boards)
#   ticks_ms() / ticks_add(t, d) / ticks_diff(a, b)
#                                 the board's millisecond clock. Engine and runner never
#                                 subtract ticks themselves. The sim board can run a
#                                 30-bit clock (period 2**30, like a 32-bit board) that
#                                 starts just below the wrap.
#   async sleep_ms(ms)            sleep on the board's clock (the sim board scales it for
#                                 --speed and steps it for tests); callers re-check deadlines
#   cue(cue_id, pattern)          start playing an on/off ms pattern on motor and/or buzzer
#                                 without blocking; a new cue replaces the one playing
#   buttons                       an object the app polls/awaits for logical button events
#                                 (BTN_* in repcue_fw.engine); the board maps 1-3 physical
#                                 buttons (short/long/double press) onto them
#   mount_storage() -> str        mount littlefs and return the directory the journal uses
#   battery_pct() -> int or None  optional
#   display                       None, or an object with show(text)
#   reset_to_repl()               leave protocol mode: restore Ctrl-C, hand the port back
#
# Boards import machine-specific modules lazily so the unix port can import this package.


def load(name):
    """Import repcue_fw.boards.<name> and return its Board class."""
    module = __import__("repcue_fw.boards." + name, None, None, ["Board"])
    return module.Board
