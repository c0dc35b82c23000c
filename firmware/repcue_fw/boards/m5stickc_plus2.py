# M5StickC Plus2 (ESP32-PICO-V3-02). Pin table and sources: docs/hardware.md.
#
#   G4    power hold: driven high at boot, or the board switches itself off on battery as
#         soon as the power button is released
#   G2    passive buzzer (PWM)
#   G37   button A (the big front button): lap, reported on the press itself
#   G39   button B (the side button): start or pause-resume / double: skip / hold: stop
#   G35   the power button (left side): no gesture (a 6 s hold cuts the power in hardware);
#         a press while awake only counts as activity, it cannot wake a sleeping chip (EXT0
#         is B, EXT1 A); G35/37/39 are input-only pads with the board's own pull-ups, active low
#   ST7789V2 135x240 on SPI: SCLK G13, MOSI G15, CS G5, DC G14, RST G12, backlight G27;
#         offset 52/40 in the controller's 240x320 memory
#   G38   battery voltage through a 1:2 divider (ADC1)
# Power: glances of 5 s and naps by default (docs/hardware.md, "Power"): on a dark screen the
# first press of B only lights it; 200 mAh lasts about 4 h with the screen lit all session.
# Not run on hardware yet: tested against the machine stand-in in device/repcue_device/.
from repcue_fw.boards.buttons import TWO_BUTTONS
from repcue_fw.boards.hw import HwBoard


class Board(HwBoard):
    name = "m5stickc_plus2"
    ble_connections = 4  # NimBLE as MicroPython's ESP32 port builds it
    GLANCE_MS = 5000
    NAPS = True
    GLANCE_BUTTON = 1  # B: EXT0 ends a nap on it
    PROFILE = {
        "hold": 4,
        "motor": None,
        "buzzer": (2, 4000, 32768),
        "buttons": (37, 39, 35),
        "pull": None,
        "mapping": TWO_BUTTONS + ((0, 0, 0),),  # noqa: RUF005 (MicroPython) power: activity only
        "timer_id": 0,
        "timer_kw": None,
        "storage": "/data",
        "display": {
            "driver": "st7789",
            "spi": (1, 40000000, 13, 15),  # GPIO-matrix pins: ESP-IDF's 40 MHz limit
            "cs": 5,
            "dc": 14,
            "rst": 12,
            "bl": 27,
            "size": (135, 240),
            "offset": (52, 40),
            "madctl": 0x00,
        },
        "battery": ("adc", 38, 2),
    }
