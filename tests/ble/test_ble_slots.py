"""Denial of service by strangers in range, with the firmware's default deadlines: nobody
holds the connection slot by connecting and sitting there (with one slot as on btstack, or
four as on NimBLE), a stranger who reconnects at once after every drop still leaves the
owner in, a challenge is given once per connection, and unpairing in the middle of a
stranger's handshake neither crashes the BLE service nor stops it advertising."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator

import pytest
from bleak.exc import BleakError

from repcue.errors import DeviceError
from repcue.link.ble import records as rec
from repcue.link.ble.keys import KeyStore
from repcue.link.ble.transport import BleTransport
from repcue.link.client import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.sim.ble.radio import VirtualRadio
from repcue.sim.ble.virtual import VirtualBleDevice
from repcue_fw.link.ble import server
from repcue_fw.wire import air
from repcue_fw.wire.host import opcodes as op

from .attacker import RawCentral
from .conftest import DEVICE_ID


async def device_with(
    radio: VirtualRadio, keys: KeyStore, key: bytes, connections: int
) -> VirtualBleDevice:
    vdev = VirtualBleDevice(
        radio, pair_key=key, device_id=DEVICE_ID, link_options={"connections": connections}
    )
    keys.put(DEVICE_ID, key, name=vdev.name)
    return vdev


@pytest.fixture(params=[4, 1], ids=["nimble-4-slots", "btstack-1-slot"])
async def device(
    request: pytest.FixtureRequest, radio: VirtualRadio, keys: KeyStore, key: bytes
) -> AsyncIterator[VirtualBleDevice]:
    async with await device_with(radio, keys, key, request.param) as vdev:
        yield vdev


async def owner_info_s(vdev: VirtualBleDevice, keys: KeyStore) -> float:
    """How long the owner's `repcue info` takes, from scan to answer."""
    started = time.monotonic()
    async with DeviceClient(BleTransport(vdev.name, keys=keys, scan_timeout_s=10)) as dev:
        assert (await dev.device_info()).device_id == DEVICE_ID
    return time.monotonic() - started


async def test_a_stranger_sitting_on_the_slot_keeps_nobody_out(
    device: VirtualBleDevice, keys: KeyStore, radio: VirtualRadio
) -> None:
    async with RawCentral(radio.adapter("squatter")) as squatter:
        await squatter.connect(device.name)
        took_s = await owner_info_s(device, keys)
        await squatter.wait_gone()
        refusal = await squatter.next_record()
    # replaced once its grace is over (4 slots), or dropped at the challenge deadline (1)
    slots = device.link_options["connections"]
    limit_ms = server.GRACE_MS if slots > 1 else server.CHALLENGE_DEADLINE_MS
    assert took_s < limit_ms / 1000 + 2.0, took_s  # was a minute with the old lock-out
    code = rec.error_text(refusal.body)[0]
    assert code == (air.ERR_REPLACED if slots > 1 else air.ERR_TIMEOUT)


async def test_a_stranger_reconnecting_after_every_drop_keeps_nobody_out(
    radio: VirtualRadio, keys: KeyStore, key: bytes
) -> None:
    async with await device_with(radio, keys, key, 4) as vdev:
        stop = asyncio.Event()

        async def squat() -> int:
            rounds = 0
            async with RawCentral(radio.adapter("squatter")) as squatter:
                while not stop.is_set():
                    # turned away while the owner holds the slot: try again at once
                    with contextlib.suppress(AssertionError, TimeoutError, BleakError):
                        await squatter.connect(vdev.name)
                        rounds += 1
                        with contextlib.suppress(TimeoutError):
                            await squatter.wait_gone(timeout_s=10)
                    await squatter.close()
            return rounds

        squatting = asyncio.create_task(squat())
        await asyncio.sleep(0.5)
        times: list[float] = []
        # for longer than a challenge deadline: the stranger comes back at least once
        until = time.monotonic() + server.CHALLENGE_DEADLINE_MS / 1000 + 1
        try:
            while len(times) < 3 or time.monotonic() < until:
                times.append(await owner_info_s(vdev, keys))
                await asyncio.sleep(0.5)  # the slot is free: the stranger takes it again
        finally:
            stop.set()
            rounds = await squatting
    assert rounds >= 2, (rounds, times)  # the stranger really kept coming back
    assert max(times) < 8.0, times


async def test_one_challenge_per_connection(
    radio: VirtualRadio, keys: KeyStore, key: bytes
) -> None:
    vdev = await device_with(radio, keys, key, 4)
    async with vdev, RawCentral(radio.adapter("oracle")) as oracle:
        await oracle.connect(vdev.name)
        await oracle.write(rec.encode(air.REC_CHALLENGE, os.urandom(16)))
        assert (await oracle.next_record()).type == air.REC_CHALLENGE_RSP
        await oracle.write(rec.encode(air.REC_CHALLENGE, os.urandom(16)))
        refusal = await oracle.next_record()
        assert rec.error_text(refusal.body)[0] == air.ERR_STATE
        await oracle.wait_gone()


async def test_unpairing_mid_handshake_neither_crashes_nor_silences_ble(
    radio: VirtualRadio, keys: KeyStore, key: bytes
) -> None:
    async with await device_with(radio, keys, key, 4) as vdev:
        async with RawCentral(radio.adapter("mallory")) as mallory:
            await mallory.connect(vdev.name)
            await mallory.write(rec.encode(air.REC_CHALLENGE, os.urandom(16)))
            assert (await mallory.next_record()).type == air.REC_CHALLENGE_RSP
            async with DeviceClient(SerialTransport(vdev.pty_path)) as usb:
                assert await usb.unpair()
            await mallory.write(rec.encode(air.REC_PROOF, os.urandom(32)))
            answer = await mallory.next_record()
            assert rec.error_text(answer.body)[0] == air.ERR_NOT_PAIRED
            await mallory.wait_gone()
        # still on the air, and serving: pair again over the cable, then the owner is in
        async with DeviceClient(SerialTransport(vdev.pty_path)) as usb:
            assert await usb.pair(key)
        assert await owner_info_s(vdev, keys) < 5.0
        assert "Traceback" not in vdev.stderr_tail()


async def test_the_repl_is_not_on_the_air(radio: VirtualRadio, keys: KeyStore, key: bytes) -> None:
    vdev = await device_with(radio, keys, key, 4)
    async with vdev, DeviceClient(BleTransport(vdev.name, keys=keys)) as dev:
        with pytest.raises(DeviceError) as refused:
            await dev.enter_repl()
        assert refused.value.code == op.ST_UNSUPPORTED
        assert (await dev.device_info()).device_id == DEVICE_ID  # still in protocol mode
