# The virtual device's screen: a display driver (boards/__init__.py, "display") whose frame
# lives OUTSIDE the MicroPython heap, in a file the launcher creates (in /dev/shm when the
# system has it: a write to a disk-backed file can stall the loop for tens of ms while other
# processes flush; a board holds only the UI's band buffer and this driver: what
# bench/heap.py measures).
# blit() writes each band to the file at once with seek + write(buf, off, n): no copy of the
# frame in RAM, and nothing allocated. The host reads the file when it takes a screenshot
# (control op "screen", repcue.sim.screen).
#
# Config "screen": {"w": 135, "h": 240} = an RGB565 colour panel, {"w": 128, "h": 64,
# "mono": true} = an SSD1306-like one; "file": the frame file (made by the launcher, exactly
# the frame's size). File layout: RGB565 = h rows of w pixels, 2 bytes each, little-endian
# (framebuf's own order: the sim has no panel that wants the bytes swapped); MONO_VLSB =
# h/8 pages of w bytes, bit k of a byte the pixel k rows down the page (as the SSD1306's RAM).
import framebuf

_BAND_ROWS = 4  # as the ST7789 driver's: 1.1 KB for 135 px, 1.9 KB for 240 px


class SimDisplay:
    def __init__(self, cfg):
        self.width = int(cfg.get("w", 135))
        self.height = int(cfg.get("h", 240))
        self.mono = bool(cfg.get("mono", False))
        self.fmt = framebuf.MONO_VLSB if self.mono else framebuf.RGB565
        self.band_rows = 8 if self.mono else _BAND_ROWS
        self.lit = True
        self.blits = 0
        self._bpp2 = 0 if self.mono else 1  # bytes per pixel - 1 (RGB565: 2)
        self._file = open(cfg["file"], "r+b")

    def rgb(self, r, g, b):
        if self.mono:
            return 1 if r * 299 + g * 587 + b * 114 >= 128000 else 0
        return ((r & 0xF8) << 8) | ((g & 0xFC) << 3) | (b >> 3)

    def blit(self, buf, x, y, w, h):
        f = self._file
        if self.mono:  # pages: y and h are multiples of 8
            row_bytes = w
            line = self.width
            first = y // 8
            n = h // 8
            pix = x
        else:
            row_bytes = w * 2
            line = self.width * 2
            first = y
            n = h
            pix = x * 2
        if x == 0 and w == self.width:  # whole rows: one write
            f.seek(first * line)
            f.write(buf, 0, n * row_bytes)
        else:
            for i in range(n):
                f.seek((first + i) * line + pix)
                f.write(buf, i * row_bytes, row_bytes)
        # no flush: the unix port's file is unbuffered (each write a write(2), which the host
        # sees at once), and its flush() is an fsync that costs milliseconds a band
        self.blits += 1

    def on(self, flag):
        self.lit = bool(flag)

    def close(self):
        self._file.close()
