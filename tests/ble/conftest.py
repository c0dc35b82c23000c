"""Fixtures for the BLE tests: a virtual radio, the firmware on it, a key store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from repcue.ble.keys import KeyStore, new_key
from repcue.ble.radio import VirtualRadio, set_default_radio
from repcue.ble.virtual import VirtualBleDevice
from repcue.link.ble import BleTransport

DEVICE_ID = "51b1e00001"


@pytest.fixture
async def radio() -> AsyncIterator[VirtualRadio]:
    r = VirtualRadio()
    set_default_radio(r)
    yield r
    set_default_radio(None)


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.json")


@pytest.fixture
def key() -> bytes:
    return new_key()


@pytest.fixture
async def paired(
    radio: VirtualRadio, keys: KeyStore, key: bytes
) -> AsyncIterator[VirtualBleDevice]:
    """A device paired with `keys` (both hold `key`), advertising."""
    vdev = VirtualBleDevice(
        radio, pair_key=key, device_id=DEVICE_ID, speed=200, autopilot={"noise": 0.0}
    )
    keys.put(DEVICE_ID, key, name=vdev.name)
    async with vdev:
        yield vdev


@pytest.fixture
async def unpaired(radio: VirtualRadio) -> AsyncIterator[VirtualBleDevice]:
    async with VirtualBleDevice(radio, pair_key=b"", device_id=DEVICE_ID) as vdev:
        yield vdev


@pytest.fixture
def transport_for(radio: VirtualRadio) -> Callable[..., BleTransport]:
    """BleTransport factory on an adapter with the given MTU."""

    def make(
        target: str, *, mtu: int = 247, keys: KeyStore | None = None, **kw: Any
    ) -> BleTransport:
        from repcue.ble.bleak_backend import BumbleClient, BumbleScanner
        from repcue.link.ble import BleBackend

        adapter = radio.adapter(f"hci-mtu{mtu}", mtu=mtu)
        backend = BleBackend(BumbleScanner, BumbleClient, {"central": adapter}, virtual=True)
        return BleTransport(target, keys=keys, backend=backend, scan_timeout_s=5, **kw)

    return make
