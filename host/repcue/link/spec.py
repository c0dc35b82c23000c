"""Device specs: what `--device` names, checked; repcue.devices makes the transport.

serial:/dev/ttyACM0   a port by path (``@BAUD`` suffix for UART bridges)
/dev/ttyACM0, COM3    the same: a bare port path (what every MicroPython tool takes)
serial:auto           the one MicroPython board found by USB VID/PID
sim:                  a fresh virtual device for this command
sim:FLASH.img         a virtual device keeping its flash in that file
ble:NAME|ADDRESS|auto a device over Bluetooth LE
"""

from __future__ import annotations

from dataclasses import dataclass

from repcue.errors import TransportError
from repcue.link.serial import DEFAULT_BAUD

SCHEMES = ("serial", "sim", "ble")
FORMS = (
    "serial:PATH (or a bare path such as /dev/ttyACM0 or COM3), serial:auto, "
    "sim:, sim:FLASH.img, ble:NAME, ble:ADDRESS or ble:auto"
)


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
    if scheme not in SCHEMES and _bare_port(spec.strip()):
        scheme, sep, target = "serial", ":", spec.strip()
    if not sep or scheme not in SCHEMES:
        raise TransportError(f"unknown device {spec!r}: use {FORMS}")
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


def _bare_port(text: str) -> bool:
    """A port path without `serial:`: /dev/ttyACM0, ./pty, COM3 (Windows)."""
    upper = text.upper()
    return text.startswith(("/", "./", "../")) or (upper.startswith("COM") and upper[3:].isdigit())
