"""Keys at rest and the device's randomness, through the real virtual device: a re-paired or
unpaired key is on no block of the flash image, the image is the owner's alone, device
nonces never repeat even when the random source gives only zeros (across connections and
reboots), and a board configured to ask for it pairs only after a button press."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from repcue.errors import PairingNotAcceptedError
from repcue.link.ble import records as rec
from repcue.link.ble.keys import KeyStore, new_key
from repcue.link.ble.pairing import pair_over_usb
from repcue.link.client import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.sim import SimOptions, VirtualDevice
from repcue.sim.ble.radio import VirtualRadio
from repcue.sim.ble.virtual import VirtualBleDevice
from repcue_fw.wire import air

from .attacker import RawCentral
from .conftest import DEVICE_ID


def usb(vdev: VirtualBleDevice | VirtualDevice) -> DeviceClient:
    return DeviceClient(SerialTransport(vdev.pty_path))


async def test_a_replaced_or_forgotten_key_is_on_no_block_of_the_flash(
    radio: VirtualRadio,
) -> None:
    first, second = new_key(), new_key()
    vdev = VirtualBleDevice(radio, pair_key=first, device_id=DEVICE_ID)
    async with vdev:
        async with usb(vdev) as cable:
            assert await cable.pair(second)
        await vdev.kill()  # power off: the image is what a thief would read
        image = vdev.flash.read_bytes()
        assert first not in image and second in image
        assert stat.S_IMODE(vdev.flash.stat().st_mode) == 0o600
        await vdev.start()
        async with usb(vdev) as cable:
            assert await cable.unpair()
        await vdev.kill()
        assert second not in vdev.flash.read_bytes()


async def test_device_nonces_never_repeat_with_a_random_source_of_zeros(
    radio: VirtualRadio, key: bytes
) -> None:
    nonce_host = bytes(16)  # an attacker's choice: the same every time
    seen: list[bytes] = []
    vdev = VirtualBleDevice(radio, pair_key=key, device_id=DEVICE_ID, weak_random=True)
    async with vdev, RawCentral(radio.adapter("eve")) as eve:
        for boot in range(2):
            if boot:
                await vdev.kill()
                await vdev.start()  # same flash: the boot counter goes on from it
            for _ in range(3):
                await eve.connect(vdev.name)
                await eve.write(rec.encode(air.REC_CHALLENGE, nonce_host))
                answer = await eve.next_record()
                assert answer.type == air.REC_CHALLENGE_RSP
                seen.append(answer.body[: air.NONCE_LEN])
                await eve.close()
    assert len(set(seen)) == len(seen) == 6


@pytest.fixture
async def confirming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[VirtualDevice]:
    """A virtual device whose board asks for a button press before it pairs."""
    monkeypatch.setenv("REPCUE_SIM_REGISTRY", str(tmp_path / "registry"))
    device = VirtualDevice(SimOptions(pair_confirm=True))
    await asyncio.to_thread(device.start)
    yield device
    await asyncio.to_thread(device.stop)


async def test_pairing_waits_for_a_press_on_the_device(
    confirming: VirtualDevice, tmp_path: Path
) -> None:
    keys = KeyStore(tmp_path / "keys.json")
    asked = asyncio.Event()
    async with usb(confirming) as cable:
        with pytest.raises(PairingNotAcceptedError, match="button press"):
            await pair_over_usb(cable, keys, confirm_timeout_s=1.0, on_waiting=asked.set)
        assert asked.is_set() and keys.devices() == {}
        assert not await cable.unpair()  # nobody pressed: the device holds no key
        asked.clear()
        pairing = asyncio.create_task(pair_over_usb(cable, keys, on_waiting=asked.set))
        await asyncio.wait_for(asked.wait(), 5)
        await asyncio.to_thread(confirming.require_control().press, "lap")
        result = await asyncio.wait_for(pairing, 10)
        assert keys.get(result.device_id) is not None
        assert await cable.unpair()  # the device stored the key
