"""The virtual device's screen from the command line: `repcue sim screenshot` (a PNG) and
the live view of `repcue sim serve --screen` (half-block characters in true colour, two
pixel rows per character, redrawn when the frame changes)."""

from __future__ import annotations

import argparse
import math
import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.style import Style
from rich.text import Text

from repcue.errors import SimError
from repcue.link.spec import parse_spec
from repcue.paths import new_file
from repcue.sim import SimOptions, VirtualDevice, buttons
from repcue.sim.screen import DEFAULT_SCREEN, MONO_SCREEN, Frame, frame_from_reply

LIVE_POLL_S = 0.2


def screen_spec(text: str) -> dict[str, Any]:
    """--screen's value: WxH (a colour panel), WxH:mono, or "mono" (128x64)."""
    if text == "mono":
        return dict(MONO_SCREEN)
    size, _, kind = text.partition(":")
    w, _, h = size.lower().partition("x")
    if not (w.isdigit() and h.isdigit()) or kind not in ("", "mono"):
        raise argparse.ArgumentTypeError(
            f"screen {text!r}: use WxH (e.g. 135x240, a colour panel), WxH:mono or mono"
        )
    spec: dict[str, Any] = {"w": int(w), "h": int(h)}
    if kind:
        spec["mono"] = True
    return spec


def add_screen_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--screen",
        nargs="?",
        const=dict(DEFAULT_SCREEN),
        type=screen_spec,
        default=None,
        metavar="WxH",
        help="give the device a screen (default 135x240, the M5StickC Plus2's colour panel; "
        "'mono' = a 128x64 SSD1306) and show it live in the terminal",
    )


def register(sim_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    shot = sim_sub.add_parser("screenshot", help="save the virtual device's screen as a PNG")
    shot.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.png")
    shot.add_argument(
        "--device",
        metavar="SPEC",
        default=None,
        help="the port of a running `repcue sim serve --screen` (serial:PATH or PATH; default: "
        "the only one running), or sim: / sim:FLASH.img for a fresh virtual device's screen",
    )
    shot.add_argument(
        "--screen",
        type=screen_spec,
        default=None,
        metavar="WxH",
        help="with --device sim:, the panel (default 135x240; 'mono' = 128x64)",
    )
    shot.add_argument("--scale", type=int, default=1, metavar="N", help="N x N per pixel")
    shot.set_defaults(func=cmd_screenshot)


def take(device_spec: str | None, screen: dict[str, Any] | None = None) -> Frame:
    """The screen of the device `device_spec` names (see `repcue sim screenshot --help`)."""
    if device_spec is None:
        return frame_from_reply(buttons.screen(buttons.find_served(None)))
    spec = parse_spec(device_spec)
    if spec.scheme == "serial":
        return frame_from_reply(buttons.screen(buttons.find_served(spec.target)))
    if spec.scheme == "sim":
        options = SimOptions(
            flash=Path(spec.target) if spec.target else None, screen=screen or DEFAULT_SCREEN
        )
        with VirtualDevice(options) as device:
            return device.screenshot()
    raise SimError(
        f"a screenshot comes from a virtual device, not {str(spec)!r}. Run `repcue sim serve "
        "--screen` and pass its port, or use --device sim:"
    )


def cmd_screenshot(args: argparse.Namespace) -> int:
    if not 1 <= args.scale <= 16:
        raise SimError(f"--scale must be 1..16, got {args.scale}")
    out = new_file(args.output, "screenshot")
    frame = take(args.device, args.screen)
    out.write_bytes(frame.png(args.scale))
    kind = "monochrome" if frame.mono else "RGB565"
    Console(highlight=False).print(f"{out}: {frame.w}x{frame.h} {kind} screen")
    return 0


def render(frame: Frame, max_rows: int, max_cols: int = 200) -> Text:
    """The frame as half blocks: each character two pixel rows (top: its colour, bottom:
    the background), every `step`-th pixel so it fits in max_rows lines of max_cols."""
    step = max(1, math.ceil(frame.h / 2 / max(1, max_rows)), math.ceil(frame.w / max(1, max_cols)))
    text = Text()
    ys = range(0, frame.h, 2 * step)
    for y in ys:
        for x in range(0, frame.w, step):
            top = frame.pixel(x, y)
            low = frame.pixel(x, y + step) if y + step < frame.h else (0, 0, 0)
            text.append("▀", Style(color=_hex(top), bgcolor=_hex(low)))
        text.append("\n")
    return text


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def show_live(device: VirtualDevice, console: Console) -> None:
    """Until the device stops: redraw the terminal view whenever the frame changes."""
    size = shutil.get_terminal_size((80, 40))
    rows, cols = max(8, size.lines - 6), max(16, size.columns - 1)
    last = b""
    with Live(Text(""), console=console, auto_refresh=False) as live:
        while device.running:
            try:
                frame = device.screenshot(min_frames=0)
            except SimError:
                if not device.running:
                    break
                raise
            if frame.data != last:
                last = frame.data
                live.update(render(frame, rows, cols), refresh=True)
            time.sleep(LIVE_POLL_S)
