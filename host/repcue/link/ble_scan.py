"""Finding repcue devices over Bluetooth LE: which bleak backend to use (the virtual radio
or the platform's own), scanning for our service, and whether a radio is reachable at all.

repcue.link.ble re-exports these names; the transport itself lives there.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from repcue.ble.keys import KeyStore
from repcue.errors import TransportError
from repcue_fw import ble_link as fw


@dataclass(frozen=True)
class BleBackend:
    """Which bleak backend classes to use, and the keyword arguments they take."""

    scanner: Any = None
    client: Any = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    virtual: bool = False

    def scanner_args(self) -> dict[str, Any]:
        return {"backend": self.scanner, **self.kwargs} if self.scanner else {}

    def client_args(self) -> dict[str, Any]:
        return {"backend": self.client, **self.kwargs} if self.client else {}


def choose_backend() -> BleBackend:
    """The virtual radio when one runs (installed in this process, or offered by
    `repcue sim serve --ble` at $REPCUE_BLE_RADIO or its default path), else bleak's own
    backend for this platform."""
    from repcue.ble import radio as vradio

    installed = vradio.running_radio()
    if installed is None:
        return BleBackend()
    from repcue.ble.bleak_backend import BumbleClient, BumbleScanner

    return BleBackend(BumbleScanner, BumbleClient, {"radio": installed}, virtual=True)


@dataclass(frozen=True)
class NearbyDevice:
    """A repcue device seen in a scan."""

    name: str
    address: str
    rssi: int
    paired: bool


async def scan_devices(
    timeout_s: float = 3.0, *, keys: KeyStore | None = None, backend: BleBackend | None = None
) -> list[NearbyDevice]:
    """Every device advertising our service within timeout_s, strongest first."""
    backend = backend or choose_backend()
    found: dict[str, tuple[BLEDevice, AdvertisementData]] = {}
    try:
        async with BleakScanner(
            service_uuids=[fw.SERVICE_UUID], **backend.scanner_args()
        ) as scanner:
            await asyncio.sleep(timeout_s)
            found = scanner.discovered_devices_and_advertisement_data
    except BleakError as err:
        raise TransportError(f"Bluetooth scan failed: {err}") from err
    out = []
    for address, (device, adv) in found.items():
        name = adv.local_name or device.name or ""
        paired = keys is not None and keys.find(name=name, address=address) is not None
        out.append(NearbyDevice(name, address, adv.rssi, paired))
    return sorted(out, key=lambda d: -d.rssi)


def radio_reachable() -> bool:
    """Whether a scan can work here: a virtual radio runs (this process, or `repcue sim
    serve --ble`), or the system has a Bluetooth adapter (Linux: one under
    /sys/class/bluetooth; macOS and Windows always have the API, so we try)."""
    import sys
    from pathlib import Path

    from repcue.ble import radio as vradio

    if vradio.running_radio() is not None:
        return True
    if sys.platform.startswith("linux"):
        folder = Path("/sys/class/bluetooth")
        return folder.is_dir() and any(folder.glob("hci*"))
    return sys.platform in ("darwin", "win32")


def list_nearby(timeout_s: float = 2.0, keys: KeyStore | None = None) -> list[NearbyDevice] | None:
    """For `repcue devices`: the repcue devices advertising nearby (with whether `keys`
    holds their key), or None when no radio is reachable."""
    if not radio_reachable():
        return None
    return asyncio.run(scan_devices(timeout_s, keys=keys if keys is not None else KeyStore()))
