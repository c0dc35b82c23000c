# The optional parts of a board profile (hw.py imports this only when a profile has one, so
# the ESP32-C3 and Pico W builds without them load none of it):
#
#   hold      gpio driven high first thing: the M5StickC Plus2's power-hold line (on battery
#             the board turns itself off as soon as the power button is released without it)
#   i2c       ((id, scl, sda, freq_hz), ...): the buses the I2C parts below sit on
#   pmu       (i2c_id, ((ldo_index, mv), ...)): an AXP2101 and the rails it must turn on
#   display   {"driver": "st7789", "spi": (id, baudrate, sck, mosi), "cs", "dc", "rst",
#             "bl", "size": (w, h), "offset": (x, y), "madctl", "band_rows"} or
#             {"driver": "ssd1306", "i2c": i2c_id}
#   haptics   (i2c_id, lra): a DRV2605 plays the cues
#   battery   ("adc", gpio, divider) or ("pmu",)
#   touch     (i2c_id, int_gpio): an FT6336 touch panel as one more button (a tap = a press)
import machine

_FT_TD_STATUS = 0x02  # touch points, bits 3-0 (FocalTech FT6x36 register map)
_FT_G_MODE = 0xA4  # 0: INT held low while touched
_FT_ADDR = 0x38


class AdcBattery:
    """A LiPo cell through a resistor divider into an ADC pin; the percentage is M5Stack's
    M5Unified map for these boards (Power_Class::getBatteryLevel): (mv - 3300) * 100 / 800,
    clamped to 0-100."""

    def __init__(self, gpio, divider):
        self._adc = machine.ADC(machine.Pin(gpio), atten=machine.ADC.ATTN_11DB)
        self._divider = divider

    def battery_pct(self):
        mv = self._adc.read_uv() // 1000 * self._divider
        pct = (mv - 3300) * 100 // 800
        return 0 if pct < 0 else 100 if pct > 100 else pct


class TouchButton:
    """A touch panel as a button pin: irq() on its INT line, value() 0 while touched (read
    from TD_STATUS, not the INT level, so a lost edge cannot leave it pressed)."""

    def __init__(self, i2c, int_gpio):
        self._i2c = i2c
        self._int = machine.Pin(int_gpio, machine.Pin.IN)
        self.wake_pin = self._int  # low while touched: what wakes a sleeping board (hw.py)
        self._b = bytearray(1)
        self._b[0] = 0
        i2c.writeto_mem(_FT_ADDR, _FT_G_MODE, self._b)

    def irq(self, handler=None, trigger=3):
        return self._int.irq(handler=handler, trigger=trigger)

    def value(self):
        try:
            self._i2c.readfrom_mem_into(_FT_ADDR, _FT_TD_STATUS, self._b)
        except OSError:
            return 1  # a bus glitch reads as released: the scan task must not die
        return 0 if self._b[0] & 0x0F else 1


def build(board, profile):
    """Make the parts `profile` names; returns the extra button pins (the touch panel).

    A PMU, display or haptic driver that does not answer is left out (None) and logged in
    board.last_error: the board still runs its sessions, buzzing and counting without it."""
    Pin = machine.Pin
    hold = profile.get("hold")
    if hold is not None:
        board.hold = Pin(hold, Pin.OUT, value=1)
    buses = {}
    for bus_id, scl, sda, freq in profile.get("i2c", ()):
        buses[bus_id] = machine.I2C(bus_id, scl=Pin(scl), sda=Pin(sda), freq=freq)
    pmu = None
    spec = profile.get("pmu")
    if spec is not None:
        from repcue_fw.drivers.axp2101 import AXP2101

        try:
            pmu = AXP2101(buses[spec[0]])
            for index, mv in spec[1]:
                pmu.ldo(index, mv)
        except OSError as exc:
            pmu = None
            board.log("pmu: " + repr(exc))
    spec = profile.get("display")
    if spec is not None:
        try:
            board.display = _display(spec, buses)
        except OSError as exc:
            board.log("display: " + repr(exc))
    spec = profile.get("haptics")
    if spec is not None:
        from repcue_fw.drivers.drv2605 import DRV2605

        try:
            board.haptics = DRV2605(buses[spec[0]], lra=spec[1])
        except OSError as exc:
            board.log("haptics: " + repr(exc))
    spec = profile.get("battery")
    if spec is not None:
        board.battery = pmu if spec[0] == "pmu" else AdcBattery(spec[1], spec[2])
        if board.battery is not None:
            # the instance attribute shadows BoardBase.battery_pct (None): no method in hw.py
            # that boards without a battery would pay for
            board.battery_pct = board.battery.battery_pct
    spec = profile.get("touch")
    if spec is not None:
        return [TouchButton(buses[spec[0]], spec[1])]
    return []


def _display(spec, buses):
    Pin = machine.Pin
    if spec["driver"] == "ssd1306":
        from repcue_fw.drivers.ssd1306 import SSD1306

        return SSD1306(buses[spec["i2c"]])
    from repcue_fw.drivers.st7789 import ST7789

    spi_id, baudrate, sck, mosi = spec["spi"]
    spi = machine.SPI(spi_id, baudrate=baudrate, sck=Pin(sck), mosi=Pin(mosi))

    def out(key, level):
        gpio = spec.get(key)
        return None if gpio is None else Pin(gpio, Pin.OUT, value=level)

    return ST7789(
        spi,
        out("cs", 1),
        out("dc", 0),
        spec["size"],
        spec["offset"],
        spec["madctl"],
        rst=out("rst", 1),
        bl=out("bl", 0),
        band_rows=spec.get("band_rows", 4),
    )
