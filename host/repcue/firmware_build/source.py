"""Where the firmware's sources are and how a board boots them: what the bundle copies and
the virtual device runs."""

from __future__ import annotations

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

# Packages a board never imports: the host's extensions of the wire format, and the
# virtual device's board.
HOST_ONLY = ("repcue_fw/wire/host",)
SIM_ONLY = ("repcue_fw/boards/sim",)


def firmware_root() -> Path:
    """The directory holding repcue_fw/ (firmware/ in a checkout, site-packages installed)."""
    import repcue_fw

    return Path(repcue_fw.__file__).resolve().parent.parent


def board_sources(root: Path, left_out: tuple[str, ...] = HOST_ONLY) -> list[Path]:
    """The firmware's .py files under root, without the packages in left_out."""
    skipped = [root / package for package in left_out]
    return sorted(
        path
        for path in (root / "repcue_fw").rglob("*.py")
        if "__pycache__" not in path.parts and not any(d in path.parents for d in skipped)
    )
