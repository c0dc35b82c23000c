# LILYGO T-Watch S3 (ESP32-S3R8). Pin table and sources: docs/hardware.md.
#
#   I2C0  SCL G11, SDA G10: AXP2101 PMU (0x34), DRV2605 haptics (0x5A), BMA423, PCF8563
#   I2C1  SCL G40, SDA G39: FT6336 touch panel (0x38), its INT on G16
#   ST7789V 240x240 on SPI: SCLK G18, MOSI G13, CS G12, DC G38, no reset line, backlight
#         G45; mounted upside down: MADCTL MX|MY and offset 0/80 in the 240x320 memory
#   AXP2101 rails turned on here: ALDO2 3.3 V (backlight), ALDO3 3.3 V (display and touch),
#         BLDO2 3.3 V (the DRV2605's enable)
#   The touch panel is the one button: tap = lap, double tap = start or pause-resume,
#   hold = stop and save; a touch on a dark screen only lights it. The cues play on the
#   DRV2605's ERM motor (no buzzer).
# Power: glances of 5 s and naps by default (docs/hardware.md, "Power").
# Not run on hardware yet: tested against the machine stand-in in device/repcue_device/.
from repcue_fw.boards.hw import HwBoard
from repcue_fw.wire import events as ev


class Board(HwBoard):
    name = "twatch_s3"
    ble_connections = 4  # NimBLE as MicroPython's ESP32 port builds it
    GLANCE_MS = 5000
    NAPS = True
    GLANCE_BUTTON = 0  # the touch panel: on a dark screen a touch only lights it
    PROFILE = {
        "motor": None,
        "buzzer": None,
        "buttons": (),
        "mapping": ((ev.BTN_LAP, ev.BTN_PAUSE, ev.BTN_STOP),),
        "timer_id": 0,
        "timer_kw": None,
        "storage": "/data",
        "i2c": ((0, 11, 10, 400000), (1, 40, 39, 400000)),
        "pmu": (0, ((1, 3300), (2, 3300), (5, 3300))),  # ALDO2, ALDO3, BLDO2
        "display": {
            "driver": "st7789",
            "spi": (1, 40000000, 18, 13),
            "cs": 12,
            "dc": 38,
            "rst": None,
            "bl": 45,
            "size": (240, 240),
            "offset": (0, 80),
            "madctl": 0xC0,
        },
        "haptics": (0, False),  # ERM, library 1 (LilyGoLib: selectLibrary(1), useERM)
        "battery": ("pmu",),
        "touch": (1, 16),
    }
