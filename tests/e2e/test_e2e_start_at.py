"""`repcue start --at` and DeviceClient.start(at)/press()/set_time() against the virtual device
over its pty (stepped clock: the device's time moves only when the test says), and the
--at argument's forms."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import time

import pytest

from repcue.cli import main
from repcue.cli.argtypes import start_instant
from repcue.errors import DeviceError, ProtocolError
from repcue_fw.wire import events as ev
from repcue_fw.wire.host import opcodes as op
from tests.e2e.conftest import StartDevice
from tests.e2e.rig import TWENTY_STEPS, client


async def _install(path: str) -> None:
    async with client(path) as dev:
        async for _ in dev.upload_program(TWENTY_STEPS):
            pass


def test_start_at_schedules_on_the_device_clock(
    start_device: StartDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    asyncio.run(_install(device.pty_path))
    ctl = device.require_control()
    code = main(["start", "--device", f"serial:{device.pty_path}", "--at", "+30"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "start scheduled at" in out and "repcue stop" in out
    assert not ctl.events(ev.EV_SESSION_START)  # the device's clock has not moved yet
    ctl.advance(25_000)
    assert not ctl.events(ev.EV_SESSION_START)
    ctl.advance(5_000)  # the CLI set the clock a moment after it read +30: just before 30 s
    assert len(ctl.events(ev.EV_SESSION_START)) == 1


def test_the_client_schedules_presses_and_is_refused_clearly(start_device: StartDevice) -> None:
    device = start_device()
    asyncio.run(_install(device.pty_path))
    ctl = device.require_control()

    async def run() -> None:
        async with client(device.pty_path) as dev:
            with pytest.raises(DeviceError, match="clock not set") as refused:
                await dev.start(round(time.time() * 1000) + 5_000)
            assert refused.value.code == op.ST_BAD_STATE
            assert await dev.set_time(1_800_000_000.25) == 0
            with pytest.raises(DeviceError, match="past") as past:
                await dev.start(1_800_000_000_000)
            assert past.value.code == op.ST_BAD_REQUEST
            assert await dev.start(1_800_000_002_000) == 0  # scheduled: no id yet
            assert not await dev.press(ev.BTN_LAP)  # nothing runs yet
            ctl.advance(1_750)
            assert await dev.press(ev.BTN_LAP)
            assert await dev.press(ev.BTN_PAUSE)
            with pytest.raises(ProtocolError, match="button"):
                await dev.press(ev.BTN_STOP)  # STOP has its own request: never sent
            await dev.stop()

    asyncio.run(run())
    start_ms = ctl.events(ev.EV_SESSION_START)[0].ms
    assert [e.ms for e in ctl.events(ev.EV_LAP)] == [start_ms]  # the lap at the start's tick
    assert len(ctl.events(ev.EV_PAUSE)) == 1


def test_at_takes_seconds_ahead_an_iso_instant_or_a_time_of_day() -> None:
    before = time.time()
    ahead = start_instant("+2.5")
    assert round((before + 2.5) * 1000) <= ahead <= round((time.time() + 2.5) * 1000)
    assert start_instant("2026-12-05T15:00:00.125+00:00") == 1_796_482_800_125
    local = datetime.datetime.combine(datetime.date.today(), datetime.time(18, 30))
    assert start_instant("18:30") == round(local.timestamp() * 1000)
    for bad in ("+0", "+x", "soon", "25:00", "-5"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected"):
            start_instant(bad)
