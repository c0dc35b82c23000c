"""The buttons of a running `repcue sim serve`, from another process (`repcue sim press`).

The device's control channel has one end only (the launcher's), so `sim serve` lends its
buttons out on a unix socket of its own, in the device's private scratch dir, and records
the socket in the registry entry. A press is one JSON line each way:
{"press": "lap"} -> {"ok": true} or {"error": "..."}. A screenshot too: {"screen": true} ->
{"ok": true, "screen": the control op "screen"'s reply} (repcue.sim.screen).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from repcue.errors import RepcueError, SimError
from repcue.sim.control import BUTTONS
from repcue.sim.registry import RunningDevice, list_running

if TYPE_CHECKING:
    from repcue.sim.launcher import VirtualDevice

TIMEOUT_S = 5.0


class ButtonServer:
    """Serves presses for `device` on a socket in its scratch dir until close()."""

    def __init__(self, device: VirtualDevice, path: Path) -> None:
        self.device = device
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        self._sock.listen(4)
        self._thread = threading.Thread(target=self._serve, name="sim-buttons", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            with conn, conn.makefile("rb") as lines:
                conn.settimeout(TIMEOUT_S)
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(self._answer(lines)).encode() + b"\n")

    def _answer(self, lines: BinaryIO) -> dict[str, object]:
        try:
            request = json.loads(lines.readline())
            if request.get("screen"):
                return {"ok": True, "screen": self.device.require_control().request("screen")}
            button = request["press"]
            if button not in BUTTONS:
                return {"error": f"no button {button!r}: one of {', '.join(BUTTONS)}"}
            self.device.require_control().press(button)
        except (OSError, ValueError, KeyError, TypeError) as err:
            return {"error": f"bad request: {err}"}
        except RepcueError as err:
            return {"error": str(err)}
        return {"ok": True}

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=TIMEOUT_S)


def find_served(port: str | None) -> RunningDevice:
    """The running `sim serve` to press on: the one on `port`, else the only one."""
    served = [dev for dev in list_running() if dev.buttons]
    if port is not None:
        served = [dev for dev in served if dev.pty_path == port]
        if not served:
            raise SimError(f"no `repcue sim serve` is running on {port}")
        return served[0]
    if not served:
        raise SimError("no `repcue sim serve` is running (start one in another terminal)")
    if len(served) > 1:
        ports = ", ".join(dev.pty_path for dev in served)
        raise SimError(f"{len(served)} virtual devices are running ({ports}): pick one with --port")
    return served[0]


def _ask(device: RunningDevice, request: dict[str, object], timeout_s: float) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(device.buttons)
        sock.sendall(json.dumps(request).encode() + b"\n")
        with sock.makefile("rb") as lines:
            reply: dict[str, Any] = json.loads(lines.readline() or b"{}")
    return reply


def screen(device: RunningDevice, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """The control op "screen"'s reply from a device that `sim serve` runs."""
    try:
        reply = _ask(device, {"screen": True}, timeout_s)
    except (OSError, ValueError) as err:
        raise SimError(f"the virtual device on {device.pty_path} did not answer: {err}") from err
    if not reply.get("ok"):
        raise SimError(
            f"no screenshot from the virtual device on {device.pty_path}: {reply.get('error')}"
        )
    found: dict[str, Any] = reply["screen"]
    return found


def press(device: RunningDevice, button: str, timeout_s: float = TIMEOUT_S) -> None:
    """Press a logical button (a name in BUTTONS) on a device that `sim serve` runs; the
    device's refusal (an unknown button, a stopped device) raises SimError with its words."""
    try:
        reply = _ask(device, {"press": button}, timeout_s)
    except (OSError, ValueError) as err:
        raise SimError(
            f"the virtual device on {device.pty_path} did not take the press: {err}"
        ) from err
    if not reply.get("ok"):
        raise SimError(
            f"the virtual device on {device.pty_path} refused the press: {reply.get('error')}"
        )
