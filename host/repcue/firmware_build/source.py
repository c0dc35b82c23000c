"""Where the firmware's sources are and how a board boots them: what the bundle copies and
the virtual device runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# A board's main.py, the one boot script: the bundle installs it, the virtual device runs
# it. A failure goes to stderr: the unix port prints an uncaught traceback to stdout, which
# is the protocol stream there (on a board both are the USB port).
MAIN_PY = """\
import sys

try:
    from repcue_fw import app

    app.main()
except Exception as exc:
    sys.print_exception(exc, sys.stderr)
"""

# A bundle built for one board (`--board NAME`) names it and, on a board with a power-hold
# line, drives that high before anything slow: the imports take long enough on a watch for
# the board to switch itself off if the wearer lets go of the power button first.
BOARD_MAIN_PY = """\
import sys

try:
{hold}    from repcue_fw import app

    app.main({board!r})
except Exception as exc:
    sys.print_exception(exc, sys.stderr)
"""
HOLD_LINES = """\
    import machine

    machine.Pin({gpio}, machine.Pin.OUT, value=1)  # power hold, first of all
"""

# Packages a board never imports: the host's extensions of the wire format, and the
# virtual device's board.
HOST_ONLY = ("repcue_fw/wire/host",)
SIM_ONLY = ("repcue_fw/boards/sim",)


@dataclass(frozen=True)
class BoardParts:
    """What one board's bundle holds beside the shared firmware (CONTRACT item 6 names)."""

    drivers: tuple[str, ...]  # modules of repcue_fw/drivers/ it imports
    hold_gpio: int | None = None  # its power-hold line (boards/<name>.py PROFILE["hold"])


BOARDS: dict[str, BoardParts] = {
    "sim": BoardParts(()),
    # DIY boards: an SSD1306 OLED when the config file names one
    "esp32c3": BoardParts(("ssd1306",)),
    "picow": BoardParts(("ssd1306",)),
    "m5stickc_plus2": BoardParts(("st7789",), hold_gpio=4),
    "twatch_s3": BoardParts(("st7789", "drv2605", "axp2101")),
}
# Modules only real boards import (the sim board is built on neither)
HW_ONLY = ("repcue_fw/boards/hw.py", "repcue_fw/boards/pattern.py")


def board_left_out(board: str) -> tuple[str, ...]:
    """What a bundle for `board` leaves out: other boards, drivers it does not use, the sim
    board (unless it is the sim), and parts.py when it has no optional parts."""
    parts = BOARDS[board]
    out = list(HOST_ONLY)
    out += [f"repcue_fw/boards/{name}.py" for name in BOARDS if name not in ("sim", board)]
    all_drivers = {d for p in BOARDS.values() for d in p.drivers}
    out += [f"repcue_fw/drivers/{d}.py" for d in sorted(all_drivers - set(parts.drivers))]
    if board == "sim":
        out += [*HW_ONLY, "repcue_fw/boards/parts.py", "repcue_fw/drivers"]
    else:
        out += list(SIM_ONLY)
        if not parts.drivers:
            out += ["repcue_fw/boards/parts.py", "repcue_fw/drivers"]
    return tuple(out)


def board_main_py(board: str) -> str:
    gpio = BOARDS[board].hold_gpio
    hold = "" if gpio is None else HOLD_LINES.format(gpio=gpio)
    return BOARD_MAIN_PY.format(hold=hold, board=board)


def firmware_root() -> Path:
    """The directory holding repcue_fw/ (firmware/ in a checkout, site-packages installed)."""
    import repcue_fw

    return Path(repcue_fw.__file__).resolve().parent.parent


def board_sources(root: Path, left_out: tuple[str, ...] = HOST_ONLY) -> list[Path]:
    """The firmware's .py files under root, without the packages and modules in left_out."""
    skipped = [root / package for package in left_out]
    return sorted(
        path
        for path in (root / "repcue_fw").rglob("*.py")
        if "__pycache__" not in path.parts
        and path not in skipped
        and not any(d in path.parents for d in skipped)
    )
