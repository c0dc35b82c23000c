"""Exactly-once sync against the real firmware: the sync is interrupted at every message
boundary (the request lost, or its answer lost after the device acted on it) and a
`repcue sync` process is SIGKILLed mid-way; after each, nothing the device holds as
acknowledged is missing from the store, and a re-run leaves every session stored exactly
once, byte for byte, and acknowledged on the device's flash."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from repcue import sync as sync_module
from repcue.cli import main
from repcue.errors import DisconnectedError
from repcue.link import DeviceClient
from repcue.link.faults import FaultPlan, PtyFaultProxy
from repcue.sim import VirtualDevice
from repcue.store import Store
from repcue.sync import sync
from repcue_fw.wire.host import frame as wf
from tests.e2e.conftest import TEMPLATE_SESSIONS, StartDevice
from tests.e2e.rig import client, read_flash, record_sessions, stepped_device

ROOT = Path(__file__).resolve().parents[2]
CopyImage = Callable[[str], Path]
Request = Callable[..., Awaitable[bytes]]


def cut_at(dev: DeviceClient, boundary: int, *, after_answer: bool) -> list[int]:
    """Make the link drop at request number `boundary`: before it is sent, or after the
    device answered it (its work done, the answer lost). Returns the request counter."""
    seen = [0]
    request: Request = dev.channel.request

    async def cutting(opcode: int, payload: bytes = b"", *, pipelined: bool = False) -> bytes:
        seen[0] += 1
        number = seen[0]  # requests overlap (a read ahead waits while an ACK goes out)
        if number == boundary and not after_answer:
            raise DisconnectedError(f"link cut before request {boundary}")
        body = await request(opcode, payload, pipelined=pipelined)
        if number == boundary:
            raise DisconnectedError(f"link cut after the answer to request {boundary}")
        return body

    dev.channel.request = cutting  # type: ignore[method-assign]
    return seen


def stored(store: Store, device_id: str) -> dict[int, bytes]:
    return {s.session_id: store.session_raw(s.row_id) for s in store.sessions(device_id=device_id)}


def assert_all_once_and_acked(
    store: Store, device: VirtualDevice, image: Path, reference: dict[int, bytes]
) -> None:
    device_id = device.device_id
    assert store.session_count(device_id) == len(reference)  # one row per session
    assert stored(store, device_id) == reference  # byte-identical
    assert store.unacked_session_ids(device_id) == []
    assert store.sync_cursor(device_id) == max(reference)
    flash = read_flash(image)
    assert set(flash.acked) == set(reference) and not flash.unacked


async def read_reference(path: str) -> dict[int, bytes]:
    async with client(path) as dev:
        return {entry.session_id: raw async for entry, raw in dev.read_sessions()}


@pytest.fixture
def small_ack_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # ACKs interleave with the reads, so there are boundaries between them too
    monkeypatch.setattr(sync_module, "ACK_BATCH", 2)


async def count_requests(start_device: StartDevice, image: Path) -> int:
    device = start_device(image)
    with Store(image.with_suffix(".db")) as store:
        async with client(device.pty_path, max_frame=wf.MIN_FRAME) as dev:
            seen = cut_at(dev, 0, after_answer=True)
            result = await sync(dev, store)
    assert len(result.added) == TEMPLATE_SESSIONS
    return seen[0]


@pytest.mark.usefixtures("small_ack_batches")
async def test_a_cut_at_every_message_boundary_then_rerun(
    start_device: StartDevice, copy_image: CopyImage, tmp_path: Path
) -> None:
    total = await count_requests(start_device, copy_image("probe.img"))
    assert total >= 10  # HELLO, READ_SESSIONS frames, interleaved ACKs
    for boundary in range(1, total + 1):
        for after_answer in (False, True):
            name = f"b{boundary}-{'answer' if after_answer else 'request'}"
            image = copy_image(f"{name}.img")
            device = start_device(image)
            reference = await read_reference(device.pty_path)
            with Store(tmp_path / f"{name}.db") as store:
                async with client(device.pty_path, max_frame=wf.MIN_FRAME) as dev:
                    cut_at(dev, boundary, after_answer=after_answer)
                    with pytest.raises(DisconnectedError):
                        await sync(dev, store)
                acked_at_cut = set(read_flash(image).acked)
                assert acked_at_cut <= set(stored(store, device.device_id)), name
                async with client(device.pty_path, max_frame=wf.MIN_FRAME) as dev:
                    rerun = await sync(dev, store)
                assert not set(rerun.added) & acked_at_cut, name  # stored before: not again
                assert_all_once_and_acked(store, device, image, reference)
            device.stop()


def repcue_sync(port: str, db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "repcue", "sync", "--device", f"serial:{port}", "--db", str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# More sessions than one ACK batch (32), so a kill can land before, between and after
# the ACKs; at 57600 baud their sync takes over a second on the wire. Kill points are
# fractions of the bytes the device sends in a clean sync.
KILL_SESSIONS = 40
SLOW = FaultPlan(baud=57600)
KILL_AT = [0.3, 0.85, 0.95, 0.98]


@pytest.fixture(scope="module")
def forty_sessions(template_image: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    image = tmp_path_factory.mktemp("forty") / "flash.img"
    shutil.copyfile(template_image, image)
    device = stepped_device(image)
    try:
        record_sessions(device, KILL_SESSIONS - TEMPLATE_SESSIONS)
    finally:
        device.stop()
    return image


async def host_bound_bytes_of_a_clean_sync(
    start_device: StartDevice, image: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> int:
    """What the device sends in a whole `repcue sync` (run in-process: the same bytes)."""
    device = start_device(image)
    with PtyFaultProxy(device.pty_path) as proxy:
        argv = ["sync", "--device", f"serial:{proxy.serial_path}", "--db", str(db)]
        assert await asyncio.to_thread(main, argv) == 0
        capsys.readouterr()
        return proxy.to_host.bytes_in


async def test_sigkill_of_repcue_sync_mid_way_then_rerun(
    start_device: StartDevice,
    forty_sessions: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def copy(name: str) -> Path:
        return Path(shutil.copyfile(forty_sessions, tmp_path / name))

    probe = copy("probe.img")
    total = await host_bound_bytes_of_a_clean_sync(
        start_device, probe, tmp_path / "probe.db", capsys
    )
    for fraction in KILL_AT:
        image = copy(f"kill{fraction}.img")
        device = start_device(image)
        reference = await read_reference(device.pty_path)
        assert len(reference) == KILL_SESSIONS
        db = tmp_path / f"kill{fraction}.db"
        with PtyFaultProxy(device.pty_path, SLOW) as proxy:
            proc = repcue_sync(proxy.serial_path, db)
            deadline = time.monotonic() + 30
            while proxy.to_host.bytes_in < fraction * total:
                assert proc.poll() is None, ("ended before the kill", proc.communicate())
                assert time.monotonic() < deadline, "the sync never got going"
                await asyncio.sleep(0.002)
            os.kill(proc.pid, signal.SIGKILL)
            _, err = await asyncio.to_thread(proc.communicate, None, 10)
            assert proc.returncode == -signal.SIGKILL, (fraction, err)
        with Store(db) as store:
            before = set(stored(store, device.device_id))
        acked = set(read_flash(image).acked)
        assert acked <= before, fraction  # nothing acknowledged that is not stored
        argv = ["sync", "--device", f"serial:{device.pty_path}", "--db", str(db), "--json"]
        assert await asyncio.to_thread(main, argv) == 0
        rerun = json.loads(capsys.readouterr().out)
        assert set(rerun["added"]) == set(reference) - before, fraction  # the rest, once
        with Store(db) as store:
            assert_all_once_and_acked(store, device, image, reference)
        device.stop()
