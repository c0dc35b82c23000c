"""What each hardware board's own parts cost: flash (its bundle) and heap (its profile and
drivers, imported from the bundle's .mpy and built against the stand-ins).

Per board (`repcue firmware build --board NAME`): the bundle's .mpy bytes, the bytes of the
board's own modules (profile, hw, pattern, parts, drivers), and on the micropython unix
port, after the chip models are wired (so they are not counted):
  import_kb   heap taken by importing the board's profile module with hw and pattern (the
              modules every board shares, base and buttons, are imported before)
  build_kb    heap taken by constructing the Board: the drivers it imports lazily, their
              objects, pins, buses, button state, the PWM player
  band_kb     the screen's one band buffer (width x band_rows x 2 bytes, RGB565; the
              screen UI allocates it, not the board)
Limits: a 64-bit port (pointers and GC blocks twice a board's, so the figures overstate a
32-bit board's), and the stand-in's Pin/SPI/I2C are Python objects, larger than the C
objects of a real port (the build_kb of a real board is smaller). These parts add to the
job bench/heap.py measures on the sim board, whose targets (issue 14, 32-bit) are ROMFS
<= 64 KB and .mpy files <= 96 KB.
Usage: python bench/boards.py  (last line: one JSON object; also bench/results/boards.json)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from repcue.firmware_build import build, read_index  # noqa: E402
from repcue.sim.options import micropython_binary  # noqa: E402

BOARDS = ["esp32c3", "picow", "m5stickc_plus2", "twatch_s3"]
STANDINS = ROOT / "device" / "repcue_device"
VM_HELPERS = ROOT / "tests" / "vm"
OWN = ("boards/hw", "boards/pattern", "boards/parts", "drivers/")

PROBE = """
import gc, json, wearables
parts = wearables.wire({board!r})
from repcue_fw.boards import load
import asyncio, repcue_fw.boards.base, repcue_fw.boards.buttons  # shared by every board
gc.collect()
a0 = gc.mem_alloc()
Board = load({board!r})
gc.collect()
a1 = gc.mem_alloc()
board = Board({config})
gc.collect()
a2 = gc.mem_alloc()
d = board.display
band = 0 if d is None else d.width * d.band_rows * 2 if d.fmt == 1 else d.width * d.band_rows // 8
print(json.dumps([a1 - a0, a2 - a1, band]))
"""


def measure(board: str, bundle: Path) -> dict[str, object]:
    files = read_index(bundle)
    own = [
        f
        for f in files
        if f.path == f"repcue_fw/boards/{board}.mpy" or any(o in f.path for o in OWN)
    ]
    config = "wearables.OLED_CONFIG" if board == "esp32c3" else "None"
    env = dict(os.environ, MICROPYPATH=f"{bundle}:{VM_HELPERS}:{STANDINS}:.frozen")
    proc = subprocess.run(
        [micropython_binary(), "-c", PROBE.format(board=board, config=config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{board}: {proc.stdout}{proc.stderr}")
    imported, built, band = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "bundle_kb": round(sum(f.size for f in files) / 1024, 1),
        "own_modules_kb": round(sum(f.size for f in own) / 1024, 1),
        "own_modules": sorted(f.path.removeprefix("repcue_fw/") for f in own),
        "import_kb": round(imported / 1024, 1),
        "build_kb": round(built / 1024, 1),
        "band_kb": round(band / 1024, 1),
    }


def main() -> None:
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="repcue-boards-") as tmp:
        for board in BOARDS:
            bundle = Path(tmp) / board
            build(bundle, board=board)
            results[board] = measure(board, bundle)
    print(f"{'board':16} {'bundle':>8} {'own .mpy':>9} {'import':>7} {'build':>7} {'band':>6}")
    for board, r in results.items():
        print(
            f"{board:16} {r['bundle_kb']:>6} KB {r['own_modules_kb']:>6} KB "
            f"{r['import_kb']:>4} KB {r['build_kb']:>4} KB {r['band_kb']:>3} KB"
        )
    print(
        "(64-bit unix port, stand-in buses; the esp32c3 row has an SSD1306 named in its "
        "config. Targets of the whole job on 32 bits, bench/heap.py: ROMFS <= 64 KB, "
        ".mpy <= 96 KB)"
    )
    out = {"boards": results, "port": "unix 64-bit", "targets_kb": {"romfs": 64, "mpy": 96}}
    path = ROOT / "bench" / "results" / "boards.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
