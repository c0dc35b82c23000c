"""Per-module heap figures for bench/heap.py (64-bit unix port): what each firmware module
takes once imported, and what interning its names and strings took."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from repcue.sim import romfs
from repcue.sim.options import micropython_binary

# The modules a booted sim device holds, in import order (wire first, the board last).
MODULES = (
    "repcue_fw.wire",
    "repcue_fw.wire.varint",
    "repcue_fw.wire.program",
    "repcue_fw.wire.records",
    "repcue_fw.wire.frame",
    "repcue_fw.wire.opcodes",
    "repcue_fw.wire.events",
    "repcue_fw.wire.steps",
    "repcue_fw.ring",
    "repcue_fw.cues",
    "repcue_fw.schedule",
    "repcue_fw.engine",
    "repcue_fw.link",
    "repcue_fw.link.dispatch",
    "repcue_fw.link.upload",
    "repcue_fw.app",
    "repcue_fw.journal",  # a package imports its parts: all charged to it
    "repcue_fw.journal.files",
    "repcue_fw.journal.sessions",
    "repcue_fw.journal.space",
    "repcue_fw.journal.boot",
    "repcue_fw.journal.record",
    "repcue_fw.journal.acks",
    "repcue_fw.runner",
    "repcue_fw.link.serial",
    "repcue_fw.boards",
    "repcue_fw.boards.base",
    "repcue_fw.boards.buttons",
    "repcue_fw.boards.sim",
    "repcue_fw.boards.sim.clock",
    "repcue_fw.boards.sim.control",
    "repcue_fw.boards.sim.flash",
    "repcue_fw.boards.sim.autopilot",
)


def code_kb(
    firmware_dir: Path, image: Path | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    """Heap each firmware module takes once imported (in import order), and the total; and
    what interning their names and strings took (qstrs: count, KB of pools and text).
    With an image: imported from it, mounted at /rom (the image's buffer is not counted).
    A module the list misses but one of them imports is charged to its importer and named
    in "unlisted" (so the total never silently leaves code out). qstr pools double as they
    fill: the module that needs a new pool is charged for all of it."""
    mount = romfs.mount_code(image) if image is not None else ""
    script = mount + (
        "import gc, sys, asyncio, json, os, vfs\ngc.collect()\nb = gc.mem_alloc()\n"
        f"for m in {MODULES!r}:\n"
        "    __import__(m)\n    gc.collect()\n    a = gc.mem_alloc()\n"
        "    print(m, a - b)\n    b = a\n"
        f"extra = [m for m in sys.modules if m.startswith('repcue_fw.') and m not in {MODULES!r}]\n"
        "print('unlisted', len(extra), ' '.join(extra))\n"
        "print('from', sys.modules['repcue_fw.app'].__file__)\n"
        "import micropython\nmicropython.qstr_info()\n"
    )
    path = ".frozen" if image is not None else f"{firmware_dir}:.frozen"
    env = dict(os.environ, MICROPYPATH=path)
    out = subprocess.run(
        [micropython_binary(), "-c", script], capture_output=True, text=True, env=env, check=True
    )
    sizes: dict[str, float] = {}
    qstrs: dict[str, float] = {}
    for line in out.stdout.splitlines():
        if line.startswith("qstr pool:"):  # n_pool=.., n_qstr=.., n_total_bytes=..
            fields = dict(f.strip().split("=") for f in line.split(":", 1)[1].split(","))
            qstrs["count"] = int(fields["n_qstr"])
            qstrs["kb"] = round(int(fields["n_total_bytes"]) / 1024, 1)
            continue
        name, size, *rest = line.split()
        if name == "from":
            if image is not None and not size.startswith(romfs.MOUNT_POINT + "/"):
                raise RuntimeError(f"the modules came from {size}, not from the image")
            continue
        if name == "unlisted":
            if int(size):
                print(f"warning: modules not in MODULES: {' '.join(rest)}", file=sys.stderr)
            continue
        sizes[name.removeprefix("repcue_fw.")] = round(int(size) / 1024, 1)
    sizes["total"] = round(sum(sizes.values()), 1)
    return sizes, qstrs
