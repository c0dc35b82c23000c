"""The host side of the link: transports, the protocol client and device specs.

async with open_device("serial:auto") as dev:
    info = await dev.hello()
"""

from __future__ import annotations

from repcue.link.client import DeviceClient
from repcue.link.errors import (
    DeviceError,
    NoFirmwareError,
    PortBusyError,
    PortNotFoundError,
    VersionMismatchError,
)
from repcue.link.messages import DeviceConfig, DeviceEvent, DeviceInfo, SessionEntry
from repcue.link.spec import DeviceSpec, make_transport, open_device, parse_spec
from repcue.link.transport import Transport

__all__ = [
    "DeviceClient",
    "DeviceConfig",
    "DeviceError",
    "DeviceEvent",
    "DeviceInfo",
    "DeviceSpec",
    "NoFirmwareError",
    "PortBusyError",
    "PortNotFoundError",
    "SessionEntry",
    "Transport",
    "VersionMismatchError",
    "make_transport",
    "open_device",
    "parse_spec",
]
