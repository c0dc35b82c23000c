"""The virtual device's screen on the host: its frame (the file the firmware's sim display
writes band by band, firmware/repcue_fw/boards/sim/display.py), read through the control
op "screen", decoded to RGB, written as a PNG with the standard library only (zlib, struct),
and drawn in a terminal with half-block characters.

Control op "screen" replies {"w", "h", "mono", "file", "on", "frames", "t", "ms"}: the
panel's size and kind, the frame file, whether the panel is lit, and how many redraws the
UI has finished (the board replies between redraws, never halfway through one).
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repcue.errors import SimError

DEFAULT_SCREEN = {"w": 135, "h": 240}  # the M5StickC Plus2's ST7789, portrait
MONO_SCREEN = {"w": 128, "h": 64, "mono": True}  # an SSD1306
RGB = tuple[int, int, int]


def frame_bytes(w: int, h: int, mono: bool) -> int:
    """The size of a frame file: RGB565 2 bytes a pixel, MONO_VLSB a bit (pages of 8 rows)."""
    return w * h // 8 if mono else w * h * 2


def screen_config(spec: dict[str, Any], frame_file: Path) -> dict[str, Any]:
    """The sim board's "screen" config for a panel spec ({"w", "h", "mono"?}), checked."""
    w, h, mono = int(spec.get("w", 0)), int(spec.get("h", 0)), bool(spec.get("mono", False))
    if not (8 <= w <= 480 and 8 <= h <= 480):
        raise SimError(f"a screen of {w}x{h} pixels: each side must be 8..480")
    if mono and h % 8:
        raise SimError(f"a monochrome screen's height must be a multiple of 8, got {h}")
    return {"w": w, "h": h, "mono": mono, "file": str(frame_file)}


def quantize(rgb: RGB) -> RGB:
    """What a colour looks like after RGB565 (the colour panel's format) and back."""
    r, g, b = rgb
    return _expand((r & 0xF8) << 8 | (g & 0xFC) << 3 | b >> 3)


def _expand(v: int) -> RGB:
    r5, g6, b5 = v >> 11, (v >> 5) & 0x3F, v & 0x1F
    return (r5 << 3 | r5 >> 2, g6 << 2 | g6 >> 4, b5 << 3 | b5 >> 2)


@dataclass(frozen=True)
class Frame:
    """One screenful: w x h pixels, raw as the sim display stores them."""

    w: int
    h: int
    mono: bool
    data: bytes

    def __post_init__(self) -> None:
        if len(self.data) != frame_bytes(self.w, self.h, self.mono):
            raise SimError(
                f"the screen's frame holds {len(self.data)} bytes, not the "
                f"{frame_bytes(self.w, self.h, self.mono)} of a {self.w}x{self.h} panel"
            )

    def pixel(self, x: int, y: int) -> RGB:
        if self.mono:
            lit = self.data[(y >> 3) * self.w + x] >> (y & 7) & 1
            return (255, 255, 255) if lit else (0, 0, 0)
        i = 2 * (y * self.w + x)
        return _expand(self.data[i] | self.data[i + 1] << 8)

    def rows(self) -> list[list[RGB]]:
        return [[self.pixel(x, y) for x in range(self.w)] for y in range(self.h)]

    def crop(self, x: int, y: int, w: int, h: int) -> list[RGB]:
        return [self.pixel(i, j) for j in range(y, y + h) for i in range(x, x + w)]

    def colours(self, x: int, y: int, w: int, h: int) -> set[RGB]:
        return set(self.crop(x, y, w, h))

    def dominant(self, x: int, y: int, w: int, h: int) -> RGB:
        return Counter(self.crop(x, y, w, h)).most_common(1)[0][0]

    def lit(self, x: int, y: int, w: int, h: int) -> int:
        """Pixels in the box that are not black."""
        return sum(1 for p in self.crop(x, y, w, h) if p != (0, 0, 0))

    def png(self, scale: int = 1) -> bytes:
        """The frame as a PNG (8-bit RGB, each pixel scale x scale)."""
        raw = bytearray()
        for row in self.rows():
            line = bytearray([0])  # filter: none
            for p in row:
                line += bytes(p) * scale
            raw += bytes(line) * scale
        w, h = self.w * scale, self.h * scale
        header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def read_png(data: bytes) -> tuple[int, int, list[list[RGB]]]:
    """(width, height, rows of RGB) of a PNG this module wrote (8-bit RGB, filter 0):
    what the tests and the docs check read back."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SimError("not a PNG file")
    pos, w, h, idat = 8, 0, 0, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if (
            zlib.crc32(kind + body) & 0xFFFFFFFF
            != struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0]
        ):
            raise SimError(f"bad CRC in the PNG's {kind.decode(errors='replace')} chunk")
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            if (depth, colour) != (8, 2):
                raise SimError("only 8-bit RGB PNGs are read here")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = 1 + 3 * w
    rows = []
    for y in range(h):
        line = raw[y * stride + 1 : (y + 1) * stride]
        rows.append([(line[i], line[i + 1], line[i + 2]) for i in range(0, 3 * w, 3)])
    return w, h, rows


def frame_from_reply(reply: dict[str, Any]) -> Frame:
    """The frame a "screen" control reply points at."""
    path = Path(str(reply["file"]))
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SimError(f"cannot read the virtual screen's frame {path}: {err}") from err
    return Frame(int(reply["w"]), int(reply["h"]), bool(reply["mono"]), data)
