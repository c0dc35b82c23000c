"""The coach's MQTT side: a subscriber that fills the board (again after every loss of the
broker), and the group start it publishes (`repcue/v1/_group/start`, docs/live.md)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import aiomqtt

from repcue.coach.board import SUBSCRIPTIONS, Board, Change
from repcue.errors import RepcueError
from repcue.live.broker import GROUP_START_TOPIC, BrokerUrl, make_client
from repcue.live.group import group_start_message

_RETRY_S = 1.0
MAX_IN_S = 60.0  # a group start further ahead than this is a typo


class CoachError(RepcueError):
    """The coach's dashboard could not do what was asked (broker away, bad start time)."""


def group_start(in_s: float, *, now_ms: int | None = None) -> dict[str, Any]:
    """The group start message for an instant in_s seconds ahead (wall clock, unix ms)."""
    if not 0 < in_s <= MAX_IN_S:
        raise CoachError(f"a group start {in_s} s ahead: give 1-{MAX_IN_S:.0f} seconds")
    return group_start_message(in_s, now_ms)


async def publish_start(
    broker: BrokerUrl, in_s: float, *, ca_file: str | None = None, timeout_s: float = 10.0
) -> dict[str, Any]:
    """`repcue coach start`: one group start through a client of its own (QoS 1)."""
    message = group_start(in_s)
    try:
        async with asyncio.timeout(timeout_s):
            async with make_client(
                broker, f"repcue-coach-start-{message['id'][:8]}", ca_file=ca_file
            ) as client:
                await client.publish(GROUP_START_TOPIC, json.dumps(message), qos=1)
    except (aiomqtt.MqttError, OSError, TimeoutError) as err:
        raise CoachError(f"MQTT {broker.host}:{broker.port}: group start not sent: {err}") from err
    return message


class Feed:
    """Follows the athletes on one broker into a Board; run() is its task.

    on_change is called for each change (the app fans it out to the open pages);
    notice for one line about the broker coming and going."""

    def __init__(
        self,
        broker: BrokerUrl,
        board: Board,
        *,
        ca_file: str | None = None,
        on_change: Callable[[Change], None] = lambda change: None,
        notice: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.broker, self.board, self.ca_file = broker, board, ca_file
        self.on_change, self.notice = on_change, notice
        self.client: aiomqtt.Client | None = None  # while connected
        self.connected = asyncio.Event()
        self.received = 0

    async def run(self) -> None:
        """Until cancelled: connect (again once a second after a loss), subscribe, apply."""
        where = f"MQTT {self.broker.host}:{self.broker.port}"
        lost = False
        while True:
            client = make_client(
                self.broker, f"repcue-coach-{uuid.uuid4().hex[:8]}", ca_file=self.ca_file
            )
            try:
                async with client:
                    for pattern in SUBSCRIPTIONS:
                        await client.subscribe(pattern, qos=1)
                    self.client = client
                    self.connected.set()
                    if lost:
                        self.notice(f"{where}: back")
                    lost = False
                    async for message in client.messages:
                        self.received += 1
                        payload = message.payload
                        data = payload if isinstance(payload, bytes) else str(payload).encode()
                        change = self.board.apply(str(message.topic), data)
                        if change is not None:
                            self.on_change(change)
            except (aiomqtt.MqttError, OSError) as err:
                if not lost:
                    self.notice(f"{where}: unreachable ({err}); trying again every second")
                lost = True
            finally:
                self.client = None
                self.connected.clear()
            await asyncio.sleep(_RETRY_S)

    async def start(self, in_s: float) -> dict[str, Any]:
        """The page's group start, through the connection the feed holds."""
        message = group_start(in_s)
        client = self.client
        if client is None:
            raise CoachError(
                f"MQTT {self.broker.host}:{self.broker.port}: not connected, no group start"
            )
        try:
            await client.publish(GROUP_START_TOPIC, json.dumps(message), qos=1)
        except aiomqtt.MqttError as err:
            raise CoachError(f"MQTT: group start not sent: {err}") from err
        return message
