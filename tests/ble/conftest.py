"""Fixtures for the BLE tests: a virtual radio, the firmware on it, a key store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from repcue.link.ble.keys import KeyStore, new_key
from repcue.link.ble.transport import BleTransport
from repcue.sim.ble.backend import install
from repcue.sim.ble.radio import VirtualRadio
from repcue.sim.ble.virtual import VirtualBleDevice
from repcue.sim.options import AutopilotOptions

DEVICE_ID = "51b1e00001"


@pytest.fixture
async def radio() -> AsyncIterator[VirtualRadio]:
    r = VirtualRadio()
    install(r)
    yield r
    install(None)


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
        radio, pair_key=key, device_id=DEVICE_ID, speed=200, autopilot=AutopilotOptions()
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
        from repcue.link.ble.transport import BleBackend
        from repcue.sim.ble.bleak_backend import BumbleClient, BumbleScanner

        adapter = radio.adapter(f"hci-mtu{mtu}", mtu=mtu)
        backend = BleBackend(BumbleScanner, BumbleClient, {"central": adapter}, virtual=True)
        return BleTransport(target, keys=keys, backend=backend, scan_timeout_s=5, **kw)

    return make
