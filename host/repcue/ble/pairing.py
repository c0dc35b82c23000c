"""Pairing over USB serial: a fresh key to the device's flash and to the host's key store.

Physical possession is the trust anchor, so both calls refuse a BLE transport: the device
would refuse them anyway (its BLE link hides PAIR and UNPAIR), this just says so first.

    async with open_device("serial:/dev/ttyACM0") as dev:
        paired = await pair_over_usb(dev, KeyStore())
"""

from __future__ import annotations

from dataclasses import dataclass

from repcue.ble.keys import KeyStore, new_key
from repcue.errors import TransportError
from repcue.link.client import DeviceClient


class PairingTransportError(TransportError):
    """Pairing was asked over a link other than USB serial."""


@dataclass(frozen=True)
class PairResult:
    device_id: str
    name: str
    key_path: str  # the host key store's file


def _require_cable(client: DeviceClient, what: str) -> None:
    description = getattr(client.transport, "description", "")
    if str(description).startswith("ble:"):
        raise PairingTransportError(
            f"{what} needs the USB cable (physical access is the trust anchor): "
            "use --device serial:PORT, not ble:"
        )


async def pair_over_usb(client: DeviceClient, keys: KeyStore) -> PairResult:
    """Make a 256-bit key, write it to the device, then to the key store. Pairing again
    replaces the key on both sides (a host holding the old one is locked out)."""
    _require_cable(client, "pairing")
    keys.devices()  # an unreadable or too-open key file fails before the device changes
    info = await client.hello()
    key = new_key()
    await client.pair(key)
    keys.put(info.device_id, key, name=info.name)
    return PairResult(info.device_id, info.name, str(keys.path))


async def unpair_over_usb(client: DeviceClient, keys: KeyStore) -> tuple[PairResult, bool]:
    """Delete the key on the device and in the key store; the bool says whether the
    device held one."""
    _require_cable(client, "unpairing")
    info = await client.hello()
    held = await client.unpair()
    keys.remove(info.device_id)
    return PairResult(info.device_id, info.name, str(keys.path)), held
