"""The Mosquitto ACL that docs/live.md ships (docs/mosquitto/acl.conf), in a real broker:
an athlete's credentials publish under its own name only, and only the coach starts the
group; a bridge (LivePublisher) hands the coach's start to its callback once.

MQTT 3.1.1 (what repcue speaks): Mosquitto acknowledges a publish the ACL denies (PUBACK,
QoS 1) and drops it silently, so what is tested is what the coach's subscriber receives."""

from __future__ import annotations

import asyncio
import getpass
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from repcue.live.broker import GROUP_START_TOPIC, BrokerUrl, make_client
from repcue.live.group import group_start_message
from repcue.live.mqtt import LivePublisher
from tests.broker import Broker, Process, _free_port, make_tls, mosquitto
from tests.e2e.test_e2e_live_mqtt import Subscriber, _attached

ACL = Path(__file__).resolve().parents[2] / "docs" / "mosquitto" / "acl.conf"
USERS = {"ana": "ana-pw", "ben": "ben-pw", "coach": "coach-pw"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto(tmp_path / "broker", USERS, acl_file=ACL) as b:
        yield b


async def _publish(broker: Broker, user: str, messages: list[tuple[str, bytes]]) -> None:
    ca = str(broker.tls.ca_file) if broker.tls else None
    url = BrokerUrl.parse(broker.url(user))
    async with make_client(url, f"{user}-test", ca_file=ca) as client:
        for where, payload in messages:
            await client.publish(where, payload, qos=1)  # acknowledged, denied or not


def test_an_athlete_cannot_publish_as_another(broker: Broker) -> None:
    coach = Subscriber(broker, until="", count=1, topic_end="/event")
    asyncio.run(
        _publish(
            broker,
            "ana",
            [
                ("repcue/v1/ben/51fd58aca55e/event", b'{"forged": true}'),  # denied: dropped
                ("repcue/v1/ben/51fd58aca55e/state", b'{"forged": true}'),
                ("repcue/v1/_group/start", b'{"forged": true}'),
                ("repcue/v1/ana/51fd58aca55e/event", b'{"own": true}'),  # delivered
            ],
        )
    )
    coach.thread.join(10)
    # in order on one connection: had the forged ones passed, they would be here first
    assert coach.messages == [("repcue/v1/ana/51fd58aca55e/event", b'{"own": true}', False)]


def test_athletes_cannot_read_each_other(broker: Broker) -> None:
    spy = Subscriber(broker, until="", count=1, user="ben", timeout_s=3)
    asyncio.run(_publish(broker, "ana", [("repcue/v1/ana/51fd58aca55e/event", b"{}")]))
    spy.thread.join(10)
    assert spy.messages == []  # ben's subscription to repcue/v1/# delivers nothing of ana's


def test_a_bridge_gets_the_coachs_group_start_once(broker: Broker) -> None:
    async def run() -> tuple[list[tuple[int, str]], list[str], dict[str, Any]]:
        got: list[tuple[int, str]] = []
        said: list[str] = []
        publisher = LivePublisher(
            BrokerUrl.parse(broker.url("ana")),
            "ana",
            notice=said.append,
            on_group_start=lambda at_ms, start_id: got.append((at_ms, start_id)),
        )
        task = asyncio.create_task(publisher.run())
        publisher.put(_attached("51fd58aca55e"))
        while publisher.published < 1:  # connected and subscribed by then
            await asyncio.sleep(0.02)
        start = group_start_message(5)
        past = {**group_start_message(0), "at_ms": start["at_ms"] - 60_000}
        payload = json.dumps(start).encode()
        await _publish(
            broker,
            "ben",  # an athlete cannot start the group: dropped
            [(GROUP_START_TOPIC, json.dumps(group_start_message(3)).encode())],
        )
        await _publish(
            broker,
            "coach",
            [
                (GROUP_START_TOPIC, payload),
                (GROUP_START_TOPIC, payload),  # twice: handed on once
                (GROUP_START_TOPIC, json.dumps(past).encode()),
            ],
        )
        async with asyncio.timeout(10):
            while not any("refused" in line for line in said):
                await asyncio.sleep(0.02)
        publisher.close()
        await task
        return got, said, start

    got, said, start = asyncio.run(run())
    assert got == [(start["at_ms"], start["id"])]  # not ben's, not the duplicate, not the past
    refused = [line for line in said if "refused" in line]
    assert len(refused) == 1 and "passed" in refused[0] and "not run late" in refused[0]


def test_the_documented_broker_config_runs(tmp_path: Path) -> None:
    """docs/mosquitto/mosquitto.conf, its paths pointed at a test's files, starts a real
    Mosquitto that speaks TLS, checks passwords and applies the ACL."""
    tls = make_tls(tmp_path / "tls")
    passwd = tmp_path / "repcue.passwd"
    for i, (user, password) in enumerate(USERS.items()):
        create = ["-c"] if i == 0 else []
        subprocess.run(["mosquitto_passwd", *create, "-b", str(passwd), user, password], check=True)
    port = _free_port()
    text = (ACL.parent / "mosquitto.conf").read_text()
    for old, new in (
        ("/etc/mosquitto/repcue.passwd", str(passwd)),
        ("/etc/mosquitto/repcue-acl.conf", str(ACL)),
        ("/etc/mosquitto/certs/ca.pem", str(tls.ca_file)),
        ("/etc/mosquitto/certs/server.pem", str(tls.cert_file)),
        ("/etc/mosquitto/certs/server.key", str(tls.key_file)),
        ("/var/lib/mosquitto/", f"{tmp_path}/"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    text = re.sub(r"^listener 8883$", f"listener {port} 127.0.0.1", text, flags=re.MULTILINE)
    config = tmp_path / "mosquitto.conf"
    config.write_text(text + f"user {getpass.getuser()}\n")
    process = Process(config, port)
    process.start()
    try:
        broker = Broker(port, USERS, tls, process)
        coach = Subscriber(broker, until="", count=1, topic_end="/event")
        asyncio.run(_publish(broker, "ana", [("repcue/v1/ben/d/event", b"forged"),
                                             ("repcue/v1/ana/d/event", b"own")]))  # fmt: skip
        coach.thread.join(10)
        assert [p for _, p, _ in coach.messages] == [b"own"]
    finally:
        process.stop()
