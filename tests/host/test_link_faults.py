"""Through a proxy that drops, corrupts, duplicates and delays bytes and cuts the link:
uploads and session reads still end with identical data, and a firmware link flooded
with random and mutated frames keeps answering HELLO with its heap bounded."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest

from repcue.errors import DisconnectedError
from repcue.link import DeviceClient
from repcue.link.faults import FaultInjector, FaultPlan, PtyFaultProxy
from repcue.link.serial import SerialTransport
from repcue_fw.wire.host import program as wp
from tests.faults_helpers import NOISY, flood
from tests.firmware.test_link_rig import MpyDevice, session_bytes
from tests.host.test_link_client import hundred_steps


@pytest.fixture
def device() -> Iterator[MpyDevice]:
    with MpyDevice(sessions=4, base=1500, spread=900) as dev:  # sessions span frames
        yield dev


def test_injector_is_deterministic_and_counts() -> None:
    plan = FaultPlan(drop_per_byte=0.05, corrupt_per_byte=0.05, duplicate_per_chunk=0.5)
    data = bytes(range(256)) * 4
    runs = [FaultInjector(plan, random.Random(3)).mangle(data) for _ in range(2)]
    assert runs[0] == runs[1]
    inj = FaultInjector(plan, random.Random(3))
    out, _ = inj.mangle(data)
    assert out != data and inj.stats.dropped > 10 and inj.stats.corrupted > 10
    assert inj.stats.bytes_in == len(data) and inj.stats.bytes_out == len(out)
    off = FaultInjector(plan, random.Random(3), enabled=False)
    assert off.mangle(data) == (data, 0.0)


@pytest.mark.parametrize("plan", NOISY, ids=["drop", "corrupt", "dup+delay", "all"])
async def test_upload_and_read_survive_a_noisy_link(device: MpyDevice, plan: FaultPlan) -> None:
    program = hundred_steps()
    with PtyFaultProxy(device.serial_path, plan) as proxy:
        transport = SerialTransport(proxy.serial_path)
        async with DeviceClient(transport, timeout_s=0.1, retries=30, max_frame=512) as dev:
            await dev.hello()
            async for _ in dev.upload_program(program):
                pass
            assert (await dev.device_info()).program_id == wp.program_id(program)
            for entry in await dev.list_sessions():
                data = b"".join([c async for c in dev.read_session(entry.session_id)])
                assert data == session_bytes(entry.session_id, 1500, 900)
            faults = proxy.to_device.dropped + proxy.to_device.corrupted + proxy.to_host.dropped
            faults += proxy.to_host.corrupted + proxy.to_device.duplicated + proxy.to_host.delayed
            assert faults > 0  # the plan really did something


async def test_an_upload_cut_midway_resumes_on_the_next_link(device: MpyDevice) -> None:
    program = hundred_steps()
    sent: list[int] = []
    with PtyFaultProxy(device.serial_path, FaultPlan(cut_after_bytes=500)) as proxy:
        async with DeviceClient(SerialTransport(proxy.serial_path), max_frame=160) as dev:
            with pytest.raises(DisconnectedError):
                async for n in dev.upload_program(program):
                    sent.append(n)
        assert proxy.cut_done.is_set()
    assert 0 < sent[-1] < len(program)
    with PtyFaultProxy(device.serial_path) as proxy:
        async with DeviceClient(SerialTransport(proxy.serial_path), max_frame=160) as dev:
            resumed = [n async for n in dev.upload_program(program)]
            assert resumed[0] >= sent[-1]  # the device kept what it had
            assert (await dev.device_info()).program_id == wp.program_id(program)


async def test_a_read_cut_midway_continues_from_its_offset(device: MpyDevice) -> None:
    expected = session_bytes(3, 1500, 900)
    got = bytearray()
    with PtyFaultProxy(device.serial_path, FaultPlan(cut_after_bytes=900)) as proxy:
        async with DeviceClient(SerialTransport(proxy.serial_path), max_frame=256) as dev:
            with pytest.raises(DisconnectedError):
                async for chunk in dev.read_session(3):
                    got += chunk
    assert 0 < len(got) < len(expected)
    with PtyFaultProxy(device.serial_path) as proxy:
        async with DeviceClient(SerialTransport(proxy.serial_path)) as dev:
            async for chunk in dev.read_session(3, offset=len(got)):
                got += chunk
    assert bytes(got) == expected


async def test_ten_thousand_random_frames_then_hello(device: MpyDevice) -> None:
    async with DeviceClient(SerialTransport(device.serial_path), timeout_s=2) as dev:
        await dev.hello()
        await dev.hello()  # the second one sees the first's memory settled
        heap_before = (await dev.device_info()).free_heap

    # throw them through pyserial while a thread drains whatever the device answers
    answered_bytes = await asyncio.to_thread(flood, device.serial_path, 10_000, seed=99)
    assert answered_bytes > 10_000  # it answered the frames it could verify
    async with DeviceClient(SerialTransport(device.serial_path), timeout_s=2) as dev:
        info = await dev.hello()
        heap_after = (await dev.device_info()).free_heap
    assert info.name == "mem-device"
    assert device.proc is not None and device.proc.poll() is None
    assert abs(heap_before - heap_after) < 8192, (heap_before, heap_after)
