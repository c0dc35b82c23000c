"""The screen UI through the wearables' real display drivers (ST7789 on SPI, SSD1306 on
I2C) to the chip models of the `machine` stand-in, in the micropython VM: what the wearer
would see at given points of the glass (the drivers' offsets, byte order and rotation
included), for the idle screen and a work step."""

from __future__ import annotations

import json
from typing import Any

from tests.mpy import ROOT, run_mpy

STANDINS = ROOT / "device" / "repcue_device"


def _rgb565(r: int, g: int, b: int) -> int:
    return (r & 0xF8) << 8 | (g & 0xFC) << 3 | b >> 3


def _run(board: str, points: list[tuple[int, int]], work: bool, config: str = "None") -> Any:
    code = (
        "import screen_boards as sb\n"
        f"board, scr, panel = sb.run({board!r}, {config}, work={work})\n"
        f"sb.report(scr, panel, {points!r})\n"
    )
    out = run_mpy(code, extra_path=[STANDINS])
    return json.loads(out.strip().splitlines()[-1])


def test_the_m5stickc_plus2_panel_shows_the_work_colour_where_the_wearer_looks() -> None:
    # (2, 2): the kind's colour band at the top; (2, 200): black below the strips
    got = _run("m5stickc_plus2", [(2, 2), (2, 200), (133, 2)], work=True)
    assert (got["w"], got["h"]) == (135, 240)
    assert got["lit"]
    assert got["seen"] == [_rgb565(255, 72, 0), 0, _rgb565(255, 72, 0)]


def test_the_t_watch_s3_panel_upside_down_still_shows_the_band_on_top() -> None:
    got = _run("twatch_s3", [(2, 2), (237, 2), (2, 237)], work=True)
    assert (got["w"], got["h"]) == (240, 240)
    assert got["seen"][:2] == [_rgb565(255, 72, 0)] * 2
    assert got["seen"][2] == 0


def test_the_idle_screen_on_the_m5stickc_plus2_shows_its_battery() -> None:
    got = _run("m5stickc_plus2", [(2, 2)], work=False)
    assert got["bat"] >= 0  # the board's ADC divider: a percentage, drawn as the icon
    assert got["seen"] == [0]  # idle: no colour band


def test_an_ssd1306_oled_on_a_diy_board_lights_the_word_and_the_digits() -> None:
    got = _run(
        "esp32c3",
        [(x, y) for y in range(0, 56, 2) for x in range(0, 128, 2)],
        work=True,
        config="sb.wearables.OLED_CONFIG",
    )
    assert (got["w"], got["h"]) == (128, 64)
    lit = got["seen"]
    assert sum(lit[: 8 * 64]) > 20  # "WORK" in the top 16 rows
    assert sum(lit[12 * 64 :]) > 20  # the countdown
