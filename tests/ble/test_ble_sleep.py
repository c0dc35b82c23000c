"""Sleep between sessions with BLE on (the virtual device, its own virtual radio): pairing
over USB, then the board sleeps; a central's connection wakes it, authenticates with the
key kept on flash, and finds the wall clock that ran on through the sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from repcue.link.ble.keys import KeyStore
from repcue.link.ble.pairing import pair_over_usb
from repcue.link.ble.transport import BleBackend, BleTransport
from repcue.link.client import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.sim import SimOptions, VirtualDevice
from repcue.sim.ble.bleak_backend import BumbleClient, BumbleScanner
from repcue.sim.ble.radio import remote_radio

SPEED = 50
AFTER_MS = 100_000  # 2 s of real time at SPEED


@pytest.fixture
async def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[VirtualDevice]:
    monkeypatch.setenv("REPCUE_SIM_REGISTRY", str(tmp_path / "registry"))
    options = SimOptions(
        speed=SPEED, ble=True, ble_radio=tmp_path / "radio.sock", sleep_after_ms=AFTER_MS
    )
    device = VirtualDevice(options)
    await asyncio.to_thread(device.start)
    yield device
    await asyncio.to_thread(device.stop)


def _records(sim: VirtualDevice, kind: str) -> list[dict[str, Any]]:
    return [r for r in list(sim.require_control().records) if r.get("k") == kind]


async def _wait_asleep(sim: VirtualDevice, timeout_s: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sleeps, wakes = _records(sim, "sleep"), _records(sim, "wake")
        if len(sleeps) > len(wakes):
            return sleeps[-1]
        await asyncio.sleep(0.05)
    raise AssertionError("the virtual device never went to sleep")


async def test_a_ble_connection_wakes_the_board_and_pairing_survives(
    sim: VirtualDevice, tmp_path: Path
) -> None:
    assert sim.air is not None
    keys = KeyStore(tmp_path / "keys.json")
    async with DeviceClient(SerialTransport(sim.pty_path)) as usb:
        await pair_over_usb(usb, keys)
        _, before_ms = sim.require_control().now()
        await usb.set_time(1_700_000_000)
        _, after_ms = sim.require_control().now()
    slept = await _wait_asleep(sim)
    assert _records(sim, "wake") == [] or _records(sim, "wake")[-1]["ms"] < slept["ms"]
    radio = remote_radio(sim.air.radio_path)
    try:
        backend = BleBackend(BumbleScanner, BumbleClient, {"radio": radio}, virtual=True)
        async with DeviceClient(BleTransport(sim.ble_name, keys=keys, backend=backend)) as dev:
            await dev.hello()
            assert dev.transport.authenticated  # type: ignore[attr-defined]
            woke = sim.require_control().wait_for(
                lambda r: r.get("k") == "wake" and r["ms"] > slept["ms"], timeout_s=5
            )
            assert woke["why"] == "ble"
            _, first_ms = sim.require_control().now()
            info = await dev.device_info()
            _, last_ms = sim.require_control().now()
            # the clock ran on through the sleep: SET_TIME's second plus the virtual time since
            assert info.clock_s >= 1_700_000_000 + (first_ms - after_ms) // 1000 - 1
            assert info.clock_s <= 1_700_000_000 + (last_ms - before_ms) // 1000 + 1
            await asyncio.sleep(AFTER_MS / SPEED / 1000 * 2)
            assert len(_records(sim, "sleep")) == len(_records(sim, "wake"))  # connected: awake
    finally:
        await radio.close()
    await _wait_asleep(sim)  # the central gone, quiet again: back to sleep
