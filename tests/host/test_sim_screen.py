"""The host side of the virtual screen: frames decoded from the sim display's bytes (RGB565
little-endian, MONO_VLSB pages), the PNG written with zlib/struct and read back, the
terminal's half-block rendering, and --screen's values."""

from __future__ import annotations

import argparse
import struct
import zlib

import pytest
from rich.console import Console

from repcue.cli.sim_screen import render, screen_spec
from repcue.errors import SimError
from repcue.sim import SimOptions
from repcue.sim.screen import Frame, quantize, read_png


def _rgb565(w: int, h: int, colour_at: dict[tuple[int, int], tuple[int, int, int]]) -> Frame:
    data = bytearray(w * h * 2)
    for (x, y), (r, g, b) in colour_at.items():
        struct.pack_into("<H", data, 2 * (y * w + x), (r & 0xF8) << 8 | (g & 0xFC) << 3 | b >> 3)
    return Frame(w, h, False, bytes(data))


def test_rgb565_and_mono_frames_decode_pixel_by_pixel() -> None:
    frame = _rgb565(4, 2, {(1, 0): (255, 72, 0), (3, 1): (0, 200, 80)})
    assert frame.pixel(1, 0) == quantize((255, 72, 0)) == (255, 73, 0)
    assert frame.pixel(3, 1) == quantize((0, 200, 80))
    assert frame.pixel(0, 0) == (0, 0, 0)
    mono = bytearray(8 * 16 // 8)
    mono[1 * 8 + 2] = 0b100  # page 1 (rows 8-15), column 2, bit 2: row 10
    frame = Frame(8, 16, True, bytes(mono))
    assert frame.pixel(2, 10) == (255, 255, 255)
    assert frame.lit(0, 0, 8, 16) == 1


def test_a_frame_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(SimError, match="not the 16 of a 4x2 panel"):
        Frame(4, 2, False, b"\x00" * 15)


def test_the_png_is_valid_and_holds_the_frame_scaled() -> None:
    frame = _rgb565(3, 2, {(0, 0): (255, 255, 255), (2, 1): (0, 0, 255)})
    png = frame.png(scale=2)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    (length,) = struct.unpack(">I", png[8:12])
    assert png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (6, 4)
    assert (
        zlib.crc32(png[12 : 16 + length]) == struct.unpack(">I", png[16 + length : 20 + length])[0]
    )
    w, h, rows = read_png(png)
    assert (w, h) == (6, 4)
    assert rows[0][0] == rows[1][1] == (255, 255, 255)
    assert rows[3][5] == quantize((0, 0, 255))
    assert rows[0][2] == (0, 0, 0)


def test_the_terminal_view_is_half_blocks_in_the_frame_colours() -> None:
    frame = _rgb565(2, 4, {(0, 0): (255, 0, 0), (0, 1): (0, 0, 255)})
    text = render(frame, max_rows=10)
    assert text.plain == "▀▀\n▀▀\n"
    console = Console(color_system="truecolor", force_terminal=True, width=20)
    with console.capture() as cap:
        console.print(text, end="")
    out = cap.get()
    assert "38;2;255;0;0" in out  # the top pixel: foreground
    assert "48;2;0;0;255" in out  # the one below: background
    assert render(_rgb565(40, 40, {}), max_rows=5).plain.count("\n") == 5  # scaled to fit


def test_screen_values() -> None:
    assert screen_spec("135x240") == {"w": 135, "h": 240}
    assert screen_spec("128x64:mono") == {"w": 128, "h": 64, "mono": True}
    assert screen_spec("mono") == {"w": 128, "h": 64, "mono": True}
    with pytest.raises(argparse.ArgumentTypeError, match="use WxH"):
        screen_spec("big")
    with pytest.raises(SimError, match="multiple of 8"):
        SimOptions(screen={"w": 128, "h": 60, "mono": True}).validate()
    with pytest.raises(SimError, match=r"8\.\.480"):
        SimOptions(screen={"w": 4, "h": 60}).validate()
