"""The virtual device as a board with a ROMFS partition (`SimOptions(romfs=True)`).

A board with ROMFS (MicroPython 1.25 or later) mounts the partition at /rom at power-up and
puts /rom first on sys.path; main.py, from the filesystem, then imports repcue_fw from
/rom, and each .mpy's bytecode runs in place from flash instead of being copied into RAM.
The unix port has no flash to map: the boot stub here reads the image into ONE bytearray
before anything else and mounts that with `vfs.VfsRom`; the buffer stays referenced by the
mount for the process's life, so bytecode runs in place from it. The image therefore sits
in the GC heap, and the launcher grows `-X heapsize` by exactly what it takes
(`heapsize_bytes`), so `heap_kb` stays what a board would have as RAM beside its flash.

Images are built from the firmware with `repcue.firmware_build` (mpy-cross, then mpremote's
ROMFS writer) and cached by a hash of what went in, so a device boots without recompiling
when nothing changed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from platformdirs import user_cache_dir

from repcue.errors import RepcueError, SimError
from repcue.firmware_build.bundle import INDEX_NAME, MPY_OPT, build, mpy_cross_version
from repcue.firmware_build.romfs import build_image

MOUNT_POINT = "/rom"
CACHE_ENV = "REPCUE_CACHE_DIR"  # where built images are kept (default: the user cache dir)
_KEEP_IMAGES = 8
_FORMAT = b"repcue-romfs-1\n"  # bump when the image layout changes

# The unix port's GC, measured (tests/device/test_romfs.py checks it against the binary):
# 32-byte blocks, and per 4 blocks one allocation-table byte and half a finaliser-table
# byte, so -X heapsize grows the pool by 4 blocks for every 129.5 bytes.
GC_BLOCK_BYTES = 32
_BLOCKS_PER_GRANULE = 4
_HALF_BYTES_PER_GRANULE = 259  # 2 x 129.5


def heapsize_bytes(ram_kb: int, image_bytes: int) -> int:
    """The -X heapsize that leaves ram_kb of heap beside an image of image_bytes held in
    one block (its data rounded up to whole GC blocks, plus their share of the tables)."""
    blocks = -(-image_bytes // GC_BLOCK_BYTES)
    granules = -(-blocks // _BLOCKS_PER_GRANULE)
    return ram_kb * 1024 + -(-granules * _HALF_BYTES_PER_GRANULE // 2)


def pool_bytes(image_bytes: int) -> int:
    """What the image's buffer takes of the GC pool (whole blocks)."""
    return -(-image_bytes // GC_BLOCK_BYTES) * GC_BLOCK_BYTES


def boot_stub(image: Path, main_py: str) -> str:
    """The micropython -c program: what a ROMFS board's port does at power-up (mount_code),
    then main.py's code."""
    return mount_code(image) + f"exec({main_py!r})\n"


def mount_code(image: Path) -> str:
    """MicroPython code that mounts the image at /rom and puts /rom and /rom/lib first on
    sys.path. The buffer is allocated first, in one piece, before anything else takes
    heap, and the mount keeps it for the process's life."""
    return (
        "import gc, os, sys, vfs\n"
        "gc.collect()\n"
        f"_rom = bytearray(os.stat({str(image)!r})[6])\n"
        f"with open({str(image)!r}, 'rb') as _f:\n"
        "    _f.readinto(_rom)\n"
        f"vfs.mount(vfs.VfsRom(_rom), {MOUNT_POINT!r})\n"
        f"sys.path.insert(0, {MOUNT_POINT + '/lib'!r})\n"
        f"sys.path.insert(0, {MOUNT_POINT!r})\n"
        "del _rom, _f\n"
        "gc.collect()\n"
    )


def cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    base = Path(override) if override else Path(user_cache_dir("repcue", appauthor=False))
    return base / "romfs"


def image_for(firmware_dir: Path) -> Path:
    """A ROMFS image of firmware_dir's repcue_fw/ (sources, or a built bundle's .mpy),
    from the cache when one was built from the same inputs."""
    key = _key(firmware_dir)
    cached = cache_dir() / f"{key}.img"
    if cached.exists():
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        if (firmware_dir / INDEX_NAME).exists():
            build_image(firmware_dir, cached)
        else:
            with tempfile.TemporaryDirectory(prefix="repcue-romfs-") as tmp:
                bundle = Path(tmp) / "bundle"
                build(bundle, source_root=firmware_dir)
                build_image(bundle, cached)
    except RepcueError as err:
        raise SimError(f"cannot build the ROMFS image: {err}") from err
    _prune(cached.parent)
    return cached


def _key(firmware_dir: Path) -> str:
    """A hash of everything the image is made from."""
    digest = hashlib.sha256(_FORMAT)
    index = firmware_dir / INDEX_NAME
    if index.exists():  # a bundle: its index holds every file's SHA-256
        digest.update(index.read_bytes())
        return digest.hexdigest()[:32]
    digest.update(f"{mpy_cross_version()} -O{MPY_OPT}\n".encode())
    package = firmware_dir / "repcue_fw"
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(firmware_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:32]


def _prune(folder: Path) -> None:
    """Keep the newest few images (every firmware edit makes a new one)."""
    images = sorted(folder.glob("*.img"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in images[_KEEP_IMAGES:]:
        old.unlink(missing_ok=True)
