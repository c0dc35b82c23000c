"""Follow one session on a device: INFO, SUBSCRIBE, optionally START, then every event as a
schema object until the session ends. The caller holds (and closes) the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from repcue.link.client import DeviceClient
from repcue.live.events import EventMapper

# what ends a live session: the device's finish, or a start it refused
ENDS = ("session_end", "refused")


async def follow(
    client: DeviceClient, mapper: EventMapper, *, start: bool = False
) -> AsyncIterator[dict[str, Any]]:
    """ "attached" first (the device's state at once, from INFO), then the session's events
    (gaps included) up to and including its end. Closing the client mid-way leaves the
    session running on the device."""
    info = await client.device_info()
    yield mapper.attached(info)
    await client.subscribe_events(True)  # before START, so its session_start is seen
    if start:
        await client.start()
    async for event in client.events():
        for obj in mapper.map(event):
            yield obj
            if obj["event"] in ENDS:
                return
