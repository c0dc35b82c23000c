# Chip drivers for the boards that have the parts (CONTRACT of issue 14): st7789 (SPI colour
# panel), ssd1306 (I2C 128x64 OLED), drv2605 (I2C haptics), axp2101 (I2C PMU). Only the
# board profile that uses one imports it (boards/parts.py), and `repcue firmware build
# --board NAME` copies only the ones that board uses.


class RegDevice:
    """An I2C chip addressed by 8-bit registers, read and written through one byte kept for it
    (no allocation per access)."""

    def __init__(self, i2c, addr):
        self._i2c = i2c
        self._addr = addr
        self._b = bytearray(1)

    def _read(self, reg):
        self._i2c.readfrom_mem_into(self._addr, reg, self._b)
        return self._b[0]

    def _write(self, reg, value):
        self._b[0] = value
        self._i2c.writeto_mem(self._addr, reg, self._b)

    def _set_bits(self, reg, bits):
        self._write(reg, self._read(reg) | bits)


def band_part(driver, buf, n):
    """The first n bytes of a band buffer for a blit of part of it. The view is kept on the
    driver (driver._last), so redrawing the same region (the countdown, once a second)
    allocates nothing after the first time."""
    if n == len(buf):
        return buf
    last = driver._last
    if last is None or last[0] is not buf or last[1] != n:
        last = (buf, n, memoryview(buf)[:n])
        driver._last = last
    return last[2]
