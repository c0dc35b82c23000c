"""Faults over the air: the link fades mid-sync, the device resets mid-upload. Each ends
with a prompt DisconnectedError (no retry timeouts), and a second run ends with data
identical to a clean run; at ATT MTU 23 and 247, as the serial suite's fault tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from repcue import plan
from repcue.errors import DisconnectedError
from repcue.link.ble.keys import KeyStore
from repcue.link.ble.transport import BleTransport
from repcue.link.client import DeviceClient
from repcue.sim.ble.radio import VirtualRadio
from repcue.sim.ble.virtual import VirtualBleDevice
from repcue.sim.options import AutopilotOptions
from repcue.store import open_store
from repcue.sync import SyncProgress, sync
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import program as wire_program

from .conftest import DEVICE_ID

SHORT = plan.program_bytes(plan.parse("name: short\n4x1s / 1s jog\n"))
# ~330 bytes: three PROGRAM_CHUNKs at the smallest frame size
LONG = plan.program_bytes(
    plan.parse("name: long\n" + "\n".join(f"1s @ {4 + i // 60}:{i % 60:02d}/km" for i in range(64)))
)


@pytest.fixture
async def device(
    radio: VirtualRadio, keys: KeyStore, key: bytes
) -> AsyncIterator[VirtualBleDevice]:
    vdev = VirtualBleDevice(
        radio,
        pair_key=key,
        device_id=DEVICE_ID,
        speed=200,
        autopilot=AutopilotOptions(noise_frac=0.05),
    )
    keys.put(DEVICE_ID, key, name=vdev.name)
    async with vdev:
        yield vdev


async def record_sessions(dev: DeviceClient, n: int) -> None:
    async for _ in dev.upload_program(SHORT):
        pass
    await dev.set_time(1_700_000_000)
    for _ in range(n):
        await dev.start()
        for _ in range(200):
            if not (await dev.device_info()).running:
                break
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("mtu", [23, 247])
async def test_link_fade_mid_sync_then_resync_stores_each_session_once(
    device: VirtualBleDevice,
    keys: KeyStore,
    tmp_path: Path,
    transport_for: Callable[..., BleTransport],
    mtu: int,
) -> None:
    def connect() -> BleTransport:
        return transport_for(device.name, mtu=mtu, keys=keys)

    async with DeviceClient(connect()) as dev:
        await record_sessions(dev, 4)
        listed = await dev.list_sessions()
        originals = {
            e.session_id: b"".join([c async for c in dev.read_session(e.session_id)])
            for e in listed
        }
    assert len(originals) == 4
    store = open_store(tmp_path / "store.db")
    bridge = device.bridge
    assert bridge is not None
    dropped: list[int] = []

    def on_progress(p: SyncProgress) -> None:
        if p.sessions_done == 2 and not dropped:
            dropped.append(1)
            asyncio.get_running_loop().create_task(bridge.drop_links())

    async with DeviceClient(connect()) as dev:
        with pytest.raises(DisconnectedError):
            await sync(dev, store, on_progress)
        assert dev.channel.resends == 0  # the drop was noticed at once, not by timeouts
    assert dropped
    async with DeviceClient(connect()) as dev:
        result = await sync(dev, store)
        again = await sync(dev, store)
        assert again.added == () and again.failed == ()
    assert len(result.added) <= 3  # the first run stored at least one
    assert store.session_count(DEVICE_ID) == 4
    for session_id, raw in originals.items():
        summary = store.session_by_device_id(DEVICE_ID, session_id)
        assert summary is not None
        assert store.session_raw(summary.row_id) == raw


@pytest.mark.parametrize("mtu", [23, 247])
async def test_device_reset_mid_upload_then_upload_again(
    device: VirtualBleDevice,
    keys: KeyStore,
    transport_for: Callable[..., BleTransport],
    mtu: int,
) -> None:
    transport = transport_for(device.name, mtu=mtu, keys=keys)
    async with DeviceClient(transport, max_frame=wf.MIN_FRAME) as dev:
        sent = []
        with pytest.raises(DisconnectedError):
            async for offset in dev.upload_program(LONG):
                sent.append(offset)
                if len(sent) == 2:
                    await device.kill()  # power cut between two chunks
        assert dev.channel.resends == 0
    assert 0 < sent[-1] < len(LONG)
    await device.start()  # same flash image
    again = transport_for(device.name, mtu=mtu, keys=keys)
    async with DeviceClient(again, max_frame=wf.MIN_FRAME) as dev:
        progress = [o async for o in dev.upload_program(LONG)]
        assert progress[-1] == len(LONG)
        assert (await dev.device_info()).program_id == wire_program.program_id(LONG)


async def test_link_fade_mid_upload_resumes_where_the_device_is(
    device: VirtualBleDevice, keys: KeyStore
) -> None:
    bridge = device.bridge
    assert bridge is not None
    async with DeviceClient(BleTransport(device.name, keys=keys), max_frame=wf.MIN_FRAME) as dev:
        sent = []
        with pytest.raises(DisconnectedError):
            async for offset in dev.upload_program(LONG):
                sent.append(offset)
                if len(sent) == 3:
                    await bridge.drop_links()
    # the same transport object reconnects; the device kept what it had
    transport = BleTransport(device.name, keys=keys)
    async with DeviceClient(transport, max_frame=wf.MIN_FRAME) as dev:
        progress = [o async for o in dev.upload_program(LONG)]
        assert progress[0] == sent[-1]  # resumed, not restarted
        assert progress[-1] == len(LONG)
        assert (await dev.device_info()).program_id == wire_program.program_id(LONG)
