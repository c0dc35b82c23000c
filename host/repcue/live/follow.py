"""Follow one session on a device: INFO, SUBSCRIBE, optionally START, then every event as a
schema object until the session ends; follow_resumable() does it again over a fresh link
after a drop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from repcue.link.client import DeviceClient
from repcue.link.resume import ClientFactory, ReconnectPolicy, with_reconnect
from repcue.live.events import EventMapper
from repcue_fw.wire import WireError
from repcue_fw.wire.host import records

# what ends a live session: the device's finish, or a start it refused
ENDS = ("session_end", "refused")


async def _running_session(client: DeviceClient) -> tuple[int, int | None, bytes] | None:
    """(session id, index of the step running now, the program it runs) from the record
    being written, so a view attached mid-session shows where it is at once; the index is
    None and the program b"" when the record cannot be read as a session (yet)."""
    entries = [e for e in await client.list_sessions() if not e.complete]
    if not entries:
        return None
    entry = entries[-1]
    raw = b"".join(
        [c async for c in client.read_session(entry.session_id, size_bytes=entry.size_bytes)]
    )
    try:
        session = records.decode_session(raw)
    except WireError:
        return entry.session_id, None, b""
    return entry.session_id, len(session.steps), bytes(session.program)


async def follow(
    client: DeviceClient,
    mapper: EventMapper,
    *,
    start: bool = False,
    on_program: Callable[[bytes], None] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """ "attached" first (the device's state at once, from INFO and the running session's
    record), then the session's events (gaps included) up to and including its end.
    on_program gets the program the session runs, from the session's own record (so a
    view knows the plan on a computer that never saw the upload). Closing the client
    mid-way leaves the session running on the device."""
    info = await client.device_info()
    running = await _running_session(client) if info.running else None
    yield mapper.attached(info, running[:2] if running else None)
    if running and running[2] and on_program is not None:
        on_program(running[2])
    await client.subscribe_events(True)  # before START, so its session_start is seen
    if start:
        await client.start()
    async for event in client.events():
        for obj in mapper.map(event):
            yield obj
            if obj["event"] in ENDS:
                return
            if obj["event"] == "session_start" and on_program is not None:
                # the journal wrote the session's HEADER and PROGRAM before this event
                begun = await _running_session(client)
                if begun and begun[2]:
                    on_program(begun[2])


async def follow_resumable(
    open_client: ClientFactory,
    on_object: Callable[[dict[str, Any]], None],
    *,
    start: bool = False,
    policy: ReconnectPolicy | None = None,
    on_client: Callable[[DeviceClient | None], None] | None = None,
    on_program: Callable[[bytes], None] | None = None,
) -> None:
    """follow(), again over a fresh client after each link loss as the policy allows: a
    "gap" (why "link") marks each loss, then a fresh "attached"; a session that ended
    while the link was down ends it there. on_client gets each connection's client (for
    commands while it runs), and None when it is gone; on_program as in follow()."""
    mapper = EventMapper()
    connections = 0
    seen_session = False

    async def attempt(client: DeviceClient) -> None:
        nonlocal connections, seen_session
        connections += 1
        if connections > 1:
            on_object(mapper.link_gap())
        if on_client is not None:
            on_client(client)
        try:
            first = connections == 1
            async for obj in follow(client, mapper, start=start and first, on_program=on_program):
                on_object(obj)
                running = obj["event"] == "attached" and obj["running"]
                if obj["event"] == "session_start" or running:
                    seen_session = True
                elif obj["event"] == "attached" and seen_session:
                    return  # the session ended while the link was down
        finally:
            if on_client is not None:
                on_client(None)

    await with_reconnect(open_client, attempt, policy=policy)
