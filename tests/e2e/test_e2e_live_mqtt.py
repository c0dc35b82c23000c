"""`repcue live --mqtt`: the live objects reach a real Mosquitto broker, in order, with the
athlete's status retained (and its last will); a broker that refuses the publisher never
stops the live view."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from repcue.cli import main
from repcue.live.broker import BrokerUrl, check_athlete, make_client
from repcue.live.mqtt import LivePublisher
from tests.broker import Broker, make_tls, mosquitto
from tests.e2e.conftest import StartDevice
from tests.e2e.test_e2e_live import _drive, _install, _lines


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto(tmp_path / "broker", {"ana": "ana-secret", "coach": "coach-secret"}) as b:
        yield b


class Subscriber:
    """A coach's client in a thread of its own: every message under `pattern`, until the
    status `until` (or `count` messages on topics ending with `topic_end`) arrives."""

    def __init__(
        self,
        broker: Broker,
        until: str = "offline",
        *,
        count: int | None = None,
        topic_end: str = "",
        user: str = "coach",
        pattern: str = "repcue/v1/#",
        timeout_s: float = 60,
    ) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lost: aiomqtt.MqttError | None = None  # the broker went away under it
        self.ready = threading.Event()
        self.broker, self.until, self.user, self.pattern = broker, until, user, pattern
        self.count, self.topic_end, self.timeout_s = count, topic_end, timeout_s
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _done(self, topic: str, payload: bytes) -> bool:
        if self.until and topic.endswith("/status") and payload == self.until.encode():
            return True
        if self.count is None:
            return False
        return sum(1 for t, _, _ in self.messages if t.endswith(self.topic_end)) >= self.count

    async def _run(self) -> None:
        url = BrokerUrl.parse(self.broker.url(self.user))
        ca = str(self.broker.tls.ca_file) if self.broker.tls else None
        try:
            async with make_client(url, f"coach-{id(self)}", ca_file=ca) as client:
                await client.subscribe(self.pattern, qos=1)
                self.ready.set()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.timeout_s):
                        async for message in client.messages:
                            payload = bytes(message.payload)  # type: ignore[arg-type]
                            self.messages.append((str(message.topic), payload, message.retain))
                            if self._done(str(message.topic), payload):
                                return
        except aiomqtt.MqttError as err:
            self.lost = err

    def objects(self, leaf: str) -> list[dict[str, Any]]:
        """The JSON payloads received on topics ending with /leaf, in order."""
        return [json.loads(p) for t, p, _ in self.messages if t.endswith(f"/{leaf}")]


def _attached(device_id: str) -> dict[str, Any]:
    wall = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime())
    return {
        "v": 1,
        "event": "attached",
        "seq": None,
        "wall": wall,
        "device_ms": None,
        "device_id": device_id,
        "name": "repcue-a55e",
        "program_id": None,
        "running": False,
        "session_id": None,
        "index": None,
    }


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
    states = [json.loads(p) for t, p, _ in coach.messages if t == f"{base}/state"]
    assert states and all(s["athlete"] == "ana" and s["device_id"] == device_id for s in states)
    last = states[-1]  # the session's end, with its plan from the session's own record
    assert last["status"] == "finished" and last["seq"] == events[-1]["seq"]
    assert last["reps_done"] == 10 and last["session_id"] == events[1]["session_id"]
    assert last["step"] is None and last["elapsed_ms"] == events[-1]["total_ms"]
    running = [s for s in states if s["status"] == "running" and s["step"]]
    assert running and running[-1]["step"]["reps"] == 10  # the plan was known

    # a coach joining later sees at once who is offline, and where the session ended
    late = Subscriber(broker, until="", count=2, topic_end="", pattern=f"{base}/+")
    late.thread.join(10)
    retained = {t: (p, r) for t, p, r in late.messages}
    assert retained[f"{base}/status"] == (b"offline", True)
    assert retained[f"{base}/state"] == (json.dumps(last).encode(), True)


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
    assert f"MQTT broker 127.0.0.1:{broker.port} refused user 'ana': wrong user" in err
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
    for name in ("", "a/b", "a+", "#", "x" * 65, "_group"):
        with pytest.raises(ValueError, match="athlete"):
            check_athlete(name)


def test_live_over_mqtts_with_the_brokers_ca(
    start_device: StartDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tls = make_tls(tmp_path / "tls")
    device = start_device()
    asyncio.run(_install(device.pty_path))
    with mosquitto(tmp_path / "broker", {"ana": "pw", "coach": "pw"}, tls=tls) as broker:
        coach = Subscriber(broker, until="offline")
        driver = _drive(device)
        mqtt = ["--mqtt", broker.url("ana"), "--athlete", "ana", "--mqtt-ca", str(tls.ca_file)]
        code = main(["live", "--device", f"serial:{device.pty_path}", "--json", "--start", *mqtt])
        driver.join(30)
        coach.thread.join(30)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert coach.objects("event") == _lines(out)


def test_a_bridge_without_the_right_ca_says_whose_certificate_it_is(tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "tls")
    other = make_tls(tmp_path / "other")

    async def run(broker: Broker) -> list[str]:
        said: list[str] = []
        url = BrokerUrl.parse(broker.url("ana"))
        publisher = LivePublisher(url, "ana", ca_file=str(other.ca_file), notice=said.append)
        task = asyncio.create_task(publisher.run())
        publisher.put(_attached("51fd58aca55e"))
        async with asyncio.timeout(20):
            while not said:
                await asyncio.sleep(0.02)
        publisher.close()  # with a queue, it would try on until given up on, as live does
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 1.5)
        assert publisher.published == 0 and publisher.queued == 1
        return said

    with mosquitto(tmp_path / "broker", {"ana": "pw"}, tls=tls) as broker:
        said = asyncio.run(run(broker))
    assert said[0].startswith(f"MQTT broker 127.0.0.1:{broker.port}: its TLS certificate is not")
    assert f"signed by the CA in {other.ca_file}" in said[0]
    assert said[0].endswith("; queueing events until it is back")
