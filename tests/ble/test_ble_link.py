"""Frames over BLE end to end: the firmware's link.ble in micropython <-> bridge <-> Bumble
<-> bleak backend <-> BleTransport <-> DeviceClient, at ATT MTU 23 and 247."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from repcue import plan
from repcue.errors import AuthError
from repcue.link.ble.keys import KeyStore
from repcue.link.ble.transport import BleTransport
from repcue.link.client import DeviceClient
from repcue.sim.ble.virtual import VirtualBleDevice
from repcue_fw.app import FIRMWARE_VERSION
from repcue_fw.wire import events
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import program as wire_program
from repcue_fw.wire.host import records

# 64 one-second steps with paces: a ~330-byte program (three 160-byte frames) that the
# autopilot runs in a fraction of a second at speed 200
STEPS = 64
PLAN = "name: T\n" + "\n".join(f"1s @ {4 + i // 60}:{i % 60:02d}/km" for i in range(STEPS))


@pytest.mark.parametrize("mtu", [23, 185, 247])
async def test_hello_without_key_and_nothing_else(
    unpaired: VirtualBleDevice, transport_for: Callable[..., BleTransport], mtu: int
) -> None:
    transport = transport_for(unpaired.name, mtu=mtu)
    async with DeviceClient(transport) as dev:
        info = await dev.hello()
        # before authentication: what a host needs to authenticate, nothing more
        assert (info.name, info.firmware_version) == (unpaired.name, FIRMWARE_VERSION)
        assert (info.device_id, info.board, info.clock_s, info.program_id) == ("", "", 0, 0)
        assert (info.free_heap, info.free_flash, info.capabilities, info.running) == (
            0,
            0,
            0,
            False,
        )
        assert transport.mtu == mtu
        with pytest.raises(AuthError, match="pair it over USB"):
            await dev.set_time(1_700_000_000)
    assert unpaired.bridge is not None
    assert unpaired.bridge.stats.truncated_notifications == 0


@pytest.mark.parametrize("mtu", [23, 247])
async def test_chunked_upload_run_and_read_back(
    paired: VirtualBleDevice,
    keys: KeyStore,
    transport_for: Callable[..., BleTransport],
    mtu: int,
) -> None:
    program = plan.program_bytes(plan.parse(PLAN))
    assert len(program) > 2 * wf.MIN_FRAME  # several PROGRAM_CHUNKs
    transport = transport_for(paired.name, mtu=mtu, keys=keys)
    # the smallest frame size makes every transfer take several frames
    async with DeviceClient(transport, max_frame=wf.MIN_FRAME) as dev:
        info = await dev.hello()
        assert transport.authenticated
        assert info.max_frame == wf.MIN_FRAME
        progress = [sent async for sent in dev.upload_program(program)]
        assert progress[-1] == len(program) and len(progress) >= 4
        info = await dev.device_info()
        assert info.program_id == wire_program.program_id(program)
        await dev.set_time(1_700_000_000)
        await dev.start()
        for _ in range(400):
            if not (await dev.device_info()).running:
                break
            await asyncio.sleep(0.05)
        sessions = await dev.list_sessions()
        assert len(sessions) == 1 and sessions[0].complete
        data = b"".join([c async for c in dev.read_session(sessions[0].session_id)])
    assert len(data) == sessions[0].size_bytes
    session = records.decode_session(data)
    assert len(session.steps) == STEPS
    bridge = paired.bridge
    assert bridge is not None
    assert bridge.stats.truncated_notifications == 0
    assert bridge.stats.oversize_writes == 0
    # every write fit the MTU: the transport cut records into ATT_MTU-3 pieces
    assert bridge.stats.write_att_bytes <= bridge.stats.writes * mtu


async def test_live_events_arrive_sealed_over_the_air(
    paired: VirtualBleDevice, keys: KeyStore, transport_for: Callable[..., BleTransport]
) -> None:
    from repcue_fw.wire import events

    program = plan.program_bytes(plan.parse("name: ev\n3x1s / 1s jog\n"))
    transport = transport_for(paired.name, mtu=185, keys=keys)
    async with DeviceClient(transport) as dev:
        assert transport.mtu == 185
        async for _ in dev.upload_program(program):
            pass
        await dev.subscribe_events()
        await dev.start()
        codes = []
        async with asyncio.timeout(20):
            async for event in dev.events():
                codes.append(event.code)
                if event.code == events.EV_FINISH:
                    break
    assert codes[0] == events.EV_SESSION_START
    assert codes.count(events.EV_STEP_START) == 6
    assert transport.authenticated


async def test_an_authenticated_central_presses_the_buttons(
    paired: VirtualBleDevice, keys: KeyStore, transport_for: Callable[..., BleTransport]
) -> None:
    program = plan.program_bytes(plan.parse("name: Long\n600min\n"))
    async with DeviceClient(transport_for(paired.name, keys=keys)) as dev:
        async for _ in dev.upload_program(program):
            pass
        assert not await dev.press(events.BTN_PAUSE)  # nothing runs: nothing to pause
        await dev.start()
        assert await dev.press(events.BTN_PAUSE)  # PRESS is on the air allow-list
        assert await dev.press(events.BTN_PAUSE)  # resumes
        assert await dev.press(events.BTN_LAP)
        await dev.stop()
