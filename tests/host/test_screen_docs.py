"""The screenshots docs/hardware.md shows (docs/screen_shots.py took them with `repcue sim
screenshot`), checked by their pixels: the size of the 135x240 panel at 2x, the kind's
colour band (work red-orange, recovery green), large digits drawn, the idle screen's
program name, battery icon and text."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from repcue.sim.screen import quantize, read_png

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCALE = 2
W, H = 135, 240
RGB = tuple[int, int, int]


def _load(name: str) -> list[list[RGB]]:
    w, h, rows = read_png((DOCS / f"screen-{name}.png").read_bytes())
    assert (w, h) == (W * SCALE, H * SCALE)
    return rows


def _box(rows: list[list[RGB]], x: int, y: int, w: int, h: int) -> list[RGB]:
    # panel coordinates, scaled to the PNG's
    xs = range(x * SCALE, (x + w) * SCALE)
    return [rows[j][i] for j in range(y * SCALE, (y + h) * SCALE) for i in xs]


def _lit(pixels: list[RGB]) -> int:
    return sum(1 for p in pixels if p != (0, 0, 0))


@pytest.mark.parametrize(("name", "colour"), [("work", (255, 72, 0)), ("recovery", (0, 200, 80))])
def test_a_session_screenshot_shows_its_kind_colour_and_digits(name: str, colour: RGB) -> None:
    rows = _load(name)
    band = _box(rows, 0, 0, W, 28)
    assert Counter(band).most_common(1)[0][0] == quantize(colour)
    assert (0, 0, 0) in band  # the word, in black on the band
    digits = _box(rows, 0, 64, W, 72)
    assert _lit(digits) > 800 * SCALE * SCALE  # large digits, not small text
    assert _lit(_box(rows, 0, 32, W, 32)) > 100  # rep i/n


def test_the_idle_screenshot_shows_the_program_and_the_battery() -> None:
    rows = _load("idle")
    assert quantize((255, 255, 255)) in _box(rows, 0, 0, W, 32)  # READY
    assert _lit(_box(rows, 0, 32, W, 32)) > 100  # the program's name
    icon = _box(rows, 0, 64, W, 72)
    assert quantize((0, 200, 80)) in icon  # the battery's charge
    assert quantize((255, 72, 0)) not in _box(rows, 0, 0, W, H)  # no step colour
    assert _lit(_box(rows, 0, 160, W, 24)) > 100  # "BAT 82%"
