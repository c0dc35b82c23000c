"""`repcue firmware build --romfs`: the bundle's repcue_fw/ package as a ROMFS image.

A board whose MicroPython has a ROMFS partition (1.25 or later, `vfs.VfsRom`) mounts it at
/rom and puts /rom on sys.path at power-up; `.mpy` files imported from there run their
bytecode in place from flash instead of being copied into the heap (as frozen modules do,
without rebuilding MicroPython). The image holds repcue_fw/**/*.mpy only: main.py stays on
the board's filesystem, because a board does not run main.py from /rom.
Put it on a board with `mpremote romfs deploy IMAGE`.

The image is written with mpremote's own ROMFS writer (`mpremote.romfs.VfsRomWriter`),
so its format is the one MicroPython's `vfs.VfsRom` reads.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from repcue.errors import BuildError
from repcue.firmware_build.bundle import BundleFile, read_index

IMAGE_NAME = "romfs.img"  # beside bundle.json (*.img is git-ignored)
PACKAGE = "repcue_fw"

# A directory tree of the image: name -> file bytes, or name -> subtree.
_Tree = dict[str, "bytes | _Tree"]


def image_files(bundle_dir: Path) -> dict[str, bytes]:
    """What goes in the image: the bundle's repcue_fw/ files, by path (as in bundle.json)."""
    files = [f for f in read_index(bundle_dir) if f.path.startswith(PACKAGE + "/")]
    if not files:
        raise BuildError(f"{bundle_dir} holds no {PACKAGE}/ files to put in a ROMFS image")
    out: dict[str, bytes] = {}
    for f in files:
        data = (bundle_dir / f.path).read_bytes()
        if hashlib.sha256(data).hexdigest() != f.sha256:
            raise BuildError(f"{bundle_dir / f.path} changed since the build: rebuild")
        out[f.path] = data
    return out


def make_image(files: dict[str, bytes]) -> bytes:
    """A ROMFS image of files (posix paths relative to the image's root)."""
    try:
        from mpremote.romfs import VfsRomWriter
    except ImportError as err:
        raise BuildError("mpremote is not installed: pip install mpremote") from err
    tree: _Tree = {}
    for path, data in files.items():
        *dirs, name = path.split("/")
        node = tree
        for d in dirs:
            sub = node.setdefault(d, {})
            if not isinstance(sub, dict):
                raise BuildError(f"{path}: {d} is a file and a directory")
            node = sub
        node[name] = data
    writer = VfsRomWriter()
    _write_tree(writer, tree)
    return bytes(writer.finalise())


def _write_tree(writer: Any, tree: _Tree) -> None:  # mpremote's VfsRomWriter
    for name in sorted(tree):
        node = tree[name]
        if isinstance(node, dict):
            writer.opendir(name)
            _write_tree(writer, node)
            writer.closedir()
        else:
            writer.mkfile(name, node)


def build_image(bundle_dir: Path, out: Path | None = None) -> BundleFile:
    """Write the ROMFS image of a built bundle (default: IMAGE_NAME inside it)."""
    image = make_image(image_files(bundle_dir))
    target = out or bundle_dir / IMAGE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    partial.write_bytes(image)
    os.replace(partial, target)  # a reader never sees half an image
    return BundleFile(target.name, hashlib.sha256(image).hexdigest(), len(image))
