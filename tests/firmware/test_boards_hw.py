"""The ESP32-C3 and Pico W profiles in the real micropython binary, against the `machine`
stand-in in device/repcue_device/machine.py (which models pin numbers, PWM limits, timer ids and
keywords, and runs IRQ handlers with the heap locked). Not a substitute for hardware:
docs/hardware.md says what has not been run on a board."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.mpy import ROOT, run_mpy

STANDINS = ROOT / "device" / "repcue_device"
BOARDS = [("esp32c3", "esp32c3"), ("picow", "rp2")]


def _run(chip: str, board: str, body: str) -> Any:
    code = (
        f"""
import json, time, machine
machine.use_chip({chip!r})
from repcue_fw.boards import load
Board = load({board!r})
board = Board({{}})
prof = Board.PROFILE
pin_a = machine.Pin(prof["buttons"][0])
pin_b = machine.Pin(prof["buttons"][1])
"""
        + body
    )
    out = run_mpy(code, extra_path=[Path(STANDINS)])
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize(("board", "chip"), BOARDS)
def test_outputs_start_silent_and_play_a_pattern_on_the_timer(board: str, chip: str) -> None:
    got = _run(
        chip,
        board,
        """
motor, buzzer = board.motor.pwm, board.buzzer.pwm
timer = board.player._timer
start = [motor.freq(), motor.duty_u16(), buzzer.freq(), buzzer.duty_u16()]
board.cue(2, (100, 0, 0, 50, 30))    # zero-length segments are skipped
steps = []
while True:
    steps.append([motor.duty_u16(), buzzer.duty_u16(), timer.period, timer.armed])
    if not timer.armed:
        break
    timer.fire()
print(json.dumps([start, steps, board.player.playing, timer.hard]))
""",
    )
    start, steps, playing, hard = got
    assert start == [20000, 0, 2700, 0]
    on = [52428, 32768]
    assert steps == [
        [*on, 100, True],  # ON 100 ms
        [0, 0, 50, True],  # the two zero segments skipped: OFF 50 ms
        [*on, 30, True],  # ON 30 ms
        [0, 0, 30, False],  # done: silent, timer disarmed
    ]
    assert playing is False
    assert hard is False  # soft callback on both chips (rp2 asked for hard=False)


@pytest.mark.parametrize(("board", "chip"), BOARDS)
def test_new_cue_cuts_the_playing_one_and_strength_scales_duty(board: str, chip: str) -> None:
    got = _run(
        chip,
        board,
        """
motor = board.motor.pwm
board.cue(2, (700,))
board.cue(6, (40, 20, 40))
first = [motor.duty_u16(), board.player._timer.period]
board.set_cue_strength(50)
board.cue(2, (700,))
half = motor.duty_u16()
board.set_cue_strength(0)
board.cue(2, (700,))
silent = [motor.duty_u16(), board.buzzer.pwm.duty_u16()]
try:
    board.set_cue_strength(101)
    err = None
except ValueError as e:
    err = str(e)
print(json.dumps([first, half, silent, err]))
""",
    )
    first, half, silent, err = got
    assert first == [52428, 40]
    assert half == 52428 * 50 // 100
    assert silent == [0, 0]
    assert err is not None and "0..100" in err


@pytest.mark.parametrize(("board", "chip"), BOARDS)
def test_button_irq_is_debounced_and_decoded(board: str, chip: str) -> None:
    got = _run(
        chip,
        board,
        """
board.start()                     # arms the IRQs (and a scan task, never run here)
q = board.buttons
pin_a.drive(0); pin_a.drive(1); pin_a.drive(0)     # bounce on press
t0 = board._edge_ticks[0]
busy_early = board.sample(time.ticks_add(t0, 5))   # still bouncing: not sampled yet
early = len(q)
board.sample(time.ticks_add(t0, 25))               # settled low: A pressed at t0
lap = q.get_nowait()                               # lap: reported on the press itself
pin_a.drive(1)
board.sample(time.ticks_add(board._edge_ticks[0], 25))
after_release = len(q)
pin_b.drive(0)
tb = board._edge_ticks[1]
board.sample(time.ticks_add(tb, 25))
board.sample(time.ticks_add(tb, 800))              # B held 0.8 s: stop and save
long = q.get_nowait()
pin_b.drive(1)
board.sample(time.ticks_add(board._edge_ticks[1], 25))
pin_b.drive(0)                                     # B short: pause (after the double window)
tp = board._edge_ticks[1]
board.sample(time.ticks_add(tp, 25))
pin_b.drive(1)
board.sample(time.ticks_add(board._edge_ticks[1], 25))
waiting = len(q)
board.sample(time.ticks_add(board._edge_ticks[1], 25 + 300))
short = q.get_nowait()
print(json.dumps([busy_early, early, lap[0], time.ticks_diff(lap[1], t0), after_release,
                  long[0], time.ticks_diff(long[1], tb), waiting, short[0],
                  time.ticks_diff(short[1], tp), pin_a.irq_calls]))
""",
    )
    busy_early, early, lap, lap_at, after_release, long_btn, long_at = got[:7]
    waiting, short_btn, short_at, irq_calls = got[7:]
    assert busy_early is True and early == 0
    assert lap == 3 and lap_at == 0  # lap, timed at the first press edge
    assert after_release == 0  # the release of a lap reports nothing
    assert long_btn == 5 and long_at == 0  # stop and save
    assert waiting == 0  # a short B waits out the double-press window...
    assert short_btn == 2 and short_at == 0  # ...then is pause, timed at its press
    assert irq_calls == 4  # every edge reached the (allocation-free) handler


@pytest.mark.parametrize(("board", "chip"), BOARDS)
def test_identity_storage_and_safe_mode(board: str, chip: str) -> None:
    got = _run(
        chip,
        board,
        """
normal = board.safe_mode()
pin_a.drive(0)
held = board.safe_mode()
print(json.dumps([board.name, len(board.unique_id()), board.unique_id() == machine.unique_id(),
                  normal, held, prof["storage"]]))
""",
    )
    name, uid_len, same, normal, held, storage = got
    assert name == board
    assert uid_len == (6 if chip == "esp32c3" else 8)
    assert same is True
    assert normal is False and held is True
    assert storage == "/data"


def test_picow_motor_and_buzzer_are_on_different_pwm_slices() -> None:
    # the two channels of an RP2040 PWM slice share one frequency: same slice = wrong tone
    got = _run(
        "rp2",
        "picow",
        """
print(json.dumps([board.motor.pwm.slice(), board.buzzer.pwm.slice(),
                  board.motor.pwm.freq(), board.buzzer.pwm.freq()]))
""",
    )
    motor_slice, buzzer_slice, motor_hz, buzzer_hz = got
    assert motor_slice != buzzer_slice
    assert (motor_hz, buzzer_hz) == (20000, 2700)


@pytest.mark.parametrize(
    ("chip", "snippet", "expected"),
    [
        ("rp2", "machine.Pin(29)", "invalid pin"),  # the Pico W's radio owns GP29
        ("esp32c3", "machine.Pin(22)", "invalid pin"),
        ("rp2", "machine.PWM(machine.Pin(2), freq=4)", "freq out of range"),
        ("esp32c3", "machine.PWM(machine.Pin(2)).duty_u16(65536)", "duty_u16"),
        ("esp32c3", "machine.Timer(-1)", "does not exist"),
        ("esp32c3", "machine.Timer(0).init(period=5, hard=False)", "unexpected keyword"),
        ("rp2", "machine.Pin(3, machine.Pin.IN).irq(trigger=4)", "trigger not supported"),
        ("esp32c3", "machine.Pin(3, machine.Pin.IN).value()", "floating"),
    ],
)
def test_standin_rejects_what_the_chip_would(chip: str, snippet: str, expected: str) -> None:
    code = f"""
import json, machine
machine.use_chip({chip!r})
try:
    {snippet}
    print(json.dumps("accepted"))
except Exception as e:
    print(json.dumps(str(e)))
"""
    out = run_mpy(code, extra_path=[Path(STANDINS)])
    assert expected in json.loads(out.strip().splitlines()[-1])


def test_standin_catches_an_irq_handler_that_allocates() -> None:
    code = """
import json, machine
machine.use_chip("esp32c3")
pin = machine.Pin(4, machine.Pin.IN, machine.Pin.PULL_UP)
seen = []
pin.irq(handler=lambda p: seen.append([p]), trigger=machine.Pin.IRQ_FALLING)
try:
    pin.drive(0)
    print(json.dumps("allocated"))
except MemoryError:
    print(json.dumps("MemoryError"))
"""
    out = run_mpy(code, extra_path=[Path(STANDINS)])
    assert json.loads(out.strip().splitlines()[-1]) == "MemoryError"


def test_config_file_can_make_a_one_button_buzzer_only_build() -> None:
    code = """
import json, time, machine
machine.use_chip("esp32c3")
from repcue_fw.boards import load
Board = load("esp32c3")
board = Board({"buttons": [4], "mapping": [[3, 2, 5]], "motor": None})
pin = machine.Pin(4)
board.start()
def tap(t_ms):
    pin.drive(0)
    t = board._edge_ticks[0]
    board.sample(time.ticks_add(t, 25))
    pin.drive(1)
    board.sample(time.ticks_add(board._edge_ticks[0], 25))
    return t
t = tap(0)
board.sample(time.ticks_add(t, 400))
single = board.buttons.get_nowait()[0]
tap(0); tap(0)
double = board.buttons.get_nowait()[0]
board.cue(2, (100,))
try:
    Board({"buttons": [4, 9], "mapping": [[3, 0, 0]]})
    mismatch = None
except ValueError as e:
    mismatch = str(e)
print(json.dumps([single, double, board.motor is None, board.buzzer.pwm.duty_u16(), mismatch]))
"""
    out = run_mpy(code, extra_path=[Path(STANDINS)])
    single, double, no_motor, buzzer_duty, mismatch = json.loads(out.strip().splitlines()[-1])
    assert (single, double) == (3, 2)  # lap; pause (start when idle)
    assert no_motor is True and buzzer_duty == 32768
    assert mismatch is not None and "one (short, double, long) per button" in mismatch
