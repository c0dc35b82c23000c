"""Reconnect-and-resume over the air (repcue.link.resume, repcue.sync.resume: what
`repcue upload` and `repcue sync` run): the link fades mid-upload or mid-sync and the one
call finishes by itself over a new, freshly authenticated connection: the upload from the
device's offset, the sync with every session stored and acknowledged exactly once. A
refusal on reconnecting (a wrong key) is not retried."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from repcue.link.ble.keys import KeyStore, new_key
from repcue.link.ble.records import AuthError
from repcue.link.ble.transport import BleTransport
from repcue.link.client import DeviceClient
from repcue.link.resume import ReconnectPolicy, upload_resumable
from repcue.sim.ble.virtual import VirtualBleDevice
from repcue.store import open_store
from repcue.sync import SyncProgress
from repcue.sync.resume import sync_resumable
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import program as wire_program
from tests.ble.test_ble_faults import LONG, record_sessions
from tests.e2e.rig import read_flash

from .conftest import DEVICE_ID

MTU = 23


class Connections:
    """A client factory over the virtual radio that keeps every transport it made."""

    def __init__(self, make: Callable[[], BleTransport]) -> None:
        self.make = make
        self.transports: list[BleTransport] = []

    def __call__(self) -> DeviceClient:
        transport = self.make()
        self.transports.append(transport)
        return DeviceClient(transport, max_frame=wf.MIN_FRAME)


def quick_policy(log: list[str]) -> ReconnectPolicy:
    return ReconnectPolicy(retries=3, backoff_s=(0.05,), notice=log.append)


async def test_an_upload_resumes_at_the_device_offset_after_a_fade(
    paired: VirtualBleDevice, keys: KeyStore, transport_for: Callable[..., BleTransport]
) -> None:
    bridge = paired.bridge
    assert bridge is not None
    connections = Connections(lambda: transport_for(paired.name, mtu=MTU, keys=keys))
    events: list[str | int] = []  # progress figures and notices, in order

    def on_progress(held: int) -> None:
        events.append(held)
        if held > 0 and len(connections.transports) == 1 and "drop" not in events:
            events.append("drop")
            asyncio.get_running_loop().create_task(bridge.drop_links())

    policy = ReconnectPolicy(retries=3, backoff_s=(0.05,), notice=events.append)
    info = await upload_resumable(connections, LONG, policy=policy, on_progress=on_progress)

    assert info.device_id == DEVICE_ID
    notices = [e for e in events if isinstance(e, str) and e != "drop"]
    assert len(notices) == 1, events
    match = re.fullmatch(rf"link lost at (\d+)/{len(LONG)} bytes; reconnecting \(1/3\)", notices[0])
    assert match, notices[0]
    lost_at = int(match[1])
    resumed_at = events[events.index(notices[0]) + 1]  # PROGRAM_BEGIN's answer, new link
    assert isinstance(resumed_at, int)
    assert 0 < lost_at <= resumed_at < len(LONG)  # resumed where the device was, not at 0
    assert events[-1] == len(LONG)
    # a second connection, authenticated afresh: a new session, not the old one's counters
    first, second = connections.transports
    assert first.authenticated and second.authenticated
    assert first.session is not second.session
    # the resumed link carried only the rest of the program, not all of it again
    assert second.app_bytes_out < len(LONG)
    async with connections() as dev:
        assert (await dev.device_info()).program_id == wire_program.program_id(LONG)
    assert read_flash(paired.flash).program == LONG


async def test_a_sync_finishes_by_itself_after_a_fade_each_session_once(
    paired: VirtualBleDevice,
    keys: KeyStore,
    transport_for: Callable[..., BleTransport],
    tmp_path: Path,
) -> None:
    bridge = paired.bridge
    assert bridge is not None
    connections = Connections(lambda: transport_for(paired.name, mtu=MTU, keys=keys))
    async with connections() as dev:
        await record_sessions(dev, 4)
        originals = {entry.session_id: raw async for entry, raw in dev.read_sessions()}
    assert len(originals) == 4
    notices: list[str] = []
    stored_at_drop: list[int] = []

    def on_progress(p: SyncProgress) -> None:
        if p.sessions_done == 2 and not stored_at_drop:
            stored_at_drop.append(store.session_count(DEVICE_ID))
            asyncio.get_running_loop().create_task(bridge.drop_links())

    with open_store(tmp_path / "store.db") as store:
        result = await sync_resumable(
            connections, store, policy=quick_policy(notices), on_progress=on_progress
        )
        assert len(notices) == 1 and notices[0].startswith("link lost after "), notices
        assert stored_at_drop and stored_at_drop[0] >= 1  # the first link stored some
        # the report covers both links' work, each session once
        assert sorted(result.added) == sorted(originals)
        assert sorted(result.acked) == sorted(originals)
        assert result.already_stored == () and result.failed == ()
        assert store.session_count(DEVICE_ID) == 4
        for session_id, raw in originals.items():
            summary = store.session_by_device_id(DEVICE_ID, session_id)
            assert summary is not None and summary.acked
            assert store.session_raw(summary.row_id) == raw
    assert len(connections.transports) == 3  # recording, the dropped link, the resumed one
    assert all(t.authenticated for t in connections.transports)
    flash = read_flash(paired.flash)
    assert set(flash.acked) == set(originals) and not flash.unacked


async def test_a_wrong_key_on_reconnecting_is_not_retried(
    paired: VirtualBleDevice,
    keys: KeyStore,
    transport_for: Callable[..., BleTransport],
    tmp_path: Path,
) -> None:
    bridge = paired.bridge
    assert bridge is not None
    wrong = KeyStore(tmp_path / "wrong.json")
    wrong.put(DEVICE_ID, new_key(), name=paired.name)
    # the first connection holds the right key; every later one a wrong key
    connections = Connections(
        lambda: transport_for(paired.name, mtu=MTU, keys=wrong if connections.transports else keys)
    )
    notices: list[str] = []

    def on_progress(held: int) -> None:
        if held > 0 and not notices:
            asyncio.get_running_loop().create_task(bridge.drop_links())

    with pytest.raises(AuthError) as caught:
        await upload_resumable(
            connections, LONG, policy=quick_policy(notices), on_progress=on_progress
        )
    assert caught.value.exit_code == 12
    assert len(notices) == 1  # the drop was retried ...
    assert len(connections.transports) == 2  # ... the refusal was not


async def test_a_wrong_key_at_the_first_connection_is_not_retried(
    paired: VirtualBleDevice, transport_for: Callable[..., BleTransport], tmp_path: Path
) -> None:
    wrong = KeyStore(tmp_path / "wrong.json")
    wrong.put(DEVICE_ID, new_key(), name=paired.name)
    connections = Connections(lambda: transport_for(paired.name, mtu=MTU, keys=wrong))
    notices: list[str] = []
    with pytest.raises(AuthError):
        await upload_resumable(connections, LONG, policy=quick_policy(notices))
    assert notices == [] and len(connections.transports) == 1
