"""Pairing over USB serial: a fresh key to the device's flash and to the host's key store.

Physical possession is the trust anchor, so both calls refuse a BLE transport: the device
would refuse them anyway (its BLE link hides PAIR and UNPAIR), this just says so first.

    async with open_device("serial:/dev/ttyACM0") as dev:
        paired = await pair_over_usb(dev, KeyStore())
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from repcue.errors import PairingNotAcceptedError, PairingTransportError
from repcue.link.ble.keys import KeyStore, new_key
from repcue.link.client import DeviceClient

CONFIRM_TIMEOUT_S = 30.0  # the device waits as long for a press (app._PAIR_CONFIRM_MS)
_ASK_EVERY_S = 0.5


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


async def pair_over_usb(
    client: DeviceClient,
    keys: KeyStore,
    *,
    confirm_timeout_s: float = CONFIRM_TIMEOUT_S,
    on_waiting: Callable[[], None] | None = None,
) -> PairResult:
    """Make a 256-bit key, write it to the device, then to the key store. Pairing again
    replaces the key on both sides (a host holding the old one is locked out).

    A device configured with "pair_confirm" stores the key only once somebody presses one
    of its buttons: on_waiting() is called once when it asks, and the key is offered again
    until it is accepted or confirm_timeout_s passes (PairingNotAcceptedError; nothing
    changed on either side)."""
    _require_cable(client, "pairing")
    keys.devices()  # an unreadable or too-open key file fails before the device changes
    info = await client.hello()
    key = new_key()
    loop = asyncio.get_running_loop()
    give_up = loop.time() + confirm_timeout_s
    asked = False
    while not await client.pair(key):
        if not asked and on_waiting is not None:
            on_waiting()
        asked = True
        if loop.time() > give_up:
            raise PairingNotAcceptedError(
                f"{info.name} asked for a button press to accept the pairing and none came "
                f"within {confirm_timeout_s:g} s: not paired (nothing changed)"
            )
        await asyncio.sleep(_ASK_EVERY_S)
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
