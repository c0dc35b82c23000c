"""`repcue live --mqtt`: the live objects reach a real Mosquitto broker, in order, with the
athlete's status retained (and its last will); a broker that refuses the publisher never
stops the live view."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from repcue.cli import main
from repcue.live.mqtt import BrokerUrl, check_athlete
from tests.broker import Broker, mosquitto
from tests.e2e.conftest import StartDevice
from tests.e2e.test_e2e_live import _drive, _install, _lines


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto(tmp_path / "broker", {"ana": "ana-secret", "coach": "coach-secret"}) as b:
        yield b


class Subscriber:
    """A coach's client in a thread of its own: every message under repcue/v1/#."""

    def __init__(self, broker: Broker, until: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.ready = threading.Event()
        self.broker, self.until = broker, until
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    async def _run(self) -> None:
        url = BrokerUrl.parse(self.broker.url("coach"))
        async with aiomqtt.Client(
            url.host, url.port, username=url.username, password=url.password
        ) as client:
            await client.subscribe("repcue/v1/#", qos=1)
            self.ready.set()
            async with asyncio.timeout(60):
                async for message in client.messages:
                    payload = bytes(message.payload)  # type: ignore[arg-type]
                    self.messages.append((str(message.topic), payload, message.retain))
                    if str(message.topic).endswith("/status") and payload == self.until.encode():
                        return


def test_live_publishes_every_object_in_order_and_the_status(
    start_device: StartDevice, broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    asyncio.run(_install(device.pty_path))
    coach = Subscriber(broker, until="offline")
    driver = _drive(device)
    spec = f"serial:{device.pty_path}"
    mqtt = ["--mqtt", broker.url("ana"), "--athlete", "ana"]
    assert main(["live", "--device", spec, "--json", "--start", *mqtt]) == 0
    driver.join(30)
    coach.thread.join(30)
    printed = _lines(capsys.readouterr().out)
    device_id = printed[0]["device_id"]
    base = f"repcue/v1/ana/{device_id}"
    events = [json.loads(p) for t, p, _ in coach.messages if t == f"{base}/event"]
    assert events == printed  # every object, in order, as live printed it
    assert events[-1]["event"] == "session_end"
    statuses = [p for t, p, _ in coach.messages if t == f"{base}/status"]
    assert statuses == [b"online", b"offline"]

    async def retained() -> list[tuple[str, bytes, bool]]:
        url = BrokerUrl.parse(broker.url("coach"))
        got: list[tuple[str, bytes, bool]] = []
        async with aiomqtt.Client(
            url.host, url.port, username=url.username, password=url.password
        ) as client:
            await client.subscribe(f"{base}/status", qos=1)
            async with asyncio.timeout(5):
                async for message in client.messages:
                    got.append((str(message.topic), bytes(message.payload), message.retain))  # type: ignore[arg-type]
                    return got
        return got

    # a coach joining later sees at once who is offline
    assert asyncio.run(retained()) == [(f"{base}/status", b"offline", True)]


def test_a_broker_that_refuses_the_publisher_never_stops_the_live_view(
    start_device: StartDevice, broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    device = start_device()
    asyncio.run(_install(device.pty_path))
    driver = _drive(device)
    spec = f"serial:{device.pty_path}"
    wrong = f"mqtt://ana:wrong@127.0.0.1:{broker.port}"
    assert (
        main(["live", "--device", spec, "--json", "--start", "--mqtt", wrong, "--athlete", "ana"])
        == 0
    )
    driver.join(30)
    out, err = capsys.readouterr()
    printed = _lines(out)
    assert printed[-1]["event"] == "session_end"  # the whole session, broker or not
    assert "MQTT: 127.0.0.1:" in err and "unreachable" in err
    assert f"MQTT: {len(printed)} events not published (the broker was away)" in err


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://host", "expected mqtt://"),
        ("mqtt://", "no broker host"),
        ("mqtt://host:99999", "out of range"),
        ("mqtt://host/topic", "no path"),
    ],
)
def test_bad_broker_urls_and_athletes_say_what_is_wrong(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        BrokerUrl.parse(url)
    assert BrokerUrl.parse("mqtts://u%40x:p@b.example") == BrokerUrl(
        "b.example", 8883, True, "u@x", "p"
    )
    for name in ("", "a/b", "a+", "#", "x" * 65):
        with pytest.raises(ValueError, match="athlete"):
            check_athlete(name)
