"""Sleep between sessions on the real-board HAL (boards/hw.py) in the real micropython binary,
against the `machine` stand-in: light sleep only where a button can end it (the ESP32's EXT0
wake-up, modelled by a stand-in `esp32` module put in sys.modules here), never with BLE on,
never on rp2; a press during the sleep reaches the gesture decoder when the loop runs again.
What a chip really keeps during light sleep is in docs/hardware.md ("Power")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.mpy import ROOT, run_mpy

STANDINS = ROOT / "device" / "repcue_device"

# the ESP32 port's esp32 module as far as hw.py uses it (wake_on_ext0/ext1), recording what
# the board armed; tests/firmware/test_power_defaults.py uses it too
ESP32 = """
class _Esp32:
    WAKEUP_ALL_LOW = False
    WAKEUP_ANY_HIGH = True
    ext0 = None
    ext1 = None
    @staticmethod
    def wake_on_ext0(pin=None, level=False):
        _Esp32.ext0 = (pin.gpio if pin is not None else None, level)
    @staticmethod
    def wake_on_ext1(pins=None, level=False):
        _Esp32.ext1 = ([p.gpio for p in pins], level)
sys.modules["esp32"] = _Esp32
"""


def _run(chip: str, board: str, config: dict[str, Any], body: str, esp32: bool) -> Any:
    code = (
        "import asyncio, json, sys, time, machine\n"
        + (ESP32 if esp32 else "")
        + f"""
machine.use_chip({chip!r})
from repcue_fw.boards import load
from repcue_fw.boards.base import WAKE_BUTTON, WAKE_TIMER
board = load({board!r})({config!r})
prof = board.PROFILE
pin_b = machine.Pin(prof["buttons"][1])
"""
        + body
    )
    out = run_mpy(code, extra_path=[Path(STANDINS)])
    return json.loads(out.strip().splitlines()[-1])


_PRESS_DURING_SLEEP = """
async def main():
    board.start()
    def press(ms):
        pin_b.drive(0)        # button B goes down while the CPU is stopped
    machine.during_sleep = press
    why = await board.idle_sleep(30000)
    machine.during_sleep = None
    ext0 = sys.modules["esp32"].ext0 if "esp32" in sys.modules else None
    await asyncio.sleep_ms(100)
    pin_b.drive(1)            # released: a short press of B
    got = None
    t0 = time.ticks_ms()
    while got is None and time.ticks_diff(time.ticks_ms(), t0) < 2000:
        await asyncio.sleep_ms(20)
        got = board.buttons.get_nowait()
    why_timer = await board.idle_sleep(40)   # nobody presses: the timer ends it
    board.stop()
    print(json.dumps([why == WAKE_BUTTON, why_timer == WAKE_TIMER, machine.sleeps, ext0,
                      got[0] if got else None]))
asyncio.run(main())
"""


def test_esp32_light_sleeps_and_a_press_wakes_it_into_the_decoder() -> None:
    woke_button, woke_timer, sleeps, ext0, button = _run(
        "esp32c3", "esp32c3", {}, _PRESS_DURING_SLEEP, esp32=True
    )
    assert sleeps == [30000, 40]  # machine.lightsleep, for the time asked
    assert ext0 == [9, False]  # button B's GPIO, woken by a low level
    assert woke_button is True and woke_timer is True
    assert button == 2  # BTN_PAUSE: B's short press, decoded after the wake-up


_AWAKE = """
async def main():
    t0 = time.ticks_ms()
    why = await board.idle_sleep(50)
    print(json.dumps([why == WAKE_TIMER, machine.sleeps, time.ticks_diff(time.ticks_ms(), t0)]))
asyncio.run(main())
"""


@pytest.mark.parametrize(
    ("board", "chip", "config", "esp32"),
    [
        ("esp32c3", "esp32c3", {"ble": True}, True),  # BLE on: the radio must stay up
        ("esp32c3", "esp32c3", {}, False),  # a port without wake_on_ext0
        ("picow", "rp2", {}, False),  # rp2: lightsleep(ms) ends on its timer only
    ],
)
def test_no_light_sleep_where_nothing_could_wake_the_board(
    board: str, chip: str, config: dict[str, Any], esp32: bool
) -> None:
    timer, sleeps, waited_ms = _run(chip, board, config, _AWAKE, esp32)
    assert sleeps == []  # never machine.lightsleep
    assert timer is True and waited_ms >= 49  # an ordinary asyncio sleep, waited out


def test_sleep_after_comes_from_the_profile_or_the_config() -> None:
    other = 'load("esp32c3")({"sleep_after_ms": 0}).sleep_after_ms'
    body = "print(json.dumps([board.sleep_after_ms, " + other + "]))"
    assert _run("esp32c3", "esp32c3", {}, body, esp32=False) == [60000, 0]


_DEEP = """
board.start()
wall_ms = 1_800_000_000_123
slept = board.deep_sleep(wall_ms)           # a board resets here; the stand-in returns
saved = len(machine.RTC().memory())
fresh = load("esp32c3")({}).resume_wall_ms()  # a power-on boot: nothing to resume
machine.cause = machine.DEEPSLEEP_RESET
time.sleep_ms(30)                            # asleep for a while
resumed = load("esp32c3")({}).resume_wall_ms()
print(json.dumps([slept, machine.deep_sleeps, sys.modules["esp32"].ext0, saved, fresh,
                  resumed - wall_ms]))
"""


def test_deep_sleep_keeps_the_wall_clock_in_the_rtc_memory() -> None:
    slept, deep_sleeps, ext0, saved, fresh, moved_ms = _run(
        "esp32c3", "esp32c3", {}, _DEEP, esp32=True
    )
    assert slept is False and deep_sleeps == [None]  # machine.deepsleep() until the button
    assert ext0 == [9, False]  # armed as for light sleep: button B, low
    assert saved == 16  # the wall clock and the RTC's time, 8 bytes each
    assert fresh == 0
    assert 30 <= moved_ms < 1000  # the clock moved on by the time asleep, no more


def test_no_deep_sleep_with_ble_on() -> None:
    body = "print(json.dumps([board.deep_sleep(1000), machine.deep_sleeps]))"
    assert _run("esp32c3", "esp32c3", {"ble": True}, body, esp32=True) == [False, []]


_NAPS = """
async def waits():
    t0 = time.ticks_ms()
    await asyncio.sleep_ms(300)
    return time.ticks_diff(time.ticks_ms(), t0)

async def main():
    board.start()
    await asyncio.sleep_ms(2100)         # nothing came in since boot: naps may begin
    del machine.sleeps[:]
    napped = await waits()
    naps = list(machine.sleeps)
    del machine.sleeps[:]
    board.cue(2, (700,))                 # a cue plays: its PWM and timer need the CPU awake
    playing = await waits()
    during_cue = list(machine.sleeps)
    board.player.stop()
    board.wake(1)                        # a press just now: no naps for a while
    touched = await waits()
    after_press = list(machine.sleeps)
    board.stop()
    print(json.dumps([napped, naps, during_cue, after_press, playing, touched,
                      sys.modules["esp32"].ext1, board.naps]))
asyncio.run(main())
"""


def test_naps_light_sleep_inside_asyncio_wait_and_keep_every_deadline() -> None:
    napped, naps, during_cue, after_press, *rest = _run(
        "esp32c3", "esp32c3", {"naps": True}, _NAPS, esp32=True
    )
    playing_ms, touched_ms, ext1, count = rest
    assert naps and all(ms > 20 for ms in naps)  # the scheduler's own waits, slept
    # the bulk of the wait napped (the scan task's first turns come first), never past it
    assert 150 <= sum(naps) <= 300
    assert max(naps) <= 300 - 300 // 32 - 2  # each ends ahead; the rest is waited awake
    assert napped >= 299  # not woken early (asyncio may round 0.6 ms), nor stuck
    assert during_cue == [] and after_press == []  # awake while a cue plays, after a press
    assert playing_ms >= 299 and touched_ms >= 299
    assert ext1 == [[4], False]  # button A wakes a nap too
    assert count >= len(naps)  # (the boot wait may have napped too)


def test_no_naps_unless_configured() -> None:
    body = _NAPS.replace("board.start()", "board.start(); board.player.playing = False")
    napped, naps, *_ = _run("esp32c3", "esp32c3", {}, body, esp32=True)
    assert naps == [] and napped >= 299


_WEARABLES = (
    "import json, sys, machine, machine_buses, chip_models, wearables\n"
    + ESP32
    + """
plus2, _ = wearables.make("m5stickc_plus2", {"naps": True})
plus2._arm_wake()
esp = sys.modules["esp32"]
m5_wake = [esp.ext0, esp.ext1]
plus2.deep_sleep(1_800_000_000_000)
hold = plus2.hold
m5_hold = [hold.gpio, hold.value(), hold.held]
watch, _ = wearables.make("twatch_s3")
esp.ext1 = None
watch._arm_wake()
print(json.dumps([m5_wake, m5_hold, machine.deep_sleeps, esp.ext0, esp.ext1]))
"""
)


def test_the_wearables_wake_on_their_buttons_and_the_plus2_keeps_its_power_held() -> None:
    out = run_mpy(_WEARABLES, extra_path=[Path(STANDINS)])
    m5_wake, m5_hold, deep_sleeps, watch_ext0, watch_ext1 = json.loads(out.strip().splitlines()[-1])
    assert m5_wake == [[39, False], [[37], False]]  # B by EXT0; A by EXT1 for naps
    assert m5_hold == [4, 1, True]  # G4 held high through deep sleep, or the board is off
    assert deep_sleeps == [None]
    assert watch_ext0 == [16, False]  # the T-Watch's touch panel INT, low while touched
    assert watch_ext1 is None  # one "button": nothing for EXT1
