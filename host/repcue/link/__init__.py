"""The host side of the link: the transports (serial, ble/), the protocol client and device
specs. repcue.devices opens a device by spec:

    async with open_device("serial:auto") as dev:
        info = await dev.hello()
"""

from __future__ import annotations

from repcue.errors import (
    DeviceError,
    NoFirmwareError,
    PortBusyError,
    PortNotFoundError,
    VersionMismatchError,
)
from repcue.link.client import DeviceClient
from repcue.link.messages import DeviceConfig, DeviceEvent, DeviceInfo, SessionEntry
from repcue.link.spec import DeviceSpec, parse_spec
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
    "parse_spec",
]
