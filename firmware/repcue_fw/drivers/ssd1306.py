# SSD1306 128x64 monochrome OLED on I2C: the display protocol of issue 14's CONTRACT item 1
# in framebuf.MONO_VLSB (one byte = 8 pixels of a column, bit 0 on top), the SSD1306's own
# GDDRAM layout, so a band goes to the panel as it is.
#
# From the Solomon Systech SSD1306 datasheet: I2C address 0x3C (SA0 low); every transfer
# starts with a control byte, 0x00 = command bytes follow, 0x40 = display data follows (8.1.5);
# commands (section 9 and the application note's init sequence): AE/AF display off (sleep)
# / on, D5 clock, A8 multiplex ratio 63, D3 offset 0, 40 start line, 8D 14 charge pump on
# (needed to light the panel from 3.3 V), 20 00 horizontal addressing, A1 segment remap, C8
# COM scan remapped, DA 12 COM pins, 81 contrast, D9 pre-charge, DB VCOMH, A4 follow RAM,
# A6 normal; 21 / 22 set the column / page window a data write fills.
import framebuf
from micropython import const

from repcue_fw.drivers import band_part

_ADDR = const(0x3C)
_INIT = (
    b"\x00\xae\xd5\x80\xa8\x3f\xd3\x00\x40\x8d\x14\x20\x00\xa1\xc8"
    b"\xda\x12\x81\xcf\xd9\xf1\xdb\x40\xa4\xa6\xaf"
)


class SSD1306:
    def __init__(self, i2c, addr=_ADDR, band_rows=64):
        self.width = 128
        self.height = 64
        self.fmt = framebuf.MONO_VLSB
        self.band_rows = band_rows  # the whole 1 KB frame fits: one band
        self._i2c = i2c
        self._addr = addr
        self._win = bytearray(b"\x00\x21\x00\x7f\x22\x00\x07")
        self._onoff = bytearray(b"\x00\xaf")
        self._vec = [b"\x40", None]  # control byte, data: writevto sends both in one transfer
        self._last = None
        i2c.writeto(addr, _INIT)

    def rgb(self, r, g, b):
        return 1 if r * 77 + g * 150 + b * 29 >= 128 * 256 else 0

    def blit(self, buf, x, y, w, h):
        # y and h in whole pages (multiples of 8): the SSD1306 addresses 8-pixel pages
        win = self._win
        win[2] = x
        win[3] = x + w - 1
        win[5] = y >> 3
        win[6] = (y + h - 1) >> 3
        self._i2c.writeto(self._addr, win)
        vec = self._vec
        vec[1] = band_part(self, buf, w * (h >> 3))
        self._i2c.writevto(self._addr, vec)
        vec[1] = None

    def on(self, flag):
        self._onoff[1] = 0xAF if flag else 0xAE
        self._i2c.writeto(self._addr, self._onoff)
