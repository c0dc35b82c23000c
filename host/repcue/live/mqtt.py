"""Live events to an MQTT broker (aiomqtt), for a coach following a group.

One device of one athlete (topics in live/broker.py and docs/live.md, "MQTT"): every live
object on `event`, a snapshot on the retained `state` after each, `online`/`offline` on the
retained `status` (the broker publishes "offline" itself, the last will, when the publisher
vanishes without saying so); and on each connection it listens to the coach's group start.
The publisher never holds up the live view: objects wait in a bounded queue while the
broker is away and go out in order when it is back (the oldest are dropped past the bound,
and counted).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt

from repcue.errors import BrokerError
from repcue.live.broker import (
    GROUP_START_TOPIC,
    TOPIC_ROOT,
    BrokerUrl,
    check_athlete,
    connection,
    topic,
)
from repcue.live.group import GroupStartGate, OnGroupStart
from repcue.live.snapshot import Snapshot

__all__ = ["QUEUE_LIMIT", "TOPIC_ROOT", "BrokerUrl", "LivePublisher", "check_athlete", "topic"]

QUEUE_LIMIT = 10_000  # objects kept while the broker is away (a long session's worth)
PUBLISH_TIMEOUT_S = 10.0  # a PUBACK that never comes: the connection is given up
_RETRY_S = 1.0


class LivePublisher:
    """Publishes live objects for one athlete's device; run() is its task.

    put() never blocks (the live view calls it); close() asks run() to send what is queued,
    the last state and "offline", then end. The device's id, which the topics carry, comes
    with the first object (`attached`), so run() connects only then. on_group_start, when
    given, gets each valid group start the coach publishes (live/group.py)."""

    def __init__(
        self,
        broker: BrokerUrl,
        athlete: str,
        *,
        ca_file: str | None = None,
        notice: Callable[[str], None] = lambda line: None,
        on_group_start: OnGroupStart | None = None,
    ) -> None:
        self.broker = broker
        self.athlete = check_athlete(athlete)
        self.ca_file = ca_file
        self.notice = notice
        self.queue: deque[dict[str, Any]] = deque()
        self.dropped = 0  # objects lost past QUEUE_LIMIT while the broker was away
        self.published = 0
        self.connected = False
        self.device_id: str | None = None
        self.snapshot = Snapshot(self.athlete)
        self.gate = GroupStartGate(on_group_start, notice) if on_group_start else None
        self._state: bytes | None = None  # the newest snapshot, not yet published
        self._wake = asyncio.Event()
        self._closing = False

    def put(self, obj: dict[str, Any]) -> None:
        if self.device_id is None and obj.get("event") == "attached":
            self.device_id = str(obj["device_id"])
        if len(self.queue) >= QUEUE_LIMIT:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append(obj)
        self.snapshot.apply(obj)
        self._state = json.dumps(self.snapshot.build()).encode()
        self._wake.set()

    def set_program(self, program_bytes: bytes) -> None:
        """The session's program: the snapshot's steps, reps and plan name."""
        self.snapshot.set_program(program_bytes)
        if self.device_id is not None:
            self._state = json.dumps(self.snapshot.build()).encode()
            self._wake.set()

    @property
    def queued(self) -> int:
        return len(self.queue)

    def close(self) -> None:
        self._closing = True
        self._wake.set()

    async def run(self) -> None:
        """Until close(): connect (again after every loss, once a second), publish the
        queue in order, each object removed only once the broker has it (QoS 1), then
        the newest snapshot."""
        lost = False
        while self.device_id is None:
            if self._closing:
                return
            self._wake.clear()
            await self._wake.wait()
        status = topic(self.athlete, self.device_id, "status")
        while True:
            try:
                async with connection(
                    self.broker,
                    f"repcue-{self.athlete}-{self.device_id}",
                    ca_file=self.ca_file,
                    will=aiomqtt.Will(status, b"offline", qos=1, retain=True),
                ) as client:
                    self.connected = True
                    if lost:
                        self.notice(f"MQTT: back at {self.broker.where}")
                        lost = False
                    await self._connected(client, self.device_id)
                    return
            except BrokerError as err:
                self.connected = False
                if not lost:
                    self.notice(f"{err}; queueing events until it is back")
                    lost = True
                if self._closing and not self.queue:
                    return
                await asyncio.sleep(_RETRY_S)

    async def _connected(self, client: aiomqtt.Client, device_id: str) -> None:
        """One connection's life: until close() (then returns) or its loss (MqttError)."""
        reader = asyncio.create_task(self._read(client))
        try:

            async def send(leaf: str, payload: bytes, retain: bool = False) -> None:
                publish = client.publish(
                    topic(self.athlete, device_id, leaf),
                    payload,
                    qos=1,
                    retain=retain,
                    timeout=PUBLISH_TIMEOUT_S,
                )
                await _unless_lost(publish, reader)

            if self.gate is not None:  # first: "online" means ready for a group start
                await _unless_lost(client.subscribe(GROUP_START_TOPIC, qos=1), reader)
            await send("status", b"online", retain=True)
            while True:
                while self.queue:
                    await send("event", json.dumps(self.queue[0]).encode())
                    self.queue.popleft()
                    self.published += 1
                state = self._state
                if state is not None:  # what the queue's last object left
                    await send("state", state, retain=True)
                    if self._state is state:
                        self._state = None
                if self.queue or self._state is not None:
                    continue
                if self._closing:
                    await send("status", b"offline", retain=True)
                    return
                self._wake.clear()
                await _unless_lost(self._wake.wait(), reader)
        finally:
            reader.cancel()

    async def _read(self, client: aiomqtt.Client) -> None:
        """The connection's incoming messages (the group start); ends when it is lost."""
        async for message in client.messages:
            if self.gate is not None and str(message.topic) == GROUP_START_TOPIC:
                payload = message.payload
                self.gate.feed(payload if isinstance(payload, bytes) else str(payload).encode())


async def _unless_lost(step: Awaitable[Any], reader: asyncio.Task[None]) -> Any:
    """Await step, unless the connection (its reader) ends first: then MqttError, at once
    rather than after a PUBACK's timeout."""
    task = asyncio.ensure_future(step)
    try:
        done, _ = await asyncio.wait({task, reader}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the publisher given up on: nothing left pending
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    error = reader.exception() if not reader.cancelled() else None
    if isinstance(error, aiomqtt.MqttError):
        raise error
    raise aiomqtt.MqttError("the connection ended")
