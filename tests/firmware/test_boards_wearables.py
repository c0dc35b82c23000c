"""The M5StickC Plus2 and T-Watch S3 profiles and their drivers (ST7789, DRV2605, AXP2101, the
touch panel, the ADC battery), and the SSD1306 on a DIY ESP32-C3, in the real micropython
binary against the `machine` stand-in and the chip models of device/repcue_device/ (wired as
the boards' PCBs are in tests/vm/wearables.py). What this does not prove (timing,
electrical, real glass): docs/hardware.md."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.mpy import ROOT, run_mpy

STANDINS = ROOT / "device" / "repcue_device"

RED = 0xF800
GREEN = 0x07E0
BLUE = 0x001F


def _run(body: str) -> Any:
    code = "import json, time, machine, machine_buses, chip_models, wearables\n" + body
    out = run_mpy(code, extra_path=[STANDINS])
    return json.loads(out.strip().splitlines()[-1])


BAND = """
import framebuf
d = board.display
band = bytearray(d.width * d.band_rows * 2)
fb = framebuf.FrameBuffer(band, d.width, d.band_rows, d.fmt)
"""


@pytest.mark.parametrize(
    ("board", "size"), [("m5stickc_plus2", [135, 240]), ("twatch_s3", [240, 240])]
)
def test_st7789_band_lands_on_the_glass_at_the_panel_offsets(board: str, size: list[int]) -> None:
    got = _run(
        f"""
board, parts = wearables.make({board!r})
panel = parts["panel"]
"""
        + BAND
        + """
fb.fill(d.rgb(0, 0, 255))
fb.pixel(3, 2, d.rgb(255, 0, 0))
fb.pixel(d.width - 1, d.band_rows - 1, d.rgb(0, 255, 0))
y0 = d.height - d.band_rows                   # the last band: the edge of the glass
d.blit(band, 0, y0, d.width, d.band_rows)
first = [panel.seen(3, y0 + 2), panel.seen(0, y0), panel.seen(d.width - 1, d.height - 1),
         panel.seen(0, y0 - 1), wearables.lit_pixels(panel)]
# a part of the band (the countdown's box): its first w*h pixels, row-major
fb2 = framebuf.FrameBuffer(band, 20, 8, d.fmt)
fb2.fill(d.rgb(255, 0, 0))
d.blit(band, 10, 100, 20, 8)
d.blit(band, 10, 100, 20, 8)                  # again: the kept slice is reused
part = [panel.seen(10, 100), panel.seen(29, 107), panel.seen(30, 107), panel.seen(10, 108),
        wearables.lit_pixels(panel)]
print(json.dumps([[d.width, d.height, d.band_rows], panel.lit(), panel.inverted,
                  panel.colmod, sorted(panel.spi_modes), first, part]))
"""
    )
    dims, lit, inverted, colmod, modes, first, part = got
    w, h = size
    assert dims == [w, h, 4]  # the driver's default band: 4 rows
    assert lit is True and inverted is True and colmod == 0x55
    assert modes == [[0, 0]]
    assert first[:4] == [RED, BLUE, GREEN, 0]  # marker, fill, far corner, the band above: dark
    assert first[4] == w * 4  # nothing written outside the glass window
    assert part[:4] == [RED, RED, 0, 0]  # exactly the 20x8 box
    assert part[4] == w * 4 + 20 * 8


def test_st7789_colours_are_byte_swapped_rgb565_and_the_panel_sleeps() -> None:
    got = _run(
        """
board, parts = wearables.make("m5stickc_plus2")
panel, d = parts["panel"], board.display
colours = [d.rgb(255, 0, 0), d.rgb(0, 255, 0), d.rgb(0, 0, 255), d.rgb(255, 255, 255)]
bl = machine.Pin(27)
before = [panel.lit(), bl.value()]
d.on(False)
off = [panel.lit(), panel.sleeping, bl.value()]
d.on(True)
on = [panel.lit(), panel.sleeping, bl.value()]
print(json.dumps([colours, before, off, on, panel.commands[-4:]]))
"""
    )
    colours, before, off, on, last = got
    assert colours == [0x00F8, 0xE007, 0x1F00, 0xFFFF]  # framebuf stores the low byte first
    assert before == [True, 1]
    assert off == [False, True, 0]  # DISPOFF + SLPIN, backlight off
    assert on == [True, False, 1]
    assert last == [0x28, 0x10, 0x11, 0x29]


def test_ssd1306_on_a_diy_board_from_the_config_file() -> None:
    got = _run(
        """
board, parts = wearables.make("esp32c3", wearables.OLED_CONFIG)
oled = parts["oled"]
"""
        + BAND.replace("* 2)", "// 8)")
        + """
fb.fill(0)
fb.rect(0, 0, 128, 64, d.rgb(255, 255, 255))
fb.pixel(60, 20, d.rgb(200, 200, 200))
fb.pixel(61, 20, d.rgb(40, 40, 40))           # too dark to light
d.blit(band, 0, 0, d.width, d.band_rows)
frame = [oled.seen(0, 0), oled.seen(127, 63), oled.seen(60, 20), oled.seen(61, 20),
         oled.seen(1, 1), sum(bin(b).count("1") for b in oled.gddram)]
fb2 = framebuf.FrameBuffer(band, 8, 8, d.fmt)
fb2.fill(1)
d.blit(band, 40, 24, 8, 8)                    # one page, 8 columns
box = [oled.seen(40, 24), oled.seen(47, 31), oled.seen(48, 31), oled.seen(40, 32)]
lit = oled.lit()
d.on(False)
print(json.dumps([[d.width, d.height, d.fmt == framebuf.MONO_VLSB], frame, box, lit,
                  oled.lit()]))
"""
    )
    dims, frame, box, lit, after_off = got
    assert dims == [128, 64, True]
    assert frame == [1, 1, 1, 0, 0, 2 * 128 + 2 * 62 + 1]  # the border and one pixel
    assert box == [1, 1, 0, 0]
    assert lit is True and after_off is False


def test_drv2605_plays_the_cue_effects_and_strength_zero_mutes() -> None:
    got = _run(
        """
board, parts = wearables.make("twatch_s3")
drv = parts["haptics"]
regs = [drv.regs[0x01], drv.regs[0x03], drv.regs[0x1A] & 0x80, drv.regs[0x1D] & 0x20]
board.cue(2, (700,))      # work
board.cue(3, (150, 120, 150))   # recovery
board.cue(1, (80,))       # countdown
board.set_cue_strength(0)
board.cue(2, (700,))
muted = len(drv.played)
board.set_cue_strength(100)
board.cue(5, (500, 150, 500))   # last rep: long, pause, long
print(json.dumps([regs, drv.played, muted, drv.refused, board.player]))
"""
    )
    regs, played, muted, refused, player = got
    assert regs == [0x00, 1, 0, 0x20]  # out of standby, library A, ERM, open loop
    assert played[:3] == [[1, False, [15]], [1, False, [10]], [1, False, [24]]]
    assert muted == 3
    assert played[3] == [1, False, [15, 0x80 | 15, 15]]
    assert refused == 0
    assert player is None  # no PWM outputs: no timer runs for the cues


def test_drv2605_in_standby_refuses_go() -> None:
    got = _run(
        """
board, parts = wearables.make("twatch_s3")
board.haptics.standby(True)
board.cue(2, (700,))
print(json.dumps([parts["haptics"].played, parts["haptics"].refused]))
"""
    )
    assert got == [[], 1]


def test_axp2101_battery_and_the_rails_the_twatch_needs() -> None:
    got = _run(
        """
board, parts = wearables.make("twatch_s3")
pmu = parts["pmu"]
rails = [pmu.rail(n) for n in ("aldo2", "aldo3", "bldo2", "aldo4")]
out = []
for pct, charging, present in ((63, True, True), (100, False, True), (7, False, True),
                               (50, False, False)):
    pmu.set_battery(pct, charging, present)
    out.append([board.battery_pct(), board.battery.charging()])
print(json.dumps([rails, pmu.regs[0x18] & 0x08, out]))
"""
    )
    rails, gauge, readings = got
    assert rails == [[True, 3300], [True, 3300], [True, 3300], [False, 500]]
    assert gauge == 0x08  # the fuel gauge switched on
    assert readings == [[63, True], [100, False], [7, False], [None, False]]


def test_m5_battery_from_the_adc_through_its_divider() -> None:
    got = _run(
        """
board, parts = wearables.make("m5stickc_plus2")
out = []
for uv in (1500000, 1650000, 1850000, 2075000, 2150000):
    machine_buses.set_voltage(38, uv)
    out.append(board.battery_pct())
print(json.dumps(out))
"""
    )
    empty, zero, half, full, over = got
    assert (empty, zero) == (0, 0)  # 3.0 V and 3.3 V cells: empty
    assert half in (49, 50)  # 3.7 V (12-bit ADC steps)
    assert (full, over) == (100, 100)  # 4.15 V (charged) and above


def test_m5_power_hold_is_high_and_its_buttons_work_without_internal_pulls() -> None:
    got = _run(
        """
board, parts = wearables.make("m5stickc_plus2")
hold = machine.Pin(4)
pins = [[machine.Pin(g).mode, machine.Pin(g).pull] for g in (37, 39, 35)]
board.start()
a = machine.Pin(37)
a.drive(0)
t = board._edge_ticks[0]
board.sample(time.ticks_add(t, 25))
lap = board.buttons.get_nowait()
a.drive(1)
power = machine.Pin(35)
power.drive(0)
board.sample(time.ticks_add(board._edge_ticks[2], 25))
nothing = board.buttons.get_nowait()
print(json.dumps([hold.mode == machine.Pin.OUT, hold.value(), board.hold is hold, pins,
                  lap[0], nothing, board.buzzer.pwm.freq()]))
"""
    )
    is_out, level, same, pins, lap, nothing, buzzer_hz = got
    assert is_out is True and level == 1 and same is True
    assert pins == [[1, None]] * 3  # inputs, no pull requested (34-39 have none)
    assert lap == 3
    assert nothing is None  # the power button maps to no logical button
    assert buzzer_hz == 4000


def test_twatch_touch_is_a_button_through_the_gesture_decoder() -> None:
    got = _run(
        """
board, parts = wearables.make("twatch_s3")
touch = parts["touch"]
board.start()
q = board.buttons
def sample(dt):
    board.sample(time.ticks_add(board._edge_ticks[0], dt))
touch.touch(120, 200); sample(25); touch.release(); sample(25)
waiting = len(q)
sample(25 + 300)
tap = q.get_nowait()[0]
touch.touch(30, 30); sample(25); sample(900)
hold = q.get_nowait()[0]
touch.release(); sample(25)
touch.touch(1, 1); sample(25); touch.release(); sample(25)
touch.touch(1, 1); sample(25); touch.release(); sample(25)
double = q.get_nowait()[0]
print(json.dumps([touch.regs[0xA4], waiting, tap, hold, double, board.safe_mode()]))
"""
    )
    g_mode, waiting, tap, hold, double, safe = got
    assert g_mode == 0  # INT held low while touched
    assert waiting == 0  # a tap waits out the double-tap window...
    assert (tap, hold, double) == (3, 5, 2)  # ...then lap; hold: stop; double: pause
    assert safe is False


@pytest.mark.parametrize(
    ("chip", "snippet", "expected"),
    [
        ("esp32", "machine.Pin(36, machine.Pin.OUT)", "can only be input"),
        ("esp32", "machine.Pin(36, machine.Pin.IN, machine.Pin.PULL_UP)", "no pull"),
        ("esp32", "machine.PWM(machine.Pin(39))", "can only be input"),
        ("esp32", "machine.Pin(16)", "invalid pin"),  # the PICO-V3-02's PSRAM
        ("esp32s3", "machine.Pin(35)", "invalid pin"),  # the S3R8's octal PSRAM
        ("esp32", "machine.I2C(0, scl=22, sda=21).writeto(0x50, b'x')", "[Errno 19]"),
        ("rp2", "machine.I2C(0, scl=5, sda=4).readfrom(0x3C, 1)", "[Errno 5]"),
        ("esp32", "machine.I2C(2, scl=22, sda=21)", "doesn't exist"),
        ("esp32", "machine.I2C(0, scl=36, sda=21)", "can only be input"),
        ("esp32", "machine.SPI(1, 80000000, sck=13, mosi=15)", "baudrate out of range"),
        ("esp32", "machine.SPI(3, 1000000, sck=13, mosi=15)", "doesn't exist"),
        ("esp32", "machine.ADC(machine.Pin(5))", "invalid Pin for ADC"),
    ],
)
def test_standin_buses_refuse_what_the_chip_would(chip: str, snippet: str, expected: str) -> None:
    got = _run(
        f"""
machine.use_chip({chip!r})
try:
    {snippet}
    print(json.dumps("accepted"))
except Exception as e:
    print(json.dumps(str(e)))
"""
    )
    assert expected in got


def test_standin_spi_at_80mhz_on_the_iomux_pins_is_accepted() -> None:
    got = _run(
        """
machine.use_chip("esp32")
spi = machine.SPI(2, 80000000, sck=18, mosi=23)   # VSPI's own pins: no GPIO-matrix limit
print(json.dumps(spi.baudrate))
"""
    )
    assert got == 80000000


def test_blit_on_and_the_haptic_cue_allocate_nothing() -> None:
    # the drivers alone on buses that keep nothing (the stand-in's own buses record what
    # they see, which allocates): with the heap locked, any allocation is a MemoryError
    got = _run(
        """
import framebuf, micropython
from repcue_fw.drivers.st7789 import ST7789
from repcue_fw.drivers.ssd1306 import SSD1306
from repcue_fw.drivers.drv2605 import DRV2605

class NullBus:
    n = 0
    def write(self, buf):
        self.n += len(buf)
    def writeto(self, addr, buf):
        self.n += len(buf)
    def writevto(self, addr, vector):
        for b in vector:
            self.n += len(b)
    def writeto_mem(self, addr, reg, buf):
        self.n += len(buf)
    def readfrom_mem_into(self, addr, reg, buf):
        buf[0] = 7 << 5 if reg == 0 else 0

machine.use_chip("esp32")
Pin = machine.Pin
bus = NullBus()
tft = ST7789(bus, Pin(5, Pin.OUT), Pin(14, Pin.OUT), (135, 240), (52, 40), 0, bl=Pin(27, Pin.OUT))
oled = SSD1306(bus)
drv = DRV2605(bus)
band = bytearray(135 * 16 * 2)
mono = bytearray(128 * 64 // 8)
tft.blit(band, 10, 100, 20, 8)        # first time: the kept slice is made
oled.blit(mono, 0, 8, 64, 16)
failed = []
for name, call in (("tft band", lambda: tft.blit(band, 0, 32, 135, 16)),
                   ("tft box", lambda: tft.blit(band, 10, 100, 20, 8)),
                   ("tft off", lambda: tft.on(False)),
                   ("oled page", lambda: oled.blit(mono, 0, 0, 128, 64)),
                   ("oled box", lambda: oled.blit(mono, 0, 8, 64, 16)),
                   ("oled on", lambda: oled.on(True)),
                   ("drv cue", lambda: drv.cue(2))):
    micropython.heap_lock()
    try:
        call()
    except MemoryError:
        failed.append(name)
    finally:
        micropython.heap_unlock()
print(json.dumps([failed, bus.n > 0]))
"""
    )
    assert got == [[], True]


def test_a_part_that_does_not_answer_is_left_out_and_logged() -> None:
    got = _run(
        """
wearables.wire("twatch_s3")
machine_buses.reset()                          # an OLED named in the config, none on the bus
machine.use_chip("esp32c3")
from repcue_fw.boards import load
c3 = load("esp32c3")(wearables.OLED_CONFIG)
parts = wearables.wire("twatch_s3")
del machine_buses._i2c_wired[(11, 10, 0x5A)]   # a T-Watch whose DRV2605 does not answer
tw = load("twatch_s3")({})
tw.cue(2, (700,))
print(json.dumps([c3.display, c3.last_error, tw.haptics, tw.last_error,
                  tw.display is not None, tw.battery_pct()]))
"""
    )
    c3_display, c3_error, haptics, tw_error, tw_display, battery = got
    assert c3_display is None and "display" in c3_error and "19" in c3_error
    assert haptics is None and tw_error.startswith("haptics")
    assert tw_display is True and battery == 100  # the rest of the watch works
