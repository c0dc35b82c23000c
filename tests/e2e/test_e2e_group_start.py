"""The coach's group start, device to coach: two virtual devices on real clocks, each with its
own bridge (`repcue live --mqtt`, a process as a runner's laptop runs it), and `repcue coach
start` through a real Mosquitto. Each device starts at the instant by its own clock, not
when the message reaches its bridge (seconds earlier)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import aiomqtt
import pytest

from repcue.cli import main
from repcue.link.client import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.live.mqtt import BrokerUrl
from repcue.plan import parse, program_bytes
from repcue.sim import VirtualDevice
from repcue.sim.options import AutopilotOptions, SimOptions
from tests.broker import Broker, mosquitto

ATHLETES = ("ana", "ben")
PLAN = "name: strides\n2x(2s hard, 1s easy)\n"
AHEAD_S = 3.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    users = {name: f"{name}-secret" for name in (*ATHLETES, "coach")}
    with mosquitto(tmp_path / "broker", users) as b:
        yield b


@pytest.fixture
def devices() -> Iterator[list[VirtualDevice]]:
    started = [VirtualDevice(SimOptions(autopilot=AutopilotOptions())) for _ in ATHLETES]
    try:
        for device in started:
            device.start()
        yield started
    finally:
        for device in started:
            device.stop()


async def _install(device: VirtualDevice) -> None:
    async with DeviceClient(SerialTransport(device.pty_path)) as client:
        await client.set_time(time.time() - 3600)  # off by an hour: the start sets it
        async for _ in client.upload_program(program_bytes(parse(PLAN))):
            pass


async def _wait_online(broker: Broker, count: int) -> None:
    """Until `count` bridges say online (retained): each subscribed to the group start
    before saying so."""
    url = BrokerUrl.parse(broker.url("coach"))
    online: set[str] = set()
    async with aiomqtt.Client(
        url.host, url.port, username=url.username, password=url.password
    ) as client:
        await client.subscribe("repcue/v1/+/+/status", qos=1)
        async with asyncio.timeout(30):
            async for message in client.messages:
                if message.payload == b"online":
                    online.add(str(message.topic))
                if len(online) == count:
                    return


def _wall_ms(obj: dict[str, object]) -> float:
    return datetime.fromisoformat(str(obj["wall"])).timestamp() * 1000


def test_a_group_starts_at_the_instant_by_each_device_clock(
    broker: Broker, devices: list[VirtualDevice], capsys: pytest.CaptureFixture[str]
) -> None:
    for device in devices:
        asyncio.run(_install(device))
    bridges = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "repcue", "live", "--json"),
                *("--device", f"serial:{device.pty_path}"),
                *("--mqtt", broker.url(name), "--athlete", name),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, device in zip(ATHLETES, devices, strict=True)
    ]
    try:
        asyncio.run(_wait_online(broker, len(bridges)))
        sent_ms = time.time() * 1000
        start = ["coach", "start", "--json", "--in-s", str(AHEAD_S), "--mqtt", broker.url("coach")]
        assert main(start) == 0
        at_ms = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["at_ms"]
        outputs = [bridge.communicate(timeout=60) for bridge in bridges]
    finally:
        for bridge in bridges:
            bridge.kill()
    assert abs(at_ms - sent_ms - AHEAD_S * 1000) < 1000
    for (out, err), bridge in zip(outputs, bridges, strict=True):
        assert bridge.returncode == 0, err
        objects = [json.loads(line) for line in out.splitlines()]
        starts = [o for o in objects if o["event"] == "session_start"]
        assert len(starts) == 1, out
        # the bridge had the start ~3 s before the instant: a device that started on the
        # message would be seconds early; one started by its own clock is not
        early_ms = at_ms - _wall_ms(starts[0])
        assert early_ms < 100, f"started {early_ms:.0f} ms before the instant"
        assert "the device starts at" in err
        assert objects[-1]["event"] == "session_end" and objects[-1]["reason"] == "finished"
