"""Drive a virtual device through a whole session: the autopilot runner plus the clock.

The virtual runner itself runs on the sim board (firmware/repcue_fw/boards/sim/autopilot.py)
so its lap presses are timed on the board's clock, exactly, in every clock mode; this module
switches it on and waits for (or, on the stepped clock, advances time to) the finish.
"""

from __future__ import annotations

from typing import Any

from repcue.errors import SimError
from repcue.sim.launcher import VirtualDevice
from repcue.sim.options import AutopilotOptions
from repcue_fw.wire.events import EV_FINISH, EV_SESSION_START


def enable(device: VirtualDevice, options: AutopilotOptions | None = None) -> None:
    """Start the virtual runner with these options (default: on pace, no noise)."""
    device.require_control().autopilot((options or AutopilotOptions()).to_config())


def disable(device: VirtualDevice) -> None:
    device.require_control().autopilot(None)


def run_to_finish(
    device: VirtualDevice,
    *,
    start: bool = False,
    timeout_s: float = 120.0,
    chunk_ms: int = 60_000,
    max_virtual_ms: int = 48 * 3_600_000,
) -> dict[str, Any]:
    """Wait for the running (or, with start=True, a newly started) session to finish and
    return its EV_FINISH record. On the stepped clock, time is advanced chunk by chunk."""
    ctl = device.require_control()
    mark = len(ctl.records)
    if start:
        ctl.press("start")
        ctl.wait_event(EV_SESSION_START, timeout_s=10, start=mark)
    if device.options.clock != "stepped":
        return ctl.wait_event(EV_FINISH, timeout_s=timeout_s, start=mark)
    advanced = 0
    while advanced <= max_virtual_ms:
        finished = [r for r in ctl.records[mark:] if r.get("k") == "ev" and r["c"] == EV_FINISH]
        if finished:
            return finished[0]
        ctl.advance(chunk_ms, timeout_s=timeout_s)
        advanced += chunk_ms
    raise SimError(f"session did not finish within {max_virtual_ms} virtual ms")
