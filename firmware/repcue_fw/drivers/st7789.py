# ST7789 colour panel on SPI: the display protocol of issue 14's CONTRACT item 1 (width,
# height, fmt, band_rows, rgb(), blit(), on()).
#
# Commands from the Sitronix ST7789V datasheet, 9.1: SWRESET 01 (wait 120 ms), SLPIN 10 /
# SLPOUT 11 (wait 5 ms before the next command, 120 ms before SLPIN), INVON 21 (the IPS
# panels of both wearables need inversion for true colours, as TFT_eSPI's and M5GFX's
# configurations for them set), DISPOFF 28 / DISPON 29, CASET 2A / RASET 2B (start, end: 16
# bits each, high byte first), RAMWR 2C, MADCTL 36, COLMOD 3A (0x55: RGB565). D/C low = a
# command byte, high = its data. A panel smaller than the 240x320 frame memory sits at an
# offset in it: `offset` (x, y) is added to every window (M5StickC Plus2: 52, 40; T-Watch S3,
# mounted upside down and drawn with MADCTL MX|MY: 0, 80; both from TFT_eSPI's
# ST7789_Rotation.h and the boards' vendors' libraries).
import time

import framebuf
from micropython import const

from repcue_fw.drivers import band_part

_SWRESET = const(0x01)
_SLPIN = const(0x10)
_SLPOUT = const(0x11)
_INVON = const(0x21)
_DISPOFF = const(0x28)
_DISPON = const(0x29)
_CASET = const(0x2A)
_RASET = const(0x2B)
_RAMWR = const(0x2C)
_MADCTL = const(0x36)
_COLMOD = const(0x3A)


class ST7789:
    def __init__(self, spi, cs, dc, size, offset, madctl, rst=None, bl=None, band_rows=4):
        # cs, dc, rst, bl: machine.Pin outputs (rst/bl may be None); size: (w, h) as worn
        self.width, self.height = size
        self.fmt = framebuf.RGB565
        self.band_rows = band_rows
        self._spi = spi
        self._cs = cs
        self._dc = dc
        self._bl = bl
        self._x0, self._y0 = offset
        self._cmd1 = bytearray(1)
        self._win = bytearray(4)
        self._last = None  # (buf, nbytes, view): the one slice blit() keeps
        cs.value(1)
        if rst is not None:
            rst.value(0)
            time.sleep_ms(10)
            rst.value(1)
            time.sleep_ms(120)
        self._command(_SWRESET)
        time.sleep_ms(120)
        self._command(_SLPOUT)
        time.sleep_ms(120)
        self._command(_COLMOD, b"\x55")
        self._command(_MADCTL, bytes((madctl,)))
        self._command(_INVON)
        self._command(_DISPON)
        if bl is not None:
            bl.value(1)

    def _command(self, cmd, data=None):
        self._cmd1[0] = cmd
        self._cs.value(0)
        self._dc.value(0)
        self._spi.write(self._cmd1)
        if data is not None:
            self._dc.value(1)
            self._spi.write(data)
        self._cs.value(1)

    def _window(self, cmd, start, end):
        w = self._win
        w[0] = start >> 8
        w[1] = start & 0xFF
        w[2] = end >> 8
        w[3] = end & 0xFF
        self._command(cmd, w)

    def rgb(self, r, g, b):
        v = ((r & 0xF8) << 8) | ((g & 0xFC) << 3) | (b >> 3)
        # framebuf stores little-endian; the panel reads the high byte first
        return ((v & 0xFF) << 8) | (v >> 8)

    def blit(self, buf, x, y, w, h):
        x += self._x0
        y += self._y0
        self._window(_CASET, x, x + w - 1)
        self._window(_RASET, y, y + h - 1)
        self._command(_RAMWR, band_part(self, buf, w * h * 2))

    def on(self, flag):
        if flag:
            self._command(_SLPOUT)
            time.sleep_ms(5)
            self._command(_DISPON)
        else:
            self._command(_DISPOFF)
            self._command(_SLPIN)
        if self._bl is not None:
            self._bl.value(1 if flag else 0)
