"""MicroPython's webassembly port, fetched from npm into the user's cache and made to keep
the heap it is given.

The package is pinned to one version and checked against its registry integrity (sha512)
before anything in it is used. Its heap grows on demand (the GC asks the C allocator for
another area once the heap is full, up to 128 MB): a heap ceiling can only be measured
with that growth stopped, so a copy of micropython.wasm is written with the growth
limit, the module's single `i32.const 134217728`, set to 0 (same encoded length, so
nothing else in the module moves). That copy is generated here, never committed.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from platformdirs import user_cache_dir

from repcue.errors import RepcueError

PACKAGE = "@micropython/micropython-webassembly-pyscript"
VERSION = "1.29.0-6"  # the unix port's and mpy-cross's MicroPython (1.29): same .mpy format
# npm view PACKAGE@VERSION dist.integrity
INTEGRITY = "sha512-kLwGPJFsLY/2aUPmzZxpvauFSmKc0SlJWVvvEttULR0poVQ6W9HV//1fUJyxrGWAxCVDw9aYqJ0LAog0ZLjYVA=="  # noqa: E501
_GROWTH_LIMIT = bytes.fromhex("41808080c000")  # i32.const 134217728 (128 MB)
_NO_GROWTH = bytes.fromhex("418080808000")  # i32.const 0, padded to the same length
_FILES = ("micropython.mjs", "micropython.wasm")
FIXED_WASM = "micropython-fixed-heap.wasm"


class Wasm32Error(RepcueError):
    """The 32-bit port could not be fetched, checked or run."""


def cache_dir() -> Path:
    return Path(user_cache_dir("repcue")) / "micropython-webassembly" / VERSION


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise Wasm32Error(
            f"{tool} is not installed: the 32-bit heap figures run MicroPython's webassembly "
            f"port under Node.js (apt-get install nodejs npm; .ci/system-packages does it)"
        )
    return found


def _check(tarball: Path) -> None:
    algo, _, want = INTEGRITY.partition("-")
    got = base64.b64encode(hashlib.new(algo, tarball.read_bytes()).digest()).decode()
    if got != want:
        raise Wasm32Error(f"{tarball}: {algo} {got} is not {PACKAGE}@{VERSION}'s {want}")


def _fetch(into: Path) -> None:
    npm = need("npm")
    with tempfile.TemporaryDirectory(prefix="repcue-npm-") as tmp:
        done = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            raise Wasm32Error(f"npm pack {PACKAGE}@{VERSION} failed: {done.stderr.strip()[-300:]}")
        _check(tarballs[0])
        with tarfile.open(tarballs[0]) as tar:
            for name in _FILES:
                member = tar.extractfile(f"package/{name}")
                if member is None:
                    raise Wasm32Error(f"{PACKAGE}@{VERSION} has no {name}")
                (into / name).write_bytes(member.read())
        shutil.copy(tarballs[0], into / "package.tgz")  # kept: re-checked on every use


def _fix_heap(wasm: bytes) -> bytes:
    if wasm.count(_GROWTH_LIMIT) != 1:
        raise Wasm32Error(
            f"micropython.wasm of {PACKAGE}@{VERSION} has {wasm.count(_GROWTH_LIMIT)} "
            "copies of the heap growth limit, not one: cannot stop its heap growing"
        )
    return wasm.replace(_GROWTH_LIMIT, _NO_GROWTH)


def ensure() -> Path:
    """The cache folder holding micropython.mjs and FIXED_WASM (fetched once, checked
    every time)."""
    need("node")
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tarball = folder / "package.tgz"
    if not tarball.exists() or not all((folder / n).exists() for n in _FILES):
        _fetch(folder)
    _check(tarball)
    with tarfile.open(tarball) as tar:
        for name in _FILES:
            member = tar.extractfile(f"package/{name}")
            if member is None or member.read() != (folder / name).read_bytes():
                raise Wasm32Error(
                    f"{folder / name} differs from the checked package: remove {folder}"
                )
    fixed = _fix_heap((folder / "micropython.wasm").read_bytes())
    target = folder / FIXED_WASM
    if not target.exists() or target.read_bytes() != fixed:
        partial = target.with_suffix(".partial")
        partial.write_bytes(fixed)
        partial.replace(target)
    return folder
