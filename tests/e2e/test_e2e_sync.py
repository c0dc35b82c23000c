"""The batched sync (READ_SESSIONS) against the real firmware: several sessions per frame,
progress as sessions arrive, a session still being recorded left for the next sync."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from repcue.link import DeviceClient
from repcue.sim.autopilot import run_to_finish
from repcue.store import Store
from repcue.sync import SyncProgress, sync
from repcue_fw.wire.events import EV_STEP_END
from repcue_fw.wire.host import opcodes as op
from tests.e2e.conftest import TEMPLATE_SESSIONS, StartDevice
from tests.e2e.rig import client, read_flash

CopyImage = Callable[[str], Path]


def opcodes_sent(dev: DeviceClient) -> list[int]:
    sent: list[int] = []
    request = dev.channel.request

    async def logged(opcode: int, payload: bytes = b"", *, pipelined: bool = False) -> bytes:
        sent.append(opcode)
        return await request(opcode, payload, pipelined=pipelined)

    dev.channel.request = logged  # type: ignore[method-assign]
    return sent


async def test_sessions_travel_several_to_a_frame_with_progress(
    start_device: StartDevice, copy_image: CopyImage, tmp_path: Path
) -> None:
    device = start_device(copy_image("flash.img"))
    seen: list[SyncProgress] = []
    with Store(tmp_path / "s.db") as store:
        async with client(device.pty_path) as dev:
            sent = opcodes_sent(dev)
            result = await sync(dev, store, on_progress=seen.append)
    assert len(result.added) == TEMPLATE_SESSIONS
    reads = sent.count(op.OP_READ_SESSIONS)
    assert 1 <= reads < TEMPLATE_SESSIONS  # several whole sessions per frame
    assert op.OP_LIST_SESSIONS not in sent and op.OP_READ_SESSION not in sent
    assert sent.count(op.OP_ACK_SESSIONS) == 1
    done = [p.bytes_done for p in seen]
    assert done == sorted(done) and done[-1] == result.bytes_read
    assert [p.sessions_done for p in seen][-1] == TEMPLATE_SESSIONS


async def test_a_session_being_recorded_waits_for_the_next_sync(
    start_device: StartDevice, copy_image: CopyImage, tmp_path: Path
) -> None:
    image = copy_image("flash.img")
    device = start_device(image)
    ctl = device.require_control()
    mark = len(ctl.records)
    ctl.press("start")
    ctl.advance(65_000)  # two of its steps are on flash, the session goes on
    ctl.wait_event(EV_STEP_END, start=mark)
    running = TEMPLATE_SESSIONS + 1
    assert running in read_flash(image).open
    with Store(tmp_path / "s.db") as store:
        async with client(device.pty_path) as dev:
            first = await sync(dev, store)
        assert first.incomplete == (running,)
        assert len(first.added) == TEMPLATE_SESSIONS and running not in first.acked
        assert store.sync_cursor(device.device_id) == TEMPLATE_SESSIONS
        run_to_finish(device)  # it runs to its end
        async with client(device.pty_path) as dev:
            second = await sync(dev, store)
        assert second.added == (running,) and second.acked == (running,)
        assert store.sync_cursor(device.device_id) == running
        summary = store.session_by_device_id(device.device_id, running)
        assert summary is not None and summary.end_reason == "finished"
        assert summary.step_count == 20
    assert set(read_flash(image).acked) == set(range(1, running + 1))
