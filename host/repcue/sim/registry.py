"""Which virtual devices are running on this machine, for `repcue devices`.

Each running VirtualDevice leaves a small JSON file in the user runtime dir; entries whose
process has gone (a host killed with SIGKILL cannot clean up) are ignored and removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from repcue.sim.launcher import VirtualDevice

REGISTRY_ENV = "REPCUE_SIM_REGISTRY"


@dataclass(frozen=True)
class RunningDevice:
    pty_path: str
    device_id: str
    pid: int  # the micropython process
    owner_pid: int  # the process that started it
    flash: str
    buttons: str = ""  # `sim serve`'s button socket (repcue.sim.buttons), "" if none


def registry_dir() -> Path:
    override = os.environ.get(REGISTRY_ENV, "").strip()
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    if runtime:
        return Path(runtime) / "repcue" / "sims"
    return Path(tempfile.gettempdir()) / f"repcue-sims-{os.getuid()}"


def _entry_path(device: VirtualDevice) -> Path:
    return registry_dir() / f"{os.getpid()}-{id(device)}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def register(device: VirtualDevice) -> None:
    if device.proc is None:
        return
    entry = {
        "pty_path": device.pty_path,
        "device_id": device.device_id,
        "pid": device.proc.pid,
        "owner_pid": os.getpid(),
        "flash": str(device.flash_path or ""),
        "buttons": str(device.buttons.path) if device.buttons is not None else "",
    }
    # a registry that cannot be written must never stop a device from starting
    with contextlib.suppress(OSError):
        path = _entry_path(device)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(entry))


def unregister(device: VirtualDevice) -> None:
    with contextlib.suppress(OSError):
        _entry_path(device).unlink(missing_ok=True)


def list_running() -> list[RunningDevice]:
    """Virtual devices whose micropython process is alive, in start order."""
    folder = registry_dir()
    if not folder.is_dir():
        return []
    found: list[tuple[float, RunningDevice]] = []
    for path in folder.glob("*.json"):
        try:
            raw = json.loads(path.read_text())
            dev = RunningDevice(
                str(raw["pty_path"]),
                str(raw["device_id"]),
                int(raw["pid"]),
                int(raw["owner_pid"]),
                str(raw.get("flash", "")),
                str(raw.get("buttons", "")),
            )
            mtime = path.stat().st_mtime
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _alive(dev.pid) and _alive(dev.owner_pid):
            found.append((mtime, dev))
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return [dev for _, dev in sorted(found, key=lambda item: item[0])]
