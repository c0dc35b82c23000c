"""The virtual device: the real firmware in MicroPython's unix port, with a pty for a USB
port, a flash image, a virtual clock, a control channel and an autopilot runner.

    with VirtualDevice(SimOptions(flash=Path("dev.img"), speed=60)) as dev:
        serial.Serial(dev.pty_path)           # talk to the firmware like a board
        dev.control.press("start")            # buttons; dev.control.cues() is the cue log
"""

from __future__ import annotations

from repcue.errors import SimError
from repcue.sim.control import CueRecord, EventRecord
from repcue.sim.launcher import VirtualDevice, start_virtual_device
from repcue.sim.options import AutopilotOptions, SimOptions
from repcue.sim.registry import RunningDevice, list_running

__all__ = [
    "AutopilotOptions",
    "CueRecord",
    "EventRecord",
    "RunningDevice",
    "SimError",
    "SimOptions",
    "VirtualDevice",
    "list_running",
    "start_virtual_device",
]
