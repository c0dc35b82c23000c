"""`repcue firmware install --port PORT`: copy a built bundle onto a board with mpremote
(used as a library), skipping files whose SHA-256 on the board already matches.

A board running repcue is in protocol mode, where a lone Ctrl-C is an ordinary byte: first
send the break-in (CR, Ctrl-C where a frame would start; the firmware then returns to the
REPL) and wait for the REPL prompt, then enter the raw REPL. (mpremote sends its raw-REPL
request right behind its own Ctrl-C, and a firmware still leaving protocol mode can swallow
it; waiting for the prompt avoids that.) Files under repcue_fw/ on the board that the
bundle does not have are removed, so a stale .py can never shadow a fresh .mpy.
"""

from __future__ import annotations

import ast
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repcue.errors import RepcueTimeoutError, TransportError
from repcue.firmware_build.bundle import BundleFile, read_index

REPL_WAIT_S = 3.0
PACKAGE = "repcue_fw"

# Runs on the board: SHA-256 of every file under the given roots, as a dict literal.
_HASH_SCRIPT = """
import os, binascii
try:
    import hashlib
except ImportError:
    hashlib = None
def _walk(d, out):
    try:
        entries = list(os.ilistdir(d))
    except OSError:
        return
    for e in entries:
        p = d + "/" + e[0]
        if e[1] & 0x4000:
            out[p + "/"] = None
            _walk(p, out)
        elif hashlib is None:
            out[p] = ""
        else:
            h = hashlib.sha256()
            with open(p, "rb") as f:
                while True:
                    b = f.read(512)
                    if not b:
                        break
                    h.update(b)
            out[p] = binascii.hexlify(h.digest()).decode()
_out = {}
_walk(%(pkg)r, _out)
try:
    with open(%(main)r, "rb") as f:
        _h = hashlib.sha256(f.read()) if hashlib else None
    _out[%(main)r] = binascii.hexlify(_h.digest()).decode() if _h else ""
except OSError:
    pass
print(repr(_out))
"""


@dataclass
class InstallReport:
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


Progress = Callable[[str, str], None]  # (action, path)


def _join(remote_dir: str, rel: str) -> str:
    """remote_dir "/" -> "/rel"; "" -> "rel" (the board's current directory)."""
    return f"{remote_dir.rstrip('/')}/{rel}" if remote_dir else rel


def request_repl(serial_port: Any, wait_s: float = REPL_WAIT_S) -> bool:
    """Break a repcue device out of protocol mode (or a running program out of its loop);
    True once the REPL prompt appeared. At a REPL already it only prints a new prompt."""
    serial_port.write(b"\r\x03")
    seen = b""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        chunk = serial_port.read(serial_port.in_waiting or 1)
        seen = (seen + chunk)[-256:]
        if b">>> " in seen:
            return True
    return False


def _remote_hashes(transport: Any, remote_dir: str) -> dict[str, str | None]:
    script = _HASH_SCRIPT % {
        "pkg": _join(remote_dir, PACKAGE),
        "main": _join(remote_dir, "main.py"),
    }
    out = transport.exec(script)
    parsed = ast.literal_eval(out.decode().strip() or "{}")
    if not isinstance(parsed, dict):
        raise TransportError("the board answered the file listing with nonsense")
    return parsed


def _mkdirs(transport: Any, path: str, known: set[str]) -> None:
    parts = path.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        d = "/".join(parts[:i])
        if not d or d in known:
            continue
        if not transport.fs_exists(d):
            transport.fs_mkdir(d)
        known.add(d)


def install(
    bundle_dir: Path,
    port: str,
    *,
    remote_dir: str = "/",
    soft_reset: bool = True,
    baudrate: int = 115200,
    progress: Progress | None = None,
) -> InstallReport:
    """Copy the bundle to `remote_dir` on the board at `port`.

    soft_reset: reset into the raw REPL before copying and restart main.py afterwards (what
    a board wants); the unix port's virtual device exits on a soft reset, so pass False.
    """
    files = read_index(bundle_dir)
    try:
        from mpremote.transport import TransportError as MpError
        from mpremote.transport_serial import SerialTransport
    except ImportError as err:
        raise TransportError("mpremote is not installed: pip install mpremote") from err
    try:
        transport = SerialTransport(port, baudrate=baudrate, timeout=1)
    except MpError as err:
        raise TransportError(f"cannot open {port}: {err}") from err
    try:
        request_repl(transport.serial)
        try:
            transport.enter_raw_repl(soft_reset=soft_reset)
        except MpError as err:
            raise RepcueTimeoutError(f"{port}: no MicroPython REPL answered ({err})") from err
        report = _sync(transport, bundle_dir, files, remote_dir, progress)
        transport.exit_raw_repl()
        if soft_reset:
            transport.serial.write(b"\x04")  # friendly REPL Ctrl-D: soft reset, runs main.py
        return report
    except MpError as err:
        raise TransportError(f"{port}: {err}") from err
    finally:
        transport.close()


def _sync(
    transport: Any,
    bundle_dir: Path,
    files: list[BundleFile],
    remote_dir: str,
    progress: Progress | None,
) -> InstallReport:
    report = InstallReport()
    remote = _remote_hashes(transport, remote_dir)
    known_dirs = {p.rstrip("/") for p, digest in remote.items() if digest is None}
    wanted = {_join(remote_dir, f.path) for f in files}
    for f in files:
        target = _join(remote_dir, f.path)
        data = (bundle_dir / f.path).read_bytes()
        if hashlib.sha256(data).hexdigest() != f.sha256:
            raise TransportError(f"{bundle_dir / f.path} changed since the build: rebuild")
        if remote.get(target) == f.sha256:
            report.skipped.append(f.path)
            if progress:
                progress("skip", f.path)
            continue
        _mkdirs(transport, target, known_dirs)
        transport.fs_writefile(target, data, chunk_size=256)
        report.copied.append(f.path)
        if progress:
            progress("copy", f.path)
    for path, digest in sorted(remote.items()):
        if digest is not None and path not in wanted:
            transport.fs_rmfile(path)
            report.removed.append(path)
            if progress:
                progress("remove", path)
    return report
