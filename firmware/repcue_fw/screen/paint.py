# Drawing into the ONE band buffer (width x band_rows pixels, allocated once) with the
# built-in framebuf: text from framebuf's 8x8 font, scaled by filling rects, and large
# seven-segment digits made of rects (no font data in RAM). Coordinates are the screen's;
# begin(y) sets which rows the band holds, and everything outside is clipped by framebuf.
# Nothing here allocates: text comes as a bytearray of ASCII codes, and chr() of an ASCII
# code is an interned string.
import framebuf

# segments a..g as bits 0..6, for the digits 0-9
_SEGMENTS = b"\x3f\x06\x5b\x4f\x66\x6d\x7d\x07\x7f\x6f"
COLON = 10  # in a digits string: the colon


class Painter:
    def __init__(self, display):
        self.display = display
        self.w = display.width
        self.rows = display.band_rows
        if display.fmt == framebuf.MONO_VLSB:
            size = self.w * self.rows // 8
        else:
            size = self.w * self.rows * 2
        self.buf = bytearray(size)
        self.fb = framebuf.FrameBuffer(self.buf, self.w, self.rows, display.fmt)
        self.glyph = bytearray(8)  # one 8x8 character, to scale it up
        self.gfb = framebuf.FrameBuffer(self.glyph, 8, 8, framebuf.MONO_HLSB)
        self.y0 = 0

    def begin(self, y, bg):
        """Start the band whose top row is screen row y."""
        self.y0 = y
        self.fb.fill(bg)

    def send(self, rows):
        """Write the band's first `rows` rows to the panel."""
        self.display.blit(self.buf, 0, self.y0, self.w, rows)

    def rect(self, x, y, w, h, c):
        self.fb.fill_rect(x, y - self.y0, w, h, c)

    def text(self, txt, n, x, y, s, c):
        """The first n ASCII codes of txt at (x, y), each 8*s pixels square."""
        y -= self.y0
        if y >= self.rows or y + 8 * s <= 0:
            return
        fb = self.fb
        if s == 1:
            for i in range(n):
                fb.text(chr(txt[i]), x + 8 * i, y, c)
            return
        gfb = self.gfb
        glyph = self.glyph
        for i in range(n):
            gfb.fill(0)
            gfb.text(chr(txt[i]), 0, 0, 1)
            gx = x + 8 * s * i
            for py in range(8):
                bits = glyph[py]
                if not bits:
                    continue
                ry = y + py * s
                px = 0
                while px < 8:  # one rect per run of lit pixels
                    if bits & (0x80 >> px):
                        run = px
                        while px < 8 and bits & (0x80 >> px):
                            px += 1
                        fb.fill_rect(gx + run * s, ry, (px - run) * s, s, c)
                    px += 1

    def digits(self, dg, n, x, y, dw, dh, c):
        """n seven-segment digits (values 0-9, or COLON) from dg at (x, y), each dw x dh;
        a colon takes dw // 2."""
        t = dw // 6 + 1  # segment thickness
        gap = dw // 5
        y -= self.y0
        if y >= self.rows or y + dh <= 0:
            return
        fb = self.fb
        half = dh // 2
        for i in range(n):
            d = dg[i]
            if d == COLON:
                cx = x + dw // 4 - t // 2
                fb.fill_rect(cx, y + dh // 3 - t // 2, t, t, c)
                fb.fill_rect(cx, y + dh * 2 // 3 - t // 2, t, t, c)
                x += dw // 2 + gap
                continue
            m = _SEGMENTS[d]
            if m & 1:
                fb.fill_rect(x, y, dw, t, c)
            if m & 2:
                fb.fill_rect(x + dw - t, y, t, half, c)
            if m & 4:
                fb.fill_rect(x + dw - t, y + half, t, dh - half, c)
            if m & 8:
                fb.fill_rect(x, y + dh - t, dw, t, c)
            if m & 16:
                fb.fill_rect(x, y + half, t, dh - half, c)
            if m & 32:
                fb.fill_rect(x, y, t, half, c)
            if m & 64:
                fb.fill_rect(x, y + half - t // 2, dw, t, c)
            x += dw + gap

    def digits_width(self, dg, n, dw):
        gap = dw // 5
        w = 0
        for i in range(n):
            w += (dw // 2 if dg[i] == COLON else dw) + gap
        return w - gap
