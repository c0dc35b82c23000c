"""The serial end-to-end flow over the air: upload a plan, start, let the autopilot run
it, sync into the store, show it; at ATT MTU 23 and 247. The session synced over BLE is
byte for byte the one the device's USB serial port gives."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from repcue.cli.device_cmd import run_sync, upload_plan
from repcue.link.ble.keys import KeyStore
from repcue.link.ble.transport import BleTransport
from repcue.link.client import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.sim.ble.virtual import VirtualBleDevice
from repcue.store import open_store
from repcue.store.analysis import session_report

# distance reps: the autopilot presses lap at the target pace (200 m at 3:30/km = 42 s,
# a fifth of a second at speed 200)
PLAN = "name: e2e\n3x200m @ 3:30/km / 10s jog\n"


@pytest.mark.parametrize("mtu", [23, 247])
async def test_upload_run_sync_show_over_ble(
    paired: VirtualBleDevice,
    keys: KeyStore,
    transport_for: Callable[..., BleTransport],
    tmp_path: Path,
    mtu: int,
) -> None:
    db = str(tmp_path / "store.db")
    quiet = Console(file=io.StringIO())
    transport = transport_for(paired.name, mtu=mtu, keys=keys)
    async with DeviceClient(transport) as dev:
        report = await upload_plan(
            dev, PLAN, "e2e", profile_path=None, fmt="repcue", db=db, out=quiet
        )
        assert transport.authenticated and transport.mtu == mtu
        session_id = await dev.start()
        for _ in range(300):
            if not (await dev.device_info()).running:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the session did not finish")
        # the same session as the USB port gives it, for comparison
        async with DeviceClient(SerialTransport(paired.pty_path)) as usb:
            over_usb = b"".join([c async for c in usb.read_session(session_id)])
        result = await run_sync(dev, db, quiet)
    assert result.added == (session_id,) and result.acked == (session_id,)
    with open_store(db) as store:
        summary = store.session_by_device_id(paired.device_id, session_id)
        assert summary is not None
        assert store.session_raw(summary.row_id) == over_usb
        shown = session_report(store, summary)
    assert shown["session"]["plan"] == report.plan.name
    work = [s for s in shown["steps"] if s["kind"] == "work"]
    assert len(work) == 3
    assert all(s["distance_m"] == 200 for s in work)
    bridge = paired.bridge
    assert bridge is not None
    assert bridge.stats.truncated_notifications == 0 and bridge.stats.oversize_writes == 0
