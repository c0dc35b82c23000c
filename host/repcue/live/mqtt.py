"""Live events to an MQTT broker (aiomqtt), for a coach following a group.

Topics (docs/live.md, "MQTT"), one device of one athlete:
    repcue/v1/{athlete}/{device_id}/event    every live object, QoS 1, in order
    repcue/v1/{athlete}/{device_id}/status   "online" / "offline", retained; the broker
                                             publishes "offline" itself (last will) when
                                             the publisher vanishes without saying so
The publisher never holds up the live view: objects wait in a bounded queue while the
broker is away and go out in order when it is back (the oldest are dropped past the bound,
and counted).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt

TOPIC_ROOT = "repcue/v1"
QUEUE_LIMIT = 10_000  # objects kept while the broker is away (a long session's worth)
_RETRY_S = 1.0
_MAX_ATHLETE_CHARS = 64


@dataclass(frozen=True)
class BrokerUrl:
    """Where the broker is: mqtt://[user[:password]@]host[:port], or mqtts:// for TLS."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, text: str) -> BrokerUrl:
        """Raises ValueError saying what is wrong with the URL."""
        parts = urlsplit(text)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"{text!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        if not parts.hostname:
            raise ValueError(f"{text!r}: no broker host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"{text!r}: a broker URL has no path or query")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as err:  # a port that is not a number or out of range
            raise ValueError(f"{text!r}: {err}") from None
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return cls(parts.hostname, port, tls, user, password)


def check_athlete(name: str) -> str:
    """An athlete's name as a topic level: no '/', '+' or '#', not empty, at most 64 chars.
    Raises ValueError."""
    if not name.strip() or len(name) > _MAX_ATHLETE_CHARS or any(c in name for c in "/+#\0"):
        raise ValueError(
            f"athlete {name!r}: 1-{_MAX_ATHLETE_CHARS} characters without '/', '+' or '#'"
        )
    return name


def topic(athlete: str, device_id: str, leaf: str) -> str:
    return f"{TOPIC_ROOT}/{athlete}/{device_id}/{leaf}"


class LivePublisher:
    """Publishes live objects for one athlete's device; run() is its task.

    put() never blocks (the live view calls it); close() asks run() to send what is queued
    and "offline", then end. The device's id, which the topics carry, comes with the first
    object (`attached`), so run() connects only then."""

    def __init__(
        self,
        broker: BrokerUrl,
        athlete: str,
        *,
        ca_file: str | None = None,
        notice: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.broker = broker
        self.athlete = check_athlete(athlete)
        self.ca_file = ca_file
        self.notice = notice
        self.queue: deque[dict[str, Any]] = deque()
        self.dropped = 0  # objects lost past QUEUE_LIMIT while the broker was away
        self.published = 0
        self.device_id: str | None = None
        self._wake = asyncio.Event()
        self._closing = False

    def put(self, obj: dict[str, Any]) -> None:
        if self.device_id is None and obj.get("event") == "attached":
            self.device_id = str(obj["device_id"])
        if len(self.queue) >= QUEUE_LIMIT:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append(obj)
        self._wake.set()

    def close(self) -> None:
        self._closing = True
        self._wake.set()

    def _client(self, device_id: str) -> aiomqtt.Client:
        status = topic(self.athlete, device_id, "status")
        tls = None
        if self.broker.tls:
            tls = aiomqtt.TLSParameters(
                ca_certs=self.ca_file, cert_reqs=ssl.CERT_REQUIRED, tls_version=None
            )
        return aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            username=self.broker.username,
            password=self.broker.password,
            identifier=f"repcue-{self.athlete}-{device_id}",
            will=aiomqtt.Will(status, b"offline", qos=1, retain=True),
            tls_params=tls,
        )

    async def run(self) -> None:
        """Until close(): connect (again after every loss, once a second), publish the
        queue in order, each object removed only once the broker has it (QoS 1)."""
        lost = False
        while self.device_id is None:
            if self._closing:
                return
            self._wake.clear()
            await self._wake.wait()
        status = topic(self.athlete, self.device_id, "status")
        event_topic = topic(self.athlete, self.device_id, "event")
        while True:
            try:
                async with self._client(self.device_id) as client:
                    await client.publish(status, b"online", qos=1, retain=True)
                    if lost:
                        self.notice(f"MQTT: back at {self.broker.host}:{self.broker.port}")
                        lost = False
                    while True:
                        while self.queue:
                            payload = json.dumps(self.queue[0]).encode()
                            await client.publish(event_topic, payload, qos=1)
                            self.queue.popleft()
                            self.published += 1
                        if self._closing:
                            await client.publish(status, b"offline", qos=1, retain=True)
                            return
                        self._wake.clear()
                        await self._wake.wait()
            except aiomqtt.MqttError as err:
                if not lost:
                    self.notice(
                        f"MQTT: {self.broker.host}:{self.broker.port} unreachable ({err}); "
                        "queueing events until it is back"
                    )
                    lost = True
                if self._closing and not self.queue:
                    return
                await asyncio.sleep(_RETRY_S)
