"""The wearables' PCBs for the `machine` stand-in: which chip models sit on which pins, as the
vendors document them (docs/hardware.md has the tables and sources). Runs inside the
MicroPython VM (tests/mpy.py puts tests/vm on its path, device/repcue_device must be too).

The glass geometry here is the board's physical truth, written independently of the
drivers' offsets: a driver with a wrong offset or MADCTL puts its pixels elsewhere."""

import chip_models
import machine
import machine_buses

# an SSD1306 on a DIY ESP32-C3 (the config the docs show)
OLED_CONFIG = {"i2c": [[0, 7, 8, 400000]], "display": {"driver": "ssd1306", "i2c": 0}}


def wire(board):
    """Select the board's chip and put its parts on the buses; returns the models by name."""
    parts = {}
    if board == "m5stickc_plus2":
        machine.use_chip("esp32")
        # ST7789V2: the 135x240 glass at column 52, row 40 of the 240x320 frame memory
        parts["panel"] = chip_models.ST7789(52, 40, 135, 240)
        machine_buses.wire_spi(parts["panel"], sck=13, mosi=15, cs=5, dc=14)
        for gpio in (37, 39, 35):
            machine.Pin(gpio).drive(1)  # the board's own pull-ups: released
        machine_buses.set_voltage(38, 1900000)  # a 3.8 V cell through the 1:2 divider
    elif board == "twatch_s3":
        machine.use_chip("esp32s3")
        # ST7789V: the 240x240 glass on rows 0-239, the panel mounted upside down
        parts["panel"] = chip_models.ST7789(0, 0, 240, 240, upside_down=True)
        machine_buses.wire_spi(parts["panel"], sck=18, mosi=13, cs=12, dc=38)
        parts["pmu"] = chip_models.AXP2101()
        parts["haptics"] = chip_models.DRV2605()
        machine_buses.wire_i2c(parts["pmu"], scl=11, sda=10, addr=0x34)
        machine_buses.wire_i2c(parts["haptics"], scl=11, sda=10, addr=0x5A)
        parts["touch"] = chip_models.FT6336(16)
        machine_buses.wire_i2c(parts["touch"], scl=40, sda=39, addr=0x38)
    elif board == "esp32c3":
        machine.use_chip("esp32c3")
        parts["oled"] = chip_models.SSD1306()
        machine_buses.wire_i2c(parts["oled"], scl=7, sda=8, addr=0x3C)
    elif board == "picow":
        machine.use_chip("rp2")
    return parts


def make(board, config=None):
    """The wired board's Board, built as app.pick_board() builds it."""
    from repcue_fw.boards import load

    parts = wire(board)
    return load(board)(config or {}), parts


def lit_pixels(panel):
    """How many pixels of the ST7789 model's whole frame memory are not black."""
    ram = panel.ram
    n = 0
    for i in range(0, len(ram), 2):
        if ram[i] or ram[i + 1]:
            n += 1
    return n
