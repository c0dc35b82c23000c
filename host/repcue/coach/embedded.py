"""The coach's private broker inside the process (amqtt, the `[hub]` extra) where Mosquitto
is not installed: the same passwords and ACL as the Mosquitto hub, in a thread with an
event loop of its own so the page's loop never waits on it. amqtt speaks MQTT 3.1.1 only
(what aiomqtt speaks by default)."""

from __future__ import annotations

import asyncio
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

from repcue.coach.acl import allowed
from repcue.coach.feed import CoachError

_START_TIMEOUT_S = 10.0


class PasswordPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """Every client names a user of the hub and gives its password."""

    @dataclass
    class Config:
        users: dict[str, str] = field(default_factory=dict)

    async def authenticate(self, *, session: Any) -> bool:
        users: dict[str, str] = self.config.users
        want = users.get(session.username or "")
        given = session.password or ""
        return want is not None and hmac.compare_digest(want.encode(), given.encode())


class AclPlugin(BaseTopicPlugin):  # type: ignore[misc]
    """docs/live.md's ACL (repcue.coach.acl.allowed)."""

    @dataclass
    class Config:
        pass

    async def topic_filtering(
        self, *, session: Any = None, topic: str | None = None, action: Any = None
    ) -> bool:
        user = session.username if session else None
        return topic is not None and allowed(user, topic, str(action))


class _Broker(Broker):  # type: ignore[misc]
    """amqtt 0.12.1 sends a client that connects the retained messages of every filter that
    any client has subscribed (Broker.client_connected walks the broker-wide subscriptions),
    past the ACL: an athlete's bridge would get every other athlete's state. Only filters
    this client may subscribe itself pass here."""

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Any
    ) -> None:
        if allowed(session.username, subscription[0], "subscribe"):
            await super()._publish_retained_messages_for_subscription(subscription, session)


def config(
    listen: str, port: int, users: dict[str, str], cert: str | None, key: str | None
) -> dict[str, Any]:
    listener: dict[str, Any] = {"type": "tcp", "bind": f"{listen}:{port}"}
    if cert and key:
        listener.update(ssl=True, certfile=cert, keyfile=key)
    return {
        "listeners": {"default": listener},
        "plugins": {
            f"{__name__}.PasswordPlugin": {"users": dict(users)},
            f"{__name__}.AclPlugin": {},
        },
    }


@contextmanager
def embedded_broker(
    listen: str, port: int, users: dict[str, str], *, cert: str | None, key: str | None
) -> Iterator[None]:
    """amqtt on listen:port until the block ends. Raises CoachError saying why not."""
    ready = threading.Event()
    failed: list[BaseException] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            broker = _Broker(config(listen, port, users, cert, key))
            await broker.start()
        except Exception as err:  # amqtt raises its own errors and OSError alike
            failed.append(err)
            ready.set()
            return
        ready.set()
        await stop.wait()
        await broker.shutdown()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        if not ready.wait(_START_TIMEOUT_S) or failed:
            why = failed[0] if failed else "no word from it"
            raise CoachError(f"the embedded broker (amqtt on {listen}:{port}) did not start: {why}")
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
