"""Device specs -> transports -> clients.

serial:/dev/ttyACM0   a port by path (``@BAUD`` suffix for UART bridges)
serial:auto           the one MicroPython board found by USB VID/PID
sim:                  a fresh virtual device for this command
sim:FLASH.img         a virtual device keeping its flash in that file
ble:NAME|ADDRESS|auto the BLE link, once repcue.link.ble exists
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from repcue.errors import TransportError
from repcue.link.client import DeviceClient
from repcue.link.serial import DEFAULT_BAUD, SerialTransport
from repcue.link.sim import Launcher, SimTransport
from repcue.link.transport import Transport

SCHEMES = ("serial", "sim", "ble")


@dataclass(frozen=True)
class DeviceSpec:
    scheme: str
    target: str  # path, "auto", flash image ("" = none), BLE name or address
    baud: int = DEFAULT_BAUD

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}"


def parse_spec(spec: str) -> DeviceSpec:
    """Split and check a spec; raises TransportError saying what a valid one looks like."""
    scheme, sep, target = spec.strip().partition(":")
    if not sep or scheme not in SCHEMES:
        raise TransportError(
            f"unknown device {spec!r}: use serial:/dev/ttyACM0, serial:auto, sim: or sim:FLASH.img"
        )
    baud = DEFAULT_BAUD
    if scheme == "serial":
        if not target:
            raise TransportError("serial: needs a port path or 'auto', e.g. serial:/dev/ttyACM0")
        path, at, rate = target.rpartition("@")
        if at and rate.isdigit():
            target, baud = path, int(rate)
            if not 300 <= baud <= 4_000_000:
                raise TransportError(f"baud rate {baud} is out of range in {spec!r}")
    if scheme == "ble" and not target:
        raise TransportError("ble: needs a device name, an address or 'auto'")
    return DeviceSpec(scheme, target, baud)


def make_transport(
    spec: str | DeviceSpec, *, sim_speed: float = 1, sim_launcher: Launcher | None = None
) -> Transport:
    """The transport a spec names (not yet open)."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    if parsed.scheme == "serial":
        return SerialTransport(parsed.target, baud=parsed.baud)
    if parsed.scheme == "sim":
        return SimTransport(parsed.target or None, speed=sim_speed, launcher=sim_launcher)
    return _ble_transport(parsed.target)


def _ble_transport(target: str) -> Transport:
    try:
        ble = importlib.import_module("repcue.link.ble")
    except ImportError as err:
        raise TransportError("the BLE link is not available in this version") from err
    factory: Any = getattr(ble, "make_transport", None)
    if factory is None:
        raise TransportError("repcue.link.ble offers no make_transport")
    transport: Transport = factory(target)
    return transport


def open_device(
    spec: str | DeviceSpec,
    *,
    timeout_s: float = 1.0,
    retries: int = 4,
    sim_speed: float = 1,
    sim_launcher: Launcher | None = None,
) -> DeviceClient:
    """A client for the device a spec names; connect with ``async with``."""
    transport = make_transport(spec, sim_speed=sim_speed, sim_launcher=sim_launcher)
    return DeviceClient(transport, timeout_s=timeout_s, retries=retries)
