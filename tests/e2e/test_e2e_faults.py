"""Faults between the host and the real firmware, through a proxy on the device's pty:
dropped, corrupted, duplicated and delayed bytes, and a cable pulled mid-upload and
mid-sync. Each ends, after a retry where needed, with the device holding exactly the
uploaded program, the store holding byte-identical sessions, and nothing acknowledged that
is not stored. 10,000 random and mutated frames leave the firmware answering HELLO."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from repcue.errors import DisconnectedError
from repcue.link.faults import FaultPlan, PtyFaultProxy
from repcue.store import Store
from repcue.sync import sync
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import program as wp
from tests.e2e.conftest import TEMPLATE_SESSIONS, StartDevice
from tests.e2e.rig import TWENTY_STEPS, client, read_flash
from tests.faults_helpers import NOISY, flood
from tests.host.test_link_client import hundred_steps

CopyImage = Callable[[str], Path]


async def clean_read(path: str) -> dict[int, bytes]:
    """Every session the device holds, read over a clean link: the reference copy."""
    async with client(path) as dev:
        return {entry.session_id: raw async for entry, raw in dev.read_sessions()}


def stored_raw(store: Store, device_id: str) -> dict[int, bytes]:
    return {s.session_id: store.session_raw(s.row_id) for s in store.sessions(device_id=device_id)}


def total_faults(proxy: PtyFaultProxy) -> int:
    down, up = proxy.to_device, proxy.to_host
    return sum((s.dropped + s.corrupted + s.duplicated + s.delayed) for s in (down, up))


@pytest.mark.parametrize("plan", NOISY, ids=["drop", "corrupt", "dup+delay", "all"])
async def test_upload_and_sync_through_a_noisy_link_end_identical(
    start_device: StartDevice, copy_image: CopyImage, tmp_path: Path, plan: FaultPlan
) -> None:
    image = copy_image("flash.img")
    device = start_device(image)
    reference = await clean_read(device.pty_path)
    assert len(reference) == TEMPLATE_SESSIONS
    program = hundred_steps()
    with PtyFaultProxy(device.pty_path, plan) as proxy, Store(tmp_path / "s.db") as store:
        async with client(proxy.serial_path, timeout_s=0.1, retries=30, max_frame=256) as dev:
            async for _ in dev.upload_program(program):
                pass
            info = await dev.device_info()
            assert info.program_id == wp.program_id(program)
            result = await sync(dev, store)
        assert total_faults(proxy) > 0  # the plan really did something
        assert sorted(result.added) == sorted(reference)
        assert stored_raw(store, info.device_id) == reference
    flash = read_flash(image)
    assert flash.program == program  # exactly the bytes uploaded, installed
    assert set(flash.acked) == set(reference) and not flash.unacked


async def test_an_upload_cut_midway_keeps_the_old_program_then_resumes(
    start_device: StartDevice, copy_image: CopyImage
) -> None:
    image = copy_image("flash.img")
    device = start_device(image)
    program = hundred_steps()
    sent: list[int] = []
    with PtyFaultProxy(device.pty_path, FaultPlan(cut_after_bytes=400)) as proxy:
        async with client(proxy.serial_path, max_frame=wf.MIN_FRAME) as dev:
            with pytest.raises(DisconnectedError):
                async for n in dev.upload_program(program):
                    sent.append(n)
        assert proxy.cut_done.is_set()
    assert 0 < sent[-1] < len(program)
    async with client(device.pty_path) as dev:
        # the install is atomic: until the commit, the old program is the one installed
        assert (await dev.device_info()).program_id == wp.program_id(TWENTY_STEPS)
        resumed = [n async for n in dev.upload_program(program)]
        assert resumed[0] >= sent[-1]  # the device kept what it had received
        assert (await dev.device_info()).program_id == wp.program_id(program)
    assert read_flash(image).program == program


async def bytes_of_a_clean_sync(start_device: StartDevice, image: Path, db: Path) -> int:
    """Bytes both ways in a whole sync at the smallest frame size."""
    device = start_device(image)
    with PtyFaultProxy(device.pty_path) as proxy, Store(db) as store:
        async with client(proxy.serial_path, max_frame=wf.MIN_FRAME) as dev:
            await sync(dev, store)
        return proxy.to_device.bytes_in + proxy.to_host.bytes_in


# Where the cable is pulled: a fraction of a whole sync's bytes (in the first frames,
# midway, in the last frame), or (1.0) four bytes before its end: inside the ACK's answer,
# so the device has acknowledged and the host never hears it.
@pytest.mark.parametrize("cut_at", [0.1, 0.45, 0.85, 1.0])
async def test_a_sync_cut_midway_then_rerun_stores_identical_bytes_once(
    start_device: StartDevice, copy_image: CopyImage, tmp_path: Path, cut_at: float
) -> None:
    total = await bytes_of_a_clean_sync(start_device, copy_image("probe.img"), tmp_path / "p.db")
    cut_after = int(total * cut_at) if cut_at < 1 else total - 4
    image = copy_image("flash.img")
    device = start_device(image)
    reference = await clean_read(device.pty_path)
    cut = FaultPlan(cut_after_bytes=cut_after)
    with Store(tmp_path / "s.db") as store:
        with PtyFaultProxy(device.pty_path, cut) as proxy:
            async with client(proxy.serial_path, max_frame=wf.MIN_FRAME) as dev:
                with pytest.raises(DisconnectedError):
                    await sync(dev, store)
        device_id = device.device_id
        at_cut = read_flash(image)
        assert set(at_cut.acked) <= set(stored_raw(store, device_id))  # acked => stored
        if cut_at == 1.0:
            assert set(at_cut.acked) == set(reference)  # acked, though the host never heard
        async with client(device.pty_path, max_frame=wf.MIN_FRAME) as dev:
            await sync(dev, store)
        assert stored_raw(store, device_id) == reference
        assert store.session_count(device_id) == len(reference)
    assert set(read_flash(image).acked) == set(reference)


async def test_ten_thousand_random_and_mutated_frames_then_hello(
    start_device: StartDevice, copy_image: CopyImage
) -> None:
    device = start_device(copy_image("flash.img"))
    ctl = device.require_control()
    reference = await clean_read(device.pty_path)
    async with client(device.pty_path, timeout_s=2) as dev:
        await dev.hello()
        heap_before = (await dev.device_info()).free_heap
    collected_before = int(ctl.request("mem")["free"])

    answered_bytes = await asyncio.to_thread(flood, device.pty_path, 10_000, seed=4242, drain_s=0.5)
    assert answered_bytes > 10_000  # it answered the frames it could verify
    async with client(device.pty_path, timeout_s=2) as dev:
        info = await dev.hello()
        heap_after = (await dev.device_info()).free_heap
        assert info.program_id == wp.program_id(TWENTY_STEPS)
        if info.running:
            await dev.stop()  # a fuzzed START got through: end it like a user would
    assert device.running and "Traceback" not in device.stderr_tail()
    # INFO's figure includes garbage not yet collected; after a collection it is back
    assert heap_after > 0 and heap_before > 0
    collected_after = int(ctl.request("mem")["free"])
    assert abs(collected_after - collected_before) < 16_384, (collected_before, collected_after)
    after = await clean_read(device.pty_path)
    for session_id, raw in reference.items():
        assert after[session_id] == raw  # fuzzed ACKs may mark them; never change them
