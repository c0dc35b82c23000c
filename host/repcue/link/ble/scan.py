"""Finding repcue devices over Bluetooth LE: the bleak backend to use, scanning for our
service, and whether a radio is reachable at all.

The backend is bleak's own for this platform unless one is handed in: repcue.devices hands
the virtual radio's when one runs, and tests install theirs with set_default_backend().
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from repcue.link.ble.keys import KeyStore
from repcue.link.ble.stack import bluetooth_errors
from repcue_fw.wire import air


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


_default: BleBackend | None = None


def set_default_backend(backend: BleBackend | None) -> None:
    """The backend transports and scans use when none is handed to them (None: bleak's own
    for this platform)."""
    global _default
    _default = backend


def default_backend() -> BleBackend:
    return _default if _default is not None else BleBackend()


@dataclass(frozen=True)
class NearbyDevice:
    """A repcue device seen in a scan."""

    name: str
    address: str
    rssi: int
    paired: bool


# An active scan hears a device twice: its advertisement (our service, and a name cut to
# what fits beside it) and then its scan response (the whole name). A window that closes
# between the two would name the device by the cut name, so it stays open a little longer
# for a device heard only once.
_SCAN_RESPONSE_GRACE_S = 1.0


@dataclass
class _Heard:
    device: BLEDevice
    name: str
    rssi: int
    reports: int


async def heard_nearby(timeout_s: float, backend: BleBackend) -> dict[str, _Heard]:
    """Every device advertising our service within timeout_s, by address, named by the
    longest name it gave (the scan response's whole name beats the advertisement's cut)."""
    heard: dict[str, _Heard] = {}

    def on_report(device: BLEDevice, adv: AdvertisementData) -> None:
        name = adv.local_name or device.name or ""
        seen = heard.get(device.address)
        if seen is None:
            heard[device.address] = _Heard(device, name, adv.rssi, 1)
            return
        seen.reports += 1
        seen.rssi = adv.rssi
        if len(name) > len(seen.name):
            seen.device, seen.name = device, name

    loop = asyncio.get_running_loop()
    with bluetooth_errors("Bluetooth scan"):
        async with BleakScanner(
            on_report, service_uuids=[air.SERVICE_UUID], **backend.scanner_args()
        ):
            await asyncio.sleep(timeout_s)
            grace_end = loop.time() + _SCAN_RESPONSE_GRACE_S
            while any(h.reports < 2 for h in heard.values()) and loop.time() < grace_end:
                await asyncio.sleep(0.05)
    return heard


async def scan_devices(
    timeout_s: float = 3.0, *, keys: KeyStore | None = None, backend: BleBackend | None = None
) -> list[NearbyDevice]:
    """Every device advertising our service within timeout_s, strongest first."""
    heard = await heard_nearby(timeout_s, backend or default_backend())
    out = []
    for address, h in heard.items():
        paired = keys is not None and keys.find(name=h.name, address=address) is not None
        out.append(NearbyDevice(h.name, address, h.rssi, paired))
    return sorted(out, key=lambda d: -d.rssi)


def radio_reachable(backend: BleBackend | None = None) -> bool:
    """Whether a scan can work here: the backend is a virtual radio's, or the system has a
    Bluetooth adapter (Linux: one under /sys/class/bluetooth; macOS and Windows always have
    the API, so we try)."""
    import sys
    from pathlib import Path

    if (backend or default_backend()).virtual:
        return True
    if sys.platform.startswith("linux"):
        folder = Path("/sys/class/bluetooth")
        return folder.is_dir() and any(folder.glob("hci*"))
    return sys.platform in ("darwin", "win32")


def list_nearby(
    timeout_s: float = 2.0, keys: KeyStore | None = None, *, backend: BleBackend | None = None
) -> list[NearbyDevice] | None:
    """The repcue devices advertising nearby (with whether `keys` holds their key), or None
    when no radio is reachable."""
    if not radio_reachable(backend):
        return None
    keys = keys if keys is not None else KeyStore()
    return asyncio.run(scan_devices(timeout_s, keys=keys, backend=backend))
