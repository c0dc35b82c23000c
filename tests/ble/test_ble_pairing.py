"""Pairing over USB serial on the real virtual device (`repcue sim serve --ble`'s path):
the key reaches the device's flash and the host's key store, BLE is then authenticated,
PAIR/UNPAIR are unreachable over the air, re-pairing and unpairing lock the old key out."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from repcue.errors import AuthError, DeviceError, DisconnectedError, PairingTransportError
from repcue.link.ble import records as rec
from repcue.link.ble.keys import KeyStore, new_key
from repcue.link.ble.pairing import pair_over_usb, unpair_over_usb
from repcue.link.ble.transport import BleBackend, BleTransport
from repcue.link.client import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.sim import SimOptions, VirtualDevice
from repcue.sim.ble.bleak_backend import BumbleClient, BumbleScanner
from repcue.sim.ble.radio import RemoteRadio, remote_radio
from repcue_fw.wire import air as wire_air
from repcue_fw.wire.host import opcodes as op


@pytest.fixture
async def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[VirtualDevice]:
    """A virtual device with its own virtual radio, as `repcue sim serve --ble` runs it."""
    monkeypatch.setenv("REPCUE_SIM_REGISTRY", str(tmp_path / "registry"))
    device = VirtualDevice(SimOptions(speed=50, ble=True, ble_radio=tmp_path / "radio.sock"))
    await asyncio.to_thread(device.start)
    yield device
    await asyncio.to_thread(device.stop)
    assert not (tmp_path / "radio.sock").exists()


@pytest.fixture
async def air(sim: VirtualDevice) -> AsyncIterator[RemoteRadio]:
    assert sim.air is not None
    radio = remote_radio(sim.air.radio_path)
    yield radio
    await radio.close()


def over_air(sim: VirtualDevice, radio: RemoteRadio, keys: KeyStore) -> DeviceClient:
    backend = BleBackend(BumbleScanner, BumbleClient, {"radio": radio}, virtual=True)
    return DeviceClient(BleTransport(sim.ble_name, keys=keys, backend=backend))


def over_usb(sim: VirtualDevice) -> DeviceClient:
    return DeviceClient(SerialTransport(sim.pty_path))


async def test_pair_over_usb_then_ble_is_authenticated(
    sim: VirtualDevice, air: RemoteRadio, tmp_path: Path
) -> None:
    keys = KeyStore(tmp_path / "keys.json")
    async with over_air(sim, air, keys) as dev:  # not paired yet: HELLO only
        public = await dev.hello()
        assert (public.name, public.device_id, public.clock_s) == (sim.ble_name, "", 0)
        with pytest.raises(AuthError, match="not paired"):
            await dev.set_time(1_700_000_000)  # refused here: it never leaves the host
    async with over_usb(sim) as usb:
        paired = await pair_over_usb(usb, keys)
    assert paired.device_id == sim.device_id and paired.name == sim.ble_name
    assert stat.S_IMODE(os.stat(keys.path).st_mode) == 0o600
    key = keys.get(sim.device_id)
    assert key is not None and len(key) == 32
    async with over_air(sim, air, keys) as dev:
        await dev.hello()
        assert dev.transport.authenticated  # type: ignore[attr-defined]
        assert await dev.set_time(1_700_000_000) == 0
        # pairing needs the cable: over the air PAIR and UNPAIR do not exist
        for call in (dev.pair(new_key()), dev.unpair()):
            with pytest.raises(DeviceError) as unsupported:
                await call
            assert unsupported.value.code == op.ST_UNSUPPORTED
        assert (await dev.device_info()).clock_s >= 1_700_000_000  # still served
        with pytest.raises(PairingTransportError, match="USB"):
            await pair_over_usb(dev, keys)
    assert keys.get(sim.device_id) == key  # nothing changed


async def test_repair_and_unpair_lock_the_old_key_out(
    sim: VirtualDevice, air: RemoteRadio, tmp_path: Path
) -> None:
    first = KeyStore(tmp_path / "first.json")
    second = KeyStore(tmp_path / "second.json")
    async with over_usb(sim) as usb:
        await pair_over_usb(usb, first)
    async with over_air(sim, air, first) as dev:
        await dev.hello()
        # another host pairs over USB meanwhile: the connected central is dropped at once
        async with over_usb(sim) as usb:
            await pair_over_usb(usb, second)
        with pytest.raises(DisconnectedError):
            await asyncio.wait_for(dev.device_info(), 5)
    with pytest.raises(rec.AuthError) as wrong:
        async with over_air(sim, air, first) as dev:
            await dev.hello()
    assert wrong.value.code == wire_air.ERR_BAD_PROOF
    async with over_air(sim, air, second) as dev:
        await dev.hello()
        assert dev.transport.authenticated  # type: ignore[attr-defined]
    async with over_usb(sim) as usb:
        _, held = await unpair_over_usb(usb, second)
        assert held is True
        _, held = await unpair_over_usb(usb, second)
        assert held is False
    assert second.get(sim.device_id) is None
    with pytest.raises(rec.AuthError) as unpaired:
        async with over_air(sim, air, first) as dev:  # a stale copy of a key
            await dev.hello()
    assert unpaired.value.code == wire_air.ERR_NOT_PAIRED
    async with over_air(sim, air, second) as dev:
        await dev.hello()
        with pytest.raises(AuthError, match="pair it over USB"):
            await dev.set_time(1_700_000_000)
